import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tt from '../src/index.ts';
import { fashion, tinyCnn, trainClassifier } from './viz-helpers.ts';

const { viz } = tt;
const CHROMIUM = '/usr/bin/chromium';

function makeReport(dir: string): { path: string; html: string } {
  tt.manualSeed(0);
  const model = tinyCnn({ seed: 4 });
  const tr = fashion(true, 600);
  trainClassifier(model, tr.x, tr.y, 20, { batch: 16 });
  const te = fashion(false, 64);
  const history: tt.viz.HistoryRecord[] = [
    {
      epoch: 1,
      lr: 1e-3,
      trainLoss: 1.9,
      trainAccuracy: 0.35,
      valLoss: 1.7,
      valAccuracy: 0.41,
      seconds: 3.2,
      imagesPerSecond: 190,
    },
    {
      epoch: 2,
      lr: 5e-4,
      trainLoss: 1.4,
      trainAccuracy: 0.52,
      valLoss: 1.35,
      valAccuracy: 0.55,
      seconds: 3.1,
      imagesPerSecond: 195,
    },
    { epoch: 3, lr: 2.5e-4, trainLoss: 1.2, trainAccuracy: 0.6, seconds: 3.0, imagesPerSecond: 200 },
  ];
  const loader: [tt.Tensor, tt.Tensor][] = [
    [te.x.narrow(0, 0, 32), te.y.narrow(0, 0, 32)],
    [te.x.narrow(0, 32, 32), te.y.narrow(0, 32, 32)],
  ];
  const path = join(dir, 'report.html');
  const html = viz.writeReport(path, {
    history,
    model,
    testLoader: loader,
    classes: tt.data.FashionMNIST.classes,
    title: 'Test report',
    gradcamImages: 4,
  });
  return { path, html };
}

test('writeReport: one self-contained HTML file with curves, confusion matrix, per-class metrics and images', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tatami-report-'));
  try {
    const { path, html } = makeReport(dir);
    assert.ok(existsSync(path));
    assert.equal((html.match(/<svg /g) ?? []).length, 3, 'loss, accuracy and learning-rate charts');
    assert.equal((html.match(/class="series"/g) ?? []).length, 5, 'train+val loss, train+val accuracy, lr');
    assert.match(html, /<table class="cm">/);
    assert.match(html, /<th>T-shirt\/top<\/th>/);
    assert.match(html, /precision<\/th><th>recall<\/th><th>F1/);
    assert.equal((html.match(/src="data:image\/png;base64,/g) ?? []).length, 2, 'misclassified grid + Grad-CAM grid');
    assert.doesNotMatch(html, /<script|src="http|href="http/, 'self-contained: no scripts, no external resources');
    // 64 test images counted in the confusion matrix.
    assert.match(html, /on 64 images/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'the report renders in headless Chromium: plots have size, images decode',
  { skip: !existsSync(CHROMIUM) && 'chromium not installed (scripts/setup-system.sh)' },
  async () => {
    const { chromium } = await import('playwright-core');
    const dir = mkdtempSync(join(tmpdir(), 'tatami-report-'));
    // A fresh profile per run (playwright passes it to Chromium as --user-data-dir).
    const browser = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1200, height: 900 },
      args: [
        '--headless',
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
      const { path } = makeReport(dir);
      const page = await browser.newPage();
      await page.goto(pathToFileURL(path).href);
      const svgs = await page.$$eval('svg', (els) =>
        els.map((e) => {
          const r = e.getBoundingClientRect();
          return [r.width, r.height, e.querySelectorAll('polyline').length];
        }),
      );
      assert.equal(svgs.length, 3);
      for (const [w, h, lines] of svgs)
        assert.ok(w > 100 && h > 100 && lines >= 1, `svg ${w}×${h} with ${lines} lines`);
      const lineLengths = await page.$$eval('polyline', (els) =>
        els.map((e) => (e as SVGPolylineElement).getTotalLength()),
      );
      assert.ok(
        lineLengths.every((l) => l > 10),
        `curves are drawn: ${lineLengths.join(', ')}`,
      );
      const imgs = await page.$$eval('img', (els) =>
        els.map((e) => [
          (e as HTMLImageElement).complete,
          (e as HTMLImageElement).naturalWidth,
          (e as HTMLImageElement).naturalHeight,
        ]),
      );
      assert.equal(imgs.length, 2);
      for (const [complete, w, h] of imgs)
        assert.ok(complete && (w as number) > 50 && (h as number) > 50, `image decoded ${w}×${h}`);
      const cells = await page.$$eval('table.cm td', (els) => els.length);
      assert.equal(cells, 100);
      const shot = join(dir, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 20_000);
      if (process.env.TATAMI_DOCS_IMAGES)
        await page.screenshot({ path: join(process.env.TATAMI_DOCS_IMAGES, 'report.png'), fullPage: false });
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
