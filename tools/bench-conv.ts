/**
 * Kernel-level timing of one convolution shape on the active backend (no autograd, no allocation in the loop):
 * best of 15 runs per direction, so a noisy shared machine still gives a usable figure.
 * Usage: npx tsx tools/bench-conv.ts N C H OC K STRIDE [--cold]   (square input and kernel, padding (K−1)/2)
 *   e.g. npx tsx tools/bench-conv.ts 8 64 56 64 3 1      (the W1 shape)
 *   --cold: evict the caches before each run (a 64 MB write), as in a network where every layer brings its own
 *           weights and activations from memory.
 */
import { backend } from '../src/backend/index.js';

const cold = process.argv.includes('--cold');
const args = process.argv
  .slice(2)
  .filter((a) => a !== '--cold')
  .map(Number);
if (args.length !== 6 || args.some((v) => !Number.isInteger(v) || v < 1)) {
  console.error('usage: npx tsx tools/bench-conv.ts N C H OC K STRIDE [--cold] (positive integers)');
  process.exit(2);
}
const [n, c, h, oc, k, s] = args;
const b = backend();
const p = (k - 1) >> 1;
const oh = Math.floor((h + 2 * p - k) / s) + 1;
const g = {
  n,
  c,
  h,
  w: h,
  oc,
  kh: k,
  kw: k,
  oh,
  ow: oh,
  strideH: s,
  strideW: s,
  padH: p,
  padW: p,
  dilationH: 1,
  dilationW: 1,
  groups: 1,
};
const x = new Float32Array(n * c * h * h).map(() => Math.random());
const w = new Float32Array(oc * c * k * k).map(() => Math.random());
const y = new Float32Array(n * oc * oh * oh),
  gw = new Float32Array(w.length),
  gx = new Float32Array(x.length);
const flops = 2 * n * oc * oh * oh * c * k * k;
const evict = cold ? new Float32Array(16 << 20) : null;
const runs: [string, () => void][] = [
  ['forward', () => b.conv2d(x, w, null, y, g, 'none')],
  ['backward input', () => b.conv2dBackwardInput(y, w, gx, g)],
  ['backward weight', () => b.conv2dBackwardWeight(x, y, gw, g)],
];
console.log(`${b.name}: conv ${n}×${c}×${h}×${h} ⊛ ${oc}×${c}×${k}×${k}, stride ${s}, padding ${p}`);
for (const [name, run] of runs) {
  for (let i = 0; i < 3; i++) run();
  let best = Infinity;
  for (let i = 0; i < 15; i++) {
    evict?.fill(i);
    const t = performance.now();
    run();
    best = Math.min(best, performance.now() - t);
  }
  console.log(
    `${name.padEnd(16)} ${best.toFixed(2).padStart(8)} ms ${(flops / best / 1e6).toFixed(1).padStart(7)} GFLOP/s`,
  );
}
