import { gaussianTable, type Random } from './seeded-random.js';

/**
 * Synthetic axial chest CT slices in Hounsfield units: a torso with fat and muscle layers, a
 * rib ring, lungs with vessels that move coherently from slice to slice, airways, heart, great
 * vessels, spine, sternum, liver at the bases and the scanner table beneath the patient.
 *
 * The anatomy is painted back to front with scan-line fills (each shape touches only its own
 * rows), then each reconstruction kernel adds its own blur, edge enhancement and noise grain.
 */

export const CT_MATRIX = 512;

/** One patient's body, in mm; shared by every slice and both kernels of a study. */
export interface CtAnatomy {
  sex: 'F' | 'M';
  bodyHalfWidth: number;
  bodyHalfDepth: number;
  /** Subcutaneous fat thickness. */
  fat: number;
  cardiothoracicRatio: number;
  /** Patient offset from the isocentre (x towards the left, y towards the back). */
  offsetX: number;
  offsetY: number;
  /** Iodinated contrast brightens the blood pool. */
  contrast: boolean;
  vessels: readonly LungVessel[];
}

/** A pulmonary vessel crossing the axial plane; positions are relative to its lung's extent. */
export interface LungVessel {
  side: -1 | 1;
  /** Position at level 0.5 in [-1, 1] of the lung's half-axes, and drift per unit of level. */
  u: number;
  v: number;
  du: number;
  dv: number;
  radius: number;
  /** Levels (0 apex, 1 base) between which the vessel is in the plane. */
  from: number;
  to: number;
}

export type CtKernel = 'lung' | 'soft';

export function planLungVessels(random: Random, count = 70): LungVessel[] {
  return Array.from({ length: count }, () => {
    const side = random.chance(0.5) ? -1 : 1;
    // Vessels crowd towards the hilum (medial, mid-level) and thin out at the periphery.
    const u = side * (1 - 2 * Math.sqrt(random.next()) * 0.9);
    const v = random.between(-0.8, 0.8);
    const medial = 1 - Math.abs(u - side * -1) / 2;
    const start = random.between(0.05, 0.85);
    return {
      side,
      u,
      v,
      du: random.normal(0, 0.6),
      dv: random.normal(0, 0.6),
      radius: 0.8 + 3.6 * medial * medial * random.between(0.5, 1),
      from: start,
      to: Math.min(1, start + random.between(0.1, 0.6)),
    };
  });
}

class Canvas {
  readonly hu = new Float32Array(CT_MATRIX * CT_MATRIX).fill(-1000);

  constructor(
    /** mm per pixel */
    private readonly spacing: number,
  ) {}

  private px(mm: number): number {
    return mm / this.spacing + CT_MATRIX / 2;
  }

  /**
   * Fills |x/rx|^n + |y/ry|^n < 1 around (cx, cy) mm, rotated by `angle`; `under` restricts the
   * paint to pixels currently darker than it (vessels only inside lung).
   */
  shape(
    cx: number,
    cy: number,
    rx: number,
    ry: number,
    value: number,
    options: { n?: number; angle?: number; under?: number } = {},
  ): void {
    const n = options.n ?? 2;
    const angle = options.angle ?? 0;
    const under = options.under ?? Infinity;
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const reach = Math.max(rx, ry) * (n > 2 ? Math.SQRT2 : 1);
    const colMin = Math.max(0, Math.floor(this.px(cx - reach)));
    const colMax = Math.min(CT_MATRIX - 1, Math.ceil(this.px(cx + reach)));
    const rowMin = Math.max(0, Math.floor(this.px(cy - reach)));
    const rowMax = Math.min(CT_MATRIX - 1, Math.ceil(this.px(cy + reach)));
    const { hu, spacing } = this;
    for (let row = rowMin; row <= rowMax; row += 1) {
      const dy = (row - CT_MATRIX / 2 + 0.5) * spacing - cy;
      if (angle === 0) {
        // Unrotated shapes (the large ones) fill whole row spans: no per-pixel power.
        const v = Math.abs(dy / ry);
        if (v >= 1) continue;
        const half = rx * (1 - v ** n) ** (1 / n);
        const from = Math.max(colMin, Math.ceil(this.px(cx - half) - 0.5));
        const to = Math.min(colMax, Math.floor(this.px(cx + half) - 0.5));
        for (let index = row * CT_MATRIX + from; index <= row * CT_MATRIX + to; index += 1) {
          if ((hu[index] as number) < under) hu[index] = value;
        }
        continue;
      }
      for (let col = colMin; col <= colMax; col += 1) {
        const dx = (col - CT_MATRIX / 2 + 0.5) * spacing - cx;
        const u = Math.abs((dx * cos + dy * sin) / rx);
        const v = Math.abs((-dx * sin + dy * cos) / ry);
        const index = row * CT_MATRIX + col;
        if (u ** n + v ** n < 1 && (hu[index] as number) < under) hu[index] = value;
      }
    }
  }

  /** Fills the band a ≤ y < b (mm) for |x| < halfWidth, e.g. the table. */
  slab(halfWidth: number, top: number, bottom: number, value: number): void {
    const rowMin = Math.max(0, Math.floor(this.px(top)));
    const rowMax = Math.min(CT_MATRIX - 1, Math.ceil(this.px(bottom)));
    const colMin = Math.max(0, Math.floor(this.px(-halfWidth)));
    const colMax = Math.min(CT_MATRIX - 1, Math.ceil(this.px(halfWidth)));
    for (let row = rowMin; row <= rowMax; row += 1) {
      this.hu.fill(value, row * CT_MATRIX + colMin, row * CT_MATRIX + colMax + 1);
    }
  }
}

/** Bell-shaped presence of an organ between two levels, peaking halfway. */
function span(level: number, from: number, to: number): number {
  if (level <= from || level >= to) return 0;
  return Math.sin((Math.PI * (level - from)) / (to - from)) ** 0.6;
}

/**
 * Hounsfield units of one axial slice at `level` (0 = lung apex, 1 = lung base), before any
 * kernel or noise. Rows run from the patient's front to back, columns from right to left.
 */
export function chestCtSlice(body: CtAnatomy, level: number, fieldOfView: number): Float32Array {
  const canvas = new Canvas(fieldOfView / CT_MATRIX);
  const { bodyHalfWidth: bx, bodyHalfDepth: by, offsetX: ox, offsetY: oy } = body;
  const blood = body.contrast ? 260 : 42;

  // Table: carbon-fibre skins around a foam core, just under the patient's back.
  const tableTop = oy + by + 6;
  canvas.slab(230, tableTop, tableTop + 42, -880);
  canvas.slab(230, tableTop, tableTop + 2.5, 180);
  canvas.slab(230, tableTop + 39, tableTop + 42, 180);

  // Shoulders widen the upper slices; the torso is flatter where it lies on the table.
  const widen = 1 + 0.12 * (1 - Math.min(1, level / 0.3));
  canvas.shape(ox, oy, bx * widen, by, -105, { n: 2.6 });
  if (body.sex === 'F' && level > 0.35) {
    for (const side of [-1, 1]) {
      canvas.shape(ox + side * bx * 0.45, oy - by * 0.7, bx * 0.4, by * 0.38, -95);
      canvas.shape(ox + side * bx * 0.45, oy - by * 0.82, bx * 0.2, by * 0.18, 15);
    }
  }
  const mx = bx * widen - body.fat;
  const my = by - body.fat;
  canvas.shape(ox, oy, mx, my, 48, { n: 2.6 });
  // Thoracic cavity inside the chest wall muscles and ribs.
  const cx = mx - 16;
  const cy = my - 15;
  canvas.shape(ox, oy, cx, cy, -85, { n: 2.4 });

  // Ribs: cortical shells with marrow, strung around the cavity except front and back midline.
  for (const side of [-1, 1]) {
    for (let i = 0; i < 7; i += 1) {
      const around = -Math.PI / 2 + 0.45 + ((Math.PI - 0.95) * i) / 6;
      const angle = side > 0 ? around : Math.PI - around;
      const rx = Math.cos(angle) * (cx + 6) + ox;
      const ry = Math.sin(angle) * (cy + 6) + oy;
      canvas.shape(rx, ry, 7, 4, 650, { angle: angle + Math.PI / 2 });
      canvas.shape(rx, ry, 5, 2.4, 220, { angle: angle + Math.PI / 2 });
    }
  }
  if (level < 0.5) {
    for (const side of [-1, 1]) {
      canvas.shape(ox + side * cx * 0.62, oy + cy * 0.78, 42, 4.5, 600, { angle: side * -0.45 });
    }
  }

  // Lungs: largest at mid-level, small at the apices, pushed up by the domes at the bases.
  const lungScale = 0.4 + 0.6 * Math.sin(Math.PI * Math.min(0.97, level * 0.95 + 0.05)) ** 1.1;
  const lungHalf = { x: cx * 0.43 * lungScale, y: cy * 0.9 * (0.6 + 0.4 * lungScale) };
  const lungCentre = (side: number): { x: number; y: number } => ({
    x: ox + side * (cx - lungHalf.x - 4),
    y: oy + cy * 0.08 * (1 - lungScale),
  });
  for (const side of [-1, 1]) {
    const centre = lungCentre(side);
    canvas.shape(centre.x, centre.y, lungHalf.x, lungHalf.y, -870, { n: 2.3 });
  }
  for (const vessel of body.vessels) {
    if (level < vessel.from || level > vessel.to) continue;
    const centre = lungCentre(vessel.side);
    const drift = level - 0.5;
    const x = centre.x + (vessel.u + vessel.du * drift) * lungHalf.x * 0.9;
    const y = centre.y + (vessel.v + vessel.dv * drift) * lungHalf.y * 0.9;
    const r = vessel.radius * span(level, vessel.from - 0.05, vessel.to + 0.05);
    if (r > 0.4) canvas.shape(x, y, r, r * 1.15, blood, { under: -500 });
  }

  // Airways: trachea above the carina, then the two main bronchi.
  const airwayY = oy - cy * 0.12;
  if (level < 0.4) {
    canvas.shape(ox, airwayY, 11, 10, 40);
    canvas.shape(ox, airwayY, 9, 8, -1000);
    canvas.shape(ox + 6, airwayY + 15, 7, 5, 38);
  } else if (level < 0.52) {
    const spread = (level - 0.4) * 230;
    for (const side of [-1, 1]) {
      canvas.shape(ox + side * (8 + spread), airwayY + 4, 8, 7, 40);
      canvas.shape(ox + side * (8 + spread), airwayY + 4, 6, 5, -1000);
    }
  }

  // Great vessels and heart.
  const aortaBack = { x: ox + 18, y: oy + cy * 0.55 };
  if (level > 0.18 && level < 0.3) {
    canvas.shape(ox + 4, oy - cy * 0.12, 40, 13, blood, { angle: 0.6 });
  } else if (level >= 0.3) {
    canvas.shape(aortaBack.x, aortaBack.y, 12, 12, blood);
    if (level < 0.62) {
      canvas.shape(ox - 12, oy - cy * 0.3, 16, 16, blood);
      canvas.shape(ox - 34, oy - cy * 0.22, 9, 9, blood);
    }
    if (level > 0.34 && level < 0.5) {
      canvas.shape(ox + 20, oy - cy * 0.32, 14, 14, blood);
      canvas.shape(ox + 38, oy - cy * 0.12, 8, 18, blood, { angle: -0.6 });
    }
  }
  const heart = span(level, 0.46, 1.02);
  if (heart > 0) {
    const hx = cx * body.cardiothoracicRatio * 1.05 * heart;
    const hy = cy * 0.5 * heart;
    canvas.shape(ox + cx * 0.12, oy - cy * 0.28, hx + 5, hy + 5, -90, { angle: -0.5 });
    canvas.shape(ox + cx * 0.12, oy - cy * 0.28, hx, hy, body.contrast ? 110 : 45, { angle: -0.5 });
    canvas.shape(ox + cx * 0.1, oy - cy * 0.3, hx * 0.55, hy * 0.55, blood, { angle: -0.5 });
  }
  if (level > 0.82) {
    const dome = (level - 0.82) / 0.18;
    canvas.shape(ox - cx * 0.35, oy + cy * 0.1, cx * 0.75 * dome, cy * 0.8 * dome, 62, { n: 2.2 });
    canvas.shape(ox + cx * 0.5, oy - cy * 0.2, cx * 0.3 * dome, cy * 0.35 * dome, -1000);
  }

  // Spine: vertebral body, canal, lamina and spinous process between the paraspinal muscles.
  const spineY = oy + cy - 30;
  for (const side of [-1, 1]) canvas.shape(ox + side * 25, spineY + 34, 19, 22, 50);
  canvas.shape(ox, spineY, 18, 16, 700);
  canvas.shape(ox, spineY, 15.5, 13.5, 230);
  canvas.shape(ox, spineY + 24, 13, 12, 650);
  canvas.shape(ox, spineY + 24, 8, 7.5, 25);
  canvas.shape(ox, spineY + 46, 4.5, 16, 600);
  canvas.shape(aortaBack.x, aortaBack.y - 2, 5, 4, 35);

  if (level > 0.15 && level < 0.85) {
    canvas.shape(ox, oy - cy - 6, 14, 5.5, 620);
    canvas.shape(ox, oy - cy - 6, 11, 3.5, 180);
  }
  return canvas.hu;
}

/** Separable [1 2 1]/4 blur: partial-volume softening and grain correlation in one. */
function blur(src: Float32Array): Float32Array {
  const n = CT_MATRIX;
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  for (let row = 0; row < n; row += 1) {
    const base = row * n;
    tmp[base] = src[base] as number;
    tmp[base + n - 1] = src[base + n - 1] as number;
    for (let col = 1; col < n - 1; col += 1) {
      const i = base + col;
      tmp[i] = ((src[i - 1] as number) + 2 * (src[i] as number) + (src[i + 1] as number)) / 4;
    }
  }
  out.set(tmp.subarray(0, n));
  out.set(tmp.subarray((n - 1) * n), (n - 1) * n);
  for (let i = n; i < (n - 1) * n; i += 1) {
    out[i] = ((tmp[i - n] as number) + 2 * (tmp[i] as number) + (tmp[i + n] as number)) / 4;
  }
  return out;
}

export interface CtStorage {
  kernel: CtKernel;
  bitsStored: 12 | 16;
  rescaleIntercept: number;
  /** Stored value outside the circular field of view, or undefined to store air there. */
  paddingValue: number | undefined;
}

/**
 * Applies a reconstruction kernel (soft: smooth, low noise; lung: edge-enhanced, grainy) and
 * returns signed stored values (HU − intercept) masked to the scanner's circular field of view.
 */
export function reconstruct(hu: Float32Array, storage: CtStorage, random: Random): Int16Array {
  const smooth = blur(hu);
  const table = gaussianTable(random);
  const mask = table.length - 1;
  let state = random.uint32() || 1;
  const white = new Float32Array(hu.length);
  for (let i = 0; i < white.length; i += 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    white[i] = table[state & mask] as number;
  }
  const grain = blur(white);
  const lung = storage.kernel === 'lung';
  const sigma = lung ? 55 : 16;
  const min = -(2 ** (storage.bitsStored - 1));
  const max = 2 ** (storage.bitsStored - 1) - 1;
  const outside = storage.paddingValue ?? -1024 - storage.rescaleIntercept;
  const radius2 = (CT_MATRIX / 2) ** 2;
  const out = new Int16Array(hu.length);
  for (let row = 0; row < CT_MATRIX; row += 1) {
    const dy = row - CT_MATRIX / 2 + 0.5;
    for (let col = 0; col < CT_MATRIX; col += 1) {
      const i = row * CT_MATRIX + col;
      const dx = col - CT_MATRIX / 2 + 0.5;
      if (dx * dx + dy * dy > radius2) {
        out[i] = outside;
        continue;
      }
      const base = smooth[i] as number;
      const value = lung ? base + 1.8 * ((hu[i] as number) - base) : base;
      const stored = Math.round(value + (grain[i] as number) * sigma - storage.rescaleIntercept);
      out[i] = stored < min ? min : stored > max ? max : stored;
    }
  }
  return out;
}
