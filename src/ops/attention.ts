/** Scaled dot-product attention, PyTorch 2.x's F.scaled_dot_product_attention, composed from matmul and softmax. */
import type { Generator } from '../tensor/random.js';
import { arange } from '../tensor/creation.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { add, eq, ge, mul } from './elementwise.js';
import { dropout } from './dropout.js';
import { matmul } from './matmul.js';
import { maskedFill, reshape, transpose } from './shape.js';
import { softmax } from './softmax.js';
import { requireFloat } from './util.js';

/** Options of `scaledDotProductAttention`. */
export interface ScaledDotProductAttentionOptions {
  /**
   * Broadcastable to [..., L, S]. A bool mask says which query/key pairs take part (true = attend, false = masked
   * out, PyTorch 2.x semantics); a float mask is added to the scores.
   */
  attnMask?: Tensor | null;
  /** Dropout probability applied to the attention weights (default 0; applied whenever > 0, as in PyTorch). */
  dropoutP?: number;
  /** Mask out keys after each query (lower-triangular attention); cannot be combined with attnMask. */
  isCausal?: boolean;
  /** Factor applied to q·kᵀ (default 1/√E). */
  scale?: number;
  /** Generator for the dropout mask. */
  generator?: Generator;
}

/**
 * softmax(q·kᵀ·scale + mask)·v for q [..., L, E], k [..., S, E], v [..., S, Ev] (batch dims broadcast).
 * Returns [..., L, Ev]. A query whose keys are all masked out gets NaN, as in PyTorch.
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: ScaledDotProductAttentionOptions = {},
): Tensor {
  const op = 'scaledDotProductAttention';
  requireFloat(op, q, 'query');
  requireFloat(op, k, 'key');
  requireFloat(op, v, 'value');
  if (q.shape.length < 2 || k.shape.length < 2 || v.shape.length < 2) {
    throw new Error(
      `${op}: query, key and value must have rank ≥ 2 ([..., L, E]), got ${formatShape(q.shape)}, ${formatShape(k.shape)}, ${formatShape(v.shape)}`,
    );
  }
  const e = q.shape[q.shape.length - 1];
  const l = q.shape[q.shape.length - 2];
  const s = k.shape[k.shape.length - 2];
  if (k.shape[k.shape.length - 1] !== e) {
    throw new Error(
      `${op}: query ${formatShape(q.shape)} has embedding size ${e} but key ${formatShape(k.shape)} has ${k.shape[k.shape.length - 1]}`,
    );
  }
  if (v.shape[v.shape.length - 2] !== s) {
    throw new Error(
      `${op}: key ${formatShape(k.shape)} has ${s} positions but value ${formatShape(v.shape)} has ${v.shape[v.shape.length - 2]}`,
    );
  }
  const mask = opts.attnMask ?? null;
  const isCausal = opts.isCausal ?? false;
  if (mask && isCausal) throw new Error(`${op}: an explicit attnMask cannot be combined with isCausal: true`);
  const dropoutP = opts.dropoutP ?? 0;
  if (!(dropoutP >= 0 && dropoutP <= 1)) throw new Error(`${op}: dropoutP must be in [0, 1], got ${dropoutP}`);
  const scale = opts.scale ?? 1 / Math.sqrt(e);
  let scores = mul(matmul(q, transpose(k, -2, -1)), scale);
  if (isCausal) {
    const keep = ge(reshape(arange(l), [l, 1]), reshape(arange(s), [1, s]));
    scores = maskedFill(scores, eq(keep, 0), -Infinity);
  } else if (mask) {
    if (mask.dtype === 'bool') {
      scores = maskedFill(scores, eq(mask, 0), -Infinity);
    } else if (mask.dtype === 'float32' || mask.dtype === 'float64') {
      scores = add(scores, mask);
    } else {
      throw new Error(
        `${op}: attnMask must be bool (true = attend) or floating (added to the scores), got ${mask.dtype}`,
      );
    }
  }
  let attn = softmax(scores, -1);
  if (dropoutP > 0) attn = dropout(attn, { p: dropoutP, training: true, generator: opts.generator });
  return matmul(attn, v);
}
