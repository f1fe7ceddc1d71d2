/**
 * Box operations (torchvision.ops.boxes): format conversion, areas, the pairwise IoU family, clipping, small-box
 * removal, non-maximum suppression and masks → boxes.
 *
 * Boxes are [N, 4] tensors in (x1, y1, x2, y2) pixel coordinates unless a format says otherwise. The pairwise IoU
 * functions are compositions of differentiable tensor ops, each the op torchvision uses in the same order, so their
 * float32 results and gradients agree with torchvision's to rounding; `nms` runs on typed arrays (it is on the
 * inference hot path and has no gradient) and its loop on the backend's `nms` kernel.
 */
import { isGradEnabled } from '../autograd/grad-mode.js';
import { backend } from '../backend/index.js';
import { record } from '../autograd/graph.js';
import { tensor } from '../tensor/creation.js';
import { isFloating } from '../tensor/dtype.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { add, clamp, div, maximum, minimum, mul, pow, sub } from './elementwise.js';
import { narrow, select, stack, to, unsqueeze } from './shape.js';

/** Box formats of `boxConvert` (torchvision's names). */
export type BoxFormat = 'xyxy' | 'xywh' | 'cxcywh';

const FORMATS: readonly BoxFormat[] = ['xyxy', 'xywh', 'cxcywh'];

/** Throws naming `op` unless `boxes` is [N, 4] (or [..., 4] when `anyLead`). */
export function checkBoxes(op: string, boxes: Tensor, what = 'boxes', anyLead = false): void {
  const ok = anyLead
    ? boxes.shape.length >= 1 && boxes.shape[boxes.shape.length - 1] === 4
    : boxes.shape.length === 2 && boxes.shape[1] === 4;
  if (!ok)
    throw new Error(
      `${op}: ${what} must have shape ${anyLead ? '[..., 4]' : '[N, 4]'}, got ${formatShape(boxes.shape)}`,
    );
}

/** The four coordinate columns of [..., 4] boxes (views). */
function columns(b: Tensor): [Tensor, Tensor, Tensor, Tensor] {
  const d = b.shape.length - 1;
  return [select(b, d, 0), select(b, d, 1), select(b, d, 2), select(b, d, 3)];
}

/** Integer boxes take part in float arithmetic (torchvision's _upcast keeps float dtypes as they are). */
function upcast(b: Tensor): Tensor {
  return isFloating(b.dtype) ? b : to(b, 'float32');
}

/**
 * Converts boxes between 'xyxy' (corners), 'xywh' (top-left corner, width, height) and 'cxcywh' (centre, width,
 * height), like torchvision.ops.box_convert. Works on [..., 4] and is differentiable.
 */
export function boxConvert(boxes: Tensor, inFmt: BoxFormat, outFmt: BoxFormat): Tensor {
  if (!FORMATS.includes(inFmt) || !FORMATS.includes(outFmt)) {
    throw new Error(
      `boxConvert: formats must be one of ${FORMATS.join(', ')}, got inFmt ${JSON.stringify(inFmt)}, outFmt ${JSON.stringify(outFmt)}`,
    );
  }
  checkBoxes('boxConvert', boxes, 'boxes', true);
  if (inFmt === outFmt) return boxes;
  const d = boxes.shape.length - 1;
  const [a, b, c, e] = columns(boxes);
  let xyxy: [Tensor, Tensor, Tensor, Tensor];
  if (inFmt === 'xyxy') xyxy = [a, b, c, e];
  else if (inFmt === 'xywh') xyxy = [a, b, add(a, c), add(b, e)];
  else {
    const hw = mul(c, 0.5);
    const hh = mul(e, 0.5);
    xyxy = [sub(a, hw), sub(b, hh), add(a, hw), add(b, hh)];
  }
  const [x1, y1, x2, y2] = xyxy;
  if (outFmt === 'xyxy') return stack(xyxy, d);
  if (outFmt === 'xywh') return stack([x1, y1, sub(x2, x1), sub(y2, y1)], d);
  return stack([div(add(x1, x2), 2), div(add(y1, y2), 2), sub(x2, x1), sub(y2, y1)], d);
}

/** Area (x2 − x1)·(y2 − y1) of each of [N, 4] xyxy boxes (negative for inverted boxes, as torchvision). */
export function boxArea(boxes: Tensor): Tensor {
  checkBoxes('boxArea', boxes, 'boxes', true);
  const [x1, y1, x2, y2] = columns(upcast(boxes));
  return mul(sub(x2, x1), sub(y2, y1));
}

/** Pairwise intersection and union of [N, 4] and [M, 4] boxes, [N, M] each (torchvision's _box_inter_union). */
function interUnion(b1: Tensor, b2: Tensor): [Tensor, Tensor] {
  const area1 = boxArea(b1);
  const area2 = boxArea(b2);
  const lt = maximum(unsqueeze(narrow(b1, 1, 0, 2), 1), narrow(b2, 1, 0, 2));
  const rb = minimum(unsqueeze(narrow(b1, 1, 2, 2), 1), narrow(b2, 1, 2, 2));
  const wh = clamp(sub(rb, lt), 0);
  const inter = mul(select(wh, 2, 0), select(wh, 2, 1));
  const union = sub(add(unsqueeze(area1, 1), area2), inter);
  return [inter, union];
}

function pairwiseInputs(op: string, boxes1: Tensor, boxes2: Tensor): [Tensor, Tensor] {
  checkBoxes(op, boxes1, 'boxes1');
  checkBoxes(op, boxes2, 'boxes2');
  return [upcast(boxes1), upcast(boxes2)];
}

/**
 * Jaccard index of every pair: [N, M] = |A ∩ B| / |A ∪ B| for xyxy boxes [N, 4] and [M, 4], as
 * torchvision.ops.box_iou (two identical zero-area boxes give 0/0 = NaN there and here).
 */
export function boxIou(boxes1: Tensor, boxes2: Tensor): Tensor {
  const [b1, b2] = pairwiseInputs('boxIou', boxes1, boxes2);
  const [inter, union] = interUnion(b1, b2);
  return div(inter, union);
}

/** Smallest enclosing box's width and height of every pair, [N, M, 2], clamped at 0. */
function enclosingWh(b1: Tensor, b2: Tensor): Tensor {
  const lti = minimum(unsqueeze(narrow(b1, 1, 0, 2), 1), narrow(b2, 1, 0, 2));
  const rbi = maximum(unsqueeze(narrow(b1, 1, 2, 2), 1), narrow(b2, 1, 2, 2));
  return clamp(sub(rbi, lti), 0);
}

/**
 * Generalised IoU (Rezatofighi et al., CVPR 2019) of every pair: IoU − (|C| − |A ∪ B|) / |C| with C the
 * smallest enclosing box, in [−1, 1]; torchvision.ops.generalized_box_iou. Boxes must satisfy x2 ≥ x1, y2 ≥ y1.
 */
export function generalizedBoxIou(boxes1: Tensor, boxes2: Tensor): Tensor {
  const [b1, b2] = pairwiseInputs('generalizedBoxIou', boxes1, boxes2);
  const [inter, union] = interUnion(b1, b2);
  const iou = div(inter, union);
  const whi = enclosingWh(b1, b2);
  const areai = mul(select(whi, 2, 0), select(whi, 2, 1));
  return sub(iou, div(sub(areai, union), areai));
}

/** DIoU and IoU of every pair (torchvision's _box_diou_iou). */
function diouIou(b1: Tensor, b2: Tensor, eps: number): [Tensor, Tensor] {
  const [inter, union] = interUnion(b1, b2);
  const iou = div(inter, union);
  const whi = enclosingWh(b1, b2);
  const diag = add(add(pow(select(whi, 2, 0), 2), pow(select(whi, 2, 1), 2)), eps);
  const [x1, y1, x2, y2] = columns(b1);
  const [gx1, gy1, gx2, gy2] = columns(b2);
  const xp = div(add(x1, x2), 2);
  const yp = div(add(y1, y2), 2);
  const xg = div(add(gx1, gx2), 2);
  const yg = div(add(gy1, gy2), 2);
  const centres = add(pow(sub(unsqueeze(xp, 1), unsqueeze(xg, 0)), 2), pow(sub(unsqueeze(yp, 1), unsqueeze(yg, 0)), 2));
  return [sub(iou, div(centres, diag)), iou];
}

/**
 * Distance IoU (Zheng et al., AAAI 2020) of every pair: IoU − ρ²(centres) / c² with c the diagonal of the
 * smallest enclosing box; torchvision.ops.distance_box_iou.
 */
export function distanceBoxIou(boxes1: Tensor, boxes2: Tensor, opts: { eps?: number } = {}): Tensor {
  const [b1, b2] = pairwiseInputs('distanceBoxIou', boxes1, boxes2);
  return diouIou(b1, b2, opts.eps ?? 1e-7)[0];
}

/** Elementwise arctangent, differentiable (d/dx atan x = 1 / (1 + x²)); used by the CIoU aspect-ratio term. */
export function atan(x: Tensor): Tensor {
  const out = Tensor.empty(x.shape, isFloating(x.dtype) ? x.dtype : 'float32');
  const src = x.dataView();
  for (let i = 0; i < src.length; i++) out.storage[i] = Math.atan(src[i]);
  if (!isFloating(x.dtype)) return out;
  return record('atan', out, [x], () => (g) => [div(g, add(mul(x, x), 1))]);
}

/**
 * Complete IoU (Zheng et al., AAAI 2020) of every pair: DIoU − α·v, v = 4/π²·(atan(w₁/h₁) − atan(w₂/h₂))², with
 * α = v / (1 − IoU + v + eps) treated as a constant; torchvision.ops.complete_box_iou.
 */
export function completeBoxIou(boxes1: Tensor, boxes2: Tensor, opts: { eps?: number } = {}): Tensor {
  const eps = opts.eps ?? 1e-7;
  const [b1, b2] = pairwiseInputs('completeBoxIou', boxes1, boxes2);
  const [diou, iou] = diouIou(b1, b2, eps);
  const [x1, y1, x2, y2] = columns(b1);
  const [gx1, gy1, gx2, gy2] = columns(b2);
  const wPred = unsqueeze(sub(x2, x1), 1);
  const hPred = unsqueeze(sub(y2, y1), 1);
  const wGt = sub(gx2, gx1);
  const hGt = sub(gy2, gy1);
  const v = mul(pow(sub(atan(div(wPred, hPred)), atan(div(wGt, hGt))), 2), 4 / (Math.PI * Math.PI));
  const vc = v.detach();
  const alpha = div(vc, add(add(sub(1, iou.detach()), vc), eps));
  return sub(diou, mul(alpha, v));
}

/** Clamps xyxy boxes [..., 4] into an image of `size` = [height, width] (torchvision.ops.clip_boxes_to_image). */
export function clipBoxesToImage(boxes: Tensor, size: readonly [number, number]): Tensor {
  checkBoxes('clipBoxesToImage', boxes, 'boxes', true);
  const [h, w] = size;
  if (boxes.dtype === 'float32' && !(boxes.requiresGrad && isGradEnabled())) {
    // Nothing to differentiate: clamp the coordinates in one pass over a contiguous copy.
    const src = boxes.contiguous().dataView();
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i += 4) {
      out[i] = Math.min(Math.max(src[i], 0), w);
      out[i + 1] = Math.min(Math.max(src[i + 1], 0), h);
      out[i + 2] = Math.min(Math.max(src[i + 2], 0), w);
      out[i + 3] = Math.min(Math.max(src[i + 3], 0), h);
    }
    return tensor(out, boxes.shape.slice());
  }
  const d = boxes.shape.length - 1;
  const [x1, y1, x2, y2] = columns(boxes);
  return stack([clamp(x1, 0, w), clamp(y1, 0, h), clamp(x2, 0, w), clamp(y2, 0, h)], d);
}

/** Indices (int32, ascending) of the boxes whose width and height are both ≥ minSize (torchvision.ops.remove_small_boxes). */
export function removeSmallBoxes(boxes: Tensor, minSize: number): Tensor {
  checkBoxes('removeSmallBoxes', boxes);
  const b = boxes.dataView();
  // Widths are float32 differences compared with minSize cast to float32, as PyTorch does for a float32 tensor.
  const r = rounder(boxes);
  const m = r(minSize);
  const keep: number[] = [];
  for (let i = 0; i < boxes.shape[0]; i++) {
    if (r(b[4 * i + 2] - b[4 * i]) >= m && r(b[4 * i + 3] - b[4 * i + 1]) >= m) keep.push(i);
  }
  return tensor(Int32Array.from(keep), [keep.length], { dtype: 'int32' });
}

/** Rounds like the dtype: float32 boxes are compared in float32, as torchvision's kernel does. */
function rounder(t: Tensor): (x: number) => number {
  return t.dtype === 'float32' ? Math.fround : (x: number) => x;
}

/**
 * Indices 0..n−1 (or of `idx`) ordered by descending score, ties by index (PyTorch's stable descending sort),
 * NaN first. Used by NMS and by the detectors' top-k selections; with `k`, only the first k of that order
 * (torch.topk's selection, found without sorting the rest).
 */
export function orderByScore(scores: ArrayLike<number>, idx?: ArrayLike<number>, k = Infinity): Int32Array {
  const n = idx ? idx.length : scores.length;
  const m = Math.max(0, Math.min(n, k));
  const order = new Int32Array(m);
  // NaN scores come first (PyTorch's descending sort puts NaN above everything), in index order.
  let nan = 0;
  let nans = 0;
  for (let q = 0; q < n; q++) {
    const i = idx ? idx[q] : q;
    if (Number.isNaN(scores[i])) {
      if (nan < m) order[nan++] = i;
      nans++;
    }
  }
  if (nan === m) return order;
  const rest = new Int32Array(n - nans);
  for (let q = 0, r = 0; q < n; q++) {
    const i = idx ? idx[q] : q;
    if (!Number.isNaN(scores[i])) rest[r++] = i;
  }
  const want = m - nan;
  if (scores instanceof Float32Array && rest.length < 1 << 21) {
    // float32 scores: one float64 key per box, (descending order of the score's bits) · 2²¹ + position, sorted by
    // the engine's native numeric sort — no comparator calls, and ties keep their position (a stable order). Keys
    // are distinct, so selecting the `want` smallest first and sorting only those gives the same prefix.
    const bits = new Uint32Array(1);
    const f = new Float32Array(bits.buffer);
    let keys = new Float64Array(rest.length);
    for (let r = 0; r < rest.length; r++) {
      f[0] = scores[rest[r]] + 0; // −0 → +0: they tie, as in PyTorch
      const u = bits[0];
      const ascending = u & 0x80000000 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
      keys[r] = (0xffffffff - ascending) * 2097152 + r;
    }
    if (want < keys.length / 4) {
      selectSmallest(keys, want);
      keys = keys.subarray(0, want);
    }
    keys.sort();
    for (let r = 0; r < want; r++) order[nan + r] = rest[keys[r] % 2097152];
    return order;
  }
  const arr = Array.from(rest);
  arr.sort((x, y) => scores[y] - scores[x]); // Array sort is stable: ties stay by index
  order.set(arr.slice(0, want), nan);
  return order;
}

/** Reorders distinct keys so that the k smallest come first, in some order (Hoare's quickselect). */
function selectSmallest(a: Float64Array, k: number): void {
  let lo = 0,
    hi = a.length - 1;
  while (hi > lo && k > lo && k <= hi) {
    // median of three as the pivot
    const mid = (lo + hi) >>> 1;
    const x = a[lo],
      y = a[mid],
      z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo,
      j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    // now a[lo..j] ≤ pivot ≤ a[i..hi]; the k smallest are a[0..k)
    if (k <= j + 1) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/** The largest float32 ≤ t: a float32 IoU v satisfies v > t exactly when v > floatBelow(t) (PyTorch compares
 * the float IoU with its double threshold). */
function floatBelow(t: number): number {
  const f = Math.fround(t);
  if (!(f > t)) return f;
  // one float32 step toward −∞ (f > t, so f is not −∞ and not NaN)
  const bits = new Float32Array([f]);
  const u = new Int32Array(bits.buffer);
  if (f === 0) return -1.401298464324817e-45; // t is a negative number that rounded to −0 / +0
  u[0] += f > 0 ? -1 : 1;
  return bits[0];
}

/**
 * Greedy NMS over the boxes listed in `order` (already by descending score) on the backend's `nms` kernel; pushes
 * kept indices to `keep`. The boxes are gathered in visiting order first (float32 boxes stay float32, so the
 * kernel rounds every step as torchvision's float kernel does).
 */
function nmsKernel(b: ArrayLike<number>, order: Int32Array, iouThreshold: number, f32: boolean, keep: number[]): void {
  const n = order.length;
  if (n === 0) return;
  const sorted = f32 ? new Float32Array(4 * n) : new Float64Array(4 * n);
  for (let k = 0; k < n; k++) {
    const i = order[k] * 4;
    sorted[4 * k] = b[i];
    sorted[4 * k + 1] = b[i + 1];
    sorted[4 * k + 2] = b[i + 2];
    sorted[4 * k + 3] = b[i + 3];
  }
  const flags = new Int32Array(n);
  backend().nms(sorted, f32 ? floatBelow(iouThreshold) : iouThreshold, flags);
  for (let k = 0; k < n; k++) {
    if (flags[k] === 1) keep.push(order[k]);
    else if (flags[k] !== 0) throw new Error(`nms: the kernel could not allocate scratch for ${n} boxes`);
  }
}

function checkNmsInputs(op: string, boxes: Tensor, scores: Tensor, iouThreshold: number): void {
  checkBoxes(op, boxes);
  if (scores.shape.length !== 1 || scores.shape[0] !== boxes.shape[0]) {
    throw new Error(
      `${op}: scores must have shape [${boxes.shape[0]}] to match boxes ${formatShape(boxes.shape)}, got ${formatShape(scores.shape)}`,
    );
  }
  if (typeof iouThreshold !== 'number' || Number.isNaN(iouThreshold))
    throw new Error(`${op}: iouThreshold must be a number, got ${iouThreshold}`);
}

/**
 * Non-maximum suppression (torchvision.ops.nms): visits boxes by descending score (ties by index) and drops every
 * later box whose IoU with a kept one is > iouThreshold. Returns int32 indices of the kept boxes, by descending
 * score. xyxy boxes; zero-area boxes never suppress one another (their IoU is NaN).
 */
export function nms(boxes: Tensor, scores: Tensor, iouThreshold: number): Tensor {
  checkNmsInputs('nms', boxes, scores, iouThreshold);
  const b = boxes.dataView();
  const keep: number[] = [];
  nmsKernel(b, orderByScore(scores.dataView()), iouThreshold, boxes.dtype === 'float32', keep);
  return tensor(Int32Array.from(keep), [keep.length], { dtype: 'int32' });
}

/**
 * Class-aware NMS (torchvision.ops.batched_nms): boxes of different `idxs` (category, or image) never suppress
 * each other. Runs NMS per category — exact, unlike the coordinate-offset trick, whose large offsets can round
 * float32 boxes — and returns int32 indices of the kept boxes by descending score, ties by index.
 */
export function batchedNms(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): Tensor {
  checkNmsInputs('batchedNms', boxes, scores, iouThreshold);
  if (idxs.shape.length !== 1 || idxs.shape[0] !== boxes.shape[0]) {
    throw new Error(
      `batchedNms: idxs must have shape [${boxes.shape[0]}] to match boxes ${formatShape(boxes.shape)}, got ${formatShape(idxs.shape)}`,
    );
  }
  const b = boxes.dataView();
  const s = scores.dataView();
  const ids = idxs.dataView();
  const groups = new Map<number, number[]>();
  for (let i = 0; i < ids.length; i++) {
    const g = groups.get(ids[i]);
    if (g) g.push(i);
    else groups.set(ids[i], [i]);
  }
  const keep: number[] = [];
  const f32 = boxes.dtype === 'float32';
  for (const members of groups.values()) nmsKernel(b, orderByScore(s, members), iouThreshold, f32, keep);
  const sorted = orderByScore(
    s,
    keep.sort((x, y) => x - y),
  );
  return tensor(sorted, [sorted.length], { dtype: 'int32' });
}

/**
 * Tight xyxy boxes [N, 4] (float32) around the non-zero pixels of masks [N, H, W] (torchvision.ops.masks_to_boxes):
 * x2/y2 are the last column/row that is set, so a single pixel at (x, y) gives (x, y, x, y).
 */
export function masksToBoxes(masks: Tensor): Tensor {
  if (masks.numel() === 0 && masks.shape.length <= 3) return Tensor.empty([0, 4], 'float32');
  if (masks.shape.length !== 3)
    throw new Error(`masksToBoxes: masks must have shape [N, H, W], got ${formatShape(masks.shape)}`);
  const [n, h, w] = masks.shape;
  const m = masks.dataView();
  const out = Tensor.empty([n, 4], 'float32');
  for (let k = 0; k < n; k++) {
    let x1 = Infinity,
      y1 = Infinity,
      x2 = -Infinity,
      y2 = -Infinity;
    const base = k * h * w;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (m[base + y * w + x] !== 0) {
          if (x < x1) x1 = x;
          if (x > x2) x2 = x;
          if (y < y1) y1 = y;
          y2 = y;
        }
      }
    }
    if (x2 < 0)
      throw new Error(
        `masksToBoxes: mask ${k} of ${formatShape(masks.shape)} is empty (torchvision fails on it too); drop empty masks first`,
      );
    out.storage.set([x1, y1, x2, y2], 4 * k);
  }
  return out;
}
