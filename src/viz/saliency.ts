/**
 * Saliency maps (Simonyan et al. 2013): the gradient of a class score with respect to the input pixels, and
 * SmoothGrad (Smilkov et al. 2017), its average over noisy copies of the input.
 */
import { Tensor } from '../tensor/tensor.js';
import { randn } from '../tensor/creation.js';
import type { Generator } from '../tensor/random.js';
import { formatShape } from '../tensor/shape.js';
import { argmaxRows, asBatch, callModel, gradLeaf, type ModelLike } from './model-util.js';
import { Module } from '../nn/module.js';
import { noGrad } from '../autograd/grad-mode.js';

/** Options of saliencyMap. */
export interface SaliencyOptions {
  /** Class per image or one for all (default: each image's predicted class). */
  target?: number | readonly number[];
  /** SmoothGrad samples (default 0: the plain gradient). */
  samples?: number;
  /** SmoothGrad noise standard deviation as a fraction of the input's value range (default 0.15). */
  noiseLevel?: number;
  /** How channels are combined: 'maxabs' (Simonyan, default) or 'l2'. */
  reduce?: 'maxabs' | 'l2';
  generator?: Generator;
}

/** The gradient d(y_target)/d(input) [N, C, H, W] for a batch; `targets` per image. */
export function inputGradient(
  model: ModelLike,
  input: Tensor,
  targets: readonly number[],
): { grad: Tensor; logits: Tensor } {
  const x = gradLeaf(asBatch(input, 'inputGradient'));
  const params = model instanceof Module ? model.parameters() : [];
  const saved = params.map((p) => p.grad);
  const logits = callModel(model, x);
  const [N, K] = logits.shape;
  if (logits.shape.length !== 2 || N !== x.shape[0])
    throw new Error(`inputGradient: expected logits [${x.shape[0]}, K], got ${formatShape(logits.shape)}`);
  if (targets.length !== N) throw new Error(`inputGradient: ${targets.length} targets for ${N} images`);
  const sel = new Float32Array(N * K);
  targets.forEach((c, n) => {
    if (!Number.isInteger(c) || c < 0 || c >= K)
      throw new Error(`inputGradient: target class ${c} out of range for ${K} classes`);
    sel[n * K + c] = 1;
  });
  logits.backward(new Tensor(sel, [N, K], 'float32'));
  params.forEach((p, i) => {
    p.grad = saved[i];
  });
  if (x.grad === null) throw new Error('inputGradient: no gradient reached the input (does the model detach it?)');
  return { grad: x.grad, logits: logits.detach() };
}

/**
 * Saliency maps [N, H, W] (≥ 0) for images [N, C, H, W] or one image [C, H, W]: |∂y_c/∂x| reduced over channels,
 * optionally SmoothGrad-averaged. Not normalised (overlay/colormap functions normalise for display).
 */
export function saliencyMap(
  model: ModelLike,
  input: Tensor,
  opts: SaliencyOptions = {},
): { maps: Tensor; targets: number[]; predictions: number[] } {
  const x = asBatch(input, 'saliencyMap');
  const [N, C, H, W] = x.shape;
  const predictions = argmaxRows(noGrad(() => callModel(model, x)));
  const t = opts.target;
  const targets = t === undefined ? predictions : typeof t === 'number' ? new Array<number>(N).fill(t) : [...t];
  const samples = opts.samples ?? 0;
  const grads: Tensor[] = [];
  if (samples <= 0) grads.push(inputGradient(model, x, targets).grad);
  else {
    const xd = x.dataView();
    let lo = Infinity,
      hi = -Infinity;
    for (let i = 0; i < xd.length; i++) {
      if (xd[i] < lo) lo = xd[i];
      if (xd[i] > hi) hi = xd[i];
    }
    const sigma = (opts.noiseLevel ?? 0.15) * (hi - lo || 1);
    for (let s = 0; s < samples; s++) {
      const noisy = x.float().add(randn(x.shape, { generator: opts.generator }).mul(sigma));
      grads.push(inputGradient(model, noisy, targets).grad);
    }
  }
  const plane = H * W;
  const out = new Float32Array(N * plane);
  for (const g of grads) {
    const d = g.dataView();
    for (let n = 0; n < N; n++)
      for (let p = 0; p < plane; p++) {
        let v = 0;
        for (let c = 0; c < C; c++) {
          const gv = d[(n * C + c) * plane + p];
          v = opts.reduce === 'l2' ? v + gv * gv : Math.max(v, Math.abs(gv));
        }
        out[n * plane + p] += (opts.reduce === 'l2' ? Math.sqrt(v) : v) / grads.length;
      }
  }
  return { maps: new Tensor(out, [N, H, W], 'float32'), targets, predictions };
}
