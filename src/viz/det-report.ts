/**
 * The detection training report: one self-contained HTML file like `writeReport`'s (inline SVG curves, inline PNG
 * data URLs, no scripts) with the loss and each of its terms, COCO AP / AP50 per epoch and the learning rate, the
 * twelve-number COCO table on the evaluation set, and ground truth | prediction rows with boxes, labels, scores
 * and masks drawn.
 */
import { writeFileAtomicSync } from '../io/atomic.js';
import { makeGrid } from '../io/image.js';
import { noGrad } from '../autograd/grad-mode.js';
import type { Tensor } from '../tensor/tensor.js';
import { MeanAveragePrecision, DETECTION_METRIC_NAMES } from '../train/det-metric.js';
import { formatCocoStats } from '../train/coco-eval.js';
import { upscaleNearest } from './colormap.js';
import { drawDetections, type DrawableDetections } from './det-draw.js';
import { lineChartSvg, pngDataUrl, type HistoryRecord } from './report.js';

/** A detector: `forward(images)` in eval mode gives detections per image. */
export interface ReportDetector {
  forward(images: readonly Tensor[]): unknown;
  training: boolean;
  eval(): unknown;
  train(mode?: boolean): unknown;
}

/** Inputs of `writeDetectionReport`. */
export interface DetectionReportOptions {
  history: readonly HistoryRecord[];
  model: ReportDetector;
  /** Evaluation batches `{ images, targets }` (data.detectionListCollate); targets use `masks` or `mask`. */
  loader: Iterable<{ images: readonly Tensor[]; targets: readonly DrawableDetections[] }>;
  /** Names by label value (index 0 = background). */
  classNames: readonly string[];
  title?: string;
  /** Ground truth | prediction pairs shown (default 6). */
  rows?: number;
  /** Predictions drawn above this score (default 0.5). */
  scoreThreshold?: number;
}

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2'];

/** Builds the report's HTML (what `writeDetectionReport` writes). */
export function renderDetectionReport(opts: DetectionReportOptions): string {
  const { history, model, classNames } = opts;
  const nRows = opts.rows ?? 6;
  const wasTraining = model.training;
  model.eval();
  try {
    const metric = new MeanAveragePrecision({ report: DETECTION_METRIC_NAMES });
    const tiles: Tensor[] = [];
    const captions: string[] = [];
    let images = 0;
    for (const batch of opts.loader) {
      const targets = batch.targets.map((t) => {
        const masks = t.masks ?? (t as { mask?: Tensor }).mask;
        return masks ? { boxes: t.boxes, labels: t.labels, masks } : { boxes: t.boxes, labels: t.labels };
      });
      const dets = noGrad(() => model.forward(batch.images)) as DrawableDetections[];
      metric.update(dets, targets);
      images += batch.images.length;
      for (let i = 0; i < batch.images.length && tiles.length < 2 * nRows; i++) {
        const im = batch.images[i];
        const s = Math.max(1, Math.ceil(160 / im.shape[2]));
        // Masks are drawn at the image's size, so upscale after drawing; captions stay 5×7 per upscaled pixel.
        const draw = (d: DrawableDetections, thr: number) =>
          upscaleNearest(drawDetections(im, d, { classNames, scoreThreshold: thr }), s);
        tiles.push(draw(targets[i], 0), draw(dets[i], opts.scoreThreshold ?? 0.5));
        captions.push('ground truth', 'prediction');
      }
    }
    if (images === 0) throw new Error('writeDetectionReport: the loader yielded no images');
    metric.compute();
    const stats = metric.stats!;
    const epochs = history.map((h) => h.epoch);
    const series = (key: string): [number, number][] =>
      history.flatMap((h, i) => {
        const v = (h as unknown as Record<string, unknown>)[key];
        return typeof v === 'number' ? [[epochs[i], v] as [number, number]] : [];
      });
    const lossKeys = [
      'trainLoss',
      ...new Set(history.flatMap((h) => Object.keys(h).filter((k) => /^trainLoss./.test(k)))),
    ];
    const apKeys = [...new Set(history.flatMap((h) => Object.keys(h).filter((k) => /^(val|train)A[PR]/.test(k))))];
    const charts = [
      lineChartSvg(
        lossKeys.map((k, i) => ({ name: k, points: series(k), color: COLOURS[i % COLOURS.length] })),
        { title: 'Loss and its terms', xLabel: 'epoch', yLabel: 'loss' },
      ),
      apKeys.length
        ? lineChartSvg(
            apKeys.map((k, i) => ({ name: k, points: series(k), color: COLOURS[i % COLOURS.length] })),
            { title: 'COCO AP', xLabel: 'epoch', yLabel: 'AP' },
          )
        : '',
      lineChartSvg([{ name: 'learning rate', points: series('lr'), color: '#2ca02c' }], {
        title: 'Learning rate',
        xLabel: 'epoch',
        yLabel: 'lr',
      }),
    ].join('');
    const grid = makeGrid(tiles, { nrow: 2, padding: 2, padValue: 1, labels: captions });
    const title = opts.title ?? 'Detection report';
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}h1{font-size:22px}h2{font-size:17px;margin-top:28px}
.charts{display:flex;flex-wrap:wrap;gap:12px}pre{font-size:12px;background:#f6f6f6;padding:8px}
img.grid{image-rendering:pixelated;max-width:100%}</style></head>
<body><h1>${esc(title)}</h1>
<p>COCO AP <b>${stats.ap.toFixed(4)}</b>, AP50 <b>${stats.ap50.toFixed(4)}</b>, AP75 ${stats.ap75.toFixed(4)} on ${images} images${history.length ? `, after ${history.length} epoch(s)` : ''}.</p>
<h2>Curves</h2><div class="charts">${charts}</div>
<h2>COCO evaluation</h2><pre class="coco">${esc(formatCocoStats(stats))}</pre>
<h2>Ground truth | prediction</h2><img class="grid" alt="ground truth and predicted boxes" src="${pngDataUrl(grid)}">
</body></html>
`;
  } finally {
    model.train(wasTraining);
  }
}

/** Writes the detection report as one self-contained HTML file; returns the HTML. */
export function writeDetectionReport(path: string, opts: DetectionReportOptions): string {
  const html = renderDetectionReport(opts);
  writeFileAtomicSync(path, html);
  return html;
}
