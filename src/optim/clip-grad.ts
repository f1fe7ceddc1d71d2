/** Gradient clipping (PyTorch's torch.nn.utils.clip_grad_norm_ / clip_grad_value_), in place on `.grad`. */
import { Tensor } from '../tensor/tensor.js';
import type { FloatArray } from '../tensor/dtype.js';

function gradsOf(params: Iterable<Tensor> | Tensor): Tensor[] {
  const list = params instanceof Tensor ? [params] : [...params];
  const out: Tensor[] = [];
  for (const p of list) {
    if (!p.grad) continue;
    // Clipping writes in place; make sure the gradient owns contiguous storage first.
    if (!p.grad.isContiguous()) p.grad = new Tensor(p.grad.toTypedArray(), p.grad.shape, p.grad.dtype);
    out.push(p.grad);
  }
  return out;
}

function data(g: Tensor): FloatArray {
  return g.storage.subarray(g.offset, g.offset + g.numel()) as FloatArray;
}

/**
 * Scales all gradients together so their joint `normType`-norm (2 by default; Infinity for the max-norm) is at
 * most `maxNorm`, and returns the norm before clipping. Like PyTorch the scale is maxNorm / (norm + 1e-6).
 * With `errorIfNonfinite` a NaN/Inf norm throws instead of corrupting the weights.
 */
export function clipGradNorm_(
  params: Iterable<Tensor> | Tensor,
  maxNorm: number,
  normType = 2,
  errorIfNonfinite = false,
): number {
  if (!(normType > 0)) throw new Error(`clipGradNorm_: normType must be positive or Infinity, got ${normType}`);
  const grads = gradsOf(params);
  if (grads.length === 0) return 0;
  let total = 0;
  if (normType === Infinity) {
    for (const g of grads) {
      const d = data(g);
      for (let i = 0; i < d.length; i++) {
        const a = Math.abs(d[i]);
        if (a > total || Number.isNaN(a)) total = a;
      }
    }
  } else {
    // Σ over tensors of ‖g‖ₚᵖ, which equals the p-norm of the per-tensor p-norms.
    for (const g of grads) {
      const d = data(g);
      for (let i = 0; i < d.length; i++) total += Math.abs(d[i]) ** normType;
    }
    total = total ** (1 / normType);
  }
  if (errorIfNonfinite && !Number.isFinite(total)) {
    throw new Error(
      `clipGradNorm_: the total norm of order ${normType} for gradients is non-finite (${total}), so it cannot be clipped`,
    );
  }
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) {
    for (const g of grads) {
      const d = data(g);
      for (let i = 0; i < d.length; i++) d[i] *= coef;
      g.version++;
    }
  }
  return total;
}

/** Clamps every gradient element into [−clipValue, clipValue]. */
export function clipGradValue_(params: Iterable<Tensor> | Tensor, clipValue: number): void {
  if (!(clipValue >= 0)) throw new Error(`clipGradValue_: clipValue must be ≥ 0, got ${clipValue}`);
  for (const g of gradsOf(params)) {
    const d = data(g);
    for (let i = 0; i < d.length; i++) d[i] = Math.min(Math.max(d[i], -clipValue), clipValue);
    g.version++;
  }
}
