/** The playground's entry: wires the five sections and reports which backend and how many threads run. */
import * as tt from 'tatami';
import { initCnn, run as runCnn } from './cnn.js';
import { initConv, recompute, state } from './conv.js';
import { initIm2col } from './im2col.js';
import { initStep, stepNumbers } from './step.js';
import { initTrain, startTraining, trainLog } from './train.js';
import { byId, WASM_URL } from './util.js';

/** Hooks for the Chromium tests and the benchmark (also handy from the console). */
declare global {
  interface Window {
    playground?: unknown;
  }
}

async function main(): Promise<void> {
  const info = byId('backend-info');
  // The kernels are served from the repository's build-wasm/ folder (scripts/playground.mjs).
  const b = await tt.loadWasm({ url: WASM_URL });
  info.textContent = `Backend: ${b.name}, ${b.threads} thread${b.threads === 1 ? '' : 's'}; page ${b.crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated, so one thread'}.`;
  info.dataset.backend = b.name;
  info.dataset.threads = String(b.threads);
  initTrain();
  await initConv();
  initStep();
  initIm2col();
  await initCnn();
  window.playground = { tt, state, recompute, stepNumbers, startTraining, trainLog, runCnn, ready: true };
  document.body.dataset.ready = 'true';
}

main().catch((err) => {
  console.error(err);
  const info = document.getElementById('backend-info');
  if (info) info.textContent = `⚠ ${err instanceof Error ? err.message : String(err)}`;
});
