import { writePart10, type DicomElement, type DicomVR } from '../../src/dicom/writer.js';
import { rowAction } from '../../src/deid/profile.js';
import { PROFILE_ROWS } from '../../src/deid/profile-table.js';
import { MONTH_NAMES } from '../../src/deid/report-scrubber.js';

/**
 * The PHI canary corpus: DICOM files and reports in which every identifying value is a unique
 * string (a canary), in every attribute of the profile table, in private tags, in nested
 * sequences and in every form the report scrubber claims to handle. A de-identified run must
 * leave none in its output, except those the profile deliberately keeps (listed as kept).
 */

export interface Canary {
  value: string;
  /** Where it was put, for the failure message. */
  where: string;
  /** The profile keeps it on purpose (e.g. times of day under the modified-dates option). */
  kept: boolean;
}

const CR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.1';
const DAY_MS = 86_400_000;

/** Hands out canaries and remembers where each went. Fixed widths: no canary contains another. */
export class CanaryBook {
  readonly canaries: Canary[] = [];
  #counter = 0;
  #dates = 0;

  #next(): string {
    this.#counter += 1;
    let n = this.#counter;
    let letters = '';
    for (let i = 0; i < 3; i += 1) {
      letters = String.fromCharCode(97 + (n % 26)) + letters;
      n = Math.floor(n / 26);
    }
    return letters;
  }

  add(value: string, where: string, kept = false): string {
    this.canaries.push({ value, where, kept });
    return value;
  }

  /** Upper-case letters, for codes and CS values: CNRYABC. */
  code(where: string): string {
    return this.add(`CNRY${this.#next().toUpperCase()}`, where);
  }

  /** A capitalised word, for names: Cnryabc. */
  word(where: string): string {
    return this.add(`Cnry${this.#next()}`, where);
  }

  /** A unique UID under a root of its own. */
  uid(where: string): string {
    return this.add(`1.2.826.0.1.3680043.10.543.${1000 + this.#counter++}`, where);
  }

  /** A unique digit string of `length` digits, not registered (a part of a longer canary). */
  number(length: number): string {
    this.#counter += 1;
    return `9${String(this.#counter).padStart(length - 1, '0')}`;
  }

  /** A unique digit string of `length` digits (an MRN, an order number). */
  digits(length: number, where: string): string {
    return this.add(this.number(length), where);
  }

  /**
   * A unique date, consecutive days from 1961-01-01: distinct as long as the patient's shift
   * moves dates by more days than there are date canaries (the suite checks it does).
   */
  date(where: string, kept = false): { year: number; month: number; day: number; da: string } {
    const time = Date.UTC(1961, 0, 1) + this.#dates * DAY_MS;
    this.#dates += 1;
    const date = new Date(time);
    const year = date.getUTCFullYear();
    const month = date.getUTCMonth() + 1;
    const day = date.getUTCDate();
    const da = `${year}${String(month).padStart(2, '0')}${String(day).padStart(2, '0')}`;
    this.add(da, where, kept);
    return { year, month, day, da };
  }

  get dateCount(): number {
    return this.#dates;
  }
}

export interface CanaryPatient {
  id: string;
  family: string;
  given: string;
}

export interface CanaryStudy {
  uid: string;
  accession: string;
  date: string;
  institution: string;
  address: string;
  phone: string;
  referring: { family: string; given: string };
}

export function canaryPatient(book: CanaryBook): CanaryPatient {
  return {
    id: book.code('Patient ID'),
    family: book.word('Patient Name, family'),
    given: book.word('Patient Name, given'),
  };
}

export function canaryStudy(book: CanaryBook): CanaryStudy {
  return {
    uid: book.uid('Study Instance UID'),
    accession: book.code('Accession Number'),
    date: book.date('Study Date').da,
    institution: `${book.word('Institution Name')} Hospital`,
    address: book.add(
      `${book.number(3)} ${book.word('Institution Address, street')} Road`,
      'Institution Address',
    ),
    phone: book.add(`020 ${book.number(4)} ${book.number(4)}`, 'Referring Physician phone'),
    referring: {
      family: book.word('Referring Physician Name, family'),
      given: book.word('Referring Physician Name, given'),
    },
  };
}

/** Attributes the generator sets itself (they carry the patient's and study's canaries). */
const SET_BY_STUDY = new Set([
  0x00080018, 0x00080020, 0x00080050, 0x00080080, 0x00080081, 0x00080090, 0x00080094, 0x00100010,
  0x00100020, 0x0020000d, 0x0020000e,
]);

/** VRs a canary string cannot be written in: binary, or too constrained (AS, DS). */
const NO_CANARY: ReadonlySet<string> = new Set(['US', 'OB', 'AS', 'DS']);

function privateBlock(book: CanaryBook, where: string): DicomElement[] {
  return [
    { tag: 0x00090010, vr: 'LO', value: 'CNRY PRIVATE' },
    { tag: 0x00091001, vr: 'LO', value: book.code(`${where} private (0009,1001)`) },
    {
      tag: 0x00091002,
      vr: 'SQ',
      value: [[{ tag: 0x0040a123, vr: 'PN', value: book.word(`${where} private sequence PN`) }]],
    },
  ];
}

/** The item a canary puts in a sequence the profile names: a name, a UID, nested and private. */
function sequenceItem(book: CanaryBook, keyword: string): DicomElement[] {
  return [
    { tag: 0x00081150, vr: 'UI', value: CR_IMAGE_STORAGE },
    { tag: 0x00081155, vr: 'UI', value: book.uid(`${keyword} > Referenced SOP Instance UID`) },
    { tag: 0x0040a123, vr: 'PN', value: book.word(`${keyword} > Person Name`) },
    {
      tag: 0x0040a730,
      vr: 'SQ',
      value: [
        [{ tag: 0x0040a123, vr: 'PN', value: book.word(`${keyword} > nested > Person Name`) }],
      ],
    },
    ...privateBlock(book, keyword),
  ];
}

/**
 * One CR image carrying a canary in every attribute of the profile table (where its VR can hold
 * one), private tags and nested sequences. Descriptors that the Clean Descriptors option cleans
 * carry the patient's own name and accession number, which the cleaner must find.
 */
export function canaryInstance(
  book: CanaryBook,
  patient: CanaryPatient,
  study: CanaryStudy,
  sopInstanceUid: string,
  seriesUid: string,
  transferSyntax: 'explicit-le' | 'implicit-le',
): Uint8Array {
  const elements: DicomElement[] = [
    { tag: 0x00080008, vr: 'CS', value: ['ORIGINAL', 'PRIMARY'] },
    { tag: 0x00080020, vr: 'DA', value: study.date },
    { tag: 0x00080050, vr: 'SH', value: study.accession },
    { tag: 0x00080060, vr: 'CS', value: 'CR' },
    { tag: 0x00080080, vr: 'LO', value: study.institution },
    { tag: 0x00080081, vr: 'ST', value: study.address },
    { tag: 0x00080090, vr: 'PN', value: `${study.referring.family}^${study.referring.given}` },
    { tag: 0x00080094, vr: 'SH', value: study.phone },
    { tag: 0x00100010, vr: 'PN', value: `${patient.family}^${patient.given}` },
    { tag: 0x00100020, vr: 'LO', value: patient.id },
    { tag: 0x00180015, vr: 'CS', value: 'CHEST' },
    // A view, so that the instruction exports have samples (and quote reports) to scan.
    { tag: 0x00185101, vr: 'CS', value: 'PA' },
    { tag: 0x0020000d, vr: 'UI', value: study.uid },
    { tag: 0x0020000e, vr: 'UI', value: seriesUid },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: 32 },
    { tag: 0x00280011, vr: 'US', value: 32 },
    { tag: 0x00280100, vr: 'US', value: 16 },
    { tag: 0x00280101, vr: 'US', value: 12 },
    { tag: 0x00280102, vr: 'US', value: 11 },
    { tag: 0x00280103, vr: 'US', value: 0 },
    { tag: 0x00280301, vr: 'CS', value: 'NO' },
    {
      tag: 0x7fe00010,
      vr: 'OW',
      value: Uint16Array.from({ length: 32 * 32 }, (_, i) => (i * 37) % 4096),
    },
    ...privateBlock(book, 'top level'),
  ];
  const generated = new Set(elements.map((element) => element.tag));
  for (const row of PROFILE_ROWS) {
    const tag = parseInt(row.tag.replace('xx', '00'), 16);
    if (SET_BY_STUDY.has(tag) || generated.has(tag) || NO_CANARY.has(row.vr)) continue;
    if (tag >>> 16 === 0xfffa || tag >>> 16 === 0xfffc) continue;
    const where = `${row.keyword} ${row.tag}`;
    let value: DicomElement['value'];
    switch (row.vr) {
      case 'PN':
        value = `${book.word(`${where}, family`)}^${book.word(`${where}, given`)}`;
        break;
      case 'DA':
        value = book.date(where).da;
        break;
      case 'DT':
        value = `${book.date(where).da}101500`;
        break;
      case 'TM':
        // A time the profile cleans (C) stays: dates move by whole days. Listed as kept.
        value = book.add(
          `2${String(book.canaries.length).padStart(5, '0')}`.slice(0, 6),
          where,
          rowAction(row) === 'C',
        );
        break;
      case 'UI':
        value = book.uid(where);
        break;
      case 'SQ':
        value = [sequenceItem(book, row.keyword)];
        break;
      default:
        value = row.cd === 'C' ? `CHEST ${patient.family} ${study.accession}` : book.code(where);
    }
    elements.push({ tag, vr: row.vr as DicomVR, value });
  }
  return writePart10({
    sopClassUid: CR_IMAGE_STORAGE,
    sopInstanceUid,
    transferSyntax,
    elements: elements.filter((element) => element.tag !== 0x00080018),
  });
}

/**
 * A report that names the patient, staff, identifiers, contact details and dates in every
 * form the scrubber handles. `staff` is a name of the --deid-staff-names list.
 */
export function canaryReport(
  book: CanaryBook,
  patient: CanaryPatient,
  study: CanaryStudy,
  staff: string,
): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  const iso = book.date('report date, ISO');
  const dmy = book.date('report date, DD/MM/YYYY');
  const long = book.date('report date, D Month YYYY');
  const us = book.date('report date, Month D, YYYY');
  // The registered canaries of the written forms (the DA form is registered by date()).
  book.add(`${iso.year}-${pad(iso.month)}-${pad(iso.day)}`, 'report date, ISO text');
  book.add(`${pad(dmy.day)}/${pad(dmy.month)}/${dmy.year}`, 'report date, DD/MM/YYYY text');
  book.add(`${long.day} ${MONTH_NAMES[long.month - 1]} ${long.year}`, 'report date, long text');
  book.add(`${MONTH_NAMES[us.month - 1]} ${us.day}, ${us.year}`, 'report date, US text');
  const doctor = book.word('report, name after Dr.');
  const professor = book.word('report, name after Prof.');
  const mrn = book.digits(8, 'report, MRN');
  const bare = book.digits(9, 'report, bare long number');
  const mobile = book.add(`+44 7700 ${book.number(6)}`, 'report, mobile phone');
  const email = book.add(
    `${book.code('report, e-mail user').toLowerCase()}@example.org`,
    'report, e-mail',
  );
  return [
    `Patient ${patient.given} ${patient.family} (${patient.family}, ${patient.given}), ID ${patient.id}, MRN: ${mrn}, accession ${study.accession}.`,
    `Referred by Dr. ${study.referring.given} ${study.referring.family} of ${study.institution}, ${study.address}; call ${study.phone} or ${mobile}, or write to ${email}.`,
    `Compared with the studies of ${iso.year}-${pad(iso.month)}-${pad(iso.day)}, ${pad(dmy.day)}/${pad(dmy.month)}/${dmy.year}, ${long.day} ${MONTH_NAMES[long.month - 1]} ${long.year} and ${MONTH_NAMES[us.month - 1]} ${us.day}, ${us.year} (order ${bare}).`,
    `Reported by Dr. ${doctor} and Prof. ${professor}; typed by ${staff}. A 93-year-old patient.`,
    'Lungs clear. No pleural effusion. Heart size normal.',
  ].join('\n');
}
