/**
 * Tatami in a real browser (headless Chromium through playwright-core): a page that imports `tatami` through
 * esbuild's browser resolution (the browser entry, with the .browser.ts seams of scripts/build-browser.mjs) and
 * loads the wasm kernels from the folder of its bundle, served on localhost — once with COOP/COEP headers
 * (cross-origin isolated: threaded wasm over Web Workers), once without (single-threaded). In both: conv2d forward
 * and backward agree with Node's, a tiny CNN trains with `fit` on Fashion-MNIST, images go to and from ImageData,
 * canvases and PNG Blobs, safetensors load from bytes, fetch and Blobs, and the console stays clean.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tt from '../src/index.ts';
import type { IoInput } from './browser/snippet.ts';
import {
  chromiumSkip,
  launchChromium,
  serveStatic,
  phaseTimer,
  watchConsole,
  type StaticServer,
} from './browser/harness.ts';
import { checkConv, convInNode, convInput, decodeDataUrl, fashionImages, values } from './browser/checks.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const skip =
  chromiumSkip() || (existsSync(join(root, 'build-wasm', 'tatami.wasm')) ? false : 'build-wasm/tatami.wasm missing');

let dir = '';
let server: StaticServer | null = null;
/** One Chromium for both pages (a launch is seconds on a loaded machine). */
let browser: import('playwright-core').Browser | null = null;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'tatami-browser-'));
  const { build } = await import('esbuild');
  const { browserBuildOptions, copyWasm } = await import('../scripts/build-browser.mjs');
  // `tatami/browser` resolves to the browser entry's sources, with the .browser.ts seams swapped in.
  await build({
    ...browserBuildOptions({
      entry: join(root, 'test', 'browser', 'snippet.ts'),
      outfile: join(dir, 'app.js'),
      minify: false,
    }),
    alias: { 'tatami/browser': join(root, 'src', 'browser.ts') },
  });
  copyWasm(dir);
  writeFileSync(join(dir, 'weights.safetensors'), safetensorsBytes());
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><meta charset="utf-8"><title>tatami</title><link rel="icon" href="data:,"><script type="module" src="app.js"></script>',
  );
  [server, browser] = await Promise.all([serveStatic(dir), launchChromium()]);
});

after(async () => {
  await browser?.close();
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** 600 training and 200 test images of the embedded Fashion-MNIST subset, as bytes for the page. */
function fashion() {
  const tr = fashionImages(600),
    te = fashionImages(200, false);
  return { pixels: tr.pixels, labels: tr.labels, n: 600, testPixels: te.pixels, testLabels: te.labels, testN: 200 };
}

/** Two tensors of different dtypes, serialized in Node. */
function safetensorsBytes(): Uint8Array {
  return tt.serializeSafetensors({
    'conv.weight': tt.tensor(values(12, 5)).reshape([2, 1, 2, 3]),
    steps: tt.tensor([3, 1, 4], { dtype: 'int32' }),
  });
}

/** Image and safetensors I/O in the page, checked against Node's codecs and parser. */
async function checkIo(page: import('playwright-core').Page): Promise<void> {
  const shape: [number, number, number] = [3, 5, 7];
  const img = tt.randint(0, 256, shape, { generator: new tt.Generator(9), dtype: 'uint8' });
  const input: IoInput = {
    pixels: img.tolist(),
    shape,
    safetensors: [...safetensorsBytes()],
    safetensorsUrl: 'weights.safetensors',
  };
  const out = await page.evaluate((i) => window.io(i), input);
  assert.deepEqual(out.imageData, img.tolist(), 'tensor → ImageData → tensor');
  assert.deepEqual(out.canvas, img.tolist(), 'tensor → canvas → tensor');
  assert.deepEqual(
    out.gray,
    tt.decodeImage(tt.encodeImage(img, 'png'), { mode: 'gray' }).tolist(),
    "gray conversion as Node's",
  );
  // The page's PNG encoder (no Buffer, no zlib) writes a file Node's pngjs decodes to the same pixels …
  assert.deepEqual(tt.decodeImage(new Uint8Array(out.png)).tolist(), img.tolist(), 'page PNG decoded in Node');
  // … and the browser's decoder (createImageBitmap on a Blob) reads it back unchanged.
  assert.deepEqual(out.decodedShape, shape);
  assert.deepEqual(out.decoded, img.tolist(), 'page PNG decoded by readImageFile');
  // viz's PNG data URLs (the training report's images) in a page, without Node's Buffer.
  const url = await page.evaluate((i) => window.pngDataUrl(i), { pixels: img.tolist(), shape });
  assert.deepEqual(decodeDataUrl(url).tolist(), img.tolist(), 'viz.pngDataUrl decoded in Node');
  const want = Object.fromEntries(
    Object.entries(tt.parseSafetensors(safetensorsBytes()).tensors).map(([k, v]) => [k, v.tolist()]),
  );
  assert.deepEqual(out.fromBytes, want, 'safetensors from an ArrayBuffer');
  assert.deepEqual(out.fromUrl, want, 'safetensors fetched');
  assert.deepEqual(out.fromBlob, ['a'], 'safetensors Blob round trip');
  assert.match(out.jpegError, /JPEG encoding needs Node/);
}

for (const isolated of [true, false]) {
  test(
    `Chromium, ${isolated ? 'cross-origin isolated: threaded' : 'not isolated: single-threaded'} wasm — conv2d matches Node, fit trains`,
    { skip, timeout: 300_000 },
    async (t) => {
      const page = await browser!.newPage();
      const problems = watchConsole(page);
      // Where the time goes: CPU seconds of Chromium's processes (meaningful on a loaded machine) and wall seconds.
      const phase = phaseTimer((m) => t.diagnostic(m));
      try {
        await page.goto(`${server!.origin}/${isolated ? '?isolated=1' : ''}`);
        await page.waitForFunction(() => typeof window.loadKernels === 'function');

        // Isolated: the default (fetched from the bundle's folder); not isolated: bytes the page fetched itself.
        const info = await page.evaluate(
          (how) => window.loadKernels(how),
          isolated ? ('default' as const) : ('bytes' as const),
        );
        const cores = await page.evaluate(() => navigator.hardwareConcurrency);
        assert.equal(info.crossOriginIsolated, isolated);
        assert.equal(info.sharedMemory, isolated);
        assert.match(info.name, isolated ? /^wasm-(relaxed-)?simd$/ : /^wasm-relaxed-simd$/);
        if (isolated)
          assert.equal(info.threads, Math.min(16, cores), `threads: ${JSON.stringify(info)} on ${cores} cores`);
        else assert.equal(info.threads, 1);
        phase('page load and loadWasm');

        const input = convInput();
        checkConv(await page.evaluate((i) => window.conv(i), input), convInNode(input), info.name);
        phase('conv2d');

        if (!isolated) await checkIo(page);
        if (!isolated) phase('image and safetensors I/O');
        if (isolated) {
          // Training only once (the slow part): two epochs of 600 images, then 200 held-out images.
          const result = await page.evaluate((d) => window.train(d), fashion());
          assert.equal(result.backend, info.name);
          const first = result.losses.slice(0, 5).reduce((a, b) => a + b) / 5;
          const last = result.losses.slice(-5).reduce((a, b) => a + b) / 5;
          assert.ok(result.losses.every(Number.isFinite), 'finite losses');
          assert.ok(last < 0.6 * first, `loss falls: ${first.toFixed(3)} → ${last.toFixed(3)}`);
          assert.ok(result.accuracy > 0.6, `held-out accuracy ${result.accuracy}`);
          phase('fit: 2 epochs of 600 images');
        }
        assert.deepEqual(problems, [], 'no console errors or warnings');
      } finally {
        await page.close();
      }
    },
  );
}
