/**
 * `import * as tt from 'tatami'` through the three bundlers a browser user is likely to have — esbuild, Vite and
 * webpack — against the package as npm installs it: a scratch project whose node_modules/tatami holds the
 * repository's package.json (its `exports`, `browser` condition) and dist/browser/ built by
 * scripts/build-browser.mjs (what `npm pack` ships). Each bundler builds the same page (test/browser/snippet.ts,
 * with `tatami` left for the bundler to resolve), the wasm builds come in through the bundler's own asset handling
 * (`?url` in Vite, `asset/resource` in webpack, the `file` loader in esbuild) and go to `tt.loadWasm({ url })` as a
 * record by file name (docs/browser.md). In headless Chromium: the kernels load (threaded when the page is
 * cross-origin isolated), conv2d forward and backward and two `fit` steps of a small CNN agree with Node's float64
 * reference, and the training report's PNG data URLs (no Buffer in a page) decode in Node.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tt from '../src/index.ts';
import {
  chromiumSkip,
  launchChromium,
  phaseTimer,
  serveStatic,
  watchConsole,
  type StaticServer,
} from './browser/harness.ts';
import {
  checkConv,
  checkTrainStep,
  convInNode,
  convInput,
  decodeDataUrl,
  trainStepInNode,
  trainStepInput,
} from './browser/checks.ts';
import type { TrainStepInput, TrainStepOutput } from './browser/train-step.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const skip =
  chromiumSkip() || (existsSync(join(root, 'build-wasm', 'tatami.wasm')) ? false : 'build-wasm/tatami.wasm missing');

const WASM = ['tatami.wasm', 'tatami-relaxed.wasm', 'tatami-mt.wasm', 'tatami-mt-relaxed.wasm'];

/** The entry a user writes: the page's code, and the four builds' URLs from the bundler's asset handling. */
function entry(suffix: string): string {
  const names = WASM.map((_, i) => `wasm${i}`);
  return [
    "import './snippet.js';",
    ...WASM.map((f, i) => `import ${names[i]} from 'tatami/wasm/${f}${suffix}';`),
    `window.tatamiWasmUrls = { ${WASM.map((f, i) => `'${f}': ${names[i]}`).join(', ')} };`,
    '',
  ].join('\n');
}

const html = (script: string) =>
  `<!doctype html><meta charset="utf-8"><title>tatami</title><link rel="icon" href="data:,">${script}`;

async function buildWithEsbuild(dir: string): Promise<void> {
  const { build } = await import('esbuild');
  const out = join(dir, 'out', 'esbuild');
  writeFileSync(join(dir, 'app', 'entry-esbuild.js'), entry(''));
  await build({
    entryPoints: [join(dir, 'app', 'entry-esbuild.js')],
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    loader: { '.wasm': 'file' },
    assetNames: '[name]-[hash]',
    logLevel: 'warning',
  });
  writeFileSync(join(out, 'index.html'), html('<script type="module" src="entry-esbuild.js"></script>'));
}

async function buildWithVite(dir: string): Promise<void> {
  const { build, createLogger } = await import('vite');
  writeFileSync(join(dir, 'app', 'entry-vite.js'), entry('?url'));
  writeFileSync(join(dir, 'app', 'index.html'), html('<script type="module" src="./entry-vite.js"></script>'));
  const logger = createLogger('warn');
  const warnings: string[] = [];
  logger.warn = (msg) => void warnings.push(msg);
  logger.warnOnce = logger.warn;
  logger.error = (msg) => void warnings.push(msg);
  await build({
    configFile: false,
    root: join(dir, 'app'),
    base: './',
    customLogger: logger,
    logLevel: 'warn',
    build: {
      outDir: join(dir, 'out', 'vite'),
      emptyOutDir: true,
      chunkSizeWarningLimit: 2048,
      // Rolldown reports slow plugin hooks, which on a loaded machine is every build: not about Tatami.
      rolldownOptions: { checks: { pluginTimings: false } },
    },
  });
  assert.deepEqual(warnings, [], 'Vite builds the page with no warnings');
}

async function buildWithWebpack(dir: string): Promise<void> {
  const { default: webpack } = await import('webpack');
  const out = join(dir, 'out', 'webpack');
  writeFileSync(join(dir, 'app', 'entry-webpack.js'), entry(''));
  const stats = await new Promise<import('webpack').Stats>((ok, fail) =>
    webpack(
      {
        mode: 'production',
        target: 'web',
        context: dir,
        entry: './app/entry-webpack.js',
        output: { path: out, filename: 'main.js' },
        module: { rules: [{ test: /\.wasm$/, type: 'asset/resource' }] },
        // Terser over the already minified library would add tens of seconds and test nothing of Tatami's.
        optimization: { minimize: false },
        performance: { hints: false },
      },
      (err, s) => (err || !s ? fail(err ?? new Error('webpack: no stats')) : ok(s)),
    ),
  );
  const info = stats.toJson({ all: false, errors: true, warnings: true });
  assert.deepEqual(
    [...(info.errors ?? []), ...(info.warnings ?? [])].map((e) => e.message),
    [],
    'webpack builds the page with no errors or warnings',
  );
  writeFileSync(join(out, 'index.html'), html('<script src="main.js"></script>'));
}

let dir = '';
let server: StaticServer | null = null;
let browser: import('playwright-core').Browser | null = null;
const stepIn: TrainStepInput = trainStepInput();
let stepWant: TrainStepOutput;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'tatami-bundlers-'));
  // The package as installed: package.json (exports) and the browser bundle with its wasm builds.
  const pkg = join(dir, 'node_modules', 'tatami');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), readFileSync(join(root, 'package.json')));
  const { buildBrowserBundle } = await import('../scripts/build-browser.mjs');
  await buildBrowserBundle({ outdir: join(pkg, 'dist', 'browser') });
  // The page's code as plain JavaScript, importing `tatami` by name (snippet.ts says `tatami/browser` for tsc).
  const { build } = await import('esbuild');
  mkdirSync(join(dir, 'app'));
  await build({
    entryPoints: [join(root, 'test', 'browser', 'snippet.ts')],
    outfile: join(dir, 'app', 'snippet.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'warning',
    plugins: [
      {
        name: 'tatami-by-name',
        setup(b) {
          b.onResolve({ filter: /^tatami\/browser$/ }, () => ({ path: 'tatami', external: true }));
        },
      },
    ],
  });
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  await Promise.all([buildWithEsbuild(dir), buildWithVite(dir), buildWithWebpack(dir)]);
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `three bundler builds: Node ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU, ${((performance.now() - wall0) / 1000).toFixed(2)} s wall`,
  );
  [server, browser] = await Promise.all([serveStatic(dir), launchChromium()]);
  stepWant = await trainStepInNode(stepIn);
});

after(async () => {
  await browser?.close();
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const cases = [
  { bundler: 'esbuild', isolated: false },
  { bundler: 'vite', isolated: true },
  { bundler: 'webpack', isolated: true },
];

for (const { bundler, isolated } of cases) {
  test(
    `${bundler}: import 'tatami' for the browser, wasm as bundler assets${isolated ? ' (threaded)' : ''} — conv2d and fit match Node`,
    { skip, timeout: 180_000 },
    async (t) => {
      const phase = phaseTimer((m) => t.diagnostic(m));
      const page = await browser!.newPage();
      const problems = watchConsole(page);
      try {
        await page.goto(`${server!.origin}/out/${bundler}/index.html${isolated ? '?isolated=1' : ''}`);
        await page.waitForFunction(() => typeof window.loadKernels === 'function');
        const info = await page.evaluate(() => window.loadKernels('assets'));
        const cores = await page.evaluate(() => navigator.hardwareConcurrency);
        assert.equal(info.crossOriginIsolated, isolated);
        assert.equal(info.name, 'wasm-relaxed-simd');
        assert.equal(info.threads, isolated ? Math.min(16, cores) : 1, JSON.stringify(info));
        // The one module fetched is the bundler's emitted asset (threaded iff isolated), not a copy of dist/browser/.
        const fetched = await page.evaluate(() =>
          performance
            .getEntriesByType('resource')
            .map((e) => e.name)
            .filter((n) => n.includes('.wasm')),
        );
        assert.equal(fetched.length, 1, fetched.join(', '));
        assert.ok(fetched[0].startsWith(`${server!.origin}/out/${bundler}/`), fetched[0]);
        assert.notEqual(fetched[0].split('/').at(-1), isolated ? 'tatami-mt-relaxed.wasm' : 'tatami-relaxed.wasm');
        const want = readFileSync(
          join(root, 'build-wasm', isolated ? 'tatami-mt-relaxed.wasm' : 'tatami-relaxed.wasm'),
        );
        const got = await page.evaluate(
          async (u) => Array.from(new Uint8Array(await (await fetch(u)).arrayBuffer())),
          fetched[0],
        );
        assert.ok(Buffer.from(got).equals(want), 'the asset is the build loadWasm picked');
        phase('page load and loadWasm');

        const input = convInput();
        checkConv(await page.evaluate((i) => window.conv(i), input), convInNode(input), info.name);
        phase('conv2d');

        const trained = await page.evaluate((i) => window.trainStep(i), stepIn);
        checkTrainStep(trained, stepWant, stepIn, info.name);
        phase('two fit steps');

        // viz without Node's Buffer: a PNG data URL of exact pixels, and the report's images.
        const img = tt.randint(0, 256, [3, 5, 7], { generator: new tt.Generator(11), dtype: 'uint8' });
        const url = await page.evaluate((i) => window.pngDataUrl(i), { pixels: img.tolist(), shape: [3, 5, 7] });
        assert.deepEqual(decodeDataUrl(url).tolist(), img.tolist(), 'pngDataUrl decoded in Node');
        const report = await page.evaluate(([i, h]) => window.report(i, h), [stepIn, trained.history] as const);
        const images = [...report.matchAll(/<img class="grid" alt="([^"]+)" src="([^"]+)"/g)];
        assert.deepEqual(
          images.map((m) => m[1]),
          ['misclassified test images', 'Grad-CAM of test images'],
        );
        for (const m of images) {
          const decoded = decodeDataUrl(m[2]);
          assert.equal(decoded.shape[0], 3, `${m[1]}: RGB`);
          assert.ok(decoded.shape[1] > 28 && decoded.shape[2] > 28, `${m[1]}: ${decoded.shape}`);
        }
        phase('pngDataUrl and renderReport');
        assert.deepEqual(problems, [], 'no console errors or warnings');
      } finally {
        await page.close();
      }
    },
  );
}
