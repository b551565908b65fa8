import { createRandom, gaussianTable, type Random } from './seeded-random.js';

/**
 * Synthetic chest radiographs that look like anatomy to a human and to a renderer: a body
 * outline with shoulders, lungs darker than the mediastinum, a heart, spine, ribs as arcs,
 * clavicles, diaphragm domes, a gastric bubble, lung markings, collimation and quantum noise.
 *
 * The image is built in two passes to stay fast at 3000 × 2500: the anatomy is evaluated as
 * an attenuation map on a grid four times coarser (a few hundred thousand points), then
 * interpolated to full resolution while noise is added from a precomputed Gaussian table.
 */

/** Per-patient body measurements in millimetres; the same patient gives both views. */
export interface ChestAnatomy {
  sex: 'F' | 'M';
  /** Half the width of the rib cage at lung level. */
  thoraxHalfWidth: number;
  /** Front-to-back depth of the chest. */
  apDepth: number;
  /** Lung apex, measured from the top edge of the detector. */
  apexY: number;
  /** Apex to the top of the right hemidiaphragm. */
  lungHeight: number;
  /** Heart width over thorax width (above ~0.5 reads as cardiomegaly). */
  cardiothoracicRatio: number;
  /** How far the patient stands off the detector centre. */
  offsetX: number;
  /** Seed of the lung texture and vessel trees. */
  textureSeed: number;
}

export type ChestView = 'PA' | 'LL';

export interface RadiographGeometry {
  view: ChestView;
  rows: number;
  columns: number;
  /** Detector pixel size in mm. */
  pixelSpacing: number;
  bitsStored: number;
  /** MONOCHROME1 stores high values for dark (exposed) areas, MONOCHROME2 the reverse. */
  photometric: 'MONOCHROME1' | 'MONOCHROME2';
  /** Unexposed border from the collimator, in mm from each edge (top, right, bottom, left). */
  collimation: readonly [number, number, number, number];
}

const COARSE = 4;
const TONE = 1.5;

function smoothstep(edge0: number, edge1: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - edge0) / (edge1 - edge0)));
  return t * t * (3 - 2 * t);
}

/** Smooth random field on a square lattice, for the mottled texture of lung parenchyma. */
class ValueNoise {
  private readonly size = 64;
  private readonly lattice: Float32Array;

  constructor(random: Random) {
    this.lattice = new Float32Array(this.size * this.size);
    for (let i = 0; i < this.lattice.length; i += 1) this.lattice[i] = random.next();
  }

  at(x: number, y: number): number {
    const mask = this.size - 1;
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const fx = x - x0;
    const fy = y - y0;
    const sx = fx * fx * (3 - 2 * fx);
    const sy = fy * fy * (3 - 2 * fy);
    const row0 = (y0 & mask) * this.size;
    const row1 = ((y0 + 1) & mask) * this.size;
    const a = this.lattice[row0 + (x0 & mask)] as number;
    const b = this.lattice[row0 + ((x0 + 1) & mask)] as number;
    const c = this.lattice[row1 + (x0 & mask)] as number;
    const d = this.lattice[row1 + ((x0 + 1) & mask)] as number;
    return a + (b - a) * sx + (c - a + (a - b - c + d) * sx) * sy;
  }
}

/** Soft elliptical bump: 1 at the centre, 0 on and outside the ellipse. */
function dome(x: number, y: number, cx: number, cy: number, rx: number, ry: number): number {
  const dx = (x - cx) / rx;
  const dy = (y - cy) / ry;
  const r2 = dx * dx + dy * dy;
  return r2 < 1 ? Math.sqrt(1 - r2) : 0;
}

/** Like `dome`, for an ellipse rotated by `angle` radians. */
function tiltedDome(
  x: number,
  y: number,
  cx: number,
  cy: number,
  rx: number,
  ry: number,
  angle: number,
): number {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const u = (x - cx) * cos + (y - cy) * sin;
  const v = -(x - cx) * sin + (y - cy) * cos;
  return dome(u, v, 0, 0, rx, ry);
}

/** Cross-section of a tubular bone at distance `d` from its axis: cortex brighter than marrow. */
function boneBand(d: number, half: number): number {
  const a = Math.abs(d);
  if (a >= half) return 0;
  const t = a / half;
  return (0.55 + 0.45 * t ** 6) * Math.sqrt(1 - t * t) ** 0.3;
}

/**
 * Pulmonary vessels: trees branching from each hilum, drawn as tapering tubes into a coarse map
 * of blood thickness (mm along the beam). Stamping segments is far cheaper than testing every
 * point against every vessel.
 */
class VesselMap {
  readonly thickness: Float32Array;

  constructor(
    private readonly columns: number,
    private readonly rows: number,
    /** Size of one map cell in mm. */
    private readonly cell: number,
    /** Position of cell (0, 0) in the anatomy's mm coordinates. */
    private readonly originX: number,
  ) {
    this.thickness = new Float32Array(columns * rows);
  }

  grow(random: Random, x: number, y: number, angle: number, radius: number, length: number): void {
    const endX = x + Math.cos(angle) * length;
    const endY = y + Math.sin(angle) * length;
    this.tube(x, y, endX, endY, radius, radius * 0.8);
    if (radius < 0.9) return;
    const branches = random.chance(0.3) ? 3 : 2;
    for (let i = 0; i < branches; i += 1) {
      const turn = (i - (branches - 1) / 2) * random.between(0.35, 0.7) + random.normal(0, 0.12);
      this.grow(
        random,
        endX,
        endY,
        angle + turn,
        radius * random.between(0.62, 0.78),
        length * random.between(0.7, 0.9),
      );
    }
  }

  private tube(x0: number, y0: number, x1: number, y1: number, r0: number, r1: number): void {
    const length = Math.hypot(x1 - x0, y1 - y0);
    const steps = Math.max(1, Math.ceil(length / (this.cell * 0.7)));
    for (let s = 0; s <= steps; s += 1) {
      const t = s / steps;
      const cx = (x0 + (x1 - x0) * t - this.originX) / this.cell;
      const cy = (y0 + (y1 - y0) * t) / this.cell;
      const r = (r0 + (r1 - r0) * t) / this.cell;
      const colMin = Math.max(0, Math.floor(cx - r));
      const colMax = Math.min(this.columns - 1, Math.ceil(cx + r));
      const rowMin = Math.max(0, Math.floor(cy - r));
      const rowMax = Math.min(this.rows - 1, Math.ceil(cy + r));
      for (let row = rowMin; row <= rowMax; row += 1) {
        for (let col = colMin; col <= colMax; col += 1) {
          const d2 = (col - cx) ** 2 + (row - cy) ** 2;
          if (d2 >= r * r) continue;
          const chord = 2 * Math.sqrt(r * r - d2) * this.cell;
          const index = row * this.columns + col;
          if (chord > (this.thickness[index] as number)) this.thickness[index] = chord;
        }
      }
    }
  }
}

/** Fans vessel trees out of a hilum: up, out and down into the lung, never across the midline. */
function growHilum(map: VesselMap, random: Random, x: number, y: number, side: number): void {
  const trees = 6;
  for (let i = 0; i < trees; i += 1) {
    const spread = -1.3 + (2.6 * (i + random.between(0.2, 0.8))) / trees;
    const angle = side > 0 ? spread : Math.PI - spread;
    const startX = x + side * random.between(0, 12);
    const startY = y + random.normal(0, 12);
    map.grow(random, startX, startY, angle, random.between(2.8, 4), random.between(24, 34));
  }
}

/**
 * Attenuation of a PA chest at (x, y) mm: x from the detector centre towards the patient's
 * left (image right), y down from the top edge. Units are roughly mm of water.
 */
function paAttenuation(
  body: ChestAnatomy,
  texture: ValueNoise,
  x0: number,
  y: number,
  vessels: number,
): number {
  const a = body.thoraxHalfWidth;
  const x = x0 - body.offsetX;
  const shoulderY = body.apexY - 25;
  const bodyHalf =
    62 +
    (a + 48 - 62) * smoothstep(shoulderY - 45, shoulderY + 25, y) -
    18 * smoothstep(shoulderY + 40, shoulderY + 140, y);
  const depth = body.apDepth * (0.5 + 0.5 * smoothstep(shoulderY - 50, shoulderY + 50, y));
  const ax = Math.abs(x);
  if (ax >= bodyHalf) return 0;
  let att = depth * Math.sqrt(1 - (ax / bodyHalf) ** 2);

  const side = x < 0 ? -1 : 1;
  const rightDomeY = body.apexY + body.lungHeight;
  const domeY = side < 0 ? rightDomeY : rightDomeY + 14;

  // The heart lies tilted, apex down and to the patient's left; it and the aortic knob
  // displace lung, which is what makes them white on the film.
  const heartHalf = body.cardiothoracicRatio * a;
  const heart = tiltedDome(x, y, heartHalf * 0.32, rightDomeY - 34, heartHalf * 1.02, 54, -0.42);
  const knob = dome(x, y, 28, body.apexY + 72, 17, 19);
  const displaced = Math.min(1, heart * 5 + knob * 5);
  att += 8 * heart;

  // Hemithorax: rounded apex, mediastinum medially, domes below.
  const top = body.apexY + (side < 0 ? 0 : 4);
  const reach = Math.sqrt(Math.min(1, Math.max(0, (y - top) / 75)));
  const belly = (y - top - 150) / 170;
  const lateral = (a - 10) * (0.35 + 0.65 * reach) * (1 - 0.07 * belly * belly);
  const medial = 28 + 26 * (1 - reach);
  const p = (ax - medial) / (lateral - medial);
  if (p > 0 && p < 1 && y > top) {
    const mid = (p - 0.45) / 0.55;
    const bottom = domeY + 40 * mid * mid;
    const vertical = smoothstep(bottom, bottom - 7, y) * smoothstep(top, top + 12, y);
    const thickness = body.apDepth * 0.66 * Math.sqrt(p * (1 - p ** 4)) * vertical;
    const mottle = texture.at(x / 5, y / 5);
    att -= thickness * (1 - displaced) * (0.86 - 0.08 * mottle);
    att += vessels * 3 * vertical * (1 - displaced);
  }

  // Gastric bubble under the left dome; breasts over the lower zones.
  att -= 35 * dome(x, y, a * 0.42, rightDomeY + 40, 24, 13);
  if (body.sex === 'F') att += 26 * dome(ax, y, a * 0.58, rightDomeY - 15, 70, 55);

  // Spine behind the mediastinum: vertebral bodies, discs, pedicles.
  const vertebra = 25.5;
  const phase = (((y - body.apexY + 60) % vertebra) + vertebra) % vertebra;
  if (ax < 20) att += (phase < 4.5 ? 5 : 9) * Math.sqrt(1 - (ax / 20) ** 2);
  att += 4 * dome(ax, phase, 14, 13, 4.5, 6.5);

  // The rib cage narrows towards the apex like the lungs do.
  const cage = (a + 6) * (0.4 + 0.6 * Math.sqrt(Math.min(1, Math.max(0, (y - top + 30) / 90))));
  const ribSpacing = body.lungHeight / 9.4;
  if (ax > 14 && ax < cage) {
    // Posterior ribs run out from the spine, then curve down along the chest wall.
    const posterior = y - (0.0042 * ax * ax - 0.22 * ax) - (body.apexY - 18);
    const j = Math.round(posterior / ribSpacing);
    if (j >= 0 && j <= 10) {
      const half = 5.2 - (ax / a) * 1.2;
      att += 17 * boneBand(posterior - j * ribSpacing, half) * smoothstep(cage, cage - 12, ax);
    }
    // Anterior ribs slope down towards the sternum and fade where cartilage takes over.
    const anterior = y - 0.55 * (a - ax) - (body.apexY + 20);
    const k = Math.round(anterior / (ribSpacing * 1.2));
    if (k >= 0 && k <= 6) {
      att +=
        9 *
        boneBand(anterior - k * ribSpacing * 1.2, 6) *
        smoothstep(50, 80, ax) *
        smoothstep(cage, cage - 10, ax);
    }
  }

  // Clavicles rise laterally from the sternal notch in a gentle S.
  if (ax > 18 && ax < a + 25) {
    const clavicle = y - (body.apexY + 10 - 0.3 * (ax - 18) + 6 * Math.sin((ax - 18) / 35));
    att += 16 * boneBand(clavicle, 6.5) * smoothstep(18, 30, ax);
  }
  // Humeral heads at the edges of the shoulders.
  att += 24 * dome(ax, y, a + 46, shoulderY + 32, 26, 27);
  return Math.max(0, att);
}

/** Attenuation of a left lateral chest; x runs from the patient's front (image left) to back. */
function lateralAttenuation(
  body: ChestAnatomy,
  texture: ValueNoise,
  x0: number,
  y: number,
  vessels: number,
): number {
  const half = body.apDepth / 2;
  const x = x0 - body.offsetX * 0.5;
  const shoulderY = body.apexY - 25;
  const front = -half + 34 * (1 - smoothstep(shoulderY, shoulderY + 90, y));
  const back = half - 10 * (1 - smoothstep(shoulderY - 40, shoulderY + 40, y));
  if (x <= front || x >= back) return 0;
  const centre = (front + back) / 2;
  const span = (back - front) / 2;
  const width =
    2 * (body.thoraxHalfWidth + 22) * (0.45 + 0.55 * smoothstep(shoulderY - 60, shoulderY + 40, y));
  let att = width * Math.sqrt(1 - ((x - centre) / span) ** 2) ** 0.6 * 0.9;

  const domeY = body.apexY + body.lungHeight;
  const heart = tiltedDome(x, y, -half + 82, domeY - 40, 74, 50, 0.55);
  const displaced = Math.min(1, heart * 3);
  att += 8 * heart;

  // Both lungs superimposed: from behind the sternum back over the vertebral bodies.
  const lungFront = -half + 16;
  const lungBack = half - 14;
  const p = (x - lungFront) / (lungBack - lungFront);
  const top = body.apexY - 6;
  if (p > 0 && p < 1 && y > top) {
    // Diaphragm: anterior part high, posterior sulcus deep; the left dome a little lower.
    const right = domeY - 18 + 70 * (p - 0.2) ** 2;
    const left = right + 12;
    const vertical = 0.55 * smoothstep(right, right - 7, y) + 0.45 * smoothstep(left, left - 7, y);
    const apex = smoothstep(top, top + 40, y);
    const thickness =
      2 * body.thoraxHalfWidth * 0.85 * Math.sqrt(p * (1 - p ** 3)) * vertical * apex;
    const mottle = texture.at(x / 5 + 31, y / 5);
    att -= thickness * (1 - displaced) * (0.84 - 0.08 * mottle);
    att += vessels * 1.1 * vertical * (1 - displaced);
  }

  // Trachea: an air column angling backwards into the chest down to the carina.
  const tracheaX = -half + 62 + 0.2 * (y - top);
  const carina = body.apexY + 88;
  if (y < carina) att -= 16 * dome(x, 0, tracheaX, 0, 9, 1) * smoothstep(carina, carina - 15, y);

  if (y > body.apexY + 5 && y < body.apexY + 170) att += 12 * boneBand(x - (-half + 8), 6);

  // Vertebral bodies in front of the spinal canal, discs between them, spinous processes behind.
  const spineX = half - 58;
  const vertebra = 25.5;
  const phase = (((y - body.apexY + 60) % vertebra) + vertebra) % vertebra;
  if (Math.abs(x - spineX) < 17)
    att += (phase < 4.5 ? 5 : 18) * smoothstep(17, 14, Math.abs(x - spineX));
  att += 10 * dome(x, phase, spineX + 34, 15, 10, 8);

  // Posterior ribs cross the back of the lungs obliquely.
  if (x > -10 && x < half) {
    const rib = y - 0.5 * x - body.apexY + 10;
    const spacing = body.lungHeight / 9.4;
    const j = Math.round(rib / spacing);
    if (j >= 0 && j <= 10) att += 6 * boneBand(rib - j * spacing, 5.5) * smoothstep(-10, 20, x);
  }
  return Math.max(0, att);
}

/**
 * Renders one chest radiograph as stored pixel values (unsigned, `bitsStored` bits). The
 * noise generator is seeded from `random`, so the same inputs always give the same pixels.
 */
export function renderChestRadiograph(
  body: ChestAnatomy,
  image: RadiographGeometry,
  random: Random,
): Uint16Array {
  const { rows, columns, pixelSpacing } = image;
  const gridColumns = Math.ceil(columns / COARSE) + 2;
  const gridRows = Math.ceil(rows / COARSE) + 2;
  const grid = new Float32Array(gridColumns * gridRows);
  const widthMm = columns * pixelSpacing;
  const heightMm = rows * pixelSpacing;
  const cell = COARSE * pixelSpacing;
  const textureRandom = createRandom(`lung-texture/${body.textureSeed}/${image.view}`);
  const texture = new ValueNoise(textureRandom);
  const vessels = new VesselMap(gridColumns, gridRows, cell, -widthMm / 2);
  const hilumY = body.apexY + 105;
  if (image.view === 'PA') {
    growHilum(vessels, textureRandom, body.offsetX - 56, hilumY, -1);
    growHilum(vessels, textureRandom, body.offsetX + 60, hilumY + 8, 1);
  } else {
    const hilumX = body.offsetX * 0.5 - body.apDepth / 2 + 115;
    growHilum(vessels, textureRandom, hilumX - 10, hilumY - 10, -1);
    growHilum(vessels, textureRandom, hilumX + 10, hilumY + 10, 1);
  }
  const attenuation = image.view === 'PA' ? paAttenuation : lateralAttenuation;
  // A lateral crosses the whole width of the body, so it needs a larger scale to not burn out.
  const fullScale = image.view === 'PA' ? body.apDepth * 1.3 : body.thoraxHalfWidth * 2.6;
  const [top, right, bottom, left] = image.collimation;
  const markerX = widthMm / 2 - right - 30;
  const markerY = top + 16;

  for (let gy = 0; gy < gridRows; gy += 1) {
    const y = gy * cell;
    const shutter =
      smoothstep(top - 1.5, top + 1.5, y) *
      smoothstep(heightMm - bottom + 1.5, heightMm - bottom - 1.5, y);
    for (let gx = 0; gx < gridColumns; gx += 1) {
      const index = gy * gridColumns + gx;
      const xFromLeft = gx * cell;
      const x = xFromLeft - widthMm / 2;
      const att = attenuation(body, texture, x, y, vessels.thickness[index] as number);
      // Film-like response: dense regions compress, so ribs fade behind the heart as on film.
      const brightness = Math.min(
        1,
        (1 - Math.exp(-TONE * (att / fullScale))) / (1 - Math.exp(-TONE)),
      );
      const open =
        shutter *
        smoothstep(left - 1.5, left + 1.5, xFromLeft) *
        smoothstep(widthMm - right + 1.5, widthMm - right - 1.5, xFromLeft);
      // Lead side marker ("L"): stops the beam entirely, like the collimator leaves.
      const dx = x - markerX;
      const dy = y - markerY;
      const marker = dx >= 0 && dy >= 0 && dy < 14 && (dx < 3 || (dx < 10 && dy >= 11));
      grid[index] = marker ? 1 : 1 - open * (1 - brightness);
    }
  }

  const max = 2 ** image.bitsStored - 1;
  const low = max * 0.04;
  const range = max * 0.9;
  const inverted = image.photometric === 'MONOCHROME1';
  const table = gaussianTable(random);
  const tableMask = table.length - 1;
  const sigma = max * 0.006;
  let state = random.uint32() || 1;

  const columnIndex = new Int32Array(columns);
  const columnFraction = new Float32Array(columns);
  for (let c = 0; c < columns; c += 1) {
    columnIndex[c] = Math.floor(c / COARSE);
    columnFraction[c] = (c % COARSE) / COARSE;
  }
  const pixels = new Uint16Array(rows * columns);
  for (let r = 0; r < rows; r += 1) {
    const row0 = Math.floor(r / COARSE) * gridColumns;
    const row1 = row0 + gridColumns;
    const fy = (r % COARSE) / COARSE;
    const out = r * columns;
    for (let c = 0; c < columns; c += 1) {
      const i = columnIndex[c] as number;
      const fx = columnFraction[c] as number;
      const a = grid[row0 + i] as number;
      const b = grid[row0 + i + 1] as number;
      const top0 = a + (b - a) * fx;
      const d = grid[row1 + i] as number;
      const e = grid[row1 + i + 1] as number;
      const brightness = top0 + (d + (e - d) * fx - top0) * fy;
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      // Fewer photons reach the detector behind dense tissue, so noise grows with brightness.
      const grain = (table[state & tableMask] as number) * sigma * (0.6 + 0.8 * brightness);
      const level = low + range * (inverted ? 1 - brightness : brightness) + grain;
      pixels[out + c] = level < 0 ? 0 : level > max ? max : level;
    }
  }
  return pixels;
}
