/**
 * Which colour transform a baseline JPEG decoder applies. libjpeg decides from the codestream:
 * a JFIF marker or Adobe APP14 transform flag, else the component ids (1,2,3 → YCbCr,
 * 'R','G','B' → none), else YCbCr. DICOM says it in the header instead (PS3.5 8.2.1): RGB
 * means the compressed components are R, G, B. So for an RGB image with neither marker whose
 * ids are not 1,2,3, libjpeg's guess is wrong (it would turn R,G,B into a YCbCr→RGB mess);
 * relabelling the ids 'R','G','B' makes it decode the components as they are. Ids 1,2,3 keep
 * the guess: encoders that label YCbCr data as RGB write those.
 */

const SOI = 0xd8;
const SOS = 0xda;
const EOI = 0xd9;
const APP0 = 0xe0;
const APP14 = 0xee;
const RGB_IDS = [0x52, 0x47, 0x42];

/** Start-of-frame markers (SOF0..SOF15 but DHT, JPG and DAC), which list the components. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function startsWith(bytes: Uint8Array, at: number, text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    if (bytes[at + i] !== text.charCodeAt(i)) return false;
  }
  return true;
}

interface Segments {
  hasJfif: boolean;
  hasAdobe: boolean;
  /** Offsets of each component id byte, in SOF and in every SOS, with the id found there. */
  ids: { at: number; id: number }[];
  frameIds: number[];
}

/** Walks the marker segments, skipping entropy-coded data; stops at EOI or at bytes it cannot read. */
function readSegments(bytes: Uint8Array): Segments | null {
  if (bytes[0] !== 0xff || bytes[1] !== SOI) return null;
  const found: Segments = { hasJfif: false, hasAdobe: false, ids: [], frameIds: [] };
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) {
      // Entropy-coded data: find the next marker that is not stuffing (FF00) or a restart.
      at += 1;
      continue;
    }
    const marker = bytes[at + 1] ?? 0;
    if (marker === 0x00 || marker === 0xff || (marker >= 0xd0 && marker <= 0xd7)) {
      at += marker === 0xff ? 1 : 2;
      continue;
    }
    if (marker === EOI) break;
    const length = ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0);
    const body = at + 4;
    if (length < 2 || at + 2 + length > bytes.length) return null;
    if (marker === APP0 && startsWith(bytes, body, 'JFIF\0')) found.hasJfif = true;
    if (marker === APP14 && startsWith(bytes, body, 'Adobe')) found.hasAdobe = true;
    if (isStartOfFrame(marker)) {
      const count = bytes[body + 5] ?? 0;
      for (let c = 0; c < count; c += 1) {
        const idAt = body + 6 + c * 3;
        found.ids.push({ at: idAt, id: bytes[idAt] ?? 0 });
        found.frameIds.push(bytes[idAt] ?? 0);
      }
    }
    if (marker === SOS) {
      const count = bytes[body] ?? 0;
      for (let c = 0; c < count; c += 1) {
        const idAt = body + 1 + c * 2;
        found.ids.push({ at: idAt, id: bytes[idAt] ?? 0 });
      }
    }
    at += 2 + length;
  }
  return found;
}

/**
 * The codestream to give libjpeg for an image whose DICOM Photometric Interpretation is
 * `photometric`: the same bytes, or a copy whose component ids say RGB (see above).
 */
export function withDicomColourSpace(
  frame: Uint8Array,
  photometric: string | undefined,
): Uint8Array {
  if (photometric !== 'RGB') return frame;
  const segments = readSegments(frame);
  if (segments === null || segments.hasJfif || segments.hasAdobe) return frame;
  const ids = segments.frameIds;
  if (ids.length !== 3) return frame;
  if (ids[0] === 1 && ids[1] === 2 && ids[2] === 3) return frame;
  if (ids.every((id, index) => id === RGB_IDS[index])) return frame;
  const patched = new Uint8Array(frame);
  for (const { at, id } of segments.ids) {
    const index = ids.indexOf(id);
    if (index >= 0) patched[at] = RGB_IDS[index] ?? id;
  }
  return patched;
}
