/**
 * HTML built from tagged templates: every interpolated value is escaped unless it is already
 * `Html` (built the same way). Report text, instance ids and error messages are data from the
 * PACS, so nothing reaches a page without passing through here.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Value = Html | string | number | boolean | null | undefined | readonly Value[];

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

function render(value: Value): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map((item: Value) => render(item)).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let text = strings[0] ?? '';
  values.forEach((value, index) => {
    text += render(value) + (strings[index + 1] ?? '');
  });
  return new Html(text);
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2430; background: #f6f7f9; }
header { background: #1d2430; color: #fff; padding: 10px 20px; display: flex; gap: 24px; align-items: baseline; }
header a { color: #cfe3ff; text-decoration: none; }
header strong { font-size: 16px; }
main { padding: 16px 20px; max-width: 1400px; }
table { border-collapse: collapse; background: #fff; width: 100%; margin: 8px 0 20px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #e3e6eb; vertical-align: top; overflow-wrap: anywhere; }
th { background: #eef1f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.bar { background: #e3e6eb; border-radius: 3px; width: 160px; height: 10px; overflow: hidden; display: flex; }
.bar .ok { background: #2e9d5b; } .bar .bad { background: #d64545; }
.note { background: #fff8e1; border: 1px solid #f0d98c; padding: 8px 12px; border-radius: 4px; }
.error { background: #fdecec; border: 1px solid #f1b5b5; padding: 8px 12px; border-radius: 4px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 14px; }
.card { background: #fff; border: 1px solid #e3e6eb; border-radius: 4px; padding: 8px; margin: 0; }
.card img { width: 100%; height: 240px; object-fit: contain; background: #000; }
.card p { white-space: pre-wrap; font-size: 12px; max-height: 160px; overflow: auto; margin: 6px 0 0; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; background: #fff; padding: 10px; }
code { font-size: 12px; }
`;

/** A whole page with the dashboard's navigation. */
export function page(title: string, body: Html): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · eden-etl</title>
        <style>
          ${new Html(STYLE)}
        </style>
      </head>
      <body>
        <header>
          <strong>eden-etl</strong><a href="/runs">Runs</a><a href="/queues">Queues</a
          ><a href="/metrics">Metrics</a>
        </header>
        <main>
          <h1>${title}</h1>
          ${body}
        </main>
      </body>
    </html> `;
}
