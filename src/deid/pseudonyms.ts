import { createHmac } from 'node:crypto';

/**
 * Pseudonyms from one secret: the same real value and key always give the same pseudonym, so
 * every object of a study gets the same new Study Instance UID and references between objects
 * stay consistent; another key gives unrelated pseudonyms. HMAC-SHA-256 with a domain label per
 * kind of value, so an accession number and a patient ID that happen to be equal do not map to
 * the same pseudonym.
 */

export type PseudonymKind = 'uid' | 'patient' | 'accession' | 'study' | 'series' | 'instance';

/** Dates move back by 1..3650 days: far enough to hide the real date, whole days only. */
const MAX_SHIFT_DAYS = 3650;

export class Pseudonymizer {
  readonly #secret: string;

  constructor(secret: string) {
    this.#secret = secret;
  }

  #digest(domain: string, value: string): Buffer {
    return createHmac('sha256', this.#secret).update(`${domain}\0${value}`).digest();
  }

  /** `2.25.` and the decimal of the first 128 bits of the keyed hash (PS3.5 B.2). */
  uid(value: string): string {
    const hex = this.#digest('uid', value.replace(/\0+$/, '').trim())
      .subarray(0, 16)
      .toString('hex');
    return `2.25.${BigInt(`0x${hex}`).toString(10)}`;
  }

  /**
   * A pseudonym for an identifier. Study, series and instance ids of the PACS go through uid(),
   * so that where the PACS uses the DICOM UIDs as ids, the file name is the new SOP Instance UID.
   */
  pseudonym(kind: PseudonymKind, value: string): string {
    if (kind === 'uid' || kind === 'study' || kind === 'series' || kind === 'instance') {
      return this.uid(value);
    }
    const hex = this.#digest(kind, value.trim()).toString('hex').toUpperCase();
    // Patient ID is LO (64 characters), Accession Number SH (16).
    return kind === 'patient' ? `PAT${hex.slice(0, 20)}` : `ACC${hex.slice(0, 13)}`;
  }

  /** Days every date of this patient moves by: negative, from 1 to 3650 days back. */
  dateShiftDays(patientId: string): number {
    return -(1 + (this.#digest('date-shift', patientId.trim()).readUInt32BE(0) % MAX_SHIFT_DAYS));
  }

  /** A short public fingerprint of the key, to tell runs made with different keys apart. */
  keyId(): string {
    return this.#digest('key-id', '').toString('hex').slice(0, 12);
  }
}
