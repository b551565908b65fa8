/** Markdown pieces of the dataset card that survive any text put in them. */

/** Text safe inside a GFM table cell: one line, no column breaks, no raw HTML. */
export function cellText(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/\r\n|\r|\n/g, ' ');
}

function longestRun(text: string, char: string): number {
  let longest = 0;
  for (const run of text.match(new RegExp(`\\${char}+`, 'g')) ?? []) {
    longest = Math.max(longest, run.length);
  }
  return longest;
}

/** A code span that survives backticks in `text` (CommonMark: use a longer backtick string). */
export function code(text: string): string {
  const oneLine = text.replace(/\r\n|\r|\n/g, ' ').replace(/\|/g, '\\|');
  const fence = '`'.repeat(longestRun(oneLine, '`') + 1);
  const pad = oneLine.startsWith('`') || oneLine.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${oneLine}${pad}${fence}`;
}

/** A fenced block that no line of `text` can close early. */
export function fenced(text: string, info: string): string {
  const fence = '`'.repeat(Math.max(3, longestRun(text, '`') + 1));
  const body = text.replace(/\r\n|\r/g, '\n').replace(/\n+$/, '');
  return `${fence}${info}\n${body}\n${fence}`;
}

export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align?: string[],
): string {
  const rule = header.map((_, index) => align?.[index] ?? '---');
  return [header, rule, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}
