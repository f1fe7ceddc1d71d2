/**
 * Section 1: convolution on a photo or an uploaded image — the kernel editor, stride/padding/dilation, border
 * modes, per-channel or grayscale, then pooling; everything computed with tt.F.conv2d and tt.F.maxPool2d/avgPool2d.
 */
import * as tt from 'tatami';
import { PRESETS, presetWeights } from './kernels.js';
import { byId, canvasToTensor, drawTensor, el, intValue, loadImage, toGray, type DisplayMode } from './util.js';

/** The convolution's settings as read from the controls. */
export interface ConvParams {
  k: 3 | 5;
  /** k×k weights, row-major, already multiplied by the scale. */
  weights: number[];
  stride: number;
  padding: number;
  mode: 'zeros' | 'replicate' | 'reflect' | 'circular';
  dilation: number;
  color: 'rgb' | 'gray';
  display: DisplayMode;
  pool: 'none' | 'max' | 'avg';
  poolSize: number;
  poolStride: number;
}

/** What the other sections read: the current input [C, H, W] (0…255), the parameters and the output. */
export interface ConvState {
  params: ConvParams;
  input: tt.Tensor | null;
  output: tt.Tensor | null;
  error: string | null;
}

export const state: ConvState = { params: readParams(), input: null, output: null, error: null };
const listeners: (() => void)[] = [];

/** Calls `fn` after every recomputation. */
export function onConvChange(fn: () => void): void {
  listeners.push(fn);
}

function readParams(): ConvParams {
  const k = Number(byId<HTMLSelectElement>('ksize').value) === 5 ? 5 : 3;
  const scale = Number(byId<HTMLInputElement>('kscale').value);
  const inputs = [...byId('kernel-grid').querySelectorAll('input')];
  const weights = inputs.map((i) => (Number(i.value) || 0) * (Number.isFinite(scale) ? scale : 1));
  return {
    k,
    weights,
    stride: intValue('stride', 1, 8),
    padding: intValue('padding', 0, 8),
    dilation: intValue('dilation', 1, 6),
    mode: byId<HTMLSelectElement>('pad-mode').value as ConvParams['mode'],
    color: byId<HTMLSelectElement>('color-mode').value as ConvParams['color'],
    display: byId<HTMLSelectElement>('display').value as DisplayMode,
    pool: byId<HTMLSelectElement>('pool').value as ConvParams['pool'],
    poolSize: intValue('pool-size', 1, 8),
    poolStride: intValue('pool-stride', 1, 8),
  };
}

/** Rebuilds the kernel grid's inputs for size k with the given weights. */
function setKernel(k: 3 | 5, weights: number[]): void {
  const grid = byId('kernel-grid');
  grid.replaceChildren();
  grid.style.gridTemplateColumns = `repeat(${k}, auto)`;
  weights.forEach((w, i) => {
    const input = el('input', {
      type: 'number',
      step: 'any',
      'aria-label': `weight row ${Math.floor(i / k) + 1} column ${(i % k) + 1}`,
    });
    input.value = String(Math.round(w * 1e4) / 1e4);
    grid.append(input);
  });
}

/** Convolution weights [C, 1, k, k] (the same kernel on every channel, groups = C: a depthwise convolution). */
export function weightTensor(p: ConvParams, channels: number): tt.Tensor {
  const w = new Float32Array(channels * p.k * p.k);
  for (let c = 0; c < channels; c++) w.set(p.weights, c * p.k * p.k);
  return tt.tensor(w, [channels, 1, p.k, p.k]);
}

/** conv2d of a [C, H, W] input with the current parameters → [C, oh, ow]. */
export function convolve(input: tt.Tensor, p: ConvParams): tt.Tensor {
  const C = input.shape[0];
  return tt.F.conv2d(input.unsqueeze(0), weightTensor(p, C), null, {
    stride: p.stride,
    padding: p.padding,
    dilation: p.dilation,
    groups: C,
    paddingMode: p.mode,
  }).squeeze(0);
}

/** Output size of one dimension, PyTorch's formula. */
export function outSize(n: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
}

let photo: HTMLImageElement | null = null;

/** Draws the photo at the chosen width into the input canvas and reads it back as the input tensor. */
function refreshInput(): void {
  if (!photo) return;
  const canvas = byId<HTMLCanvasElement>('input-canvas');
  const W = intValue('image-width', 16, 512);
  const H = Math.max(1, Math.round((photo.naturalHeight * W) / photo.naturalWidth));
  canvas.width = W;
  canvas.height = H;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(photo, 0, 0, W, H);
  const rgb = canvasToTensor(canvas);
  state.input = state.params.color === 'gray' ? toGray(rgb) : rgb;
  byId('input-caption').textContent = `input ${state.input.shape.join('×')} (C×H×W)`;
}

/** Recomputes convolution and pooling and redraws. */
export function recompute(): void {
  state.params = readParams();
  refreshInput();
  const p = state.params;
  const x = state.input;
  if (!x) return;
  const [, H, W] = x.shape;
  const formula = byId('formula');
  const size = (n: number) =>
    `⌊(${n} + 2·${p.padding} − ${p.dilation}·(${p.k} − 1) − 1) / ${p.stride}⌋ + 1 = ${outSize(n, p.k, p.stride, p.padding, p.dilation)}`;
  try {
    const t0 = performance.now();
    const y = convolve(x, p);
    state.output = y;
    state.error = null;
    drawTensor(byId<HTMLCanvasElement>('conv-canvas'), y, p.display);
    byId('conv-caption').textContent = `conv2d → ${y.shape.join('×')} in ${(performance.now() - t0).toFixed(1)} ms`;
    const pc = byId<HTMLCanvasElement>('pool-canvas');
    if (p.pool === 'none') {
      pc.hidden = true;
      byId('pool-caption').textContent = 'no pooling';
    } else {
      const y4 = y.unsqueeze(0);
      const z = (
        p.pool === 'max'
          ? tt.F.maxPool2d(y4, p.poolSize, { stride: p.poolStride })
          : tt.F.avgPool2d(y4, p.poolSize, { stride: p.poolStride })
      ).squeeze(0);
      pc.hidden = false;
      drawTensor(pc, z, p.display);
      byId('pool-caption').textContent =
        `${p.pool} pool ${p.poolSize}×${p.poolSize}, stride ${p.poolStride} → ${z.shape.join('×')}`;
    }
    formula.removeAttribute('role');
    formula.textContent = `Output height = ${size(H)}; width = ${size(W)}.  (Like PyTorch, conv2d is a cross-correlation: the kernel is not flipped.)`;
  } catch (err) {
    state.output = null;
    state.error = err instanceof Error ? err.message : String(err);
    formula.setAttribute('role', 'alert');
    formula.textContent = `⚠ ${state.error}`;
  }
  for (const fn of listeners) fn();
}

/** Wires the controls; resolves once the first photo is loaded and convolved. */
export async function initConv(): Promise<void> {
  const preset = byId<HTMLSelectElement>('preset');
  for (const [i, p] of PRESETS.entries()) preset.append(el('option', { value: String(i) }, p.name));
  preset.value = '5'; // Sobel x: an edge detector shows what a kernel does better than the identity
  const applyPreset = () => {
    const k = Number(byId<HTMLSelectElement>('ksize').value) === 5 ? 5 : 3;
    byId<HTMLInputElement>('kscale').value = '1';
    setKernel(k, presetWeights(PRESETS[Number(preset.value)], k));
  };
  applyPreset();
  byId<HTMLSelectElement>('display').value = 'abs';
  preset.addEventListener('change', () => {
    applyPreset();
    recompute();
  });
  byId('ksize').addEventListener('change', () => {
    applyPreset();
    recompute();
  });
  byId('conv-form').addEventListener('input', (e) => {
    const id = (e.target as HTMLElement).id;
    if (id === 'preset' || id === 'ksize' || id === 'image-file' || id === 'image-select') return;
    recompute();
  });
  const select = byId<HTMLSelectElement>('image-select');
  select.addEventListener('change', async () => {
    photo = await loadImage(select.value);
    recompute();
  });
  byId<HTMLInputElement>('image-file').addEventListener('change', async (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    const url = URL.createObjectURL(file);
    try {
      photo = await loadImage(url);
    } finally {
      URL.revokeObjectURL(url);
    }
    recompute();
  });
  photo = await loadImage(select.value);
  recompute();
}
