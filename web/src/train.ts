/** Section 5: training in a Web Worker, with live curves, images per second and pause/resume. */
import * as tt from 'tatami';
import { setPageWeights } from './cnn.js';
import type { FromWorker, Progress, ToWorker } from './protocol.js';
import { byId, intValue } from './util.js';

interface Point {
  x: number;
  loss: number;
  acc: number;
}

let worker: Worker | null = null;
let paused = false;
const points: Point[] = [];
const evals: { x: number; acc: number }[] = [];
let weights: Record<string, tt.Tensor> | null = null;
/** Everything the worker reported, for the tests and the benchmark (window.playground.train). */
export const trainLog: FromWorker[] = [];

function chart(stepsPerEpoch: number): void {
  const c = byId<HTMLCanvasElement>('train-chart');
  const ctx = c.getContext('2d')!;
  const { width: W, height: H } = c;
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, W, H);
  const pad = 30;
  const maxX = Math.max(stepsPerEpoch, points.at(-1)?.x ?? 1);
  const maxLoss = Math.max(2.5, ...points.map((p) => p.loss));
  const px = (x: number) => pad + ((W - 2 * pad) * x) / maxX;
  const py = (v: number) => H - pad - (H - 2 * pad) * v;
  ctx.strokeStyle = '#ccc';
  ctx.strokeRect(pad, pad, W - 2 * pad, H - 2 * pad);
  ctx.fillStyle = '#333';
  ctx.font = '12px system-ui';
  ctx.fillText('steps →', W - pad - 40, H - 8);
  ctx.fillText(
    `loss (blue, 0…${maxLoss.toFixed(1)}) · batch accuracy (orange) · test accuracy (green dots), 0…1`,
    pad,
    18,
  );
  const line = (color: string, f: (p: Point) => number) => {
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    points.forEach((p, i) => (i ? ctx.lineTo(px(p.x), py(f(p))) : ctx.moveTo(px(p.x), py(f(p)))));
    ctx.stroke();
  };
  line('#0b6bcb', (p) => p.loss / maxLoss);
  line('#e07b00', (p) => p.acc);
  ctx.fillStyle = '#1a8f3a';
  for (const e of evals) {
    ctx.beginPath();
    ctx.arc(px(e.x), py(e.acc), 4, 0, 2 * Math.PI);
    ctx.fill();
  }
}

/** Starts training; resolves when the worker is done (also used by the tests through window.playground). */
export function startTraining(
  opts: { epochs?: number; batchSize?: number; lr?: number; maxSteps?: number; seed?: number } = {},
): Promise<FromWorker & { type: 'done' }> {
  worker?.terminate();
  points.length = 0;
  evals.length = 0;
  trainLog.length = 0;
  paused = false;
  const status = byId('train-status');
  const pauseBtn = byId<HTMLButtonElement>('train-pause');
  const epochs = opts.epochs ?? intValue('train-epochs', 1, 20);
  const batchSize = opts.batchSize ?? intValue('train-batch', 8, 256);
  const lr = opts.lr ?? (Number(byId<HTMLInputElement>('train-lr').value) || 1e-3);
  worker = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module' });
  status.textContent = 'loading the data…';
  pauseBtn.disabled = false;
  pauseBtn.textContent = 'Pause';
  pauseBtn.setAttribute('aria-pressed', 'false');
  let info = '';
  let spe = 1;
  return new Promise((ok, fail) => {
    worker!.onerror = (e) => {
      status.textContent = `⚠ worker failed: ${e.message}`;
      fail(new Error(e.message));
    };
    worker!.onmessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      trainLog.push(m.type === 'done' ? { ...m, weights: {} } : m);
      if (m.type === 'ready') {
        info = `${m.backend} backend, ${m.threads} thread${m.threads === 1 ? '' : 's'}${m.isolated ? '' : ' (page not cross-origin isolated)'}`;
      } else if (m.type === 'progress') {
        spe = m.stepsPerEpoch;
        points.push({ x: m.step, loss: m.loss, acc: m.acc });
        status.textContent = `${paused ? 'paused · ' : ''}epoch ${m.epoch + 1}, step ${m.step} · loss ${m.loss.toFixed(3)} · batch accuracy ${(100 * m.acc).toFixed(1)}% · ${m.imagesPerSecond.toFixed(0)} images/s · ${info}`;
        chart(spe);
      } else if (m.type === 'eval') {
        evals.push({ x: m.step, acc: m.testAccuracy });
        chart(spe);
      } else if (m.type === 'done') {
        weights = Object.fromEntries(Object.entries(m.weights).map(([k, v]) => [k, tt.tensor(v.data, v.shape)]));
        status.textContent = `done: ${m.steps} steps in ${m.seconds.toFixed(1)} s · test accuracy ${(100 * m.testAccuracy).toFixed(1)}% (1,000 held-out images) · ${info}`;
        status.dataset.testAccuracy = String(m.testAccuracy);
        pauseBtn.disabled = true;
        byId<HTMLButtonElement>('train-use').disabled = false;
        ok(m as FromWorker & { type: 'done' });
      } else if (m.type === 'error') {
        status.textContent = `⚠ ${m.message}`;
        fail(new Error(m.message));
      }
    };
    const start: ToWorker = {
      type: 'start',
      epochs,
      batchSize,
      lr,
      maxSteps: opts.maxSteps ?? 0,
      seed: opts.seed ?? 0,
      dataUrl: new URL('../data/fashion-mnist/', document.baseURI).href,
    };
    worker!.postMessage(start);
  });
}

export type { Progress };

export function initTrain(): void {
  byId('train-start').addEventListener('click', () => {
    startTraining().catch(() => undefined);
  });
  const pauseBtn = byId<HTMLButtonElement>('train-pause');
  pauseBtn.addEventListener('click', () => {
    if (!worker) return;
    paused = !paused;
    worker.postMessage({ type: paused ? 'pause' : 'resume' } satisfies ToWorker);
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    pauseBtn.setAttribute('aria-pressed', String(paused));
    if (paused) byId('train-status').textContent = `paused · ${byId('train-status').textContent}`;
  });
  byId('train-use').addEventListener('click', () => {
    if (!weights) return;
    setPageWeights(weights);
    byId('cnn').scrollIntoView({ behavior: 'smooth' });
  });
}
