/**
 * Activation maximisation ("the image that excites the filter most", Erhan et al. 2009; Yosinski et al. 2015):
 * gradient ascent on the input towards a high mean activation of one channel of a layer, or a high class logit,
 * regularised by random jitter, periodic Gaussian blur and L2 decay so the result is an image rather than
 * high-frequency noise.
 */
import { Tensor } from '../tensor/tensor.js';
import type { AnyModule } from '../nn/module.js';
import { formatShape } from '../tensor/shape.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { callModel, findLayer } from './model-util.js';

/** Options of maximizeActivation. */
export interface ActivationMaxOptions {
  /** Layer whose channel to maximise; omit to maximise the class logit `channel` of the model output. */
  layer?: string;
  /** Channel of the layer (or class index of the logits). */
  channel: number;
  /** Input shape [C, H, W]. */
  inputShape: readonly [number, number, number];
  /** Ascent steps (default 128). */
  steps?: number;
  /** Step size on the gradient normalised to unit mean |g| (default 0.05 × the value range). */
  lr?: number;
  /** Maximum random shift in pixels per step (default 2). */
  jitter?: number;
  /** Blur with a Gaussian every this many steps (default 4; 0 = never). */
  blurEvery?: number;
  /** Blur sigma in pixels (default 0.5). */
  blurSigma?: number;
  /** L2 decay factor per step (default 1e-3). */
  decay?: number;
  /** Valid input range (default [0, 1]); the image is clamped into it each step. */
  range?: readonly [number, number];
  generator?: Generator;
}

function roll(src: Float32Array, C: number, H: number, W: number, dy: number, dx: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let c = 0; c < C; c++)
    for (let i = 0; i < H; i++) {
      const si = (((i - dy) % H) + H) % H;
      for (let j = 0; j < W; j++) out[(c * H + i) * W + j] = src[(c * H + si) * W + ((((j - dx) % W) + W) % W)];
    }
  return out;
}

/** Separable Gaussian blur of each channel (reflect padding). */
export function gaussianBlur(src: Float32Array, C: number, H: number, W: number, sigma: number): Float32Array {
  const r = Math.max(1, Math.ceil(2 * sigma));
  const k: number[] = [];
  let s = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    k.push(v);
    s += v;
  }
  for (let i = 0; i < k.length; i++) k[i] /= s;
  const refl = (i: number, n: number): number =>
    i < 0 ? Math.min(n - 1, -i) : i >= n ? Math.max(0, 2 * n - 2 - i) : i;
  const tmp = new Float32Array(src.length),
    out = new Float32Array(src.length);
  for (let c = 0; c < C; c++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) {
        let v = 0;
        for (let t = -r; t <= r; t++) v += k[t + r] * src[(c * H + i) * W + refl(j + t, W)];
        tmp[(c * H + i) * W + j] = v;
      }
  for (let c = 0; c < C; c++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++) {
        let v = 0;
        for (let t = -r; t <= r; t++) v += k[t + r] * tmp[(c * H + refl(i + t, H)) * W + j];
        out[(c * H + i) * W + j] = v;
      }
  return out;
}

/**
 * Returns the optimised input [C, H, W] and the objective's trace (value per step). Parameters' gradients are
 * left untouched; put the model in eval mode first.
 */
export function maximizeActivation(
  model: AnyModule,
  opts: ActivationMaxOptions,
): { image: Tensor; objective: number[] } {
  const [C, H, W] = opts.inputShape;
  const steps = opts.steps ?? 128;
  const [lo, hi] = opts.range ?? [0, 1];
  const lr = opts.lr ?? 0.05 * (hi - lo);
  const jitter = opts.jitter ?? 2;
  const blurEvery = opts.blurEvery ?? 4;
  const decay = opts.decay ?? 1e-3;
  const gen = opts.generator ?? defaultGenerator;
  const module = opts.layer !== undefined ? findLayer(model, opts.layer, 'maximizeActivation') : null;
  let img: Float32Array = new Float32Array(C * H * W);
  const mid = (lo + hi) / 2;
  for (let i = 0; i < img.length; i++) img[i] = mid + (gen.random() - 0.5) * 0.1 * (hi - lo);
  const params = model.parameters();
  const saved = params.map((p) => p.grad);
  const trace: number[] = [];
  let captured: Tensor | null = null;
  const handle = module?.registerForwardHook((_m, _i, out) => {
    if (out instanceof Tensor) captured = out;
  });
  try {
    for (let s = 0; s < steps; s++) {
      const dy = jitter ? Math.floor(gen.random() * (2 * jitter + 1)) - jitter : 0;
      const dx = jitter ? Math.floor(gen.random() * (2 * jitter + 1)) - jitter : 0;
      const x = new Tensor(roll(img, C, H, W, dy, dx), [1, C, H, W], 'float32').requiresGrad_(true);
      captured = null;
      const logits = callModel(model, x);
      const target = module ? (captured as Tensor | null) : logits;
      if (target === null)
        throw new Error(`maximizeActivation: layer '${opts.layer}' was not called during the forward pass`);
      const nCh = target.shape[1];
      if (target.shape.length < 2 || !Number.isInteger(opts.channel) || opts.channel < 0 || opts.channel >= nCh) {
        throw new Error(
          `maximizeActivation: channel ${opts.channel} out of range for ${module ? `layer '${opts.layer}'` : 'the logits'} of shape ${formatShape(target.shape)}`,
        );
      }
      const objective = target.select(1, opts.channel).mean();
      trace.push(objective.item());
      objective.backward();
      const g = roll(Float32Array.from(x.grad!.dataView() as ArrayLike<number>), C, H, W, -dy, -dx);
      let m = 0;
      for (let i = 0; i < g.length; i++) m += Math.abs(g[i]);
      m = m / g.length + 1e-12;
      for (let i = 0; i < img.length; i++) img[i] = Math.min(hi, Math.max(lo, img[i] * (1 - decay) + (lr / m) * g[i]));
      if (blurEvery > 0 && (s + 1) % blurEvery === 0 && s + 1 < steps)
        img = gaussianBlur(img, C, H, W, opts.blurSigma ?? 0.5);
    }
  } finally {
    handle?.remove();
    params.forEach((p, i) => {
      p.grad = saved[i];
    });
  }
  return { image: new Tensor(img, [C, H, W], 'float32'), objective: trace };
}
