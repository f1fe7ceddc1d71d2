/** BoxCoder (torchvision.models.detection._utils): box ↔ regression-target encoding of the R-CNN family. */
import { isGradEnabled } from '../../autograd/grad-mode.js';
import { tensor } from '../../tensor/creation.js';
import { add, clamp, div, exp, log, mul, sub } from '../../ops/elementwise.js';
import { cat, flatten, indexSelect, reshape, select, slice, split, stack, unsqueeze } from '../../ops/shape.js';
import { formatShape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';

/**
 * Encodes a box relative to a reference (proposal or anchor) as (dx, dy, dw, dh) = (wx·Δx/w, wy·Δy/h,
 * ww·log(w'/w), wh·log(h'/h)) — R-CNN's parametrisation (Girshick et al., 2014) — and decodes it back. Decoding
 * clamps dw and dh at `bboxXformClip` (default log(1000/16)) so exp cannot overflow on wild predictions.
 * Widths are x2 − x1 (no +1), as torchvision.
 */
export class BoxCoder {
  readonly weights: [number, number, number, number];
  readonly bboxXformClip: number;
  /** The weights and the clip rounded to float32, as the float32 tensor ops of decodeSingle see them. */
  private readonly weights32: Float32Array;
  private readonly clip32: number;

  constructor(weights: readonly [number, number, number, number], bboxXformClip = Math.log(1000 / 16)) {
    if (weights.length !== 4)
      throw new Error(`BoxCoder: weights must be four numbers (wx, wy, ww, wh), got ${JSON.stringify(weights)}`);
    this.weights = [weights[0], weights[1], weights[2], weights[3]];
    this.bboxXformClip = bboxXformClip;
    this.weights32 = Float32Array.from(this.weights);
    this.clip32 = Math.fround(bboxXformClip);
  }

  /** Regression targets of each image's matched gt boxes against its proposals, split back per image. */
  encode(referenceBoxes: readonly Tensor[], proposals: readonly Tensor[]): Tensor[] {
    const counts = referenceBoxes.map((b) => b.shape[0]);
    const targets = this.encodeSingle(cat(referenceBoxes, 0), cat(proposals, 0));
    return split(targets, counts, 0);
  }

  /** [N, 4] targets of gt boxes `referenceBoxes` [N, 4] relative to `proposals` [N, 4]. */
  encodeSingle(referenceBoxes: Tensor, proposals: Tensor): Tensor {
    if (
      referenceBoxes.shape.join() !== proposals.shape.join() ||
      referenceBoxes.shape.length !== 2 ||
      referenceBoxes.shape[1] !== 4
    ) {
      throw new Error(
        `BoxCoder.encode: reference boxes ${formatShape(referenceBoxes.shape)} and proposals ${formatShape(proposals.shape)} must both be [N, 4]`,
      );
    }
    const [wx, wy, ww, wh] = this.weights;
    const col = (t: Tensor, i: number) => unsqueeze(select(t, 1, i), 1);
    const exW = sub(col(proposals, 2), col(proposals, 0));
    const exH = sub(col(proposals, 3), col(proposals, 1));
    const exX = add(col(proposals, 0), mul(exW, 0.5));
    const exY = add(col(proposals, 1), mul(exH, 0.5));
    const gtW = sub(col(referenceBoxes, 2), col(referenceBoxes, 0));
    const gtH = sub(col(referenceBoxes, 3), col(referenceBoxes, 1));
    const gtX = add(col(referenceBoxes, 0), mul(gtW, 0.5));
    const gtY = add(col(referenceBoxes, 1), mul(gtH, 0.5));
    return cat(
      [
        div(mul(sub(gtX, exX), wx), exW),
        div(mul(sub(gtY, exY), wy), exH),
        mul(log(div(gtW, exW)), ww),
        mul(log(div(gtH, exH)), wh),
      ],
      1,
    );
  }

  /** Decodes `relCodes` against the concatenated per-image `boxes`: [Σ N_i, K, 4] for codes [Σ N_i, 4K]. */
  decode(relCodes: Tensor, boxes: readonly Tensor[]): Tensor {
    const total = boxes.reduce((s, b) => s + b.shape[0], 0);
    const codes = total > 0 ? reshape(relCodes, total, -1) : relCodes;
    const pred = this.decodeSingle(codes, cat(boxes, 0));
    return total > 0 ? reshape(pred, total, -1, 4) : pred;
  }

  /** Boxes [N, 4K] from codes [N, 4K] (K boxes per reference, e.g. one per class) and references [N, 4]. */
  decodeSingle(relCodes: Tensor, boxes: Tensor): Tensor {
    this.checkDecode('decode', relCodes, boxes);
    if (relCodes.dtype === 'float32' && !((relCodes.requiresGrad || boxes.requiresGrad) && isGradEnabled()))
      return this.decodeNoGrad(relCodes, boxes.dtype === 'float32' ? boxes : boxes.to('float32'));
    const b = boxes.dtype === relCodes.dtype ? boxes : boxes.to(relCodes.dtype);
    const widths = sub(select(b, 1, 2), select(b, 1, 0));
    const heights = sub(select(b, 1, 3), select(b, 1, 1));
    const ctrX = unsqueeze(add(select(b, 1, 0), mul(widths, 0.5)), 1);
    const ctrY = unsqueeze(add(select(b, 1, 1), mul(heights, 0.5)), 1);
    const w = unsqueeze(widths, 1);
    const h = unsqueeze(heights, 1);
    const [wx, wy, ww, wh] = this.weights;
    const dx = div(slice(relCodes, 1, 0, null, 4), wx);
    const dy = div(slice(relCodes, 1, 1, null, 4), wy);
    const dw = clamp(div(slice(relCodes, 1, 2, null, 4), ww), null, this.bboxXformClip);
    const dh = clamp(div(slice(relCodes, 1, 3, null, 4), wh), null, this.bboxXformClip);
    const px = add(mul(dx, w), ctrX);
    const py = add(mul(dy, h), ctrY);
    const halfW = mul(mul(exp(dw), w), 0.5);
    const halfH = mul(mul(exp(dh), h), 0.5);
    return flatten(stack([sub(px, halfW), sub(py, halfH), add(px, halfW), add(py, halfH)], 2), 1);
  }

  /**
   * The boxes of `relCodes` [N, 4K] against `boxes` [N, 4] at the flat box indices `index` (box q is row ⌊q / K⌋,
   * code group q mod K): [index.length, 4], the same values as `decodeSingle(relCodes, boxes)` viewed as [N·K, 4]
   * and gathered at `index`. Detectors decode only what survives their score filter (the RPN's per-level top-k,
   * the box head's (proposal, class) pairs above the score threshold) rather than every anchor and class box.
   */
  decodeAt(relCodes: Tensor, boxes: Tensor, index: Int32Array): Tensor {
    this.checkDecode('decodeAt', relCodes, boxes);
    const nk = relCodes.shape[0] * (relCodes.shape[1] / 4);
    for (const q of index) {
      if (!(q >= 0 && q < nk))
        throw new Error(
          `BoxCoder.decodeAt: index ${q} is outside the ${nk} boxes of codes ${formatShape(relCodes.shape)}`,
        );
    }
    if (relCodes.dtype === 'float32' && !((relCodes.requiresGrad || boxes.requiresGrad) && isGradEnabled())) {
      const c = relCodes.contiguous().dataView() as Float32Array;
      const b = (boxes.dtype === 'float32' ? boxes : boxes.to('float32')).contiguous().dataView() as Float32Array;
      const k = relCodes.shape[1] / 4;
      const out = new Float32Array(4 * index.length);
      for (let t = 0; t < index.length; t++)
        this.decodeBox(c, 4 * index[t], b, 4 * Math.floor(index[t] / k), out, 4 * t);
      return tensor(out, [index.length, 4]);
    }
    const all = reshape(this.decodeSingle(relCodes, boxes), -1, 4);
    return indexSelect(all, 0, tensor(index, [index.length], { dtype: 'int32' }));
  }

  /**
   * decodeSingle without autograd (inference): the same float32 operations in the same order as the tensor version
   * (each step rounded to float32), in one pass over typed arrays instead of a dozen strided tensor ops over [N, 4K].
   */
  private decodeNoGrad(relCodes: Tensor, boxes: Tensor): Tensor {
    const [n, k4] = relCodes.shape;
    const c = relCodes.contiguous().dataView() as Float32Array;
    const b = boxes.contiguous().dataView() as Float32Array;
    const out = new Float32Array(n * k4);
    for (let i = 0; i < n; i++) for (let j = i * k4; j < (i + 1) * k4; j += 4) this.decodeBox(c, j, b, 4 * i, out, j);
    return tensor(out, [n, k4]);
  }

  private checkDecode(op: string, relCodes: Tensor, boxes: Tensor): void {
    if (
      relCodes.shape.length !== 2 ||
      relCodes.shape[1] % 4 !== 0 ||
      boxes.shape.length !== 2 ||
      boxes.shape[1] !== 4 ||
      relCodes.shape[0] !== boxes.shape[0]
    ) {
      throw new Error(
        `BoxCoder.${op}: codes must be [N, 4K] and boxes [N, 4] with the same N, got ${formatShape(relCodes.shape)} and ${formatShape(boxes.shape)}`,
      );
    }
  }

  /** One box: the code at c[j..j+3] against the reference at b[r..r+3], written to out[o..o+3] (float32 steps). */
  private decodeBox(c: Float32Array, j: number, b: Float32Array, r: number, out: Float32Array, o: number): void {
    const f = Math.fround;
    const [wx, wy, ww, wh] = this.weights32;
    const clip = this.clip32;
    const w = f(b[r + 2] - b[r]);
    const h = f(b[r + 3] - b[r + 1]);
    const cx = f(b[r] + f(w * 0.5));
    const cy = f(b[r + 1] + f(h * 0.5));
    const dx = f(c[j] / wx);
    const dy = f(c[j + 1] / wy);
    const dw = Math.min(f(c[j + 2] / ww), clip);
    const dh = Math.min(f(c[j + 3] / wh), clip);
    const px = f(f(dx * w) + cx);
    const py = f(f(dy * h) + cy);
    const hw = f(f(f(Math.exp(dw)) * w) * 0.5);
    const hh = f(f(f(Math.exp(dh)) * h) * 0.5);
    out[o] = px - hw;
    out[o + 1] = py - hh;
    out[o + 2] = px + hw;
    out[o + 3] = py + hh;
  }
}
