/**
 * `npm run bench -- deid [--reports 500]`: what the report scrubber catches and misses on the
 * sample PACS's reports (src/demo/radiology-reports.ts) with realistic PHI written into them the
 * way reports carry it: a patient line, the referrer, the dictating radiologist, phone calls,
 * other hospitals, relatives, NHS numbers, month-and-year dates. Each planted value is labelled,
 * so a value is "caught" when none of it is left in the scrubbed text. The clean templates are
 * scrubbed too, to count false alarms (placeholders where there was no PHI).
 */
import { parseArgs } from 'node:util';
import { writeReport, type ReportContext } from '../src/demo/radiology-reports.js';
import { createRandom, type Random } from '../src/demo/seeded-random.js';
import { MONTH_NAMES, scrubText } from '../src/deid/report-scrubber.js';
import type { PhiFacts } from '../src/domain/deid.js';

const GIVEN = [
  'Margaret',
  'John',
  'Aisha',
  'Wei',
  'Siobhan',
  'Oluwaseun',
  'Jürgen',
  'María',
  'Tom',
  'Priya',
];
const FAMILY = [
  'Thompson',
  'Okafor',
  "O'Neill",
  'Nguyen',
  'Schäfer',
  'García',
  'Kowalski',
  'Patel',
  'Smith',
  'Brown',
];
interface Planted {
  category: string;
  /** The sensitive parts: caught when none of them is left. */
  values: string[];
}

const pad = (value: number) => String(value).padStart(2, '0');

function person(random: Random): { given: string; family: string } {
  return { given: random.pick(GIVEN), family: random.pick(FAMILY) };
}

function date(random: Random): { y: number; m: number; d: number } {
  return { y: random.int(2015, 2024), m: random.int(1, 12), d: random.int(1, 28) };
}

function digits(random: Random, count: number): string {
  let out = String(random.int(1, 9));
  while (out.length < count) out += String(random.int(0, 9));
  return out;
}

/** One report with PHI lines around the template's text, and what was planted. */
function plant(
  random: Random,
  index: number,
): { text: string; facts: PhiFacts; planted: Planted[]; clean: string } {
  const patient = person(random);
  const referrer = person(random);
  const staff = person(random);
  const institution = `${random.pick(['St', 'Royal', 'County'])} ${random.pick(FAMILY)} Hospital`;
  const mrn = digits(random, 8);
  const accession = `A${digits(random, 9)}`;
  const prior = date(random);
  const context: ReportContext = {
    kind: random.chance(0.5) ? 'chest-radiograph' : 'chest-ct',
    sex: random.chance(0.5) ? 'F' : 'M',
    age: random.int(20, 95),
    cardiothoracicRatio: random.between(0.4, 0.6),
    contrast: random.chance(0.5),
    priorDate: `${prior.y}-${pad(prior.m)}-${pad(prior.d)}`,
    techniqueDetail: '125 kVp',
  };
  const clean = writeReport(random, context)
    .map((field) => field.value)
    .join('\n\n');
  const planted: Planted[] = [];
  const lines: string[] = [];
  const add = (category: string, line: string, values: string[]) => {
    lines.push(line);
    planted.push({ category, values });
  };
  const dob = date(random);
  add('header name', `Patient: ${patient.given} ${patient.family}`, [
    patient.given,
    patient.family,
  ]);
  add('date, DD/MM/YYYY', `DOB ${pad(dob.d)}/${pad(dob.m)}/${dob.y - 60}`, [
    `${pad(dob.d)}/${pad(dob.m)}/${dob.y - 60}`,
  ]);
  add('MRN, labelled', `MRN: ${mrn}`, [mrn]);
  add('accession, header', `Accession ${accession}`, [accession]);
  add('header name after title', `Referring physician: Dr. ${referrer.given} ${referrer.family}`, [
    referrer.given,
    referrer.family,
  ]);
  if (context.priorDate !== '')
    planted.push({ category: 'date, ISO (template)', values: [context.priorDate] });
  if (random.chance(0.6)) {
    const other = person(random);
    const when = date(random);
    const phone = `0${digits(random, 4)} ${digits(random, 6)}`;
    add(
      'name after title (not in header)',
      `Findings discussed with Dr. ${other.family} on ${MONTH_NAMES[when.m - 1]} ${when.d}, ${when.y} by phone (${phone}).`,
      [other.family],
    );
    planted.push({
      category: 'date, Month D, YYYY',
      values: [`${MONTH_NAMES[when.m - 1]} ${when.d}, ${when.y}`],
    });
    planted.push({ category: 'phone', values: [phone] });
  }
  if (random.chance(0.5)) {
    const when = date(random);
    add(
      'date, D Month YYYY',
      `Compared with CT of ${when.d} ${MONTH_NAMES[when.m - 1]} ${when.y} at ${institution}.`,
      [`${when.d} ${MONTH_NAMES[when.m - 1]} ${when.y}`],
    );
    planted.push({ category: 'institution, header', values: [institution] });
  }
  if (random.chance(0.3)) {
    const other = `${random.pick(['Queen', 'General', 'University'])} ${random.pick(FAMILY)} Hospital`;
    add('institution (not in header)', `Previous imaging at ${other}.`, [other]);
  }
  if (random.chance(0.3)) {
    const relative = person(random);
    add(
      'name without title (not in header)',
      `Daughter ${relative.given} present during the examination.`,
      [relative.given],
    );
  }
  if (random.chance(0.3)) {
    const nhs = `${digits(random, 3)} ${digits(random, 3)} ${digits(random, 4)}`;
    add('NHS number, spaced', `NHS No. ${nhs}`, [nhs]);
  }
  if (random.chance(0.3)) {
    const when = date(random);
    add('date, Month YYYY', `Follow-up CT planned for ${MONTH_NAMES[when.m - 1]} ${when.y}.`, [
      `${MONTH_NAMES[when.m - 1]} ${when.y}`,
    ]);
  }
  if (random.chance(0.3)) {
    const email = `${staff.given.toLowerCase()}.${index}@hospital.example.org`;
    add('e-mail', `Queries to ${email}`, [email]);
  }
  if (random.chance(0.2)) {
    const age = random.int(90, 104);
    add('age over 89', `${age}-year-old patient.`, [`${age}-year`]);
  }
  add('staff list name', `Dictated by ${staff.given} ${staff.family}`, [staff.given, staff.family]);
  const text = [...lines.slice(0, 5), clean, ...lines.slice(5)].join('\n');
  const facts: PhiFacts = {
    names: [`${patient.family}^${patient.given}`, `${referrer.family}^${referrer.given}`],
    ids: [mrn, accession],
    institutions: [institution],
    addresses: [],
    phones: [],
    dateShiftDays: -37,
  };
  return { text, facts, planted, clean };
}

export function deidBench(argv: readonly string[]): void {
  const { values } = parseArgs({
    args: [...argv],
    options: { reports: { type: 'string', default: '500' } },
  });
  const count = Number(values.reports);
  const random = createRandom('deid-bench');
  const tally = new Map<string, { planted: number; caught: number }>();
  let falseAlarms = 0;
  let cleanReports = 0;
  for (let index = 0; index < count; index += 1) {
    const report = plant(random, index);
    const staff =
      report.planted.find((entry) => entry.category === 'staff list name')?.values.join(' ') ?? '';
    const scrubbed = scrubText(report.text, report.facts, [staff]).text;
    for (const entry of report.planted) {
      const row = tally.get(entry.category) ?? { planted: 0, caught: 0 };
      row.planted += 1;
      if (entry.values.every((value) => !scrubbed.includes(value))) row.caught += 1;
      tally.set(entry.category, row);
    }
    // The template alone: any placeholder but a moved date is a false alarm.
    const alone = scrubText(report.clean, {
      ...report.facts,
      names: [],
      ids: [],
      institutions: [],
    });
    const alarms = Object.entries(alone.counts)
      .filter(([rule]) => rule !== 'date')
      .reduce((sum, [, n]) => sum + (n ?? 0), 0);
    falseAlarms += alarms;
    if (alarms > 0) cleanReports += 1;
  }
  const rows = [...tally].sort(([a], [b]) => a.localeCompare(b));
  const width = Math.max(...rows.map(([category]) => category.length));
  process.stdout.write(`report scrubber on ${count} sample reports with planted PHI\n`);
  process.stdout.write(`${'category'.padEnd(width)}  planted  caught  missed   caught %\n`);
  let planted = 0;
  let caught = 0;
  for (const [category, row] of rows) {
    planted += row.planted;
    caught += row.caught;
    process.stdout.write(
      `${category.padEnd(width)}  ${String(row.planted).padStart(7)}  ${String(row.caught).padStart(6)}  ${String(row.planted - row.caught).padStart(6)}  ${((100 * row.caught) / row.planted).toFixed(1).padStart(8)}\n`,
    );
  }
  process.stdout.write(
    `${'all'.padEnd(width)}  ${String(planted).padStart(7)}  ${String(caught).padStart(6)}  ${String(planted - caught).padStart(6)}  ${((100 * caught) / planted).toFixed(1).padStart(8)}\n`,
  );
  process.stdout.write(
    `false alarms in the PHI-free templates: ${falseAlarms} placeholders in ${cleanReports} of ${count} reports\n`,
  );
}
