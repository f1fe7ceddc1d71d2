/**
 * The package as a user gets it: `npm pack` (which runs prepack: a clean dist/ and the wasm modules), then
 * `npm install <tarball>` in a fresh project with the registry out of reach (`--offline`: dependencies come from
 * the npm cache that `npm ci` filled), then `import * as tt from 'tatami'`, `require('tatami')`, a strict
 * typecheck of a small TypeScript file against the shipped declarations, `npx tatami --version` / `--help`, and
 * the one-line warning when only the reference backend is left.
 *
 * The install skips the native addon (TATAMI_SKIP_NATIVE=1): compiling it takes about a minute and is what
 * build-native.mjs already does in `npm ci`, while the point here is what the tarball itself carries — the
 * prebuilt platform-independent wasm modules, so a fresh install runs accelerated with no compiler at all.
 * TATAMI_PACKAGE_NATIVE=1 runs the install the way a user's does (addon compiled from the shipped native/src and
 * binding.gyp) and checks that the native backend loads.
 *
 * With a cold npm cache (a checkout whose node_modules did not come from `npm ci`) `--offline` cannot resolve the
 * three runtime dependencies: the test then says so and retries with `--prefer-offline`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const native = !!process.env.TATAMI_PACKAGE_NATIVE;

function sh(
  cmd: string,
  args: string[],
  opts: SpawnSyncOptions & { cwd: string },
): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 300_000, ...opts });
  return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), status: r.status };
}

function ok(r: { stdout: string; stderr: string; status: number | null }, what: string): string {
  assert.equal(r.status, 0, `${what} failed (exit ${r.status}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r.stdout;
}

test('npm pack → install offline in a fresh project → import, require, types, npx tatami', { timeout: 600_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tatami-pack-'));
  try {
    // 1. npm pack: prepack builds dist/ from scratch and the wasm modules when stale.
    ok(sh(npm, ['pack', '--pack-destination', tmp, '--silent'], { cwd: root }), 'npm pack');
    const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    assert.equal(tgz, `${pkg.name}-${pkg.version}.tgz`);
    const tarball = join(tmp, tgz!);

    // 2. What the tarball holds: the build, the prebuilt wasm, what the addon build needs, runtime data, licences —
    //    and none of the tests, docs, benchmarks, tools or TypeScript sources.
    const files = ok(sh('tar', ['tzf', tarball], { cwd: tmp }), 'tar tzf')
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ''));
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'bin/tatami.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'dist/data/worker.js',
      'cjs/index.cjs',
      'cjs/index.d.cts',
      'build-wasm/tatami.wasm',
      'build-wasm/tatami-mt.wasm',
      'binding.gyp',
      'native/src/addon.c',
      'native/src/tt.h',
      'scripts/build-native.mjs',
      'scripts/build-wasm.mjs',
      'data/fashion-mnist/train-images-idx3-ubyte.gz',
      'data/fashion-mnist/LICENSE',
      'assets/images/chelsea.png',
      // The browser: the bundle with the four wasm builds beside it, its declarations, and the prebuilt modules.
      'dist/browser/tatami.js',
      'dist/browser.d.ts',
      'dist/browser/tatami.wasm',
      'dist/browser/tatami-mt.wasm',
      'dist/browser/tatami-relaxed.wasm',
      'dist/browser/tatami-mt-relaxed.wasm',
      'wasm/tatami.wasm',
      'wasm/manifest.json',
      'scripts/wasm.mjs',
    ])
      assert.ok(files.includes(f), `tarball lacks ${f}`);
    const stray = files.filter(
      (f) =>
        /^(test|docs|bench|tools|src|examples|node_modules|build|\.ci)\//.test(f) ||
        f.endsWith('.map') ||
        f.endsWith('.tgz'),
    );
    assert.deepEqual(stray, [], 'tarball ships files it should not');

    // 3. A fresh project installs the tarball with the registry unreachable.
    const app = join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    const env = { ...process.env, ...(native ? {} : { TATAMI_SKIP_NATIVE: '1' }), npm_config_update_notifier: 'false' };
    const install = (mode: string) =>
      sh(npm, ['install', mode, '--no-audit', '--no-fund', '--foreground-scripts', tarball], { cwd: app, env });
    let r = install('--offline');
    if (r.status !== 0 && /ENOTCACHED/.test(r.stdout + r.stderr)) {
      console.log('# npm cache is cold (node_modules not from `npm ci`): retrying with --prefer-offline');
      r = install('--prefer-offline');
    }
    const log = ok(r, 'npm install <tarball>');
    assert.match(log, native ? /native addon built/ : /native addon not built \(TATAMI_SKIP_NATIVE is set\)/);
    assert.match(
      log,
      /wasm kernels: prebuilt modules/,
      'the install uses the shipped prebuilt wasm modules (no clang needed)',
    );

    // 4. ESM: the namespace, a computation, the training API; accelerated out of the box.
    writeFileSync(
      join(app, 'esm.mjs'),
      `
      import * as tt from 'tatami';
      import { fit, evaluate, ConfusionMatrix, ProgressBar, saveCheckpoint, loadCheckpoint } from 'tatami';
      const y = tt.F.conv2d(tt.ones([1, 1, 4, 4]), tt.ones([1, 1, 3, 3]));
      console.log(JSON.stringify({
        backend: tt.getBackendName(), sum: y.sum().item(),
        train: [fit, evaluate, ConfusionMatrix, ProgressBar, saveCheckpoint, loadCheckpoint].map((f) => typeof f),
        autoencoder: typeof tt.models.ConvAutoencoder, models: tt.models.listModels().length,
        embedded: new tt.data.FashionMNIST({ train: false, subset: 'embedded' }).length,
      }));`,
    );
    const esm = JSON.parse(ok(sh('node', ['esm.mjs'], { cwd: app }), 'ESM import').trim()) as {
      backend: string;
      sum: number;
      train: string[];
      autoencoder: string;
      models: number;
      embedded: number;
    };
    assert.equal(esm.embedded, 1000, 'the shipped Fashion-MNIST subset is found from node_modules/tatami/dist');
    assert.match(esm.backend, native ? /^native/ : /^wasm/);
    assert.equal(esm.sum, 36);
    assert.deepEqual(esm.train, ['function', 'function', 'function', 'function', 'function', 'function']);
    assert.equal(esm.autoencoder, 'function');
    assert.ok(esm.models > 20);

    // 5. CommonJS: require('tatami') gives the same namespace (one module instance: same Tensor class).
    writeFileSync(
      join(app, 'cjs.cjs'),
      `
      const tt = require('tatami');
      import('tatami').then((esm) => {
        console.log(JSON.stringify({ same: esm.Tensor === tt.Tensor, keys: Object.keys(tt).length, v: tt.tensor([1, 2, 3]).sum().item() }));
      });`,
    );
    const cjs = JSON.parse(ok(sh('node', ['cjs.cjs'], { cwd: app }), 'CommonJS require').trim()) as {
      same: boolean;
      keys: number;
      v: number;
    };
    assert.deepEqual({ same: cjs.same, v: cjs.v }, { same: true, v: 6 });
    assert.ok(cjs.keys > 100);

    // 6. Types: strict, no skipLibCheck, no DOM lib; the @ts-expect-error lines fail the check if types were `any`.
    writeFileSync(
      join(app, 'check.mts'),
      `
      import * as tt from 'tatami';
      import { fit, type FitOptions, type EpochRecord, type Callback } from 'tatami';
      const model = new tt.nn.Sequential(new tt.nn.Flatten(), new tt.nn.Linear(4, 2));
      const x: tt.Tensor = tt.randn([8, 1, 2, 2]);
      const n: number = model.forward(x).sum().item();
      const opts: FitOptions = { epochs: 1, optimizer: new tt.optim.SGD(model.parameters(), { lr: 0.1 }) };
      const cb: Callback = { onEpochEnd(r: EpochRecord) { console.log(r.trainLoss); } };
      const h: Promise<EpochRecord[]> = fit(model, [[x, tt.zeros([8], { dtype: 'int32' })]] as unknown as tt.train.BatchSource, { ...opts, callbacks: [cb] });
      // @ts-expect-error a shape is an array of numbers
      tt.zeros('2');
      console.log(n, h);`,
    );
    writeFileSync(
      join(app, 'check.cts'),
      `
      import tt = require('tatami');
      const y: tt.Tensor = tt.ones([4]);
      // @ts-expect-error item() returns a number
      const s: string = y.sum().item();
      console.log(s);`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          lib: ['es2022'],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
        },
        files: ['check.mts', 'check.cts'],
      }),
    );
    ok(
      sh('node', [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: app }),
      'typecheck against the shipped declarations',
    );

    // 7. The command: npx tatami --version / --help from the installed bin.
    assert.equal(
      ok(sh('npx', ['--no-install', 'tatami', '--version'], { cwd: app, env }), 'npx tatami --version').trim(),
      pkg.version,
    );
    assert.match(
      ok(sh('npx', ['--no-install', 'tatami', '--help'], { cwd: app, env }), 'npx tatami --help'),
      /train.*\n[\s\S]*predict/,
    );
    assert.match(
      ok(
        sh('npx', ['--no-install', 'tatami', 'summary', '--model', 'small_cnn'], { cwd: app, env }),
        'npx tatami summary',
      ),
      /421,642/,
    );

    // 7b. Conditional exports: a bundler targeting the browser gets dist/browser/tatami.js and no node: module;
    //     one targeting Node gets dist/index.js.
    writeFileSync(
      join(app, 'page.mjs'),
      `import * as tt from 'tatami';\nconsole.log(tt.backendInfo(), await tt.loadWasm());\n`,
    );
    const bundle = (platform: 'browser' | 'node') => {
      const r = sh(
        process.execPath,
        [
          '-e',
          `
        import(${JSON.stringify(join(root, 'node_modules', 'esbuild', 'lib', 'main.js'))}).then(async ({ build }) => {
          const r = await build({ entryPoints: ['page.mjs'], bundle: true, write: false, format: 'esm', platform: '${platform}',
            metafile: true, logLevel: 'silent', external: ['tatami-native-unused'], outfile: 'out.js' });
          console.log(JSON.stringify(Object.keys(r.metafile.inputs)));
        });`,
        ],
        { cwd: app },
      );
      return JSON.parse(ok(r, `esbuild --platform=${platform}`).trim()) as string[];
    };
    const browserInputs = bundle('browser');
    assert.ok(browserInputs.includes('node_modules/tatami/dist/browser/tatami.js'), browserInputs.join('\n'));
    assert.deepEqual(
      browserInputs.filter((f) => f.startsWith('node:') || f.includes('/dist/index.js')),
      [],
    );
    assert.ok(bundle('node').includes('node_modules/tatami/dist/index.js'));

    // 8. Without the wasm modules (and no addon) Tatami says once, on stderr, that it runs on the reference backend.
    if (!native) {
      const wasmDir = join(app, 'node_modules', 'tatami', 'build-wasm');
      renameSync(wasmDir, wasmDir + '.off');
      const ref = sh(
        'node',
        [
          '-e',
          `import('tatami').then((tt) => { tt.ones([2]).add(1); tt.ones([3]).mul(2); console.log(tt.getBackendName()); })`,
        ],
        { cwd: app, env: { ...env, TATAMI_BACKEND: '' } },
      );
      assert.equal(ok(ref, 'reference fallback').trim(), 'reference');
      const warnings = ref.stderr.split('\n').filter((l) => l.includes('reference backend'));
      assert.equal(warnings.length, 1, ref.stderr);
      assert.match(warnings[0], /^tatami: warning: running on the slow reference backend \(native: .*; wasm: .*\)/);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
