/**
 * The training report: ONE self-contained HTML file (no scripts, no external resources) with loss/accuracy/
 * learning-rate curves as inline SVG, the confusion matrix, per-class precision/recall/F1, a grid of
 * misclassified test images and Grad-CAM for a few test images (inline PNG data URLs).
 */
import { writeFileAtomicSync } from '../io/fs.js';
import { Tensor } from '../tensor/tensor.js';
import type { AnyModule } from '../nn/module.js';
import { noGrad } from '../autograd/grad-mode.js';
import { ConfusionMatrix } from '../train/metrics.js';
import { encodeImage, makeGrid } from '../io/image.js';
import { overlayHeatmap, toRgbFloat, upscaleNearest } from './colormap.js';
import { gradCam } from './gradcam.js';
import type { EpochRecord } from '../train/fit.js';
import { argmaxRows, callModel } from './model-util.js';

/** One epoch of training history: the records fit() returns and writes to history.jsonl. */
export type HistoryRecord = EpochRecord;

/** Inputs of writeReport. */
export interface ReportOptions {
  history: readonly HistoryRecord[];
  /** The trained classifier (evaluated in eval mode; its mode is restored afterwards). */
  model: AnyModule;
  /** Test batches [images, labels] (a DataLoader or any iterable). */
  testLoader: Iterable<readonly [Tensor, Tensor]>;
  /** Class names, index = label. */
  classes: readonly string[];
  title?: string;
  /** Maps a model input [C, H, W] to a displayable image in [0, 1] (default: min–max scaling of the input). */
  toDisplay?: (x: Tensor) => Tensor;
  /** Misclassified images shown (default 32). */
  maxMisclassified?: number;
  /** Images shown with Grad-CAM (default 8; 0 to skip). */
  gradcamImages?: number;
  /** Grad-CAM layer (default: the last convolution). */
  gradcamLayer?: string;
}

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const fmt = (v: number, d = 4): string => (Number.isFinite(v) ? Number(v.toPrecision(d)).toString() : String(v));

/** A series of a line chart. */
export interface ChartSeries {
  name: string;
  points: readonly (readonly [number, number])[];
  color: string;
}

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) {
    const d = Math.abs(lo) * 0.1 || 1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** An inline SVG line chart (axes, ticks, grid, legend) of one or more series. */
export function lineChartSvg(
  series: readonly ChartSeries[],
  opts: { title: string; xLabel: string; yLabel?: string; width?: number; height?: number; logY?: boolean },
): string {
  const W = opts.width ?? 420,
    H = opts.height ?? 260;
  const m = { l: 56, r: 12, t: 28, b: 40 };
  const pts = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!opts.logY || y > 0));
  if (pts.length === 0)
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img"><title>${esc(opts.title)}</title><text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text></svg>`;
  const ty = (y: number): number => (opts.logY ? Math.log10(y) : y);
  // Bounds by a loop, not Math.min(...pts): a long run's curve has more points than a call may take arguments.
  let x0 = Infinity,
    x1 = -Infinity,
    y0 = Infinity,
    y1 = -Infinity;
  for (const [px, py] of pts) {
    const v = ty(py);
    x0 = Math.min(x0, px);
    x1 = Math.max(x1, px);
    y0 = Math.min(y0, v);
    y1 = Math.max(y1, v);
  }
  if (x1 === x0) {
    x0 -= 1;
    x1 += 1;
  }
  if (y1 === y0) {
    const d = Math.abs(y0) * 0.1 || 1;
    y0 -= d;
    y1 += d;
  }
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const sx = (x: number): number => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number): number => H - m.b - ((ty(y) - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" class="chart"><title>${esc(opts.title)}</title>`,
  ];
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(
    `<text x="${W / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${esc(opts.title)}</text>`,
  );
  for (const t of niceTicks(x0, x1)) {
    if (t < x0 || t > x1) continue;
    parts.push(
      `<line x1="${sx(t)}" x2="${sx(t)}" y1="${m.t}" y2="${H - m.b}" stroke="#eee"/><text x="${sx(t)}" y="${H - m.b + 14}" text-anchor="middle" font-size="10">${fmt(t)}</text>`,
    );
  }
  for (const tv of niceTicks(y0, y1)) {
    if (tv < y0 || tv > y1) continue;
    const yv = opts.logY ? 10 ** tv : tv;
    parts.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${sy(yv)}" y2="${sy(yv)}" stroke="#eee"/><text x="${m.l - 4}" y="${sy(yv) + 3}" text-anchor="end" font-size="10">${fmt(yv, 3)}</text>`,
    );
  }
  parts.push(
    `<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`,
  );
  parts.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 6}" text-anchor="middle" font-size="11">${esc(opts.xLabel)}</text>`,
  );
  if (opts.yLabel)
    parts.push(
      `<text transform="translate(12 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle" font-size="11">${esc(opts.yLabel)}</text>`,
    );
  series.forEach((s, i) => {
    const p = s.points.filter(([, y]) => Number.isFinite(y) && (!opts.logY || y > 0));
    if (p.length === 0) return;
    parts.push(
      `<polyline class="series" fill="none" stroke="${s.color}" stroke-width="2" points="${p.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const [x, y] of p)
      parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    parts.push(
      `<rect x="${m.l + 8}" y="${m.t + 4 + i * 14}" width="10" height="3" fill="${s.color}"/><text x="${m.l + 22}" y="${m.t + 9 + i * 14}" font-size="10">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/**
 * Base64 of bytes with `btoa`, which Node (16+) and browsers both have — not Node's Buffer, so the report renders
 * in a page too. Chunked: `String.fromCharCode(...bytes)` over a whole image would overflow the argument stack.
 */
function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** A PNG data URL of an image tensor (Node and browser). */
export function pngDataUrl(image: Tensor): string {
  return `data:image/png;base64,${base64(encodeImage(image, 'png'))}`;
}

function minMaxDisplay(x: Tensor): Tensor {
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

/** Builds the report's HTML (what writeReport writes). */
export function renderReport(opts: ReportOptions): string {
  const { history, model, classes } = opts;
  const K = classes.length;
  const toDisplay = opts.toDisplay ?? minMaxDisplay;
  const wasTraining = model.training;
  model.eval();
  const cm = new ConfusionMatrix(K);
  const wrong: { x: Tensor; y: number; p: number }[] = [];
  const firstImages: Tensor[] = [];
  const maxWrong = opts.maxMisclassified ?? 32;
  const nCam = opts.gradcamImages ?? 8;
  try {
    for (const [xb, yb] of opts.testLoader) {
      const logits = noGrad(() => callModel(model, xb));
      if (logits.shape.length !== 2 || logits.shape[1] !== K)
        throw new Error(`writeReport: the model outputs ${logits.shape.join('×')} but there are ${K} classes`);
      cm.update(logits, yb);
      const preds = argmaxRows(logits);
      const y = yb.dataView();
      for (let i = 0; i < preds.length; i++) {
        if (firstImages.length < nCam) firstImages.push(xb.select(0, i).contiguous());
        if (preds[i] !== y[i] && wrong.length < maxWrong)
          wrong.push({ x: xb.select(0, i).contiguous(), y: y[i], p: preds[i] });
      }
    }
    if (cm.total === 0) throw new Error('writeReport: the test loader yielded no batches');
    const epochs = history.map((h) => h.epoch);
    const series = (key: keyof HistoryRecord): [number, number][] =>
      history.flatMap((h, i) =>
        typeof h[key] === 'number' ? [[epochs[i], h[key] as number] as [number, number]] : [],
      );
    const lossChart = lineChartSvg(
      [
        { name: 'train loss', points: series('trainLoss'), color: '#1f77b4' },
        { name: 'val loss', points: series('valLoss'), color: '#ff7f0e' },
      ],
      { title: 'Loss', xLabel: 'epoch', yLabel: 'loss' },
    );
    const accChart = lineChartSvg(
      [
        { name: 'train accuracy', points: series('trainAccuracy'), color: '#1f77b4' },
        { name: 'val accuracy', points: series('valAccuracy'), color: '#ff7f0e' },
      ],
      { title: 'Accuracy', xLabel: 'epoch', yLabel: 'accuracy' },
    );
    const lrChart = lineChartSvg([{ name: 'learning rate', points: series('lr'), color: '#2ca02c' }], {
      title: 'Learning rate',
      xLabel: 'epoch',
      yLabel: 'lr',
    });

    const counts = cm.toArray();
    const maxCount = counts.flat().reduce((a, b) => (b > a ? b : a), 1);
    const cmRows = counts
      .map(
        (row, i) =>
          `<tr><th>${esc(classes[i])}</th>${row
            .map((v, j) => {
              const a = v / maxCount;
              const bg = i === j ? `rgba(31,119,180,${a.toFixed(3)})` : `rgba(214,39,40,${a.toFixed(3)})`;
              return `<td style="background:${bg};color:${a > 0.55 ? '#fff' : '#000'}">${v}</td>`;
            })
            .join('')}</tr>`,
      )
      .join('\n');
    const cmTable = `<table class="cm"><tr><th>true \\ predicted</th>${classes.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>\n${cmRows}</table>`;
    const pc = cm.perClass();
    const prfRows = pc
      .map(
        (r, i) =>
          `<tr><td>${esc(classes[i])}</td><td>${r.precision.toFixed(3)}</td><td>${r.recall.toFixed(3)}</td><td>${r.f1.toFixed(3)}</td><td>${r.support}</td></tr>`,
      )
      .join('\n');
    const prfTable = `<table class="prf"><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>\n${prfRows}<tr><th>macro</th><td>${(pc.reduce((s, r) => s + r.precision, 0) / K).toFixed(3)}</td><td>${(pc.reduce((s, r) => s + r.recall, 0) / K).toFixed(3)}</td><td>${cm.macroF1().toFixed(3)}</td><td>${cm.total}</td></tr></table>`;

    const scaleFor = (x: Tensor): number => Math.max(1, Math.ceil(84 / Math.max(x.shape[x.shape.length - 1], 1)));
    let wrongHtml = '<p>No misclassified test images.</p>';
    if (wrong.length > 0) {
      const tiles = wrong.map((w) => upscaleNearest(toRgbFloat(toDisplay(w.x)), scaleFor(w.x)));
      const grid = makeGrid(tiles, { nrow: 8, padding: 2, padValue: 1 });
      const captions = wrong.map((w, i) => `${i + 1}: ${esc(classes[w.y])} → ${esc(classes[w.p])}`).join('; ');
      wrongHtml = `<img class="grid" alt="misclassified test images" src="${pngDataUrl(grid)}"><p class="small">Row-major, true → predicted: ${captions}</p>`;
    }
    let camHtml = '';
    if (nCam > 0 && firstImages.length > 0) {
      const batch = new Tensor(
        Float32Array.from(firstImages.flatMap((t) => Array.from(t.dataView() as ArrayLike<number>))),
        [firstImages.length, ...firstImages[0].shape],
        'float32',
      );
      const res = gradCam(model, batch, { layer: opts.gradcamLayer });
      const [, h, w] = res.cams.shape;
      const tiles = firstImages
        .map((x, i) => {
          const disp = upscaleNearest(toRgbFloat(toDisplay(x)), scaleFor(x));
          const cam = new Tensor(res.cams.dataView().slice(i * h * w, (i + 1) * h * w), [h, w], 'float32');
          return [disp, overlayHeatmap(disp, cam, { alpha: 0.45, cmap: 'jet', vmin: 0, vmax: 1 })];
        })
        .flat();
      const labels = firstImages.flatMap((_, i) => [
        classes[res.predictions[i]] ?? String(res.predictions[i]),
        'Grad-CAM',
      ]);
      const grid = makeGrid(tiles, { nrow: 8, padding: 2, padValue: 1, labels });
      camHtml = `<h2>Grad-CAM (layer ${esc(res.layer)})</h2><img class="grid" alt="Grad-CAM of test images" src="${pngDataUrl(grid)}"><p class="small">Each image (caption: predicted class) followed by the Grad-CAM of its predicted class.</p>`;
    }
    const last = history[history.length - 1];
    const rows = history
      .map(
        (h) =>
          `<tr><td>${h.epoch}</td><td>${fmt(h.lr)}</td><td>${fmt(h.trainLoss)}</td><td>${fmt(h.trainAccuracy)}</td><td>${h.valLoss === undefined ? '' : fmt(h.valLoss)}</td><td>${h.valAccuracy === undefined ? '' : fmt(h.valAccuracy)}</td><td>${fmt(h.seconds, 3)}</td><td>${fmt(h.imagesPerSecond, 4)}</td></tr>`,
      )
      .join('\n');
    const title = opts.title ?? 'Training report';
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}h1{font-size:22px}h2{font-size:17px;margin-top:28px}
.charts{display:flex;flex-wrap:wrap;gap:12px}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
.cm td{min-width:34px;text-align:center}.small{font-size:12px;color:#555}img.grid{image-rendering:pixelated;max-width:100%}</style></head>
<body><h1>${esc(title)}</h1>
<p>Test accuracy <b>${(cm.accuracy() * 100).toFixed(2)}%</b> on ${cm.total} images, macro F1 ${cm.macroF1().toFixed(3)}${last ? `, after ${history.length} epoch(s); last epoch train loss ${fmt(last.trainLoss)}` : ''}.</p>
<h2>Curves</h2><div class="charts">${lossChart}${accChart}${lrChart}</div>
<h2>History</h2><table><tr><th>epoch</th><th>lr</th><th>train loss</th><th>train acc</th><th>val loss</th><th>val acc</th><th>seconds</th><th>images/s</th></tr>
${rows}</table>
<h2>Confusion matrix</h2>${cmTable}
<h2>Per-class metrics</h2>${prfTable}
<h2>Misclassified test images</h2>${wrongHtml}
${camHtml}
</body></html>
`;
  } finally {
    model.train(wasTraining);
  }
}

/**
 * Writes the training report as one self-contained HTML file:
 * `writeReport('report.html', { history, model, testLoader, classes })`. Returns the HTML.
 */
export function writeReport(path: string, opts: ReportOptions): string {
  const html = renderReport(opts);
  writeFileAtomicSync(path, html);
  return html;
}
