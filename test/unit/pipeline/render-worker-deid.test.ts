import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_RENDER_OPTIONS } from '../../../src/domain/render.js';
import { RenderPool } from '../../../src/pipeline/render-pool.js';
import {
  CanaryBook,
  canaryInstance,
  canaryPatient,
  canaryStudy,
} from '../../support/phi-canary.js';
import { grayDicom } from '../../support/render-dicom.js';

const deid = { secret: 'render-worker-secret-0123', keep: [], remove: [] };

/** The markers of a JPEG's header segments, up to the start of scan. */
function jpegMarkers(bytes: Uint8Array): number[] {
  const markers: number[] = [];
  let at = 2;
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1] ?? 0;
    markers.push(marker);
    if (marker === 0xda) break;
    at += 2 + (((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0));
  }
  return markers;
}

let pool: RenderPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('the render worker, de-identifying', () => {
  it('returns the de-identified DICOM, header facts read from it, and the original facts apart', async () => {
    const book = new CanaryBook();
    const patient = canaryPatient(book);
    const study = canaryStudy(book);
    const bytes = canaryInstance(
      book,
      patient,
      study,
      book.uid('sop'),
      book.uid('series'),
      'explicit-le',
    );
    pool = RenderPool.create({ threads: 1 });
    const outcome = await pool.renderFrames(bytes, DEFAULT_RENDER_OPTIONS, { deid });
    if (!outcome.ok) throw outcome.error;
    const text = Buffer.from(outcome.dicom).toString('latin1');
    expect(text).not.toContain(patient.id);
    expect(outcome.attributes?.patientId).toMatch(/^PAT[0-9A-F]{20}$/);
    expect(outcome.attributes?.studyDate).not.toBe(study.date);
    expect(outcome.phi?.facts.ids).toContain(patient.id);
    expect(outcome.phi?.facts.names).toContain(`${patient.family}^${patient.given}`);
    expect(outcome.phi?.pseudonyms).toContainEqual({
      kind: 'patient',
      real: patient.id,
      pseudonym: outcome.attributes?.patientId,
    });
  });

  it('writes JPEGs without EXIF, XMP, ICC profile or comment', async () => {
    pool = RenderPool.create({ threads: 1 });
    const bytes = grayDicom({
      rows: 32,
      columns: 32,
      pixels: Uint16Array.from({ length: 1024 }, (_, i) => i * 4),
      bitsStored: 12,
      extra: [{ tag: 0x00100010, vr: 'PN', value: 'Cnryjpegname^Patient' }],
    });
    const outcome = await pool.renderFrames(bytes, DEFAULT_RENDER_OPTIONS, { deid });
    if (!outcome.ok) throw outcome.error;
    const jpeg = outcome.images[0]?.bytes ?? new Uint8Array();
    const markers = jpegMarkers(jpeg);
    expect(markers).toContain(0xda);
    // APP0 (JFIF) at most; APP1 is EXIF or XMP, APP2 ICC, APP13 IPTC, 0xFE a comment.
    expect(
      markers.filter((marker) => (marker >= 0xe1 && marker <= 0xef) || marker === 0xfe),
    ).toEqual([]);
    expect(Buffer.from(jpeg).toString('latin1')).not.toMatch(/cnryjpegname/i);
  });

  it('fails with the reader’s code, and no facts, when the file cannot be de-identified', async () => {
    pool = RenderPool.create({ threads: 1 });
    const outcome = await pool.renderFrames(
      new TextEncoder().encode('not a DICOM file'),
      DEFAULT_RENDER_OPTIONS,
      { deid },
    );
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('NOT_DICOM');
    expect(outcome.phi).toBeNull();
  });
});
