import type { PhiFacts } from '../domain/deid.js';
import { shiftYmd } from './date-shift.js';

/**
 * Scrubs free text (reports, DICOM descriptors) of the identifiers the DICOM header names and of
 * the common shapes of identifiers: every match becomes a typed placeholder, except dates, which
 * move by the patient's date shift so that the text agrees with the shifted header dates.
 * Each rule's replacements are counted, for the dataset card.
 */

/** Facts of a header that named nothing, with the date shift unknown. */
export function noFacts(): PhiFacts {
  return { names: [], ids: [], institutions: [], addresses: [], phones: [], dateShiftDays: null };
}

const SCRUB_RULES = [
  'email',
  'date',
  'phone',
  'labelled-id',
  'header-id',
  'long-number',
  'institution',
  'address',
  'header-name',
  'staff-name',
  'titled-name',
  'age-over-89',
] as const;

type ScrubRule = (typeof SCRUB_RULES)[number];

export type ScrubCounts = Partial<Record<ScrubRule, number>>;

export interface ScrubResult {
  text: string;
  counts: ScrubCounts;
}

/** English month names, January first: dates in reports are read and rewritten with them. */
export const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;
// Sept before Sep: the alternation takes the first that matches.
const MONTH_ABBREVIATIONS = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'Jun',
  'Jul',
  'Aug',
  'Sept',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
];
const MONTH_WORD = `(${[...MONTH_NAMES, ...MONTH_ABBREVIATIONS].join('|')})\\.?`;
const ORDINAL = '(?:st|nd|rd|th)?';

function monthNumber(word: string): number {
  const lower = word.toLowerCase().replace(/\.$/, '');
  return MONTH_NAMES.findIndex((month) => month.toLowerCase().startsWith(lower.slice(0, 3))) + 1;
}

/** The month written like the original: full name, or a three-letter abbreviation. */
function monthWord(month: number, like: string): string {
  const name: string = MONTH_NAMES[month - 1] ?? '';
  const bare = like.replace(/\.$/, '');
  const spelled = MONTH_NAMES[monthNumber(bare) - 1] ?? '';
  if (bare.length > 3 && bare.toLowerCase() === spelled.toLowerCase()) return name;
  return name.slice(0, 3) + (like.endsWith('.') ? '.' : '');
}

const pad2 = (value: number) => String(value).padStart(2, '0');

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
}

/** Word boundaries that work for accented letters and digits. */
function bounded(alternatives: readonly string[]): RegExp | undefined {
  const unique = [...new Set(alternatives.filter((text) => text.trim().length >= 2))].sort(
    (a, b) => b.length - a.length,
  );
  if (unique.length === 0) return undefined;
  return new RegExp(
    `(?<![\\p{L}\\p{N}])(?:${unique.map(escape).join('|')})(?![\\p{L}\\p{N}])`,
    'giu',
  );
}

/** Spellings of a DICOM person name in prose: "John Smith", "Smith, John", "J. Smith", "Smith". */
function nameVariants(personName: string): string[] {
  const [family = '', given = '', middle = ''] = (personName.split('=')[0] ?? '')
    .split('^')
    .map((part) => part.trim());
  const variants = [family, given];
  if (family !== '' && given !== '') {
    variants.push(
      `${given} ${family}`,
      `${family}, ${given}`,
      `${family} ${given}`,
      `${given.charAt(0)}. ${family}`,
    );
    if (middle !== '')
      variants.push(`${given} ${middle} ${family}`, `${given} ${middle.charAt(0)}. ${family}`);
  }
  // Short given names ("Al", "Jo") are also words; only family names and longer names go alone.
  return variants.filter((variant) => variant.length >= 3);
}

/** Staff names as written in the list: "John Smith" (one per line); the family name too. */
function staffVariants(line: string): string[] {
  const name = line.trim();
  if (name === '') return [];
  if (name.includes('^')) return nameVariants(name);
  const words = name.split(/\s+/);
  return words.length < 2
    ? [name]
    : nameVariants(`${words[words.length - 1]}^${words.slice(0, -1).join(' ')}`);
}

interface Rule {
  rule: ScrubRule;
  pattern: RegExp | undefined;
  /** The replacement for a match (every pattern is global), or undefined to leave it. */
  replace: (match: RegExpExecArray) => string | undefined;
}

function dateRules(days: number | null): Rule[] {
  const moved = (year: number, month: number, day: number) =>
    days === null ? undefined : shiftYmd(year, month, day, days);
  const fullYear = (text: string) =>
    text.length === 2 ? (Number(text) < 50 ? 2000 : 1900) + Number(text) : Number(text);
  const year = (value: number, like: string) =>
    like.length === 2 ? pad2(value % 100) : String(value);
  // An unknown shift, or a text that is not a real date: the date goes, it is not moved.
  const placeholder = '[DATE]';
  return [
    {
      rule: 'date',
      pattern: /(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)/g,
      replace: (m) => {
        const to = moved(Number(m[1]), Number(m[2]), Number(m[3]));
        return to === undefined ? placeholder : `${to.year}-${pad2(to.month)}-${pad2(to.day)}`;
      },
    },
    {
      rule: 'date',
      pattern: /(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)/g,
      replace: (m) => {
        const to = moved(Number(m[1]), Number(m[2]), Number(m[3]));
        // Eight digits that are no date are left for the identifier rules.
        if (to === undefined) return days === null && validDate(m) ? placeholder : undefined;
        return `${to.year}${pad2(to.month)}${pad2(to.day)}`;
      },
    },
    {
      // 02/03/2024, 2.3.24, 02-03-2024: day first unless the first number cannot be a day…
      // rather, unless the second cannot be a month (then the text is month first, US style).
      rule: 'date',
      pattern: /(?<![\d/.-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\d/.-]*\d)/g,
      replace: (m) => {
        const a = Number(m[1]);
        const b = Number(m[3]);
        const monthFirst = b > 12 && a <= 12;
        const [day, month] = monthFirst ? [b, a] : [a, b];
        const to = moved(fullYear(m[4] ?? ''), month, day);
        if (to === undefined) return placeholder;
        const width = (like: string, value: number) =>
          like.length === 2 ? pad2(value) : String(value);
        const first = monthFirst ? width(m[1] ?? '', to.month) : width(m[1] ?? '', to.day);
        const second = monthFirst ? width(m[3] ?? '', to.day) : width(m[3] ?? '', to.month);
        return `${first}${m[2]}${second}${m[2]}${year(to.year, m[4] ?? '')}`;
      },
    },
    {
      // 2 March 2024, 2nd of March, 2024, 02 Mar 2024
      rule: 'date',
      pattern: new RegExp(
        `\\b(\\d{1,2})${ORDINAL}(\\s+(?:of\\s+)?)${MONTH_WORD}(,?\\s+)(\\d{4})\\b`,
        'gi',
      ),
      replace: (m) => {
        const to = moved(Number(m[5]), monthNumber(m[3] ?? ''), Number(m[1]));
        if (to === undefined) return placeholder;
        return `${to.day}${m[2]}${monthWord(to.month, m[0].match(new RegExp(MONTH_WORD, 'i'))?.[0] ?? '')}${m[4]}${to.year}`;
      },
    },
    {
      // March 2, 2024, Mar. 2nd 2024
      rule: 'date',
      pattern: new RegExp(`\\b${MONTH_WORD}(\\s+)(\\d{1,2})${ORDINAL}(,?\\s+)(\\d{4})\\b`, 'gi'),
      replace: (m) => {
        const to = moved(Number(m[5]), monthNumber(m[1] ?? ''), Number(m[3]));
        if (to === undefined) return placeholder;
        return `${monthWord(to.month, m[0].match(new RegExp(MONTH_WORD, 'i'))?.[0] ?? '')}${m[2]}${to.day}${m[4]}${to.year}`;
      },
    },
    {
      // March 2024: moved as its mid-month day would be, so it stays coherent with the others.
      rule: 'date',
      pattern: new RegExp(`\\b${MONTH_WORD}(\\s+)(\\d{4})\\b`, 'gi'),
      replace: (m) => {
        const to = moved(Number(m[3]), monthNumber(m[1] ?? ''), 15);
        if (to === undefined) return placeholder;
        return `${monthWord(to.month, m[0].match(new RegExp(MONTH_WORD, 'i'))?.[0] ?? '')}${m[2]}${to.year}`;
      },
    },
  ];
}

function validDate(m: RegExpExecArray): boolean {
  return shiftYmd(Number(m[1]), Number(m[2]), Number(m[3]), 0) !== undefined;
}

const PHONE =
  /(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\d{2,5}(?:[\s.-]\d{2,5}){1,4}(?![\w])/g;
const EMAIL = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g;
const LABELLED_ID =
  /\b(MRN|MR\s?#|Medical\s+Record(?:\s+(?:Number|No\.?))?|Hospital\s+(?:Number|No\.?)|Accession(?:\s+(?:Number|No\.?))?|Acc\.?\s?#|Patient\s+ID|NHS\s+(?:Number|No\.?)|Study\s+ID|Order\s+(?:Number|No\.?))(\s*[:#]?\s*)([A-Z0-9][A-Z0-9./-]*[A-Z0-9])/gi;
const LONG_NUMBER = /(?<![\w])(?:[A-Z]{1,4}-?)?\d{6,}(?![\w])/g;
const TITLED_NAME =
  /\b(Dr|Prof|Mr|Mrs|Ms|Miss|Doctor|Professor)(\.?\s+)(\p{Lu}[\p{L}'’-]+(?:\s+\p{Lu}\.)?(?:\s+\p{Lu}[\p{L}'’-]+){0,2})/gu;
const AGE =
  /\b(\d{2,3})(\s*-?\s*(?:years?|yrs?|y)[\s-]*(?:old|o\.?)|\s*(?:y\/o|yo)\b)|\b(aged?\s*:?\s*)(\d{2,3})\b/gi;

function digitsOf(text: string): string {
  return text.replace(/\D/g, '');
}

/**
 * Scrubs `text` with what the header said (`facts`) and the staff list. Replaced spans are
 * set aside as they are found, so a later rule never rewrites an earlier replacement (a shifted
 * date is not then taken for an identifier).
 */
export function scrubText(
  text: string,
  facts: PhiFacts,
  staffNames: readonly string[] = [],
): ScrubResult {
  const counts: ScrubCounts = {};
  const kept: string[] = [];
  const hold = (replacement: string): string => {
    kept.push(replacement);
    return `\uE000${String.fromCharCode(0xe100 + kept.length - 1)}`;
  };
  const headerPhones = new Set(facts.phones.map(digitsOf).filter((digits) => digits.length >= 6));
  const rules: Rule[] = [
    { rule: 'email', pattern: EMAIL, replace: () => '[EMAIL]' },
    ...dateRules(facts.dateShiftDays),
    {
      rule: 'labelled-id',
      pattern: LABELLED_ID,
      replace: (m) => (/\d/.test(m[3] ?? '') ? `${m[1]}${m[2]}[ID]` : undefined),
    },
    {
      rule: 'phone',
      pattern: PHONE,
      replace: (m) => {
        const digits = digitsOf(m[0]);
        return (digits.length >= 9 && digits.length <= 15) || headerPhones.has(digits)
          ? '[PHONE]'
          : undefined;
      },
    },
    { rule: 'header-id', pattern: bounded(facts.ids), replace: () => '[ID]' },
    { rule: 'long-number', pattern: LONG_NUMBER, replace: () => '[ID]' },
    { rule: 'institution', pattern: bounded(facts.institutions), replace: () => '[INSTITUTION]' },
    {
      rule: 'address',
      pattern: bounded(
        facts.addresses.flatMap((address) => [
          address.replace(/\^/g, ', '),
          ...address.split(/[\^,\r\n]+/).filter((part) => part.trim().length >= 4),
        ]),
      ),
      replace: () => '[ADDRESS]',
    },
    {
      rule: 'header-name',
      pattern: bounded(facts.names.flatMap(nameVariants)),
      replace: () => '[NAME]',
    },
    {
      rule: 'staff-name',
      pattern: bounded(staffNames.flatMap(staffVariants)),
      replace: () => '[NAME]',
    },
    { rule: 'titled-name', pattern: TITLED_NAME, replace: (m) => `${m[1]}${m[2]}[NAME]` },
    {
      rule: 'age-over-89',
      pattern: AGE,
      replace: (m) => {
        const age = Number(m[1] ?? m[4]);
        if (age < 90) return undefined;
        return m[1] === undefined ? `${m[3]}90+` : `90+${m[2]}`;
      },
    },
  ];
  let working = text;
  for (const { rule, pattern, replace } of rules) {
    if (pattern === undefined) continue;
    let scrubbed = '';
    let last = 0;
    for (const match of working.matchAll(pattern)) {
      const replacement = replace(match);
      scrubbed += working.slice(last, match.index);
      if (replacement === undefined) scrubbed += match[0];
      else {
        counts[rule] = (counts[rule] ?? 0) + 1;
        scrubbed += hold(replacement);
      }
      last = match.index + match[0].length;
    }
    working = scrubbed + working.slice(last);
  }
  const restored = working.replace(
    /\uE000([\uE100-\uFFFF])/g,
    (_, index: string) => kept[index.charCodeAt(0) - 0xe100] ?? '',
  );
  return { text: restored, counts };
}

/** Adds `more` into `total`, rule by rule. */
export function addCounts(total: ScrubCounts, more: ScrubCounts): ScrubCounts {
  for (const rule of SCRUB_RULES) {
    const value = more[rule];
    if (value !== undefined) total[rule] = (total[rule] ?? 0) + value;
  }
  return total;
}
