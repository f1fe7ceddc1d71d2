/**
 * Section 2: one output pixel of the convolution, step by step — its input window (through the padding, with
 * the dilation's gaps), the kernel, the element-wise products and their sum, checked against conv2d's value.
 */
import * as tt from 'tatami';
import { onConvChange, state } from './conv.js';
import { byId, el, fmt, intValue, matrixTable } from './util.js';

/** The numbers of one step, also exposed on the page (data-* attributes) for the tests. */
export interface StepNumbers {
  window: number[];
  kernel: number[];
  products: number[];
  sum: number;
  conv: number;
}

let timer: ReturnType<typeof setInterval> | null = null;

/** The padded input plane of channel c as [Hp, Wp] values (padding by tt.F.pad with the border mode). */
function paddedPlane(c: number): { data: Float32Array | Float64Array; H: number; W: number } {
  const x = state.input!;
  const ch = Math.min(c, x.shape[0] - 1);
  const plane = x.narrow(0, ch, 1).unsqueeze(0);
  const p = state.params.padding;
  const mode = state.params.mode === 'zeros' ? 'constant' : state.params.mode;
  const padded = p > 0 ? tt.F.pad(plane, [p, p, p, p], { mode }) : plane;
  return { data: padded.contiguous().toTypedArray() as Float32Array, H: padded.shape[2], W: padded.shape[3] };
}

/** Computes the numbers for output pixel (oy, ox) of channel c. */
export function stepNumbers(oy: number, ox: number, c: number): StepNumbers {
  const { k, weights, stride, dilation } = state.params;
  const { data, W } = paddedPlane(c);
  const window: number[] = [];
  const products: number[] = [];
  let sum = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const v = data[(oy * stride + i * dilation) * W + ox * stride + j * dilation];
      window.push(v);
      const prod = v * weights[i * k + j];
      products.push(prod);
      sum += prod;
    }
  }
  const y = state.output!;
  const ch = Math.min(c, y.shape[0] - 1);
  const conv = y.contiguous().toTypedArray()[(ch * y.shape[1] + oy) * y.shape[2] + ox];
  return { window, kernel: [...weights], products, sum, conv };
}

function rows(v: number[], k: number): number[][] {
  return Array.from({ length: k }, (_, r) => v.slice(r * k, r * k + k));
}

/** Redraws the step view for the pixel in the row/column inputs. */
function render(): void {
  const tables = byId('step-tables');
  const canvas = byId<HTMLCanvasElement>('step-canvas');
  if (!state.input || !state.output) {
    tables.textContent = state.error ? `⚠ ${state.error}` : '';
    return;
  }
  const [, oh, ow] = state.output.shape;
  const oyIn = byId<HTMLInputElement>('step-y');
  const oxIn = byId<HTMLInputElement>('step-x');
  oyIn.max = String(oh - 1);
  oxIn.max = String(ow - 1);
  const oy = intValue('step-y', 0, oh - 1);
  const ox = intValue('step-x', 0, ow - 1);
  const c = Number(byId<HTMLSelectElement>('step-c').value);
  const { k, stride, dilation, padding } = state.params;
  const n = stepNumbers(oy, ox, c);
  const pad = padding;
  // Input with the window's taps outlined (coordinates in the unpadded image; taps in the padding fall outside).
  const src = byId<HTMLCanvasElement>('input-canvas');
  const scale = Math.max(1, Math.floor(384 / Math.max(src.width, src.height)));
  canvas.width = src.width * scale;
  canvas.height = src.height * scale;
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(src, 0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = '#ffb000';
  ctx.lineWidth = Math.max(1, scale / 2);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const y = oy * stride + i * dilation - pad;
      const x = ox * stride + j * dilation - pad;
      ctx.strokeRect(x * scale, y * scale, scale, scale);
    }
  }
  const inPad = (i: number, j: number) => {
    const y = oy * stride + i * dilation - pad;
    const x = ox * stride + j * dilation - pad;
    return y < 0 || x < 0 || y >= state.input!.shape[1] || x >= state.input!.shape[2] ? 'pad' : '';
  };
  const sumText = n.products.map((v) => fmt(v)).join(' + ');
  const result = el(
    'div',
    {
      id: 'step-result',
      'data-sum': String(n.sum),
      'data-conv': String(n.conv),
      'data-window': JSON.stringify(n.window),
      'data-products': JSON.stringify(n.products),
    },
    el('p', {}, `Σ = ${sumText}`),
    el(
      'p',
      {},
      el('strong', {}, `= ${fmt(n.sum, 3)}`),
      `; conv2d gives output[${c}][${oy}][${ox}] = ${fmt(n.conv, 3)}`,
    ),
  );
  tables.replaceChildren(
    matrixTable(
      `input window (taps ${dilation > 1 ? `every ${dilation} pixels` : 'adjacent'}; grey = padding)`,
      rows(n.window, k),
      inPad,
    ),
    el('span', { 'aria-hidden': 'true' }, '⊙'),
    matrixTable('kernel', rows(n.kernel, k)),
    el('span', { 'aria-hidden': 'true' }, '='),
    matrixTable('products', rows(n.products, k)),
    result,
  );
}

/** Advances the sliding window one output pixel (row by row, wrapping). */
function advance(): void {
  if (!state.output) return;
  const [, oh, ow] = state.output.shape;
  let oy = intValue('step-y', 0, oh - 1);
  let ox = intValue('step-x', 0, ow - 1) + 1;
  if (ox >= ow) {
    ox = 0;
    oy = (oy + 1) % oh;
  }
  byId<HTMLInputElement>('step-y').value = String(oy);
  byId<HTMLInputElement>('step-x').value = String(ox);
  render();
}

export function initStep(): void {
  onConvChange(render);
  for (const id of ['step-y', 'step-x', 'step-c']) byId(id).addEventListener('input', render);
  const play = byId<HTMLButtonElement>('step-play');
  play.addEventListener('click', () => {
    if (timer) {
      clearInterval(timer);
      timer = null;
    } else {
      timer = setInterval(advance, 120);
    }
    play.setAttribute('aria-pressed', String(timer !== null));
    play.textContent = timer ? '⏸ Stop the animation' : '▶ Animate the sliding window';
  });
  // Clicking the convolution output picks that pixel.
  const out = byId<HTMLCanvasElement>('conv-canvas');
  out.addEventListener('click', (e) => {
    const r = out.getBoundingClientRect();
    byId<HTMLInputElement>('step-x').value = String(Math.floor(((e.clientX - r.left) / r.width) * out.width));
    byId<HTMLInputElement>('step-y').value = String(Math.floor(((e.clientY - r.top) / r.height) * out.height));
    render();
    byId('step').scrollIntoView({ behavior: 'smooth' });
  });
  render();
}
