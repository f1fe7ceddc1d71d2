/**
 * `nn.init`: in-place weight initialisers with PyTorch's formulas and names (camelCase, trailing underscore for
 * in-place). Each runs under noGrad (so it works on parameters that require grad), bumps the tensor's version,
 * takes an optional seeded Generator, and returns the tensor.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Nonlinearity names accepted by calculateGain (PyTorch's strings; camelCase spellings also accepted). */
export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'conv_transpose1d'
  | 'conv_transpose2d'
  | 'conv_transpose3d'
  | 'convTranspose1d'
  | 'convTranspose2d'
  | 'convTranspose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'leakyRelu'
  | 'selu';

/** Fan mode of the Kaiming initialisers: preserve the variance of activations (fanIn) or of gradients (fanOut). */
export type FanMode = 'fanIn' | 'fanOut' | 'fan_in' | 'fan_out';

/**
 * The recommended gain for a nonlinearity (PyTorch's calculate_gain): 1 for linear/conv/sigmoid, 5/3 for tanh,
 * √2 for relu, √(2/(1+slope²)) for leaky_relu (slope `param`, default 0.01), 3/4 for selu.
 */
export function calculateGain(nonlinearity: Nonlinearity, param: number | null = null): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'sigmoid':
    case 'conv_transpose1d':
    case 'conv_transpose2d':
    case 'conv_transpose3d':
    case 'convTranspose1d':
    case 'convTranspose2d':
    case 'convTranspose3d':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu':
    case 'leakyRelu': {
      const slope = param ?? 0.01;
      if (!Number.isFinite(slope)) throw new Error(`calculateGain: negative_slope ${param} is not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new Error(`calculateGain: unsupported nonlinearity '${String(nonlinearity)}'`);
  }
}

/** fan_in = size(1)·receptive field, fan_out = size(0)·receptive field (PyTorch's convention, ≥ 2 dims). */
export function calculateFanInAndFanOut(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.shape.length < 2) {
    throw new Error(
      `init: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions, got shape ${formatShape(t.shape)}`,
    );
  }
  let receptive = 1;
  for (let i = 2; i < t.shape.length; i++) receptive *= t.shape[i];
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

function fill(t: Tensor, sample: () => number): Tensor {
  noGrad(() => {
    if (t.isContiguous()) {
      const v = t.dataView();
      for (let i = 0; i < v.length; i++) v[i] = sample();
    } else {
      // Walk the strided view element by element so views (e.g. a slice of a fused weight) initialise in place.
      const n = t.numel();
      const idx = new Array<number>(t.shape.length).fill(0);
      for (let k = 0; k < n; k++) {
        let off = t.offset;
        for (let d = 0; d < idx.length; d++) off += idx[d] * t.strides[d];
        t.storage[off] = sample();
        for (let d = idx.length - 1; d >= 0; d--) {
          if (++idx[d] < t.shape[d]) break;
          idx[d] = 0;
        }
      }
    }
  });
  t.version++;
  return t;
}

/** U(a, b) in place. */
export function uniform_(t: Tensor, a = 0, b = 1, generator: Generator = defaultGenerator): Tensor {
  return fill(t, () => a + (b - a) * generator.random());
}

/** N(mean, std²) in place. */
export function normal_(t: Tensor, mean = 0, std = 1, generator: Generator = defaultGenerator): Tensor {
  return fill(t, () => mean + std * generator.normal());
}

/** N(mean, std²) truncated to [a, b] (absolute bounds, as PyTorch), by rejection so the law is exact. */
export function truncNormal_(
  t: Tensor,
  mean = 0,
  std = 1,
  a = -2,
  b = 2,
  generator: Generator = defaultGenerator,
): Tensor {
  if (!(a < b)) throw new Error(`truncNormal_: lower bound a (${a}) must be less than upper bound b (${b})`);
  const lo = (a - mean) / std;
  const hi = (b - mean) / std;
  // Rejection from the normal is efficient unless the window sits far in a tail; then fall back to uniform proposals.
  const useNormal = hi - lo > 0.5 && lo < 2 && hi > -2;
  return fill(t, () => {
    for (;;) {
      if (useNormal) {
        const z = generator.normal();
        if (z >= lo && z <= hi) return mean + std * z;
      } else {
        const z = lo + (hi - lo) * generator.random();
        const peak = lo > 0 ? lo : hi < 0 ? hi : 0;
        if (generator.random() <= Math.exp((peak * peak - z * z) / 2)) return mean + std * z;
      }
    }
  });
}

/** Fills with `value`. */
export function constant_(t: Tensor, value: number): Tensor {
  return fill(t, () => value);
}

export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** Identity matrix in a 2-D tensor (PyTorch's eye_). */
export function eye_(t: Tensor): Tensor {
  if (t.shape.length !== 2) throw new Error(`eye_: only 2-D tensors are supported, got shape ${formatShape(t.shape)}`);
  const cols = t.shape[1];
  let k = 0;
  return fill(t, () => {
    const v = Math.floor(k / cols) === k % cols ? 1 : 0;
    k++;
    return v;
  });
}

/** Options of the Kaiming initialisers. */
export interface KaimingOptions {
  /** Negative slope of the rectifier after this layer (leaky_relu only). Default 0. */
  a?: number;
  /** Default 'fanIn'. */
  mode?: FanMode;
  /** Default 'leaky_relu' (PyTorch's default; with a = 0 it equals relu). */
  nonlinearity?: Nonlinearity;
  generator?: Generator;
}

function kaimingStd(op: string, t: Tensor, opts: KaimingOptions): number {
  const mode = opts.mode ?? 'fanIn';
  if (!['fanIn', 'fanOut', 'fan_in', 'fan_out'].includes(mode))
    throw new Error(`${op}: mode must be 'fanIn' or 'fanOut', got '${mode}'`);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const fan = mode === 'fanIn' || mode === 'fan_in' ? fanIn : fanOut;
  if (fan === 0)
    throw new Error(`${op}: initializing a zero-element tensor is a no-op (shape ${formatShape(t.shape)})`);
  return calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) / Math.sqrt(fan);
}

/** He et al. 2015, uniform: U(−bound, bound) with bound = gain·√(3/fan). */
export function kaimingUniform_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd('kaimingUniform_', t, opts);
  return uniform_(t, -bound, bound, opts.generator);
}

/** He et al. 2015, normal: N(0, std²) with std = gain/√fan. */
export function kaimingNormal_(t: Tensor, opts: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd('kaimingNormal_', t, opts), opts.generator);
}

/** Options of the Xavier initialisers. */
export interface XavierOptions {
  gain?: number;
  generator?: Generator;
}

/** Glorot & Bengio 2010, uniform: U(−a, a) with a = gain·√(6/(fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, opts: XavierOptions = {}): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const a = (opts.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a, opts.generator);
}

/** Glorot & Bengio 2010, normal: N(0, std²) with std = gain·√(2/(fan_in + fan_out)). */
export function xavierNormal_(t: Tensor, opts: XavierOptions = {}): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  return normal_(t, 0, (opts.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)), opts.generator);
}
