/**
 * 1-D signal utilities and augmentations for waveforms [C, L] (float32): band-limited resampling, fixed-length
 * padding/cropping, and the random transforms of audio training — time shift, gain, additive noise at a given SNR.
 * Random transforms draw from their own generator, or the DataLoader's per-batch data stream (see ./rng.ts).
 */
import type { Generator } from '../tensor/random.js';
import { tensor } from '../tensor/creation.js';
import { mul } from '../ops/elementwise.js';
import { clone, contiguous } from '../ops/shape.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { dataGenerator } from './rng.js';
import { registerTransform, Transform, type TransformSpec } from './transform-base.js';

function requireWave(op: string, x: Tensor): [number, number] {
  if (x.shape.length !== 2)
    throw new Error(`${op}: expected a waveform [channels, samples], got shape ${formatShape(x.shape)}`);
  return [x.shape[0], x.shape[1]];
}

/**
 * Resamples each channel of `x` [C, L] from `from` Hz to `to` Hz with a Hann-windowed sinc interpolator whose
 * cut-off is the lower Nyquist frequency (times `rolloff`), so downsampling does not alias. `zeroCrossings` sets the
 * filter length (default 16 on each side).
 */
export function resample(
  x: Tensor,
  from: number,
  to: number,
  opts: { zeroCrossings?: number; rolloff?: number } = {},
): Tensor {
  const op = 'resample';
  const [C, L] = requireWave(op, x);
  if (!(from > 0) || !(to > 0)) throw new Error(`${op}: sample rates must be positive, got ${from} → ${to}`);
  if (from === to) return clone(x);
  const zc = opts.zeroCrossings ?? 16;
  const cutoff = Math.min(1, to / from) * (opts.rolloff ?? 0.95); // in units of the input Nyquist
  const outLen = Math.ceil((L * to) / from);
  const src = contiguous(x).dataView();
  const out = new Float32Array(C * outLen);
  const half = zc / cutoff; // filter half-width in input samples
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < outLen; i++) {
      const t = (i * from) / to; // position in input samples
      const lo = Math.max(0, Math.ceil(t - half));
      const hi = Math.min(L - 1, Math.floor(t + half));
      let acc = 0;
      for (let j = lo; j <= hi; j++) {
        const d = j - t;
        const arg = Math.PI * d * cutoff;
        const sinc = arg === 0 ? 1 : Math.sin(arg) / arg;
        const win = 0.5 + 0.5 * Math.cos((Math.PI * d) / half);
        acc += src[c * L + j] * sinc * win;
      }
      out[c * outLen + i] = acc * cutoff;
    }
  }
  return tensor(out, [C, outLen]);
}

/** Zero-pads or crops `x` [C, L] to `length` samples, keeping it centred (or at the start with `align: 'start'`). */
export function padOrCrop(x: Tensor, length: number, align: 'center' | 'start' = 'center'): Tensor {
  const [C, L] = requireWave('padOrCrop', x);
  const src = contiguous(x).dataView();
  const out = new Float32Array(C * length);
  const offset = align === 'center' ? Math.floor((length - L) / 2) : 0; // where input sample 0 lands
  for (let c = 0; c < C; c++) {
    for (let i = Math.max(0, offset); i < Math.min(length, offset + L); i++)
      out[c * length + i] = src[c * L + i - offset];
  }
  return tensor(out, [C, length]);
}

/** Shifts a waveform by a uniform random number of samples in [−maxShift, maxShift], filling with zeros. */
export class RandomTimeShift extends Transform<Tensor, Tensor> {
  private readonly generator?: Generator;

  constructor(
    readonly maxShift: number,
    opts: { generator?: Generator } = {},
  ) {
    super();
    if (!Number.isInteger(maxShift) || maxShift < 0)
      throw new Error(`RandomTimeShift: maxShift must be an integer ≥ 0, got ${maxShift}`);
    this.generator = opts.generator;
  }

  apply(x: Tensor): Tensor {
    const [C, L] = requireWave('RandomTimeShift', x);
    const s = Math.floor(dataGenerator(this.generator).random() * (2 * this.maxShift + 1)) - this.maxShift;
    const src = contiguous(x).dataView();
    const out = new Float32Array(C * L);
    for (let c = 0; c < C; c++)
      for (let i = Math.max(0, s); i < Math.min(L, L + s); i++) out[c * L + i] = src[c * L + i - s];
    return tensor(out, [C, L]);
  }

  override spec(): TransformSpec {
    return { __transform: 'RandomTimeShift', args: [this.maxShift] };
  }
}

/** Multiplies a waveform by a gain drawn uniformly in decibels from [minDb, maxDb]. */
export class RandomGain extends Transform<Tensor, Tensor> {
  private readonly generator?: Generator;

  constructor(
    readonly minDb = -6,
    readonly maxDb = 6,
    opts: { generator?: Generator } = {},
  ) {
    super();
    if (!(minDb <= maxDb)) throw new Error(`RandomGain: minDb (${minDb}) must not exceed maxDb (${maxDb})`);
    this.generator = opts.generator;
  }

  apply(x: Tensor): Tensor {
    requireWave('RandomGain', x);
    const db = this.minDb + (this.maxDb - this.minDb) * dataGenerator(this.generator).random();
    return mul(x, 10 ** (db / 20));
  }

  override spec(): TransformSpec {
    return { __transform: 'RandomGain', args: [this.minDb, this.maxDb] };
  }
}

/** Adds white Gaussian noise at a signal-to-noise ratio drawn uniformly from [minSnrDb, maxSnrDb] (signal power per waveform). */
export class AddNoise extends Transform<Tensor, Tensor> {
  private readonly generator?: Generator;

  constructor(
    readonly minSnrDb = 10,
    readonly maxSnrDb = 30,
    opts: { generator?: Generator } = {},
  ) {
    super();
    if (!(minSnrDb <= maxSnrDb))
      throw new Error(`AddNoise: minSnrDb (${minSnrDb}) must not exceed maxSnrDb (${maxSnrDb})`);
    this.generator = opts.generator;
  }

  apply(x: Tensor): Tensor {
    requireWave('AddNoise', x);
    const g = dataGenerator(this.generator);
    const src = contiguous(x).dataView();
    let power = 0;
    for (let i = 0; i < src.length; i++) power += src[i] * src[i];
    power /= Math.max(1, src.length);
    const snr = this.minSnrDb + (this.maxSnrDb - this.minSnrDb) * g.random();
    const std = Math.sqrt(power / 10 ** (snr / 10));
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = src[i] + std * g.normal();
    return tensor(out, x.shape);
  }

  override spec(): TransformSpec {
    return { __transform: 'AddNoise', args: [this.minSnrDb, this.maxSnrDb] };
  }
}

registerTransform('RandomTimeShift', RandomTimeShift);
registerTransform('RandomGain', RandomGain);
registerTransform('AddNoise', AddNoise);
