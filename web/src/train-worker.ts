/**
 * The training worker: the small CNN on the embedded Fashion-MNIST subset with Adam, off the main thread so the
 * page stays responsive. Pausing is checked between optimiser steps (the worker yields to its message queue).
 */
import * as tt from 'tatami';
import { batchPixels, loadSplit, type IdxSplit } from './fmnist.js';
import { WASM_URL } from './util.js';
import type { FromWorker, StartMessage, ToWorker } from './protocol.js';

const scope = self as unknown as {
  postMessage(m: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
};
let paused = false;
let resume: (() => void) | null = null;
const post = (m: FromWorker, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

/** Yields to the event loop (so pause/resume messages arrive) and waits while paused. */
async function checkpoint(): Promise<void> {
  await new Promise((r) => setTimeout(r, 0));
  while (paused)
    await new Promise<void>((r) => {
      resume = r;
    });
}

/** Test-set accuracy and mean loss, in batches of 250, without gradients. */
function evaluate(net: tt.nn.Sequential, test: IdxSplit): { acc: number; loss: number } {
  net.eval();
  let correct = 0;
  let loss = 0;
  tt.noGrad(() => {
    for (let i = 0; i < test.n; i += 250) {
      const idx = Array.from({ length: Math.min(250, test.n - i) }, (_, b) => i + b);
      const x = tt.tensor(batchPixels(test, idx), [idx.length, 1, 28, 28]);
      const y = tt.tensor(
        Int32Array.from(idx, (j) => test.labels[j]),
        [idx.length],
      );
      const logits = net.forward(x);
      loss += tt.F.crossEntropy(logits, y).item() * idx.length;
      const pred = tt.argmax(logits, 1).toTypedArray();
      for (let b = 0; b < idx.length; b++) if (pred[b] === test.labels[idx[b]]) correct++;
    }
  });
  net.train();
  return { acc: correct / test.n, loss: loss / test.n };
}

async function train(m: StartMessage): Promise<void> {
  const [trainSet, test] = await Promise.all([loadSplit('train', m.dataUrl), loadSplit('t10k', m.dataUrl)]);
  tt.manualSeed(m.seed);
  const net = tt.models.smallCnn();
  const opt = new tt.optim.Adam(net.parameters(), { lr: m.lr });
  const B = m.batchSize;
  const stepsPerEpoch = Math.ceil(trainSet.n / B);
  let step = 0;
  let last = { acc: 0 };
  const t0 = performance.now();
  outer: for (let epoch = 0; epoch < m.epochs; epoch++) {
    const order = tt.randperm(trainSet.n).toTypedArray();
    let sumLoss = 0,
      sumAcc = 0,
      count = 0,
      images = 0,
      since = performance.now();
    for (let i = 0; i < trainSet.n; i += B) {
      await checkpoint();
      const idx = order.subarray(i, Math.min(i + B, trainSet.n));
      const x = tt.tensor(batchPixels(trainSet, idx), [idx.length, 1, 28, 28]);
      const y = tt.tensor(
        Int32Array.from(idx, (j) => trainSet.labels[j]),
        [idx.length],
      );
      opt.zeroGrad();
      const logits = net.forward(x);
      const loss = tt.F.crossEntropy(logits, y);
      loss.backward();
      opt.step();
      const pred = tt.argmax(logits, 1).toTypedArray();
      let ok = 0;
      for (let b = 0; b < idx.length; b++) if (pred[b] === trainSet.labels[idx[b]]) ok++;
      sumLoss += loss.item();
      sumAcc += ok / idx.length;
      count++;
      images += idx.length;
      step++;
      // Report every 5 steps, or sooner when steps are slow (so the curves and pause/resume feel live).
      if (count >= 5 || performance.now() - since > 400 || i + B >= trainSet.n) {
        const busy = (performance.now() - since) / 1000;
        post({
          type: 'progress',
          step,
          epoch,
          loss: sumLoss / count,
          acc: sumAcc / count,
          imagesPerSecond: images / busy,
          stepsPerEpoch,
        });
        sumLoss = sumAcc = count = images = 0;
        since = performance.now();
      }
      if (m.maxSteps > 0 && step >= m.maxSteps) {
        const e = evaluate(net, test);
        last = e;
        post({ type: 'eval', step, epoch, testAccuracy: e.acc, testLoss: e.loss });
        break outer;
      }
    }
    const e = evaluate(net, test);
    last = e;
    post({ type: 'eval', step, epoch, testAccuracy: e.acc, testLoss: e.loss });
  }
  const weights: Record<string, { shape: number[]; data: Float32Array }> = {};
  const transfer: Transferable[] = [];
  for (const [k, t] of Object.entries(net.stateDict())) {
    const data = Float32Array.from(t.toTypedArray());
    weights[k] = { shape: [...t.shape], data };
    transfer.push(data.buffer);
  }
  post(
    { type: 'done', steps: step, seconds: (performance.now() - t0) / 1000, testAccuracy: last.acc, weights },
    transfer,
  );
}

let ready: Promise<tt.BackendInfo> | null = null;

scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === 'pause') paused = true;
  else if (m.type === 'resume') {
    paused = false;
    resume?.();
    resume = null;
  } else if (m.type === 'start')
    ready!
      .then(() => train(m))
      .catch((err) =>
        post({ type: 'error', message: err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err) }),
      );
};
// The wasm kernels, threaded over nested Web Workers when the page (and so this worker) is cross-origin isolated.
ready = tt.loadWasm({ url: WASM_URL });
ready.then(
  (b) => post({ type: 'ready', backend: b.name, threads: b.threads, isolated: b.crossOriginIsolated === true }),
  (err) =>
    post({ type: 'error', message: `loading the wasm kernels: ${err instanceof Error ? err.message : String(err)}` }),
);
