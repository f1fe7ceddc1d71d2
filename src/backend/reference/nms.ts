/**
 * Reference non-maximum suppression (torchvision.ops.nms's CPU kernel, nms_kernel_impl): boxes are visited in the
 * order given (the caller sorts them by descending score); each one not yet suppressed is kept and suppresses
 * every later box whose IoU with it is > iouThreshold. The comparisons are C++'s std::max / std::min
 * (max(a, b) = a < b ? b : a), so NaN coordinates behave as in PyTorch. For Float32Array boxes every step is
 * rounded to float32 as the float kernel computes it; for Float64Array boxes the arithmetic is double.
 */
import type { FloatArray } from '../../tensor/dtype.js';

/** std::max(a, b) and std::min(a, b): the first argument unless the comparison says otherwise (NaN keeps a). */
const smax = (a: number, b: number): number => (a < b ? b : a);
const smin = (a: number, b: number): number => (b < a ? b : a);

/**
 * Greedy NMS of `boxes` [n, 4] (xyxy, in visiting order): keep[i] = 1 when box i is kept, else 0. Float32 boxes
 * compare the float32 IoU with iouThreshold as given (pass the largest float32 ≤ PyTorch's double threshold).
 */
export function nms(boxes: FloatArray, iouThreshold: number, keep: Int32Array): void {
  const n = keep.length;
  const r = boxes instanceof Float32Array ? Math.fround : (x: number) => x;
  const x1 = new Float64Array(n),
    y1 = new Float64Array(n),
    x2 = new Float64Array(n),
    y2 = new Float64Array(n),
    area = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x1[i] = boxes[4 * i];
    y1[i] = boxes[4 * i + 1];
    x2[i] = boxes[4 * i + 2];
    y2[i] = boxes[4 * i + 3];
    area[i] = r(r(x2[i] - x1[i]) * r(y2[i] - y1[i]));
  }
  const suppressed = new Uint8Array(n);
  keep.fill(0);
  for (let a = 0; a < n; a++) {
    if (suppressed[a]) continue;
    keep[a] = 1;
    const ix1 = x1[a],
      iy1 = y1[a],
      ix2 = x2[a],
      iy2 = y2[a],
      iarea = area[a];
    for (let j = a + 1; j < n; j++) {
      if (suppressed[j]) continue;
      const w = smax(0, r(smin(ix2, x2[j]) - smax(ix1, x1[j])));
      const h = smax(0, r(smin(iy2, y2[j]) - smax(iy1, y1[j])));
      const inter = r(w * h);
      // NaN (two zero-area boxes: 0 / 0) compares false: such boxes never suppress each other, as in torchvision.
      if (r(inter / r(r(iarea + area[j]) - inter)) > iouThreshold) suppressed[j] = 1;
    }
  }
}
