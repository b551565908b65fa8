/**
 * The sections of a free-text radiology report, for training on findings or impression alone.
 * A section starts at a header at the start of a line, in the styles reports are written in:
 * `FINDINGS:`, `Impression:`, `IMPRESSION -`, or the header alone on its line. Headers of other
 * sections (recommendation, addendum, …) end the section before them; text before the first
 * header belongs to no section. A report without any header is returned whole as `findings`
 * (`parsed` false), since free text without structure is mostly findings.
 */

export interface ReportSections {
  indication: string | null;
  /** How the images were taken (`TECHNIQUE: PA and lateral views`), which MAIRA-2 reads. */
  technique: string | null;
  comparison: string | null;
  findings: string | null;
  impression: string | null;
  /** False when no header was found and `findings` holds the whole text. */
  parsed: boolean;
}

type SectionName = 'indication' | 'technique' | 'comparison' | 'findings' | 'impression' | 'other';

const HEADERS: readonly [SectionName, readonly string[]][] = [
  [
    'indication',
    [
      'clinical indications?',
      'indications?',
      'clinical history',
      'history',
      'clinical information',
      'clinical details',
      'reason for (?:the )?(?:exam|examination|study)',
    ],
  ],
  ['technique', ['techniques?', 'procedure', 'views?', 'examination technique']],
  ['comparison', ['comparisons?', 'prior studies', 'priors?']],
  ['findings', ['findings?', 'report']],
  ['impression', ['impressions?', 'conclusions?', 'summary', 'opinion', 'assessment']],
  ['other', ['examination', 'exam', 'recommendations?', 'notification', 'addendum', 'wet read']],
];

const NAMES = HEADERS.flatMap(([, names]) => names).join('|');
/** `NAME:` / `NAME -` / `NAME —` with text after it, or `NAME` (optionally `:`) alone. */
const HEADER_LINE = new RegExp(
  `^[ \\t]*(${NAMES})[ \\t]*(?::|[ \\t]+[-–—][ \\t]+|[-–—]$|[ \\t]*$)[ \\t]*(.*)$`,
  'i',
);

function sectionOf(header: string): SectionName {
  for (const [name, patterns] of HEADERS) {
    if (patterns.some((pattern) => new RegExp(`^(?:${pattern})$`, 'i').test(header.trim()))) {
      return name;
    }
  }
  return 'other';
}

export function parseReportSections(text: string): ReportSections {
  const collected: Record<SectionName, string[]> = {
    indication: [],
    technique: [],
    comparison: [],
    findings: [],
    impression: [],
    other: [],
  };
  let current: SectionName | null = null;
  let found = false;
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    const header = HEADER_LINE.exec(line);
    if (header !== null) {
      found = true;
      current = sectionOf(header[1]!);
      if (header[2]!.trim() !== '') collected[current].push(header[2]!.trim());
      else if (collected[current].length > 0) collected[current].push('');
    } else if (current !== null) {
      collected[current].push(line);
    }
  }
  const section = (name: SectionName): string | null => {
    const body = collected[name].join('\n').trim();
    return body === '' ? null : body;
  };
  if (!found) {
    const whole = text.trim();
    return {
      indication: null,
      technique: null,
      comparison: null,
      findings: whole === '' ? null : whole,
      impression: null,
      parsed: false,
    };
  }
  return {
    indication: section('indication'),
    technique: section('technique'),
    comparison: section('comparison'),
    findings: section('findings'),
    impression: section('impression'),
    parsed: true,
  };
}
