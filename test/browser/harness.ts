/**
 * What the Chromium tests share (test/browser.test.ts, test/browser-bundlers.test.ts, test/playground.test.ts):
 * where Chromium is and why a test skips, one way to launch it, a static server for a built page that makes it
 * cross-origin isolated on request, and a collector of console errors and warnings.
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Debian's Chromium (scripts/setup-system.sh installs it), or CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A skip reason when Chromium is missing, else false. */
export function chromiumSkip(): string | false {
  return existsSync(CHROMIUM)
    ? false
    : `no Chromium at ${CHROMIUM} (scripts/setup-system.sh installs it; or set CHROMIUM_PATH)`;
}

type Browser = import('playwright-core').Browser;
type Page = import('playwright-core').Page;

/** Headless Chromium with what a test needs and nothing that phones home. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
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
}

/** Console errors and warnings and uncaught page errors, as they arrive. */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return problems;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

/** A static server on 127.0.0.1 and a free port. */
export interface StaticServer {
  origin: string;
  close(): void;
}

/**
 * Serves the files under `dir`. A page is cross-origin isolated (COOP: same-origin, COEP: require-corp, so it gets
 * SharedArrayBuffer and threads) when its URL, or for its subresources the page's URL (Referer), has `isolated=1`.
 */
export async function serveStatic(dir: string): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const rel = normalize(decodeURIComponent(url.pathname).replace(/\/$/, '/index.html')).replace(/^[/\\]+/, '');
    const file = join(dir, rel);
    if (!file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    const headers: Record<string, string> = {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
    };
    if (url.searchParams.get('isolated') === '1' || req.headers.referer?.includes('isolated=1')) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
    }
    res.writeHead(200, headers).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

/**
 * Builds into `dir` a page that puts the whole library on `window.tt` (src/browser.ts bundled by esbuild with the
 * package's own browser options, the wasm builds beside it): what the browser benchmarks load.
 */
export async function buildTatamiPage(dir: string): Promise<void> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const esbuild = await import('esbuild');
  const { browserBuildOptions, copyWasm } = await import('../../scripts/build-browser.mjs');
  writeFileSync(
    join(dir, 'page.js'),
    `import * as tt from ${JSON.stringify(join(root, 'src', 'browser.ts'))};\nwindow.tt = tt;\n`,
  );
  await esbuild.build(browserBuildOptions({ entry: join(dir, 'page.js'), outfile: join(dir, 'app.js') }));
  copyWasm(dir);
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="app.js"></script>',
  );
}

/**
 * CPU seconds (user + system) and minor page faults so far of the descendants of this process (Linux /proc):
 * Chromium's browser, GPU, utility and renderer processes together (and esbuild's idle service). What a phase of
 * a browser test or benchmark costs, measurable on a loaded machine where wall time is not. Processes that have
 * exited meanwhile (a closed page's renderer) drop out of the sums. NaN where /proc is missing.
 */
export function childrenUsage(): { cpu: number; faults: number } {
  const pid = process.pid;
  if (!existsSync('/proc/self/stat')) return { cpu: NaN, faults: NaN };
  const parent = new Map<number, number>();
  const usage = new Map<number, [number, number]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
      parent.set(Number(name), Number(f[1]));
      usage.set(Number(name), [Number(f[11]) + Number(f[12]), Number(f[7])]); // utime + stime (ticks), minflt
    } catch {
      // the process exited meanwhile
    }
  }
  let ticks = 0,
    faults = 0;
  for (const [p, [t, m]] of usage) {
    let q = parent.get(p);
    while (q !== undefined && q > 1 && q !== pid) q = parent.get(q);
    if (q === pid) {
      ticks += t;
      faults += m;
    }
  }
  return { cpu: ticks / 100, faults }; // USER_HZ is 100 on Linux
}

/** CPU seconds of this process's descendants (childrenUsage). */
export function childrenCpuSeconds(): number {
  return childrenUsage().cpu;
}

/** Logs each phase's Chromium CPU seconds and wall seconds as a test diagnostic. */
export function phaseTimer(diagnostic: (msg: string) => void): (what: string) => void {
  let mark = { cpu: childrenCpuSeconds(), wall: performance.now() };
  return (what) => {
    const now = { cpu: childrenCpuSeconds(), wall: performance.now() };
    diagnostic(
      `${what}: Chromium ${(now.cpu - mark.cpu).toFixed(2)} s CPU, ${((now.wall - mark.wall) / 1000).toFixed(2)} s wall`,
    );
    mark = now;
  };
}
