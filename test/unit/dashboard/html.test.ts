import { describe, expect, it } from 'vitest';
import { escapeHtml, html } from '../../../src/dashboard/html.js';

describe('html', () => {
  it('escapes every interpolated value, in text and in attributes', () => {
    const report = `<script>alert("x")</script> & 'quotes'`;
    expect(html`<p title="${report}">${report}</p>`.text).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;">' +
        '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;</p>',
    );
  });

  it('nests fragments unescaped, joins arrays and drops empty values', () => {
    const items = ['<a>', 'b'].map((item) => html`<li>${item}</li>`);
    const list = html`<ul>
        ${items}
      </ul>
      ${null}${undefined}${false}${0}`;
    // Prettier may lay the template out over lines; the markup is what counts.
    expect(list.text.replace(/\s+/g, '')).toBe('<ul><li>&lt;a&gt;</li><li>b</li></ul>0');
  });

  it('escapes ampersands first, so entities in data stay visible as typed', () => {
    expect(escapeHtml('&lt;')).toBe('&amp;lt;');
  });
});
