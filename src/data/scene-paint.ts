/**
 * The painting vocabulary of the procedural scene sets (DetectionScenes, SegmentationScenes): a per-sample seed,
 * random colours, smooth value noise, rotated shape outlines rasterised at pixel centres, distractors that belong
 * to no class (line clutter, translucent blobs) and Gaussian pixel noise with clamping. Each function draws from
 * the generator it is given in a fixed order, so a generator built from them is a pure function of (seed, index).
 *
 * Images are planar float32 [3, S, S] (`img[c * S * S + y * S + x]`), values in [0, 1] after `addNoiseAndClamp`.
 */
import type { Generator } from '../tensor/random.js';
import { insideShape, type ShapeKind } from './shapes.js';

/**
 * A 32-bit seed for sample `index` of a set seeded `seed` (a murmur-style finaliser over both): neighbouring
 * indices and seeds give unrelated streams. `offset` separates the families of sets (Shapes' is the default).
 */
export function sceneSeed(seed: number, index: number, offset = 0x7f4a7c15): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + offset, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x2c1b3c6d) >>> 0;
  z = Math.imul(z ^ (z >>> 12), 0x297a2d39) >>> 0;
  return (z ^ (z >>> 15)) >>> 0;
}

/** Three uniform channel values: an RGB colour in [0, 1)³. */
export function randomColour(g: Generator): number[] {
  return [g.random(), g.random(), g.random()];
}

/**
 * Smooth value noise on an S × S grid: the (cells + 1)² `lattice` values (row-major) interpolated bilinearly, cell
 * (i, j) spanning pixels [i·S/cells, (i + 1)·S/cells). Returned in float64 (callers round as they store).
 */
export function valueNoise(lattice: ArrayLike<number>, cells: number, S: number): Float64Array {
  const n = cells + 1;
  if (lattice.length !== n * n)
    throw new Error(`valueNoise: ${cells} cells need ${n * n} lattice values, got ${lattice.length}`);
  const out = new Float64Array(S * S);
  for (let y = 0; y < S; y++) {
    const fy = (y / S) * cells;
    const y0 = Math.floor(fy),
      ty = fy - y0;
    for (let x = 0; x < S; x++) {
      const fx = (x / S) * cells;
      const x0 = Math.floor(fx),
        tx = fx - x0;
      const a = lattice[y0 * n + x0],
        b = lattice[y0 * n + x0 + 1],
        c = lattice[(y0 + 1) * n + x0],
        d = lattice[(y0 + 1) * n + x0 + 1];
      out[y * S + x] = (a * (1 - tx) + b * tx) * (1 - ty) + (c * (1 - tx) + d * tx) * ty;
    }
  }
  return out;
}

/** Where and how a shape lies: centre (pixels), radius (pixels) and rotation (radians). */
export interface ShapePlacement {
  kind: ShapeKind;
  cx: number;
  cy: number;
  r: number;
  theta: number;
}

/**
 * Visits, row by row, every pixel of an S × S image whose centre lies inside the rotated shape; `visit` gets the
 * pixel and its offset from the centre in units of the radius (for fills). The scan covers the bounding square of
 * 1.2 radii plus a pixel, which holds every outline of `insideShape`.
 */
export function forEachShapePixel(
  S: number,
  shape: ShapePlacement,
  visit: (x: number, y: number, dx: number, dy: number) => void,
): void {
  const { kind, cx, cy, r, theta } = shape;
  const cos = Math.cos(theta),
    sin = Math.sin(theta);
  const ext = r * 1.2 + 1;
  const y1 = Math.min(S - 1, Math.ceil(cy + ext)),
    x1 = Math.min(S - 1, Math.ceil(cx + ext));
  for (let y = Math.max(0, Math.floor(cy - ext)); y <= y1; y++) {
    for (let x = Math.max(0, Math.floor(cx - ext)); x <= x1; x++) {
      const dx = (x + 0.5 - cx) / r,
        dy = (y + 0.5 - cy) / r;
      if (insideShape(kind, cos * dx + sin * dy, -sin * dx + cos * dy)) visit(x, y, dx, dy);
    }
  }
}

/** Clutter: up to `maxLines − 1` one-pixel line segments of random colour, length 10–50 % of the side. */
export function paintLineClutter(g: Generator, img: Float32Array, S: number, maxLines = 6): void {
  const plane = S * S;
  const lines = Math.floor(g.random() * maxLines);
  for (let l = 0; l < lines; l++) {
    const col = randomColour(g);
    const x0 = g.random() * S,
      y0 = g.random() * S,
      len = S * (0.1 + 0.4 * g.random()),
      a = 2 * Math.PI * g.random();
    for (let s = 0; s < len; s += 0.5) {
      const x = Math.floor(x0 + Math.cos(a) * s),
        y = Math.floor(y0 + Math.sin(a) * s);
      if (x < 0 || y < 0 || x >= S || y >= S) continue;
      for (let c = 0; c < 3; c++) img[c * plane + y * S + x] = col[c];
    }
  }
}

/** Distractor blobs: up to `maxBlobs − 1` axis-aligned ellipses (semi-axes 5–20 % of the side) blended 50/50. */
export function paintBlobs(g: Generator, img: Float32Array, S: number, maxBlobs = 3): void {
  const plane = S * S;
  const blobs = Math.floor(g.random() * maxBlobs);
  for (let b = 0; b < blobs; b++) {
    const cx = S * g.random(),
      cy = S * g.random(),
      ax = S * (0.05 + 0.15 * g.random()),
      ay = S * (0.05 + 0.15 * g.random());
    const cb = randomColour(g);
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++) {
        const dx = (x + 0.5 - cx) / ax,
          dy = (y + 0.5 - cy) / ay;
        if (dx * dx + dy * dy <= 1)
          for (let c = 0; c < 3; c++) img[c * plane + y * S + x] = 0.5 * img[c * plane + y * S + x] + 0.5 * cb[c];
      }
  }
}

/** Adds N(0, sigma²) to every value (in order, none drawn when sigma is 0) and clamps to [0, 1]. */
export function addNoiseAndClamp(g: Generator, img: Float32Array, sigma: number): void {
  for (let p = 0; p < img.length; p++) {
    const v = img[p] + (sigma > 0 ? sigma * g.normal() : 0);
    img[p] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}
