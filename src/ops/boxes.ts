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
  if (scores instanceof Float32Array) {
    // float32 scores: an order-preserving uint32 key per box (smaller key = higher score, NaN smallest), the m
    // smallest keys selected without sorting the rest, then a stable radix sort, so ties keep their position.
    // One pass to build the keys, no comparator calls.
    const sel = selectByKey(descendingKeys(scores, idx, n), m);
    if (idx) for (let r = 0; r < m; r++) sel[r] = idx[sel[r]];
    return sel;
  }
  const order = new Int32Array(m);
  // NaN scores come first (PyTorch's descending sort puts NaN above everything), in index order.
  let nan = 0;
  for (let q = 0; q < n && nan < m; q++) {
    const i = idx ? idx[q] : q;
    if (Number.isNaN(scores[i])) order[nan++] = i;
  }
  if (nan === m) return order;
  const rest: number[] = [];
  for (let q = 0; q < n; q++) {
    const i = idx ? idx[q] : q;
    if (!Number.isNaN(scores[i])) rest.push(i);
  }
  // Array sort is stable: ties stay by position (a difference would be NaN for two equal infinities)
  rest.sort((x, y) => (scores[y] > scores[x] ? 1 : scores[y] < scores[x] ? -1 : 0));
  order.set(rest.slice(0, m - nan), nan);
  return order;
}

/**
 * Descending-order keys of `scores[idx[r]]` (or `scores[r]`): the float32 bit pattern mapped to a uint32 that orders
 * like the value, complemented, so the highest score has the smallest key; NaN gets 0 (PyTorch's descending sort
 * puts NaN above everything); −0 maps like +0 (they tie, as in PyTorch).
 */
function descendingKeys(scores: Float32Array, idx: ArrayLike<number> | undefined, n: number): Uint32Array {
  const f = new Float32Array(n);
  if (idx) for (let r = 0; r < n; r++) f[r] = scores[idx[r]] + 0;
  else for (let r = 0; r < n; r++) f[r] = scores[r] + 0;
  const u = new Uint32Array(f.buffer);
  for (let r = 0; r < n; r++) {
    const b = u[r];
    // NaN (exponent all ones, mantissa non-zero) → 0, first; negative floats: more negative = larger bits =
    // later, after every non-negative key (≤ 0x7fffffff); non-negative: complemented, so larger comes first
    u[r] = (b & 0x7fffffff) > 0x7f800000 ? 0 : b & 0x80000000 ? b : ~b & 0x7fffffff;
  }
  return u;
}

/**
 * Positions of the `want` smallest keys, sorted by key, ties by position (so a stable order). The cut-off key is
 * found by quickselect on a copy; the positions below it (and enough of those equal to it, in order) are then
 * radix-sorted.
 */
function selectByKey(keys: Uint32Array, want: number): Int32Array {
  const n = keys.length;
  if (want <= 0) return new Int32Array(0);
  let pos: Int32Array;
  if (want < n) {
    const cut = kthSmallest(keys.slice(), want - 1);
    let less = 0;
    for (let r = 0; r < n; r++) if (keys[r] < cut) less++;
    let ties = want - less;
    pos = new Int32Array(want);
    for (let r = 0, q = 0; r < n && q < want; r++) {
      const v = keys[r];
      if (v < cut || (v === cut && ties-- > 0)) pos[q++] = r;
    }
  } else {
    pos = new Int32Array(n);
    for (let r = 0; r < n; r++) pos[r] = r;
  }
  return radixSortPositions(keys, pos);
}

/** The value of rank `k` (0-based) of `a` in ascending order; reorders `a` (Hoare's quickselect). */
function kthSmallest(a: Uint32Array, k: number): number {
  let lo = 0,
    hi = a.length - 1;
  while (hi > lo) {
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
    // now a[lo..j] ≤ pivot ≤ a[i..hi], and a[j+1..i-1] = pivot
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return pivot;
  }
  return a[k];
}

/**
 * `pos` reordered by `keys[pos[q]]` ascending, equal keys keeping their order in `pos`: insertion sort when short,
 * else a least-significant-byte radix sort (four stable counting passes, skipping bytes that are all equal).
 */
function radixSortPositions(keys: Uint32Array, pos: Int32Array): Int32Array {
  const n = pos.length;
  if (n <= 32) {
    for (let i = 1; i < n; i++) {
      const p = pos[i];
      const v = keys[p];
      let j = i - 1;
      while (j >= 0 && keys[pos[j]] > v) {
        pos[j + 1] = pos[j];
        j--;
      }
      pos[j + 1] = p;
    }
    return pos;
  }
  let k: Uint32Array = new Uint32Array(n);
  for (let q = 0; q < n; q++) k[q] = keys[pos[q]];
  let k2: Uint32Array = new Uint32Array(n);
  let p2: Int32Array = new Int32Array(n);
  const count = new Int32Array(256);
  for (let shift = 0; shift < 32; shift += 8) {
    count.fill(0);
    for (let q = 0; q < n; q++) count[(k[q] >>> shift) & 255]++;
    if (count[(k[0] >>> shift) & 255] === n) continue; // every key has this byte: the pass would change nothing
    for (let d = 0, sum = 0; d < 256; d++) {
      const c = count[d];
      count[d] = sum;
      sum += c;
    }
    for (let q = 0; q < n; q++) {
      const d = (k[q] >>> shift) & 255;
      const at = count[d]++;
      k2[at] = k[q];
      p2[at] = pos[q];
    }
    [k, k2] = [k2, k];
    [pos, p2] = [p2, pos];
  }
  return pos;
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

/** Whether `s[m[0]] ≥ s[m[1]] ≥ …` with no NaN (or m has one box), so that orderByScore(s, m) would be m itself. */
function alreadyOrdered(s: ArrayLike<number>, m: Int32Array): boolean {
  for (let q = 1; q < m.length; q++) if (!(s[m[q - 1]] >= s[m[q]])) return false;
  return true; // (one box is its own order, NaN or not)
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
  const n = ids.length;
  // Group the boxes by category with a counting sort (members stay in index order): group numbers in order of
  // first appearance, then one Int32Array slice per group.
  const groupOf = new Map<number, number>();
  const g = new Int32Array(n);
  let count = new Int32Array(16);
  for (let i = 0; i < n; i++) {
    let k = groupOf.get(ids[i]);
    if (k === undefined) {
      k = groupOf.size;
      groupOf.set(ids[i], k);
      if (k === count.length) {
        const grown = new Int32Array(2 * k);
        grown.set(count);
        count = grown;
      }
    }
    g[i] = k;
    count[k]++;
  }
  const groups = groupOf.size;
  const start = new Int32Array(groups + 1);
  for (let k = 0; k < groups; k++) start[k + 1] = start[k] + count[k];
  const members = new Int32Array(n);
  const fill = start.slice(0, groups);
  for (let i = 0; i < n; i++) members[fill[g[i]]++] = i;
  const keep: number[] = [];
  const f32 = boxes.dtype === 'float32';
  for (let k = 0; k < groups; k++) {
    const m = members.subarray(start[k], start[k + 1]);
    // a group already by descending score (a detector's per-class candidates) is its own order
    nmsKernel(b, alreadyOrdered(s, m) ? m : orderByScore(s, m), iouThreshold, f32, keep);
  }
  const sorted = orderByScore(s, Int32Array.from(keep).sort());
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
