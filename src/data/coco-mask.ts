/**
 * COCO instance masks (what pycocotools.mask does): run-length encoding in COCO's column-major layout, its compact
 * string form, polygon rasterisation, area, bounding box and the mask IoU used by the COCO evaluation.
 *
 * An RLE lists alternating run lengths of 0s and 1s — starting with 0s — over the pixels taken column by column
 * (x-major, y fastest), as in the COCO annotation files. The polygon rasteriser follows COCO's: vertices are
 * upsampled ×5, the boundary is walked with a DDA line and a pixel is inside when its centre is below a boundary
 * crossing, so areas agree with the official annotations' `area` field.
 */

/** A run-length-encoded mask: image [height, width] and run lengths (0s first), column-major. */
export interface Rle {
  size: [number, number];
  counts: number[];
}

/** A mask as COCO annotations store it: RLE with numeric or compressed string counts, or polygons [[x, y, …], …]. */
export type CocoSegmentation = number[][] | { size: [number, number]; counts: number[] | string };

/** RLE of a row-major binary mask (`mask[y * width + x]` non-zero = inside). */
export function rleEncode(mask: ArrayLike<number>, height: number, width: number): Rle {
  if (mask.length !== height * width)
    throw new Error(`rleEncode: mask has ${mask.length} values, expected ${height}×${width} = ${height * width}`);
  const counts: number[] = [];
  let current = 0;
  let run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const v = mask[y * width + x] !== 0 ? 1 : 0;
      if (v !== current) {
        counts.push(run);
        run = 0;
        current = v;
      }
      run++;
    }
  }
  counts.push(run);
  return { size: [height, width], counts };
}

/** Row-major 0/1 bitmap of an RLE. */
export function rleDecode(rle: Rle): Uint8Array {
  const [h, w] = rle.size;
  const out = new Uint8Array(h * w);
  let p = 0;
  let v = 0;
  for (const c of rle.counts) {
    if (v) {
      for (let k = p; k < p + c; k++) {
        const x = Math.floor(k / h);
        out[(k - x * h) * w + x] = 1;
      }
    }
    p += c;
    v ^= 1;
  }
  if (p !== h * w) throw new Error(`rleDecode: runs cover ${p} pixels, expected ${h}×${w} = ${h * w}`);
  return out;
}

/** COCO's compact string form of RLE counts: 5 bits per character (ASCII 48…111), runs after the second as deltas. */
export function rleToString(counts: readonly number[]): string {
  let s = '';
  for (let i = 0; i < counts.length; i++) {
    // pycocotools stores runs from the fourth on as differences from the run two before (its `i > 2`).
    let x = counts[i] - (i > 2 ? counts[i - 2] : 0);
    for (;;) {
      let c = x & 0x1f;
      x >>= 5;
      const more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      s += String.fromCharCode(c + 48);
      if (!more) break;
    }
  }
  return s;
}

/** Inverse of rleToString. */
export function rleFromString(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    for (;;) {
      const c = s.charCodeAt(p++) - 48;
      if (c < 0 || c > 63)
        throw new Error(
          `rleFromString: character ${JSON.stringify(s[p - 1])} at ${p - 1} is not in COCO's RLE alphabet (ASCII 48–111)`,
        );
      x |= (c & 0x1f) << (5 * k);
      k++;
      if (!(c & 0x20)) {
        if (c & 0x10) x |= -1 << (5 * k);
        break;
      }
      if (p >= s.length) throw new Error('rleFromString: string ends inside a number');
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/**
 * RLE of one polygon [x0, y0, x1, y1, …] in an image of height × width, rasterised like COCO's rleFrPoly: the
 * boundary is traced at 5× resolution and the pixels whose centres lie inside are set.
 */
export function rleFromPolygon(xy: readonly number[], height: number, width: number): Rle {
  const k = Math.floor(xy.length / 2);
  const scale = 5;
  const px: number[] = [];
  const py: number[] = [];
  for (let j = 0; j < k; j++) {
    px.push(Math.trunc(scale * xy[2 * j] + 0.5));
    py.push(Math.trunc(scale * xy[2 * j + 1] + 0.5));
  }
  px.push(px[0]);
  py.push(py[0]);
  // Dense boundary points: a DDA along each edge, always walked in increasing major coordinate.
  const u: number[] = [];
  const v: number[] = [];
  for (let j = 0; j < k; j++) {
    let xs = px[j],
      xe = px[j + 1],
      ys = py[j],
      ye = py[j + 1];
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      [xs, xe] = [xe, xs];
      [ys, ye] = [ye, ys];
    }
    const slope = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    const steps = dx >= dy ? dx : dy;
    for (let d = 0; d <= steps; d++) {
      const t = flip ? steps - d : d;
      if (dx >= dy) {
        u.push(t + xs);
        v.push(Math.trunc(ys + slope * t + 0.5));
      } else {
        v.push(t + ys);
        u.push(Math.trunc(xs + slope * t + 0.5));
      }
    }
  }
  // Where the boundary crosses a pixel column centre, the first pixel row below it starts or ends a run.
  const starts: number[] = [];
  for (let j = 1; j < u.length; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > width - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / scale - 0.5;
    yd = Math.ceil(yd < 0 ? 0 : yd > height ? height : yd);
    starts.push(xd * height + yd);
  }
  starts.push(height * width);
  starts.sort((a, b) => a - b);
  const diffs: number[] = [];
  let prev = 0;
  for (const s of starts) {
    diffs.push(s - prev);
    prev = s;
  }
  // Zero-length runs merge their neighbours (two crossings at one pixel cancel).
  const counts: number[] = [diffs[0]];
  for (let j = 1; j < diffs.length;) {
    if (diffs[j] > 0) counts.push(diffs[j++]);
    else {
      j++;
      if (j < diffs.length) counts[counts.length - 1] += diffs[j++];
    }
  }
  return { size: [height, width], counts };
}

/** Union of RLEs of one image (several polygons of one object). */
export function rleMerge(rles: readonly Rle[]): Rle {
  if (rles.length === 0) throw new Error('rleMerge: nothing to merge');
  if (rles.length === 1) return rles[0];
  const [h, w] = rles[0].size;
  const acc = new Uint8Array(h * w);
  for (const r of rles) {
    if (r.size[0] !== h || r.size[1] !== w)
      throw new Error(`rleMerge: sizes ${JSON.stringify(r.size)} and ${JSON.stringify([h, w])} differ`);
    const m = rleDecode(r);
    for (let i = 0; i < m.length; i++) acc[i] |= m[i];
  }
  return rleEncode(acc, h, w);
}

/** Any COCO segmentation (polygons, numeric RLE, string RLE) as an RLE of an image of height × width. */
export function toRle(seg: CocoSegmentation | Rle, height: number, width: number): Rle {
  if (Array.isArray(seg)) {
    if (seg.length === 0) return { size: [height, width], counts: [height * width] };
    return rleMerge(seg.map((poly) => rleFromPolygon(poly, height, width)));
  }
  const counts = typeof seg.counts === 'string' ? rleFromString(seg.counts) : seg.counts.slice();
  return { size: [seg.size[0], seg.size[1]], counts };
}

/** Number of pixels set. */
export function rleArea(rle: Rle): number {
  let a = 0;
  for (let i = 1; i < rle.counts.length; i += 2) a += rle.counts[i];
  return a;
}

/** Tight [x, y, w, h] box of an RLE (COCO's toBbox: whole pixels, so a single pixel is [x, y, 1, 1]). */
export function rleToBbox(rle: Rle): [number, number, number, number] {
  const [h] = rle.size;
  let p = 0;
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (let i = 0; i < rle.counts.length; i++) {
    const c = rle.counts[i];
    if (i % 2 === 1 && c > 0) {
      const first = p;
      const last = p + c - 1;
      const xa = Math.floor(first / h);
      const xb = Math.floor(last / h);
      x0 = Math.min(x0, xa);
      x1 = Math.max(x1, xb);
      // A run that continues into the next column covers the bottom of one and the top of the next: full height.
      y0 = Math.min(y0, xa === xb ? first - xa * h : 0);
      y1 = Math.max(y1, xa === xb ? last - xb * h : h - 1);
    }
    p += c;
  }
  if (x1 < 0) return [0, 0, 0, 0];
  return [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

/** Pixels set in both masks (runs merged without decoding). */
export function rleIntersection(a: Rle, b: Rle): number {
  let i = 0,
    j = 0;
  let ra = a.counts[0] ?? 0,
    rb = b.counts[0] ?? 0;
  let va = 0,
    vb = 0;
  let inter = 0;
  while (i < a.counts.length && j < b.counts.length) {
    const step = Math.min(ra, rb);
    if (va && vb) inter += step;
    ra -= step;
    rb -= step;
    if (ra === 0) {
      i++;
      va ^= 1;
      ra = a.counts[i] ?? 0;
    }
    if (rb === 0) {
      j++;
      vb ^= 1;
      rb = b.counts[j] ?? 0;
    }
  }
  return inter;
}

/**
 * IoU matrix [dts.length × gts.length] of masks, row-major; against a crowd gt the denominator is the detection's
 * area alone (COCO: a detection inside a crowd region is not penalised for the rest of the crowd).
 */
export function rleIou(dts: readonly Rle[], gts: readonly Rle[], iscrowd: readonly boolean[]): Float64Array {
  const out = new Float64Array(dts.length * gts.length);
  const da = dts.map(rleArea);
  const ga = gts.map(rleArea);
  for (let d = 0; d < dts.length; d++) {
    for (let g = 0; g < gts.length; g++) {
      const [h, w] = gts[g].size;
      if (dts[d].size[0] !== h || dts[d].size[1] !== w) {
        throw new Error(
          `rleIou: detection mask size ${JSON.stringify(dts[d].size)} differs from ground truth ${JSON.stringify(gts[g].size)}`,
        );
      }
      const inter = rleIntersection(dts[d], gts[g]);
      const union = iscrowd[g] ? da[d] : da[d] + ga[g] - inter;
      out[d * gts.length + g] = union > 0 ? inter / union : 0;
    }
  }
  return out;
}

/** IoU matrix of [x, y, w, h] boxes, COCO's bbIou (double precision; crowd gt: intersection over the detection's area). */
export function bboxIou(
  dts: readonly (readonly number[])[],
  gts: readonly (readonly number[])[],
  iscrowd: readonly boolean[],
): Float64Array {
  const out = new Float64Array(dts.length * gts.length);
  for (let g = 0; g < gts.length; g++) {
    const G = gts[g];
    const ga = G[2] * G[3];
    for (let d = 0; d < dts.length; d++) {
      const D = dts[d];
      const da = D[2] * D[3];
      const w = Math.min(D[0] + D[2], G[0] + G[2]) - Math.max(D[0], G[0]);
      if (w <= 0) continue;
      const h = Math.min(D[1] + D[3], G[1] + G[3]) - Math.max(D[1], G[1]);
      if (h <= 0) continue;
      const i = w * h;
      out[d * gts.length + g] = i / (iscrowd[g] ? da : da + ga - i);
    }
  }
  return out;
}
