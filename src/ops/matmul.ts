/** Matrix products: mm, bmm, matmul (with batch broadcasting) and linear. */
import { record, untracked } from '../autograd/graph.js';
import { isCreatingGraph } from '../autograd/grad-mode.js';
import { backend } from '../backend/index.js';
import { broadcastShapes, formatShape, numel, shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { add } from './elementwise.js';
import { contiguous, expand, reshape, squeeze, transpose, unsqueeze } from './shape.js';
import { floatData, requireFloat } from './util.js';

/**
 * Batched product of contiguous a [B?, m, k] and b [B?, k, n] with batch strides (0 broadcasts).
 * transA/transB read the stored matrices transposed, so backward needs no transposed copies.
 */
function gemmTensors(
  a: Tensor,
  b: Tensor,
  batch: number,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  batchA: boolean,
  batchB: boolean,
): Tensor {
  const out = Tensor.unfilled(batch > 1 || batchA || batchB ? [batch, m, n] : [m, n], a.dtype);
  backend().gemm(
    transA,
    transB,
    m,
    n,
    k,
    floatData(a),
    batchA ? m * k : 0,
    floatData(b),
    batchB ? k * n : 0,
    floatData(out),
    m * n,
    batch,
    false,
  );
  return out;
}

/** 2-D matrix product [m, k] · [k, n]. */
export function mm(a: Tensor, b: Tensor): Tensor {
  requireFloat('mm', a);
  requireFloat('mm', b, 'mat2');
  if (a.shape.length !== 2 || b.shape.length !== 2)
    throw new Error(`mm: expected 2-D matrices, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  if (a.shape[1] !== b.shape[0])
    throw new Error(
      `mm: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} cannot be multiplied (${a.shape[1]} ≠ ${b.shape[0]})`,
    );
  if (a.dtype !== b.dtype) throw new Error(`mm: both matrices must have the same dtype, got ${a.dtype} and ${b.dtype}`);
  return bmmCore('mm', a, b, 1, false, false);
}

/** Batched matrix product [B, m, k] · [B, k, n]. */
export function bmm(a: Tensor, b: Tensor): Tensor {
  requireFloat('bmm', a);
  requireFloat('bmm', b, 'mat2');
  if (a.shape.length !== 3 || b.shape.length !== 3)
    throw new Error(`bmm: expected 3-D tensors, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  if (a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw new Error(
      `bmm: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} cannot be multiplied (need [B, m, k] · [B, k, n])`,
    );
  }
  return bmmCore('bmm', a, b, a.shape[0], true, true);
}

/**
 * linear where nothing records it (inference): the same product (x · Wᵀ with W read transposed in place) and the
 * same float32 bias sum, without the views, the product's tensor and the broadcast add around them — ~0.15 ms of a
 * 4.5 ms MobileNetV2 forward went there.
 */
function linearUntracked(x: Tensor, weight: Tensor, bias: Tensor | null, lead: number[]): Tensor {
  const m = numel(lead),
    [n, k] = weight.shape;
  const out = Tensor.unfilled([...lead, n], 'float32');
  const o = floatData(out);
  backend().gemm(false, true, m, n, k, floatData(x), 0, floatData(weight), 0, o, m * n, 1, false);
  if (bias) {
    const b = floatData(bias);
    for (let i = 0; i < m; i++) for (let j = 0, r = i * n; j < n; j++) o[r + j] += b[j];
  }
  return out;
}

/** Shared forward/backward of mm and bmm (a, b are 2-D or 3-D with equal batch). */
function bmmCore(name: string, a: Tensor, b: Tensor, batch: number, batchA: boolean, batchB: boolean): Tensor {
  const r = a.shape.length;
  const m = a.shape[r - 2];
  const k = a.shape[r - 1];
  const n = b.shape[b.shape.length - 1];
  const { t: ac, trans: ta } = asGemmOperand(a);
  const { t: bc, trans: tb } = asGemmOperand(b);
  let out = gemmTensors(ac, bc, batch, m, n, k, ta, tb, batchA, batchB);
  if (r === 2) out = reshape(out, [m, n]);
  return record(name, out, [a, b], () => (g) => {
    if (isCreatingGraph()) {
      // dA = g·Bᵀ, dB = Aᵀ·g as recorded products, so they can be differentiated again
      const tr = (t: Tensor) => transpose(t, r - 2, r - 1);
      const prod = (p: Tensor, q: Tensor) => (r === 2 ? mm(p, q) : bmm(p, q));
      return [a.requiresGrad ? prod(g, tr(b)) : null, b.requiresGrad ? prod(tr(a), g) : null];
    }
    const gc = contiguous(g);
    // dA = g · Bᵀ, dB = Aᵀ · g
    const ga = a.requiresGrad ? reshape(gemmTensors(gc, bc, batch, m, k, n, false, !tb, true, batchB), a.shape) : null;
    let gb: Tensor | null = null;
    if (b.requiresGrad && tb) {
      // b is a transposed view (linear's Wᵀ): compute ∂(stored matrix) = gᵀ·A contiguous and return its transpose,
      // so the view's backward hands the parameter contiguous storage (no strided copy into .grad)
      const stored = reshape(
        gemmTensors(gc, ac, batch, n, k, m, true, ta, true, batchA),
        r === 2 ? [n, k] : [batch, n, k],
      );
      gb = transpose(stored, r - 2, r - 1);
    } else if (b.requiresGrad) {
      gb = reshape(gemmTensors(ac, gc, batch, k, n, m, !ta, false, batchA, true), b.shape);
    }
    return [ga, gb];
  });
}

/** A contiguous operand for gemm, reusing a transposed view's storage via the transpose flag instead of copying. */
function asGemmOperand(x: Tensor): { t: Tensor; trans: boolean } {
  if (x.isContiguous()) return { t: x, trans: false };
  const r = x.shape.length;
  const tr = transpose(x, r - 2, r - 1);
  if (tr.isContiguous()) return { t: tr.detach(), trans: true };
  return { t: contiguous(x).detach(), trans: false };
}

/** NumPy-style matmul: 1-D vectors are promoted and squeezed back, batch dims broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  requireFloat('matmul', a);
  requireFloat('matmul', b, 'other');
  if (a.shape.length === 0 || b.shape.length === 0)
    throw new Error('matmul: both arguments need at least 1 dimension; use mul for scalars');
  if (a.shape.length === 1 && b.shape.length === 1) {
    if (a.shape[0] !== b.shape[0])
      throw new Error(`matmul: vectors of sizes ${a.shape[0]} and ${b.shape[0]} cannot be multiplied`);
    return reshape(mm(unsqueeze(a, 0), unsqueeze(b, 1)), []);
  }
  if (a.shape.length === 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
  if (b.shape.length === 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  if (a.shape.length === 2 && b.shape.length === 2) return mm(a, b);
  const m = a.shape[a.shape.length - 2];
  const k = a.shape[a.shape.length - 1];
  const k2 = b.shape[b.shape.length - 2];
  const n = b.shape[b.shape.length - 1];
  if (k !== k2)
    throw new Error(
      `matmul: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} cannot be multiplied (${k} ≠ ${k2})`,
    );
  const batchShape = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = numel(batchShape);
  const aB = a.shape.length === 2 ? a : reshape(expand(a, [...batchShape, m, k]), [batch, m, k]);
  // A 2-D right operand is shared across the batch: fold the batch into rows instead of copying b.
  if (b.shape.length === 2 && shapesEqual(a.shape.slice(0, -2), batchShape)) {
    return reshape(mm(reshape(a, [batch * m, k]), b), [...batchShape, m, n]);
  }
  const bB = b.shape.length === 2 ? b : reshape(expand(b, [...batchShape, k, n]), [batch, k, n]);
  const aa = aB.shape.length === 2 ? expand(unsqueeze(aB, 0), [batch, m, k]) : aB;
  const bb = bB.shape.length === 2 ? expand(unsqueeze(bB, 0), [batch, k, n]) : bB;
  return reshape(bmm(contiguous(aa), contiguous(bb)), [...batchShape, m, n]);
}

/** y = x · Wᵀ + b, with x [..., in], W [out, in], b [out] (PyTorch's F.linear). */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  requireFloat('linear', x);
  if (weight.shape.length !== 2)
    throw new Error(`linear: weight must be 2-D [out_features, in_features], got ${formatShape(weight.shape)}`);
  const inF = weight.shape[1];
  if (x.shape.length === 0 || x.shape[x.shape.length - 1] !== inF) {
    throw new Error(
      `linear: input ${formatShape(x.shape)} has ${x.shape[x.shape.length - 1] ?? 0} features but weight ${formatShape(weight.shape)} expects ${inF}`,
    );
  }
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== weight.shape[0])) {
    throw new Error(`linear: bias must have shape [${weight.shape[0]}], got ${formatShape(bias.shape)}`);
  }
  const lead = x.shape.slice(0, -1);
  if (
    untracked(x, weight, bias) &&
    x.dtype === 'float32' &&
    weight.dtype === 'float32' &&
    x.isContiguous() &&
    weight.isContiguous() &&
    (!bias || (bias.dtype === 'float32' && bias.isContiguous()))
  )
    return linearUntracked(x, weight, bias, lead);
  const x2 = reshape(x, [numel(lead), inF]);
  let y = mm(x2, transpose(weight, 0, 1));
  if (bias) y = add(y, bias);
  return reshape(y, [...lead, weight.shape[0]]);
}
