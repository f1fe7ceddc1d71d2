/**
 * The segmentation training report: one self-contained HTML file like `writeReport`'s (inline SVG curves, inline
 * PNG data URLs, no scripts) with loss / mIoU / learning-rate curves, per-class IoU and Dice on the evaluation
 * set, and image | ground truth | prediction rows — the picture a segmentation paper shows.
 */
import { writeFileAtomicSync } from '../io/atomic.js';
import { makeGrid } from '../io/image.js';
import { vocPalette } from '../io/indexed-png.js';
import { noGrad } from '../autograd/grad-mode.js';
import type { AnyModule } from '../nn/module.js';
import { Tensor } from '../tensor/tensor.js';
import { SegmentationConfusionMatrix } from '../train/seg-metrics.js';
import { toRgbFloat, upscaleNearest } from './colormap.js';
import { lineChartSvg, pngDataUrl, type HistoryRecord } from './report.js';

/** Inputs of `writeSegmentationReport`. */
export interface SegmentationReportOptions {
  history: readonly HistoryRecord[];
  /** The trained model: a Tensor `[N, K, H, W]` or a `{ out }` dict (evaluated in eval mode, mode restored). */
  model: AnyModule;
  /** Evaluation batches `[images [N, C, H, W], masks [N, H, W]]`. */
  loader: Iterable<readonly [Tensor, Tensor]>;
  /** Class names by mask value. */
  classNames: readonly string[];
  /** Mask value left out of the metrics and drawn white (default 255). */
  ignoreIndex?: number;
  title?: string;
  /** Maps a model input `[C, H, W]` to a displayable image in [0, 1] (default: min–max scaling). */
  toDisplay?: (x: Tensor) => Tensor;
  /** Image | truth | prediction rows shown (default 6). */
  rows?: number;
}

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function minMax(x: Tensor): Tensor {
  const d = x.dataView();
  let lo = Infinity,
    hi = -Infinity;
  for (let i = 0; i < d.length; i++) {
    if (d[i] < lo) lo = d[i];
    if (d[i] > hi) hi = d[i];
  }
  const out = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = hi > lo ? (d[i] - lo) / (hi - lo) : 0;
  return new Tensor(out, x.shape, 'float32');
}

/** `[H, W]` labels → `[3, H, W]` VOC palette colours in [0, 1]; `ignoreIndex` is white. */
export function colourizeMask(labels: ArrayLike<number>, h: number, w: number, ignoreIndex = 255): Tensor {
  const pal = vocPalette();
  const out = new Float32Array(3 * h * w);
  for (let p = 0; p < h * w; p++) {
    const l = labels[p];
    for (let c = 0; c < 3; c++) out[c * h * w + p] = l === ignoreIndex ? 1 : pal[3 * (l % 256) + c] / 255;
  }
  return new Tensor(out, [3, h, w], 'float32');
}

/** Builds the report's HTML (what `writeSegmentationReport` writes). */
export function renderSegmentationReport(opts: SegmentationReportOptions): string {
  const { history, model, classNames } = opts;
  const K = classNames.length,
    ignoreIndex = opts.ignoreIndex ?? 255,
    nRows = opts.rows ?? 6;
  const toDisplay = opts.toDisplay ?? minMax;
  const wasTraining = model.training;
  model.eval();
  try {
    const cm = new SegmentationConfusionMatrix(K, { ignoreIndex });
    const tiles: Tensor[] = [];
    for (const [xb, yb] of opts.loader) {
      const raw = noGrad(() => (model as { forward(x: Tensor): unknown }).forward(xb));
      const logits = raw instanceof Tensor ? raw : (raw as { out: Tensor }).out;
      if (!(logits instanceof Tensor) || logits.shape.length !== 4 || logits.shape[1] !== K) {
        throw new Error(
          `writeSegmentationReport: expected [N, ${K}, H, W] logits (or { out }), got ${logits instanceof Tensor ? `[${logits.shape.join(', ')}]` : typeof raw}`,
        );
      }
      cm.update(logits, yb);
      const [n, , h, w] = logits.shape;
      // Per-pixel argmax of the batch, computed once for the rows drawn.
      const ld = logits.contiguous().dataView(),
        yd = yb.dataView();
      for (let i = 0; i < n && tiles.length < 3 * nRows; i++) {
        const pred = new Int32Array(h * w);
        for (let p = 0; p < h * w; p++) {
          let best = 0,
            bv = -Infinity;
          for (let k = 0; k < K; k++) {
            const v = ld[(i * K + k) * h * w + p];
            if (v > bv) {
              bv = v;
              best = k;
            }
          }
          pred[p] = best;
        }
        const s = Math.max(1, Math.ceil(96 / w));
        tiles.push(
          upscaleNearest(toRgbFloat(toDisplay(xb.select(0, i).contiguous())), s),
          upscaleNearest(
            colourizeMask(Array.prototype.slice.call(yd, i * h * w, (i + 1) * h * w) as number[], h, w, ignoreIndex),
            s,
          ),
          upscaleNearest(colourizeMask(pred, h, w, ignoreIndex), s),
        );
      }
    }
    if (cm.total === 0) throw new Error('writeSegmentationReport: the loader yielded no labelled pixels');
    const epochs = history.map((h) => h.epoch);
    const series = (key: string): [number, number][] =>
      history.flatMap((h, i) => {
        const v = (h as unknown as Record<string, unknown>)[key];
        return typeof v === 'number' ? [[epochs[i], v] as [number, number]] : [];
      });
    const charts = [
      lineChartSvg(
        [
          { name: 'train loss', points: series('trainLoss'), color: '#1f77b4' },
          { name: 'val loss', points: series('valLoss'), color: '#ff7f0e' },
        ],
        { title: 'Loss', xLabel: 'epoch', yLabel: 'loss' },
      ),
      lineChartSvg(
        [
          { name: 'train mIoU', points: series('trainMIoU'), color: '#1f77b4' },
          { name: 'val mIoU', points: series('valMIoU'), color: '#ff7f0e' },
        ],
        { title: 'Mean IoU', xLabel: 'epoch', yLabel: 'mIoU' },
      ),
      lineChartSvg([{ name: 'learning rate', points: series('lr'), color: '#2ca02c' }], {
        title: 'Learning rate',
        xLabel: 'epoch',
        yLabel: 'lr',
      }),
    ].join('');
    const iou = cm.iou(),
      dice = cm.dice();
    const f = (v: number) => (Number.isNaN(v) ? '–' : v.toFixed(3));
    const classRows = classNames
      .map((c, i) => `<tr><td>${esc(c)}</td><td>${f(iou[i])}</td><td>${f(dice[i])}</td></tr>`)
      .join('\n');
    const grid = makeGrid(tiles, {
      nrow: 3,
      padding: 2,
      padValue: 1,
      labels: tiles.map((_, i) => ['image', 'truth', 'prediction'][i % 3]),
    });
    const title = opts.title ?? 'Segmentation report';
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}h1{font-size:22px}h2{font-size:17px;margin-top:28px}
.charts{display:flex;flex-wrap:wrap;gap:12px}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
img.grid{image-rendering:pixelated;max-width:100%}</style></head>
<body><h1>${esc(title)}</h1>
<p>Mean IoU <b>${cm.meanIoU().toFixed(4)}</b>, pixel accuracy ${cm.pixelAccuracy().toFixed(4)}, frequency-weighted IoU ${cm.frequencyWeightedIoU().toFixed(4)} on ${cm.total} labelled pixels${history.length ? `, after ${history.length} epoch(s)` : ''}.</p>
<h2>Curves</h2><div class="charts">${charts}</div>
<h2>Per-class IoU</h2><table class="iou"><tr><th>class</th><th>IoU</th><th>Dice</th></tr>
${classRows}</table>
<h2>Image | ground truth | prediction</h2><img class="grid" alt="image, ground truth and prediction rows" src="${pngDataUrl(grid)}">
</body></html>
`;
  } finally {
    model.train(wasTraining);
  }
}

/** Writes the segmentation report as one self-contained HTML file; returns the HTML. */
export function writeSegmentationReport(path: string, opts: SegmentationReportOptions): string {
  const html = renderSegmentationReport(opts);
  writeFileAtomicSync(path, html);
  return html;
}
