/**
 * The Node side of the page checks in test/browser/snippet.ts, shared by test/browser.test.ts and
 * test/browser-bundlers.test.ts: inputs, the ground truth computed in Node (float64 reference backend), and the
 * comparisons.
 */
import assert from 'node:assert/strict';
import * as tt from '../../src/index.ts';
import type { ConvInput, ConvOutput } from './snippet.ts';
import { stepModel, trainSteps, type TrainStepInput, type TrainStepOutput } from './train-step.ts';

/** Deterministic values in [-1, 1). */
export function values(n: number, seed: number): number[] {
  const g = new tt.Generator(seed);
  return tt.rand([n], { generator: g }).mul(2).sub(1).tolist();
}

/** A strided, padded conv2d with bias, and an upstream gradient. */
export function convInput(): ConvInput {
  return {
    x: values(2 * 3 * 11 * 9, 1),
    xShape: [2, 3, 11, 9],
    w: values(5 * 27, 2),
    wShape: [5, 3, 3, 3],
    b: values(5, 3),
    gy: values(2 * 5 * 6 * 5, 4),
    stride: 2,
    padding: 1,
    dilation: 1,
  };
}

/** conv2d forward and backward in Node, float64 reference backend: the ground truth. */
export function convInNode(input: ConvInput): Omit<ConvOutput, 'backend'> {
  return tt.withBackend('reference', () => {
    const x = tt.tensor(input.x).reshape(input.xShape).requiresGrad_();
    const w = tt.tensor(input.w).reshape(input.wShape).requiresGrad_();
    const b = tt.tensor(input.b).requiresGrad_();
    const y = tt.F.conv2d(x, w, b, { stride: input.stride, padding: input.padding, dilation: input.dilation });
    tt.sum(tt.mul(y, tt.tensor(input.gy).reshape(y.shape))).backward();
    return { y: y.tolist(), yShape: [...y.shape], gx: x.grad!.tolist(), gw: w.grad!.tolist(), gb: b.grad!.tolist() };
  });
}

/** Largest |a − e| / (1 + |e|) below `tol`. */
export function assertClose(actual: number[], expected: number[], what: string, tol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++)
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
  assert.ok(worst < tol, `${what}: max relative error ${worst}`);
}

/** The page's conv2d forward and backward against Node's. */
export function checkConv(got: ConvOutput, want: Omit<ConvOutput, 'backend'>, backend: string): void {
  assert.equal(got.backend, backend);
  assert.deepEqual(got.yShape, want.yShape);
  assertClose(got.y, want.y, 'conv2d forward');
  assertClose(got.gx, want.gx, 'conv2d grad input');
  assertClose(got.gw, want.gw, 'conv2d grad weight');
  assertClose(got.gb, want.gb, 'conv2d grad bias');
}

/**
 * The first `n` images of the embedded Fashion-MNIST subset as bytes (the dataset's [0, 1] values × 255: a third
 * of the JSON of the floats on the way to the page), with their labels.
 */
export function fashionImages(n: number, train = true): { pixels: number[]; labels: number[] } {
  const ds = new tt.data.FashionMNIST({ subset: 'embedded', train });
  const pixels: number[] = [],
    labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const [x, y] = ds.get(i) as [tt.Tensor, number | tt.Tensor];
    for (const v of x.dataView()) pixels.push(Math.round(v * 255));
    labels.push(typeof y === 'number' ? y : y.item());
  }
  return { pixels, labels };
}

/** Two batches of 32 real images and a seeded initial state for the step model. */
export function trainStepInput(): TrainStepInput {
  tt.manualSeed(7);
  const state = Object.fromEntries(
    Object.entries(stepModel(tt).stateDict()).map(([k, v]) => [k, v.flatten().tolist()]),
  );
  return { state, ...fashionImages(64), n: 64, batchSize: 32 };
}

/** The same steps in Node on the float64 reference backend. */
export async function trainStepInNode(input: TrainStepInput): Promise<TrainStepOutput> {
  const before = tt.getBackendName();
  tt.setBackend('reference');
  try {
    return await trainSteps(tt, input);
  } finally {
    tt.setBackend(before);
  }
}

/** The page's losses and trained state against Node's (which must differ from the initial state). */
export function checkTrainStep(
  got: TrainStepOutput,
  want: TrainStepOutput,
  input: TrainStepInput,
  backend: string,
): void {
  assert.equal(got.backend, backend);
  assert.equal(got.losses.length, 2, 'two steps');
  assertClose(got.losses, want.losses, 'losses');
  assert.deepEqual(Object.keys(got.state).sort(), Object.keys(want.state).sort());
  for (const k of Object.keys(want.state)) assertClose(got.state[k], want.state[k], `trained ${k}`, 2e-4);
  // Every parameter and running statistic moved (so agreeing means something); the step counter counts 2.
  for (const k of Object.keys(want.state))
    if (k.endsWith('num_batches_tracked')) assert.deepEqual(got.state[k], [2], k);
    else
      assert.ok(
        want.state[k].some((v, i) => Math.abs(v - input.state[k][i]) > 1e-6),
        `${k} trained`,
      );
}

/** Decodes `data:image/png;base64,…` in Node. */
export function decodeDataUrl(url: string): tt.Tensor {
  const m = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(url);
  assert.ok(m, `a PNG data URL: ${url.slice(0, 40)}…`);
  return tt.decodeImage(new Uint8Array(Buffer.from(m[1], 'base64')));
}
