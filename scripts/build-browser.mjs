#!/usr/bin/env node
/**
 * Builds the browser bundle: dist/browser/tatami.js (one ES module, src/browser.ts and everything it imports) with
 * the four wasm builds copied beside it, so `<script type="module">import * as tt from './tatami.js'</script>` and
 * bundlers (package.json's `browser` export condition) both find the kernels at `new URL('./', import.meta.url)`.
 *
 * Platform seams: a module `X.ts` with a sibling `X.browser.ts` is replaced by the sibling (Node's file system,
 * native addon and worker_threads stay out), and pngjs (zlib, streams) by src/io/pngjs.browser.ts. The build fails if any
 * `node:` built-in is still reachable. Usage: node scripts/build-browser.mjs [--outdir DIR] [--no-minify]
 * (also importable: `browserBuildOptions()` gives the esbuild options, used by test/browser.test.ts;
 * `buildBrowserBundle()` builds dist/browser/ or a copy of it, used by test/browser-bundlers.test.ts).
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const WASM_FILES = ['tatami.wasm', 'tatami-mt.wasm', 'tatami-relaxed.wasm', 'tatami-mt-relaxed.wasm'];

/** esbuild plugin: X.ts → X.browser.ts where that exists; pngjs → src/io/pngjs.browser.ts; node: built-ins are errors. */
export function browserSeams() {
  return {
    name: 'tatami-browser-seams',
    setup(build) {
      build.onResolve({ filter: /^node:/ }, (args) => ({
        errors: [
          {
            text: `${args.path} imported by ${args.importer.slice(root.length + 1)}: Node built-ins must stay behind a .browser.ts seam`,
          },
        ],
      }));
      build.onResolve({ filter: /^pngjs$/ }, () => ({ path: join(root, 'src', 'io', 'pngjs.browser.ts') }));
      build.onResolve({ filter: /^\.\.?\// }, (args) => {
        if (!args.importer.startsWith(join(root, 'src'))) return undefined;
        const ts = join(args.resolveDir, args.path).replace(/\.js$/, '.ts');
        const swapped = ts.replace(/\.ts$/, '.browser.ts');
        if (ts.endsWith('.browser.ts') || !existsSync(swapped)) return undefined;
        return { path: swapped };
      });
    },
  };
}

/** esbuild options for a browser bundle of `entry` (default src/browser.ts). */
export function browserBuildOptions({ entry = join(root, 'src', 'browser.ts'), outfile, minify = true } = {}) {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    sourcemap: false,
    metafile: true,
    logLevel: 'warning',
    plugins: [browserSeams()],
  };
}

/** Copies the wasm builds that exist into `outdir`; returns their names. */
export function copyWasm(outdir) {
  const copied = [];
  for (const f of WASM_FILES) {
    const from = join(root, 'build-wasm', f);
    if (existsSync(from)) {
      copyFileSync(from, join(outdir, f));
      copied.push(f);
    }
  }
  return copied;
}

/**
 * Builds `outdir`/tatami.js from src/browser.ts and copies the wasm builds beside it (what the package's
 * dist/browser/ holds). Resolves to the bundle's size in bytes and the wasm files copied; throws when
 * build-wasm/tatami.wasm is missing.
 */
export async function buildBrowserBundle({ outdir = join(root, 'dist', 'browser'), minify = true } = {}) {
  const { build } = await import('esbuild');
  mkdirSync(outdir, { recursive: true });
  const result = await build(browserBuildOptions({ outfile: join(outdir, 'tatami.js'), minify }));
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  const wasm = copyWasm(outdir);
  if (!wasm.includes('tatami.wasm'))
    throw new Error(
      'tatami build:browser: build-wasm/tatami.wasm missing (npm run build:wasm, or npm ci for the prebuilt modules)',
    );
  return { bytes, wasm };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const outdir = args.includes('--outdir') ? args[args.indexOf('--outdir') + 1] : join(root, 'dist', 'browser');
  try {
    const { bytes, wasm } = await buildBrowserBundle({ outdir, minify: !args.includes('--no-minify') });
    console.log(
      `tatami: browser bundle ${join(outdir, 'tatami.js')} (${(bytes / 1024).toFixed(0)} KiB) + ${wasm.join(', ')}`,
    );
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
