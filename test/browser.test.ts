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
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tt from '../src/index.ts';
import type { ConvInput, ConvOutput, IoInput } from './browser/snippet.ts';

const CHROMIUM = '/usr/bin/chromium';
const root = fileURLToPath(new URL('..', import.meta.url));
const skip = !existsSync(CHROMIUM)
  ? 'chromium not installed (scripts/setup-system.sh)'
  : !existsSync(join(root, 'build-wasm', 'tatami.wasm'))
    ? 'build-wasm/tatami.wasm missing'
    : false;

let dir = '';
let server: Server | null = null;
let origin = '';

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'tatami-browser-'));
  const { build } = await import('esbuild');
  const { browserBuildOptions, copyWasm } = await import('../scripts/build-browser.mjs');
  // `tatami` resolves to the browser entry exactly as a bundler sees the package's `browser` condition.
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
  const types: Record<string, string> = {
    '.html': 'text/html',
    '.js': 'text/javascript',
    '.wasm': 'application/wasm',
    '.safetensors': 'application/octet-stream',
  };
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const file = join(dir, url.pathname === '/' ? 'index.html' : url.pathname.slice(1));
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    const headers: Record<string, string> = { 'content-type': types[extname(file)] ?? 'application/octet-stream' };
    if (url.searchParams.get('isolated') === '1' || req.headers.referer?.includes('isolated=1')) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
    }
    res.writeHead(200, headers).end(readFileSync(file));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

after(() => {
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): number[] {
  const g = new tt.Generator(seed);
  return tt.rand([n], { generator: g }).mul(2).sub(1).tolist();
}

function convInput(): ConvInput {
  const xShape = [2, 3, 11, 9],
    wShape = [5, 3, 3, 3];
  return {
    x: values(2 * 3 * 11 * 9, 1),
    xShape,
    w: values(5 * 27, 2),
    wShape,
    b: values(5, 3),
    gy: values(2 * 5 * 6 * 5, 4),
    stride: 2,
    padding: 1,
    dilation: 1,
  };
}

/** conv2d forward and backward in Node, float64 reference backend: the ground truth. */
function convInNode(input: ConvInput): Omit<ConvOutput, 'backend'> {
  return tt.withBackend('reference', () => {
    const x = tt.tensor(input.x).reshape(input.xShape).requiresGrad_();
    const w = tt.tensor(input.w).reshape(input.wShape).requiresGrad_();
    const b = tt.tensor(input.b).requiresGrad_();
    const y = tt.F.conv2d(x, w, b, { stride: input.stride, padding: input.padding, dilation: input.dilation });
    tt.sum(tt.mul(y, tt.tensor(input.gy).reshape(y.shape))).backward();
    return { y: y.tolist(), yShape: [...y.shape], gx: x.grad!.tolist(), gw: w.grad!.tolist(), gb: b.grad!.tolist() };
  });
}

function assertClose(actual: number[], expected: number[], what: string, tol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++)
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
  assert.ok(worst < tol, `${what}: max relative error ${worst}`);
}

/** 600 training and 200 test images of the embedded Fashion-MNIST subset, as plain arrays for the page. */
function fashion(): {
  images: number[];
  labels: number[];
  n: number;
  testImages: number[];
  testLabels: number[];
  testN: number;
} {
  const take = (train: boolean, n: number) => {
    const ds = new tt.data.FashionMNIST({ subset: 'embedded', train });
    const xs: number[] = [],
      ys: number[] = [];
    for (let i = 0; i < n; i++) {
      const [x, y] = ds.get(i) as [tt.Tensor, number | tt.Tensor];
      xs.push(...x.tolist());
      ys.push(typeof y === 'number' ? y : y.item());
    }
    return { xs, ys };
  };
  const tr = take(true, 600),
    te = take(false, 200);
  return { images: tr.xs, labels: tr.ys, n: 600, testImages: te.xs, testLabels: te.ys, testN: 200 };
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
    { skip, timeout: 120_000 },
    async () => {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      try {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
        });
        page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
        await page.goto(`${origin}/${isolated ? '?isolated=1' : ''}`);
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

        const input = convInput();
        const got = await page.evaluate((i) => window.conv(i), input);
        const want = convInNode(input);
        assert.equal(got.backend, info.name);
        assert.deepEqual(got.yShape, want.yShape);
        assertClose(got.y, want.y, 'conv2d forward');
        assertClose(got.gx, want.gx, 'conv2d grad input');
        assertClose(got.gw, want.gw, 'conv2d grad weight');
        assertClose(got.gb, want.gb, 'conv2d grad bias');

        if (!isolated) await checkIo(page);
        if (isolated) {
          // Training only once (the slow part): two epochs of 600 images, then 200 held-out images.
          const result = await page.evaluate((d) => window.train(d), fashion());
          assert.equal(result.backend, info.name);
          const first = result.losses.slice(0, 5).reduce((a, b) => a + b) / 5;
          const last = result.losses.slice(-5).reduce((a, b) => a + b) / 5;
          assert.ok(result.losses.every(Number.isFinite), 'finite losses');
          assert.ok(last < 0.6 * first, `loss falls: ${first.toFixed(3)} → ${last.toFixed(3)}`);
          assert.ok(result.accuracy > 0.6, `held-out accuracy ${result.accuracy}`);
        }
        assert.deepEqual(problems, [], 'no console errors or warnings');
      } finally {
        await browser.close();
      }
    },
  );
}
