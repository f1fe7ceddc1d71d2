/**
 * Dropout (inverted: kept values are scaled by 1/(1 − p) during training so evaluation is the identity).
 * Masks are drawn from a seedable Generator, so a seeded run drops the same units every time.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { rand } from '../tensor/creation.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { ge, mul } from './elementwise.js';
import { requireFloat } from './util.js';

/** Options of `dropout` and `dropout2d`. */
export interface DropoutOptions {
  /** Probability of zeroing an element (a channel for dropout2d), 0 ≤ p ≤ 1 (default 0.5). */
  p?: number;
  /** Apply dropout (default true); false returns the input unchanged. */
  training?: boolean;
  /** Source of the random mask (default: the global generator, seeded by manualSeed). */
  generator?: Generator;
}

function checkP(op: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new Error(`${op}: dropout probability has to be between 0 and 1, but got ${p}`);
}

/** A {0, 1/(1−p)} mask of `shape`: each entry kept with probability 1 − p. */
function keepMask(shape: readonly number[], p: number, x: Tensor, generator: Generator): Tensor {
  return noGrad(() => {
    const u = rand(shape, { dtype: x.dtype, generator });
    return mul(ge(u, p), 1 / (1 - p));
  });
}

/**
 * Zeroes each element with probability p and scales the rest by 1/(1 − p) (PyTorch's F.dropout).
 * Identity when `training` is false or p = 0; all zeros when p = 1.
 */
export function dropout(x: Tensor, opts: DropoutOptions = {}): Tensor {
  const op = 'dropout';
  const p = opts.p ?? 0.5;
  checkP(op, p);
  requireFloat(op, x);
  if (!(opts.training ?? true) || p === 0) return x;
  if (p === 1) return mul(x, 0);
  return mul(x, keepMask(x.shape, p, x, opts.generator ?? defaultGenerator));
}

/**
 * Zeroes whole channels: each (sample, channel) plane of an [N, C, H, W] input is dropped with probability p, the
 * rest scaled by 1/(1 − p) (PyTorch's F.dropout2d). A 3-D input is read as [N, C, L], as PyTorch 1.13 does.
 */
export function dropout2d(x: Tensor, opts: DropoutOptions = {}): Tensor {
  const op = 'dropout2d';
  const p = opts.p ?? 0.5;
  checkP(op, p);
  requireFloat(op, x);
  if (x.shape.length !== 3 && x.shape.length !== 4) {
    throw new Error(`${op}: expected a 4-D input [N, C, H, W] (or 3-D [N, C, L]), got shape ${formatShape(x.shape)}`);
  }
  if (!(opts.training ?? true) || p === 0) return x;
  if (p === 1) return mul(x, 0);
  const maskShape = x.shape.map((s, i) => (i < 2 ? s : 1));
  return mul(x, keepMask(maskShape, p, x, opts.generator ?? defaultGenerator));
}
