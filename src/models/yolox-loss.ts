/**
 * YOLOX's training objective (Ge et al. 2021, §2.1 and "SimOTA"): label assignment by a simplified optimal
 * transport — each object takes the k locations of lowest cost (classification BCE + 3 · (−log IoU), with a large
 * penalty outside the object's box and centre region), k = ⌊Σ of its 10 best IoUs⌋ ≥ 1 ("dynamic k"); a location
 * claimed by several objects goes to the cheapest. Losses, each summed and divided by the number of foreground
 * locations: IoU loss 1 − IoU² (or 1 − GIoU) on the assigned boxes, weighted 5; objectness BCE on every location
 * (target 1 on the foreground); class BCE on the foreground with IoU-aware targets (one-hot · IoU of the prediction).
 */
import { noGrad } from '../autograd/grad-mode.js';
import { add, clamp, div, exp, maximum, minimum, mul, square, sub } from '../ops/elementwise.js';
import { binaryCrossEntropyWithLogits } from '../ops/loss.js';
import { sum } from '../ops/reduce.js';
import { cat, indexSelect, narrow, permute, reshape } from '../ops/shape.js';
import { tensor } from '../tensor/creation.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { DetectionTrainTarget } from './detection/rpn.js';

/** Options of the YOLOX loss (the paper's defaults). */
export interface YoloxLossOptions {
  /** Centre prior: a location is a candidate within centerRadius strides of an object's centre (default 2.5). */
  centerRadius?: number;
  /** Weight of the box loss (default 5). */
  regWeight?: number;
  /** Box loss: 'iou' (1 − IoU², YOLOX's default) or 'giou' (1 − GIoU). */
  iouType?: 'iou' | 'giou';
  /** IoUs summed for the dynamic k (default 10). */
  topkCandidates?: number;
}

/** Predictions and geometry of one image's locations for SimOTA, in flat typed arrays. */
export interface SimOtaInput {
  /** [A, 4] predicted boxes (cx, cy, w, h) in pixels. */
  boxes: ArrayLike<number>;
  /** [A] objectness logits. */
  obj: ArrayLike<number>;
  /** [A, C] class logits. */
  cls: ArrayLike<number>;
  numClasses: number;
  /** [A] location centres and strides. */
  centerX: ArrayLike<number>;
  centerY: ArrayLike<number>;
  stride: ArrayLike<number>;
  /** [G, 4] ground-truth xyxy boxes and [G] 0-based classes. */
  gtBoxes: ArrayLike<number>;
  gtClasses: ArrayLike<number>;
}

/** SimOTA's answer: the foreground locations, the object each is assigned to and its predicted box's IoU with it. */
export interface SimOtaAssignment {
  fg: Int32Array;
  gt: Int32Array;
  iou: Float32Array;
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

function iouCxcywhXyxy(p: ArrayLike<number>, i: number, g: ArrayLike<number>, j: number): number {
  const px1 = p[4 * i] - p[4 * i + 2] / 2,
    py1 = p[4 * i + 1] - p[4 * i + 3] / 2,
    px2 = p[4 * i] + p[4 * i + 2] / 2,
    py2 = p[4 * i + 1] + p[4 * i + 3] / 2;
  const iw = Math.min(px2, g[4 * j + 2]) - Math.max(px1, g[4 * j]);
  const ih = Math.min(py2, g[4 * j + 3]) - Math.max(py1, g[4 * j + 1]);
  const inter = iw > 0 && ih > 0 ? iw * ih : 0;
  const union = p[4 * i + 2] * p[4 * i + 3] + (g[4 * j + 2] - g[4 * j]) * (g[4 * j + 3] - g[4 * j + 1]) - inter;
  return inter / (union + 1e-16);
}

/**
 * SimOTA for one image (YOLOX's get_assignments, the paper's version: candidates are locations whose centre lies in
 * an object's box or within `centerRadius` strides of its centre; those in both are preferred by a 1e5 cost).
 */
export function simOtaAssign(inp: SimOtaInput, opts: YoloxLossOptions = {}): SimOtaAssignment {
  const r = opts.centerRadius ?? 2.5;
  const topk = opts.topkCandidates ?? 10;
  const A = inp.obj.length;
  const G = inp.gtClasses.length;
  const C = inp.numClasses;
  const gb = inp.gtBoxes;
  if (G === 0 || A === 0) return { fg: new Int32Array(0), gt: new Int32Array(0), iou: new Float32Array(0) };
  // Geometry: which locations are candidates, and which lie both in a box and in its centre region.
  const cand: number[] = [];
  const both: Uint8Array[] = [];
  for (let g = 0; g < G; g++) both.push(new Uint8Array(A));
  for (let a = 0; a < A; a++) {
    const x = inp.centerX[a],
      y = inp.centerY[a],
      rs = r * inp.stride[a];
    let any = false;
    for (let g = 0; g < G; g++) {
      const inBox = x > gb[4 * g] && x < gb[4 * g + 2] && y > gb[4 * g + 1] && y < gb[4 * g + 3];
      const gcx = (gb[4 * g] + gb[4 * g + 2]) / 2,
        gcy = (gb[4 * g + 1] + gb[4 * g + 3]) / 2;
      const inCenter = x > gcx - rs && x < gcx + rs && y > gcy - rs && y < gcy + rs;
      if (inBox || inCenter) any = true;
      if (inBox && inCenter) both[g][a] = 1;
    }
    if (any) cand.push(a);
  }
  const M = cand.length;
  if (M === 0) return { fg: new Int32Array(0), gt: new Int32Array(0), iou: new Float32Array(0) };
  const ious = new Float64Array(G * M);
  const cost = new Float64Array(G * M);
  // log of the predicted joint probability √(σ(cls) σ(obj)) and of its complement, per candidate and class (torch's
  // binary_cross_entropy clamps the logs at −100).
  const logP = new Float64Array(M * C),
    log1mP = new Float64Array(M * C);
  for (let j = 0; j < M; j++) {
    const a = cand[j];
    const so = sigmoid(inp.obj[a]);
    for (let c = 0; c < C; c++) {
      const p = Math.sqrt(sigmoid(inp.cls[a * C + c]) * so);
      logP[j * C + c] = Math.max(Math.log(p), -100);
      log1mP[j * C + c] = Math.max(Math.log(1 - p), -100);
    }
  }
  let sumNeg = new Float64Array(M);
  sumNeg = sumNeg.map((_, j) => {
    let s = 0;
    for (let c = 0; c < C; c++) s -= log1mP[j * C + c];
    return s;
  });
  for (let g = 0; g < G; g++) {
    const cg = inp.gtClasses[g];
    for (let j = 0; j < M; j++) {
      const a = cand[j];
      const iou = iouCxcywhXyxy(inp.boxes, a, gb, g);
      ious[g * M + j] = iou;
      const clsCost = sumNeg[j] + log1mP[j * C + cg] - logP[j * C + cg];
      cost[g * M + j] = clsCost + 3 * -Math.log(iou + 1e-8) + (both[g][a] ? 0 : 1e5);
    }
  }
  // Dynamic k: each object takes its k cheapest candidates, k = ⌊sum of its top-10 IoUs⌋, at least 1.
  const owner = new Int32Array(M).fill(-1);
  const claims = new Int32Array(M);
  const nTop = Math.min(topk, M);
  const order = Array.from({ length: M }, (_, j) => j);
  for (let g = 0; g < G; g++) {
    const row = ious.subarray(g * M, (g + 1) * M);
    const top = Array.from(row)
      .sort((u, v) => v - u)
      .slice(0, nTop);
    const k = Math.max(1, Math.floor(top.reduce((s, v) => s + v, 0)));
    const byCost = order.slice().sort((u, v) => cost[g * M + u] - cost[g * M + v] || u - v);
    for (let t = 0; t < k && t < M; t++) {
      const j = byCost[t];
      claims[j]++;
      owner[j] = g;
    }
  }
  // A location claimed by several objects goes to the one of lowest cost (over all objects, as YOLOX).
  for (let j = 0; j < M; j++) {
    if (claims[j] > 1) {
      let best = 0;
      for (let g = 1; g < G; g++) if (cost[g * M + j] < cost[best * M + j]) best = g;
      owner[j] = best;
    }
  }
  const fg: number[] = [],
    gt: number[] = [],
    iou: number[] = [];
  for (let j = 0; j < M; j++) {
    if (owner[j] < 0) continue;
    fg.push(cand[j]);
    gt.push(owner[j]);
    iou.push(ious[owner[j] * M + j]);
  }
  return { fg: Int32Array.from(fg), gt: Int32Array.from(gt), iou: Float32Array.from(iou) };
}

/**
 * Elementwise IoU (or GIoU) of predicted (cx, cy, w, h) boxes and target xyxy boxes, both [F, 4]; differentiable in
 * the predictions (YOLOX's IOUloss before its 1 − IoU²).
 */
export function pairedIou(pred: Tensor, target: Tensor, type: 'iou' | 'giou' = 'iou'): Tensor {
  const pxy = narrow(pred, 1, 0, 2),
    pwh = narrow(pred, 1, 2, 2);
  const half = mul(pwh, 0.5);
  const p1 = sub(pxy, half),
    p2 = add(pxy, half);
  const t1 = narrow(target, 1, 0, 2),
    t2 = narrow(target, 1, 2, 2);
  const wh = clamp(sub(minimum(p2, t2), maximum(p1, t1)), 0);
  const area = (v: Tensor) => mul(narrow(v, 1, 0, 1), narrow(v, 1, 1, 1));
  const inter = area(wh);
  const union = sub(add(area(pwh), area(sub(t2, t1))), inter);
  const iou = div(inter, add(union, 1e-16));
  if (type === 'iou') return reshape(iou, [-1]);
  const hull = area(sub(maximum(p2, t2), minimum(p1, t1)));
  return reshape(sub(iou, div(sub(hull, union), add(hull, 1e-16))), [-1]);
}

/**
 * The YOLOX loss of raw head outputs (per level [N, 4 + 1 + C, H, W]; see YOLOXHead) for torchvision-style targets
 * (xyxy pixel boxes, 1-based labels): `{ bbox_regression (already × regWeight), objectness, classification }`.
 */
export function yoloxLoss(
  outputs: readonly Tensor[],
  strides: readonly number[],
  targets: readonly DetectionTrainTarget[],
  opts: YoloxLossOptions = {},
): Record<string, Tensor> {
  if (outputs.length !== strides.length)
    throw new Error(`yoloxLoss: ${outputs.length} output levels but ${strides.length} strides`);
  const [n, k] = outputs[0].shape;
  const C = k - 5;
  if (C < 1) throw new Error(`yoloxLoss: outputs need 4 + 1 + C ≥ 6 channels, got ${formatShape(outputs[0].shape)}`);
  outputs.forEach((o) => {
    if (o.shape.length !== 4 || o.shape[0] !== n || o.shape[1] !== k)
      throw new Error(`yoloxLoss: expected outputs [${n}, ${k}, H, W] at every level, got ${formatShape(o.shape)}`);
  });
  if (targets.length !== n) throw new Error(`yoloxLoss: ${n} images but ${targets.length} targets`);
  // Locations of all levels in order: grid cell (x, y) and stride.
  const gx: number[] = [],
    gy: number[] = [],
    gs: number[] = [];
  outputs.forEach((o, l) => {
    const [, , h, w] = o.shape;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        gx.push(x);
        gy.push(y);
        gs.push(strides[l]);
      }
  });
  const A = gs.length;
  // [N·A, K]: one row per location.
  const flat = reshape(
    permute(
      cat(
        outputs.map((o) => reshape(o, [n, k, -1])),
        2,
      ),
      0,
      2,
      1,
    ),
    [n * A, k],
  );
  const fgRows: number[] = [],
    fgBoxes: number[] = [],
    fgCls: number[] = [],
    fgIou: number[] = [];
  noGrad(() => {
    const d = flat.dataView();
    const centerX = Float64Array.from(gx, (x, a) => (x + 0.5) * gs[a]);
    const centerY = Float64Array.from(gy, (y, a) => (y + 0.5) * gs[a]);
    for (let b = 0; b < n; b++) {
      const t = targets[b];
      const G = t.boxes.shape[0];
      if (t.labels.shape.length !== 1 || t.labels.shape[0] !== G)
        throw new Error(`yoloxLoss: target ${b} has ${G} boxes but labels of shape ${formatShape(t.labels.shape)}`);
      if (G === 0) continue;
      const labels = t.labels.dataView();
      const gtClasses = Int32Array.from(labels, (v) => v - 1);
      gtClasses.forEach((c, i) => {
        if (!(c >= 0 && c < C))
          throw new Error(`yoloxLoss: target ${b} label ${labels[i]} is outside 1…${C} (0 is background)`);
      });
      const boxes = new Float64Array(A * 4),
        obj = new Float64Array(A),
        cls = new Float64Array(A * C);
      for (let a = 0; a < A; a++) {
        const row = (b * A + a) * k;
        boxes[4 * a] = (d[row] + gx[a]) * gs[a];
        boxes[4 * a + 1] = (d[row + 1] + gy[a]) * gs[a];
        boxes[4 * a + 2] = Math.exp(d[row + 2]) * gs[a];
        boxes[4 * a + 3] = Math.exp(d[row + 3]) * gs[a];
        obj[a] = d[row + 4];
        for (let c = 0; c < C; c++) cls[a * C + c] = d[row + 5 + c];
      }
      const gtBoxes = t.boxes.dataView();
      const m = simOtaAssign(
        { boxes, obj, cls, numClasses: C, centerX, centerY, stride: gs, gtBoxes, gtClasses },
        opts,
      );
      m.fg.forEach((a, i) => {
        const g = m.gt[i];
        fgRows.push(b * A + a);
        for (let c = 0; c < 4; c++) fgBoxes.push(gtBoxes[4 * g + c]);
        fgCls.push(gtClasses[g]);
        fgIou.push(m.iou[i]);
      });
    }
  });
  const F = fgRows.length;
  const numFg = Math.max(F, 1);
  const dtype = flat.dtype;
  const f = (v: number[], shape: number[]) =>
    tensor(dtype === 'float64' ? Float64Array.from(v) : Float32Array.from(v), shape, { dtype });
  const objTarget = new Array<number>(n * A).fill(0);
  for (const row of fgRows) objTarget[row] = 1;
  const objectness = div(
    binaryCrossEntropyWithLogits(narrow(flat, 1, 4, 1), f(objTarget, [n * A, 1]), { reduction: 'sum' }),
    numFg,
  );
  let boxLoss: Tensor, clsLoss: Tensor;
  if (F === 0) {
    // No object anywhere in the batch: only objectness trains (the zero keeps the graph connected).
    boxLoss = mul(sum(narrow(flat, 1, 0, 4)), 0);
    clsLoss = mul(sum(narrow(flat, 1, 5, C)), 0);
  } else {
    const pred = indexSelect(flat, 0, tensor(Int32Array.from(fgRows), [F], { dtype: 'int32' }));
    const stride = f(
      fgRows.map((r) => gs[r % A]),
      [F, 1],
    );
    const grid = f(
      fgRows.flatMap((r) => [gx[r % A], gy[r % A]]),
      [F, 2],
    );
    const xy = mul(add(narrow(pred, 1, 0, 2), grid), stride);
    const wh = mul(exp(narrow(pred, 1, 2, 2)), stride);
    const iou = pairedIou(cat([xy, wh], 1), f(fgBoxes, [F, 4]), opts.iouType ?? 'iou');
    const perBox = opts.iouType === 'giou' ? sub(1, clamp(iou, -1, 1)) : sub(1, square(iou));
    boxLoss = mul(div(sum(perBox), numFg), opts.regWeight ?? 5);
    const clsTarget = new Array<number>(F * C).fill(0);
    fgCls.forEach((c, i) => (clsTarget[i * C + c] = fgIou[i]));
    clsLoss = div(
      binaryCrossEntropyWithLogits(narrow(pred, 1, 5, C), f(clsTarget, [F, C]), { reduction: 'sum' }),
      numFg,
    );
  }
  return { bbox_regression: boxLoss, objectness, classification: clsLoss };
}
