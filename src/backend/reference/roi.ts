/**
 * Reference RoIAlign kernels (torchvision.ops.roi_align's CPU kernel, case by case). RoIAlign is Mask R-CNN's
 * (He et al., ICCV 2017): each output bin averages bilinear samples on a regular grid, with no rounding of the box.
 * torchvision's rules: a sample outside [−1, size] contributes 0 (but still counts), one in [−1, 0] is clamped to 0,
 * one at or past size − 1 reads the last row/column; without `aligned` a box is at least 1×1 (the Caffe2 legacy),
 * with it the box shifts by −0.5 pixel (Detectron2); samplingRatio ≤ 0 takes ceil(box size / bins) samples.
 * For Float32Array operands the box geometry is rounded to float32 after every operation, in torchvision's order,
 * so samples at the borders fall on the same side as in PyTorch; sums are accumulated in double.
 */
import type { FloatArray } from '../../tensor/dtype.js';
import type { RoiAlignGeometry } from '../kernels.gen.js';

/** Bilinear taps of one axis of one box: two indices and weights per sample, or none outside [−1, size]. */
interface Taps {
  lo: Int32Array;
  hi: Int32Array;
  wlo: Float64Array;
  whi: Float64Array;
  valid: Uint8Array;
}

/** `bins` × `grid` sample positions starting at `start`, bins of `binSize`. */
function axisTaps(
  start: number,
  binSize: number,
  bins: number,
  grid: number,
  size: number,
  r: (x: number) => number,
): Taps {
  const n = Math.max(bins * grid, 0);
  const t: Taps = {
    lo: new Int32Array(n),
    hi: new Int32Array(n),
    wlo: new Float64Array(n),
    whi: new Float64Array(n),
    valid: new Uint8Array(n),
  };
  for (let p = 0; p < bins; p++) {
    for (let i = 0; i < grid; i++) {
      const k = p * grid + i;
      let v = r(r(start + r(p * binSize)) + r(r((i + 0.5) * binSize) / grid));
      if (v < -1 || v > size) continue;
      if (v <= 0) v = 0;
      let lo = Math.trunc(v);
      let hi: number;
      if (lo >= size - 1) {
        hi = lo = size - 1;
        v = lo;
      } else hi = lo + 1;
      const l = r(v - lo);
      t.lo[k] = lo;
      t.hi[k] = hi;
      t.wlo[k] = r(1 - l);
      t.whi[k] = l;
      t.valid[k] = 1;
    }
  }
  return t;
}

/** One box's batch, taps per axis, samples per bin and the divisor of its bins. */
interface Box {
  batch: number;
  ys: Taps;
  xs: Taps;
  gh: number;
  gw: number;
  count: number;
}

function box(rois: FloatArray, k: number, g: RoiAlignGeometry, spatialScale: number, aligned: boolean): Box {
  const r = rois instanceof Float32Array ? Math.fround : (x: number) => x;
  const scale = r(spatialScale);
  const offset = aligned ? 0.5 : 0;
  const x1 = r(r(rois[5 * k + 1] * scale) - offset);
  const y1 = r(r(rois[5 * k + 2] * scale) - offset);
  const x2 = r(r(rois[5 * k + 3] * scale) - offset);
  const y2 = r(r(rois[5 * k + 4] * scale) - offset);
  let rw = r(x2 - x1);
  let rh = r(y2 - y1);
  if (!aligned) {
    rw = Math.max(rw, 1);
    rh = Math.max(rh, 1);
  }
  const binH = r(rh / g.outH);
  const binW = r(rw / g.outW);
  const gh = g.samplingRatio > 0 ? g.samplingRatio : Math.ceil(r(rh / g.outH));
  const gw = g.samplingRatio > 0 ? g.samplingRatio : Math.ceil(r(rw / g.outW));
  return {
    batch: rois[5 * k],
    gh: Math.max(gh, 0),
    gw: Math.max(gw, 0),
    // torchvision: max(grid_h · grid_w, 1), with the signed grids (an inverted aligned box has both negative)
    count: Math.max(gh * gw, 1),
    ys: axisTaps(y1, binH, g.outH, Math.max(gh, 0), g.h, r),
    xs: axisTaps(x1, binW, g.outW, Math.max(gw, 0), g.w, r),
  };
}

/** RoIAlign: out [rois, c, outH, outW] from x [n, c, h, w] and rois [rois, 5] (batch index, x1, y1, x2, y2). */
export function roiAlign(
  x: FloatArray,
  rois: FloatArray,
  out: FloatArray,
  g: RoiAlignGeometry,
  spatialScale: number,
  aligned: boolean,
): void {
  const { c, h, w, outH: ph, outW: pw } = g;
  for (let k = 0; k < g.rois; k++) {
    const { batch, ys, xs, gh, gw, count } = box(rois, k, g, spatialScale, aligned);
    for (let ch = 0; ch < c; ch++) {
      const base = (batch * c + ch) * h * w;
      const obase = (k * c + ch) * ph * pw;
      for (let py = 0; py < ph; py++) {
        for (let px = 0; px < pw; px++) {
          let acc = 0;
          for (let iy = 0; iy < gh; iy++) {
            const a = py * gh + iy;
            if (!ys.valid[a]) continue;
            const r0 = base + ys.lo[a] * w;
            const r1 = base + ys.hi[a] * w;
            const wy0 = ys.wlo[a];
            const wy1 = ys.whi[a];
            for (let ix = 0; ix < gw; ix++) {
              const b = px * gw + ix;
              if (!xs.valid[b]) continue;
              const xl = xs.lo[b],
                xh = xs.hi[b],
                wx0 = xs.wlo[b],
                wx1 = xs.whi[b];
              acc += wy0 * (wx0 * x[r0 + xl] + wx1 * x[r0 + xh]) + wy1 * (wx0 * x[r1 + xl] + wx1 * x[r1 + xh]);
            }
          }
          out[obase + py * pw + px] = acc / count;
        }
      }
    }
  }
}

/** Gradient of roiAlign with respect to x: gx (overwritten) receives each bin's gradient over its samples' taps. */
export function roiAlignBackward(
  gy: FloatArray,
  rois: FloatArray,
  gx: FloatArray,
  g: RoiAlignGeometry,
  spatialScale: number,
  aligned: boolean,
): void {
  const { c, h, w, outH: ph, outW: pw } = g;
  gx.fill(0, 0, g.n * c * h * w);
  for (let k = 0; k < g.rois; k++) {
    const { batch, ys, xs, gh, gw, count } = box(rois, k, g, spatialScale, aligned);
    for (let ch = 0; ch < c; ch++) {
      const base = (batch * c + ch) * h * w;
      const obase = (k * c + ch) * ph * pw;
      for (let py = 0; py < ph; py++) {
        for (let px = 0; px < pw; px++) {
          const go = gy[obase + py * pw + px] / count;
          if (go === 0) continue;
          for (let iy = 0; iy < gh; iy++) {
            const a = py * gh + iy;
            if (!ys.valid[a]) continue;
            const r0 = base + ys.lo[a] * w;
            const r1 = base + ys.hi[a] * w;
            const g0 = go * ys.wlo[a];
            const g1 = go * ys.whi[a];
            for (let ix = 0; ix < gw; ix++) {
              const b = px * gw + ix;
              if (!xs.valid[b]) continue;
              const xl = xs.lo[b],
                xh = xs.hi[b],
                wx0 = xs.wlo[b],
                wx1 = xs.whi[b];
              gx[r0 + xl] += g0 * wx0;
              gx[r0 + xh] += g0 * wx1;
              gx[r1 + xl] += g1 * wx0;
              gx[r1 + xh] += g1 * wx1;
            }
          }
        }
      }
    }
  }
}
