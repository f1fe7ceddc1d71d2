/**
 * Fused optimiser updates (one pass over a parameter and its state), with PyTorch's arithmetic order. The
 * accelerated backends run the same update in float32 SIMD; these loops are the baseline (and float64 path).
 */
import type { FloatArray } from '../../tensor/dtype.js';
import type { AdamHyper, SgdHyper } from '../types.js';

export function sgdStep(w: FloatArray, g: FloatArray, buf: FloatArray | null, h: SgdHyper): void {
  const { lr, momentum, dampening, weightDecay: wd, nesterov, firstStep } = h;
  const sign = h.maximize ? -1 : 1;
  const n = w.length;
  if (!buf) {
    for (let i = 0; i < n; i++) w[i] -= lr * (sign * g[i] + wd * w[i]);
    return;
  }
  for (let i = 0; i < n; i++) {
    const d = sign * g[i] + wd * w[i];
    const b = firstStep ? d : momentum * buf[i] + (1 - dampening) * d;
    buf[i] = b;
    w[i] -= lr * (nesterov ? d + momentum * b : b);
  }
}

export function adamStep(
  w: FloatArray,
  g: FloatArray,
  m: FloatArray,
  v: FloatArray,
  vmax: FloatArray | null,
  h: AdamHyper,
): void {
  const { lr, beta1, beta2, eps, weightDecay: wd, decoupled, step } = h;
  const bc1 = 1 - beta1 ** step;
  const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
  const stepSize = lr / bc1;
  const sign = h.maximize ? -1 : 1;
  const n = w.length;
  if (decoupled && wd !== 0) for (let i = 0; i < n; i++) w[i] *= 1 - lr * wd;
  const l2 = decoupled ? 0 : wd;
  for (let i = 0; i < n; i++) {
    const gi = sign * g[i] + l2 * w[i];
    m[i] = m[i] * beta1 + (1 - beta1) * gi;
    v[i] = v[i] * beta2 + (1 - beta2) * gi * gi;
    let second = v[i];
    if (vmax) {
      if (v[i] > vmax[i]) vmax[i] = v[i];
      second = vmax[i];
    }
    w[i] -= (stepSize * m[i]) / (Math.sqrt(second) / bc2Sqrt + eps);
  }
}
