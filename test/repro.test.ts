/**
 * Reproducibility: with the same seed and thread count, training steps give bit-identical parameters, on the
 * default native build and on the threaded wasm build, with two threads (the case that used to differ: the
 * Winograd weight gradient summed per thread in the order the dynamic task queue handed out its tiles).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { getWasmThreads } from '../src/backend/wasm-loader.ts';
import { loadedWasm } from '../src/backend/wasm.ts';

const { nn, optim } = tt;

/** Three SGD steps of a small CNN whose convolutions take the Winograd, padded-width and GEMM paths; all parameter bits. */
function train(): Int32Array[] {
  tt.manualSeed(7);
  const model = new nn.Sequential(
    new nn.Conv2d(1, 16, 3, { padding: 1 }),
    new nn.BatchNorm2d(16),
    new nn.ReLU(),
    new nn.Conv2d(16, 32, 3, { padding: 1 }),
    new nn.BatchNorm2d(32),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(32, 32, 3, { padding: 1 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(32 * 7 * 7, 10),
  );
  const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  for (let step = 0; step < 3; step++) {
    const x = tt.randn([16, 1, 28, 28]);
    const y = tt.randint(0, 10, [16]);
    opt.zeroGrad();
    tt.F.crossEntropy(model.forward(x), y).backward();
    opt.step();
  }
  return model.parameters().map((p) => {
    const v = p.contiguous().dataView() as Float32Array;
    return new Int32Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  });
}

function assertSameBits(a: Int32Array[], b: Int32Array[], what: string): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < a[i].length; j++)
      if (a[i][j] !== b[i][j]) assert.fail(`${what}: parameter ${i} element ${j} differs between two seeded runs`);
  }
}

for (const name of ['native', 'wasm-threaded'] as const) {
  test(`[${name}] two seeded training runs with two threads are bit-identical`, async (t) => {
    let backend: string | tt.Backend = name;
    if (name === 'native') {
      if (!tt.availableBackends().find((b) => b.name === 'native')?.available)
        return t.skip('native addon unavailable');
    } else {
      // The default wasm build (threaded wherever SharedArrayBuffer exists): its workers are the ones
      // getWasmThreads() counts. A separately instantiated variant would start workers of its own that nothing here
      // could wait for, and a run that began before they joined would split its kernels differently.
      if (!tt.availableBackends().find((b) => b.name === 'wasm')?.available) return t.skip('wasm unavailable');
      tt.withBackend('wasm', () => tt.zeros([2]).add(1));
      if (!loadedWasm()?.variant.threads) return t.skip('the wasm build loaded here is single-threaded');
      backend = 'wasm';
    }
    const before = tt.getNumThreads();
    try {
      tt.setNumThreads(2);
      // wasm workers join in the background; until the second has, kernels run on one thread, which is a different
      // thread count (and split) — wait for it so both runs really use two
      if (name !== 'native')
        for (let i = 0; i < 2400 && getWasmThreads() < 2; i++) await new Promise((r) => setTimeout(r, 25));
      if (name !== 'native') assert.equal(getWasmThreads(), 2, 'the second wasm worker did not join within 60 s');
      tt.withBackend(backend, () => {
        const a = train(),
          b = train();
        assertSameBits(a, b, `${name} with ${tt.getNumThreads()} threads`);
      });
    } finally {
      tt.setNumThreads(before);
    }
  });
}
