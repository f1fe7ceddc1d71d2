#!/usr/bin/env node
/**
 * The playground (web/): bundles web/src with esbuild into web/dist and serves the repository's public folders
 * on localhost with the COOP/COEP headers that make the page cross-origin isolated (SharedArrayBuffer, so the
 * wasm backend can use worker threads). Offline: no CDN, no new server dependency.
 *
 *   npm run playground                 # build, then serve on http://localhost:8080/ (PORT=… to change)
 *   node scripts/playground.mjs --build-only
 *   node scripts/playground.mjs --no-isolation   # serve without COOP/COEP (one thread), for comparison
 */
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Folders the server exposes (everything else 404s): the page, photos, the Fashion-MNIST subset, the wasm. */
const PUBLIC = ['web', 'assets/images', 'data/fashion-mnist', 'build-wasm'];
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.gz': 'application/octet-stream',
  '.safetensors': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

/** Bundles web/src/{main,train-worker}.ts into web/dist (ESM, browser platform, source maps) with the library's browser entry. */
export async function buildPlayground({ minify = false } = {}) {
  const esbuild = await import('esbuild');
  // The library's own browser seams (X.ts → X.browser.ts, no node: built-ins), as in its browser bundle.
  const { browserSeams } = await import('./build-browser.mjs');
  const entry = join(root, 'src', 'browser.ts');
  const tatami = {
    name: 'tatami-entry',
    setup(b) {
      b.onResolve({ filter: /^tatami$/ }, () => ({ path: entry }));
    },
  };
  await esbuild.build({
    entryPoints: { main: 'web/src/main.ts', 'train-worker': 'web/src/train-worker.ts' },
    absWorkingDir: root,
    outdir: 'web/dist',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    minify,
    plugins: [tatami, browserSeams()],
    logLevel: 'warning',
    define: { 'process.env.NODE_DEBUG': 'undefined' },
  });
}

/**
 * Serves the public folders (and `extra` ones: the browser benchmark adds TensorFlow.js's wasm files); resolves
 * with the listening server. `isolated: false` drops COOP/COEP.
 */
export function servePlayground({ port = 8080, host = '127.0.0.1', isolated = true, extra = [] } = {}) {
  const folders = [...PUBLIC, ...extra];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let path = decodeURIComponent(url.pathname);
    if (path === '/' || path === '/web') {
      res.writeHead(302, { location: '/web/' });
      res.end();
      return;
    }
    if (path.endsWith('/')) path += 'index.html';
    const rel = normalize(path).replace(/^[/\\]+/, '');
    let file = join(root, rel);
    // Kernels not built locally: fall back to the prebuilt modules committed in wasm/.
    if (rel.startsWith('build-wasm') && !existsSync(file)) file = join(root, 'wasm', rel.slice('build-wasm/'.length));
    const ok =
      folders.some((p) => rel === p || rel.startsWith(p + sep) || rel.startsWith(p + '/')) &&
      file.startsWith(root + sep);
    const headers = { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
    if (isolated)
      Object.assign(headers, {
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
        'cross-origin-resource-policy': 'same-origin',
      });
    try {
      if (!ok || !(await stat(file)).isFile()) throw new Error('not found');
      const body = await readFile(file);
      res.writeHead(200, {
        ...headers,
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': body.length,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, { ...headers, 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok(server));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  if (!args.includes('--no-build')) {
    await buildPlayground();
    console.log('built web/dist');
  }
  if (!args.includes('--build-only')) {
    const port = Number(process.env.PORT ?? 8080);
    const isolated = !args.includes('--no-isolation');
    const server = await servePlayground({ port, isolated });
    const addr = server.address();
    console.log(
      `Tatami playground: http://localhost:${addr.port}/  (${isolated ? 'cross-origin isolated: threads on' : 'not isolated: one thread'}; Ctrl+C to stop)`,
    );
  }
}
