/**
 * The playground (web/) in a real Chromium (playwright-core with Debian's /usr/bin/chromium): the page loads with
 * no console errors; the convolution output canvas equals F.conv2d computed here in Node on the same pixels; the
 * step view's window, products and sum match; in-page training in the worker learns; the wasm backend runs with
 * threads when the page is cross-origin isolated; a phone-sized viewport does not overflow and every control is
 * labelled. PLAYGROUND_SCREENSHOTS=1 writes docs/images/playground-*.png (shown in README and docs/playground.md).
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import * as tt from '../src/index.ts';
import { chromiumSkip, launchChromium, phaseTimer, watchConsole } from './browser/harness.ts';

const shots = process.env.PLAYGROUND_SCREENSHOTS === '1';
const skip = chromiumSkip();

type Browser = import('playwright-core').Browser;
type Page = import('playwright-core').Page;

describe('playground in Chromium', { skip, timeout: 180_000 }, () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  let base = '';
  let errors: string[] = [];

  before(async () => {
    // @ts-expect-error -- plain ESM script without type declarations
    const pg = (await import('../scripts/playground.mjs')) as {
      buildPlayground(): Promise<unknown>;
      servePlayground(o: object): Promise<Server>;
    };
    // Where the time goes (Chromium's CPU seconds, meaningful on a loaded machine; wall seconds).
    const phase = phaseTimer((m) => console.log(m));
    const cpu0 = process.cpuUsage();
    await pg.buildPlayground();
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `esbuild of web/: Node ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU (and esbuild's own process)`,
    );
    phase('esbuild of web/ (its service process)');
    server = await pg.servePlayground({ port: 0 });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    errors = watchConsole(page);
    await page.goto(`${base}/web/`);
    await page.waitForSelector('body[data-ready=true]', { timeout: 90_000 });
    phase('Chromium launch, page load until every section is drawn');
  });

  after(async () => {
    await browser?.close();
    server?.close();
  });

  it('loads every section with no console errors or warnings', async () => {
    assert.deepEqual(errors, []);
    const isolated = await page.evaluate(() => globalThis.crossOriginIsolated);
    assert.equal(isolated, true, 'the server sends COOP/COEP, so the page must be cross-origin isolated');
    // The page's own kernels (convolution section) are the threaded wasm build.
    assert.match((await page.getAttribute('#backend-info', 'data-backend')) ?? '', /^wasm/);
    assert.ok(Number(await page.getAttribute('#backend-info', 'data-threads')) > 1, 'threads on the main page');
    for (const id of ['#conv-canvas', '#step-result', '#im2col-check', '#probs .bar', '#layers .maps button'])
      assert.ok(await page.$(id), `${id} rendered`);
    assert.equal(Number(await page.getAttribute('#im2col-check', 'data-maxdiff')), 0, 'im2col matmul equals conv2d');
  });

  it('draws F.conv2d of the input pixels, for an edited kernel, border mode, stride and dilation', async () => {
    await page.selectOption('#preset', { label: 'emboss' });
    await page.fill('#kernel-grid input >> nth=0', '-3');
    await page.fill('#stride', '2');
    await page.fill('#dilation', '2');
    await page.fill('#padding', '2');
    await page.selectOption('#pad-mode', 'reflect');
    await page.selectOption('#display', 'clamp');
    await page.selectOption('#pool', 'max');
    // (No named inner functions in evaluate: tsx's keepNames would reference a helper the page lacks.)
    const [input, conv, pool] = await page.evaluate(() =>
      ['input-canvas', 'conv-canvas', 'pool-canvas'].map((id) => {
        const c = document.getElementById(id) as HTMLCanvasElement;
        return {
          w: c.width,
          h: c.height,
          px: Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data),
        };
      }),
    );
    const got = { input, conv, pool };
    const { w, h, px } = got.input;
    const x = tt.zeros([1, 3, h, w]);
    for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) x.storage[c * w * h + i] = px[4 * i + c];
    const k = [-3, -1, 0, -1, 1, 1, 0, 1, 2];
    const wt = tt.tensor(
      Float32Array.from({ length: 27 }, (_, i) => k[i % 9]),
      [3, 1, 3, 3],
    );
    const y = tt.F.conv2d(x, wt, null, { stride: 2, dilation: 2, padding: 2, paddingMode: 'reflect', groups: 3 });
    const compare = (t: tt.Tensor, canvas: { w: number; h: number; px: number[] }, what: string) => {
      const [, , oh, ow] = t.shape;
      assert.deepEqual([canvas.h, canvas.w], [oh, ow], `${what} size`);
      const want = new Uint8ClampedArray(3 * oh * ow);
      const d = t.contiguous().toTypedArray();
      let off = 0;
      for (let i = 0; i < oh * ow; i++)
        for (let c = 0; c < 3; c++) {
          want[3 * i + c] = d[c * oh * ow + i]; // the same rounding and clamping as the page's ImageData
          const diff = Math.abs(want[3 * i + c] - canvas.px[4 * i + c]);
          // float32 sums in another order may land on the other side of a .5: at most 1 level, rarely.
          assert.ok(
            diff <= 1,
            `${what} pixel ${i} channel ${c}: page ${canvas.px[4 * i + c]}, Node ${want[3 * i + c]}`,
          );
          if (diff) off++;
        }
      assert.ok(off <= oh * ow * 3 * 0.002, `${what}: ${off} values off by one`);
    };
    compare(y, got.conv, 'conv2d');
    compare(tt.F.maxPool2d(y, 2, { stride: 2 }), got.pool, 'max pool');
  });

  it('shows the right window, products and sum in the step view', async () => {
    await page.fill('#step-y', '7');
    await page.fill('#step-x', '0');
    await page.selectOption('#step-c', '1');
    const r = await page.evaluate(() => {
      const e = document.getElementById('step-result')!;
      const c = document.getElementById('input-canvas') as HTMLCanvasElement;
      return {
        sum: Number(e.dataset.sum),
        conv: Number(e.dataset.conv),
        window: JSON.parse(e.dataset.window!) as number[],
        products: JSON.parse(e.dataset.products!) as number[],
        px: Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data),
        w: c.width,
        h: c.height,
      };
    });
    // Green channel, output (7, 0), stride 2, dilation 2, reflect padding 2: taps at rows 14-2+{0,2,4}, cols -2+{0,2,4}.
    const reflect = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
    const k = [-3, -1, 0, -1, 1, 1, 0, 1, 2];
    const window: number[] = [];
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        const y = reflect(14 - 2 + 2 * i, r.h);
        const x = reflect(-2 + 2 * j, r.w);
        window.push(r.px[4 * (y * r.w + x) + 1]);
      }
    assert.deepEqual(r.window, window);
    assert.deepEqual(
      r.products,
      window.map((v, i) => v * k[i]),
    );
    const sum = window.reduce((s, v, i) => s + v * k[i], 0);
    assert.equal(r.sum, sum);
    assert.ok(Math.abs(r.conv - sum) < 1e-3, `conv2d ${r.conv} vs hand sum ${sum}`);
    const text = await page.textContent('#step-result');
    assert.match(text ?? '', new RegExp(`= ${sum}`));
  });

  it('trains the small CNN in a worker with the wasm backend, threaded when isolated', async () => {
    // 40 Adam steps of 32 images (1,280 images, a fifth of an epoch) keep the test short on a loaded machine;
    // PLAYGROUND_TRAIN_STEPS=188 runs the full epoch at this batch size.
    const steps = Number(process.env.PLAYGROUND_TRAIN_STEPS ?? 40);
    const t0 = Date.now();
    const phase = phaseTimer((m) => console.log(m));
    await page.evaluate((maxSteps) => {
      const w = window as unknown as {
        playground: { startTraining(o: object): Promise<unknown> };
        trainDone?: Promise<unknown>;
      };
      w.trainDone = w.playground.startTraining({ epochs: 1, batchSize: 32, maxSteps });
    }, steps);
    // Pause: the worker stops between steps (no progress for a while), the page keeps computing; then resume.
    await page.waitForFunction(
      () => /step \d+/.test(document.getElementById('train-status')!.textContent ?? ''),
      undefined,
      { timeout: 60_000 },
    );
    await page.click('#train-pause');
    await page.waitForTimeout(1500); // a step in flight may still report
    const stepAt = async () =>
      await page.evaluate(
        () =>
          (window as unknown as { playground: { trainLog: { type: string; step?: number }[] } }).playground.trainLog
            .filter((m) => m.type === 'progress')
            .at(-1)?.step ?? 0,
      );
    const paused = await stepAt();
    await page.selectOption('#preset', { label: 'Gaussian blur' }); // the page stays responsive meanwhile
    await page.waitForTimeout(2000); // running, the worker reports at least every 400 ms
    assert.equal(await stepAt(), paused, 'no progress while paused');
    assert.equal(await page.textContent('#train-pause'), 'Resume');
    await page.click('#train-pause');
    const done = await page.evaluate(
      () => (window as unknown as { trainDone: Promise<{ testAccuracy: number; steps: number }> }).trainDone,
    );
    const log = await page.evaluate(
      () =>
        (
          (window as unknown as { playground: unknown }).playground as {
            trainLog: {
              type: string;
              backend?: string;
              threads?: number;
              isolated?: boolean;
              imagesPerSecond?: number;
            }[];
          }
        ).trainLog,
    );
    phase(`in-page training, ${steps} steps with a pause`);
    const ready = log.find((m) => m.type === 'ready')!;
    const ips = log.filter((m) => m.type === 'progress').map((m) => m.imagesPerSecond!);
    console.log(
      `# in-page training: ${done.steps} steps in ${((Date.now() - t0) / 1000).toFixed(1)} s, test accuracy ${(100 * done.testAccuracy).toFixed(1)}%, ${ready.backend} × ${ready.threads} threads, last ${ips.at(-1)?.toFixed(0)} img/s`,
    );
    assert.equal(done.steps, steps);
    assert.ok(done.testAccuracy > 0.55, `test accuracy after ${steps} steps: ${done.testAccuracy}`);
    assert.equal(ready.isolated, true);
    assert.match(ready.backend!, /^wasm/, `worker backend: ${ready.backend}`);
    assert.ok(ready.threads! > 1, `worker threads: ${ready.threads}`);
    // The trained weights go to the CNN section.
    await page.click('#train-use');
    assert.equal(await page.inputValue('#weights'), 'page');
    // Opening up a conv2 map: its eight largest terms (input map, filter, contribution) are listed.
    await page.click('#layers button[data-layer="3"][data-map="5"]');
    assert.equal(await page.locator('#trace figure').count(), 8);
    assert.match((await page.textContent('#trace h3')) ?? '', /Map 5 of layer 3/);
    if (shots) {
      await page.locator('#train').screenshot({ path: 'docs/images/playground-train.png' });
      await page.locator('#cnn').screenshot({ path: 'docs/images/playground-cnn.png' }); // with the trace of map 5
    }
    assert.deepEqual(errors, []);
  });

  it('fits a phone-sized viewport and labels every control', async () => {
    // The same page, resized (a second page load would double the test's time on a slow machine).
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.waitForTimeout(200);
      const r = await page.evaluate(() => {
        const unlabelled = Array.from(document.querySelectorAll('input, select, button, canvas[tabindex]'))
          .filter((e) => {
            const el = e as HTMLInputElement;
            const named =
              el.labels?.length || el.getAttribute('aria-label') || (e.tagName === 'BUTTON' && e.textContent!.trim());
            return !named;
          })
          .map((e) => e.outerHTML.slice(0, 80));
        return { overflow: document.documentElement.scrollWidth - window.innerWidth, unlabelled };
      });
      assert.deepEqual(r.unlabelled, []);
      assert.ok(r.overflow <= 0, `page wider than the phone by ${r.overflow} px`);
      if (shots) await page.screenshot({ path: 'docs/images/playground-phone.png' });
      // Keyboard: the preset menu takes focus and the arrow keys change it (a native select), and the output follows.
      const before = await page.evaluate(() =>
        (document.getElementById('conv-canvas') as HTMLCanvasElement).toDataURL(),
      );
      const preset = await page.inputValue('#preset');
      await page.focus('#preset');
      await page.keyboard.press(preset === '0' ? 'ArrowDown' : 'ArrowUp');
      assert.notEqual(await page.inputValue('#preset'), preset);
      const after = await page.evaluate(() =>
        (document.getElementById('conv-canvas') as HTMLCanvasElement).toDataURL(),
      );
      assert.notEqual(after, before, 'a keyboard change of the preset redraws the output');
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
    if (shots) {
      await page.selectOption('#preset', { label: 'Sobel x' });
      await page.fill('#stride', '1');
      await page.fill('#dilation', '1');
      await page.fill('#padding', '1');
      await page.selectOption('#display', 'abs');
      await page.locator('#conv').screenshot({ path: 'docs/images/playground-conv.png' });
      await page.locator('#step').screenshot({ path: 'docs/images/playground-step.png' });
    }
  });
});
