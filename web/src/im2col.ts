/**
 * Section 3: im2col. The unfolded matrix is itself computed by a convolution — with k·k one-hot kernels, each
 * picking one tap of the window — so every number shown comes from the library: unfold = conv2d(pad(x), I),
 * then output = kernelRow · columns (tt.matmul), compared with tt.F.conv2d on the same input.
 */
import * as tt from 'tatami';
import { onConvChange, state } from './conv.js';
import { byId, el, fmt, matrixTable } from './util.js';

let input: tt.Tensor | null = null;

function newInput(): void {
  const n = Number(byId<HTMLSelectElement>('im2col-size').value);
  input = tt.randint(0, 10, [1, 1, n, n]).to('float32');
}

/** Columns [k·k, L] of the padded input: one row per kernel tap, one column per output position. */
export function unfoldColumns(
  x: tt.Tensor,
  k: number,
  stride: number,
  padding: number,
  dilation: number,
  mode: string,
): tt.Tensor {
  const padded =
    padding > 0
      ? tt.F.pad(x, [padding, padding, padding, padding], { mode: mode === 'zeros' ? 'constant' : (mode as 'reflect') })
      : x;
  const eye = tt.eye(k * k).reshape([k * k, 1, k, k]);
  const cols = tt.F.conv2d(padded, eye, null, { stride, dilation });
  return cols.reshape([k * k, cols.shape[2] * cols.shape[3]]);
}

function render(): void {
  const out = byId('im2col-out');
  if (!input) newInput();
  const x = input!;
  const { k, weights, stride, padding, dilation, mode } = state.params;
  let cols: tt.Tensor;
  let direct: tt.Tensor;
  try {
    cols = unfoldColumns(x, k, stride, padding, dilation, mode);
    direct = tt.F.conv2d(x, tt.tensor(new Float32Array(weights), [1, 1, k, k]), null, {
      stride,
      padding,
      dilation,
      paddingMode: mode,
    });
  } catch (err) {
    out.replaceChildren(el('p', { role: 'alert' }, `⚠ ${err instanceof Error ? err.message : String(err)}`));
    return;
  }
  const [, , oh, ow] = direct.shape;
  const L = oh * ow;
  const row = tt.tensor(new Float32Array(weights), [1, k * k]);
  const product = tt.matmul(row, cols).reshape([oh, ow]);
  const n = x.shape[2];
  const xs = x.toTypedArray();
  const c = cols.toTypedArray();
  const p = product.toTypedArray();
  const d = direct.toTypedArray();
  let maxDiff = 0;
  for (let i = 0; i < L; i++) maxDiff = Math.max(maxDiff, Math.abs(p[i] - d[i]));
  const inRows = Array.from({ length: n }, (_, r) => Array.from(xs.slice(r * n, r * n + n)));
  const colRows = Array.from({ length: k * k }, (_, r) => Array.from(c.slice(r * L, r * L + L)));
  const heads = Array.from({ length: L }, (_, i) => `${Math.floor(i / ow)},${i % ow}`);
  const outRows = Array.from({ length: oh }, (_, r) => Array.from(p.slice(r * ow, r * ow + ow)));
  const kRows = [weights.map((w) => Math.round(w * 1000) / 1000)];
  out.replaceChildren(
    matrixTable(`input ${n}×${n}`, inRows),
    matrixTable(`kernel as a row (1×${k * k})`, kRows),
    el('span', { 'aria-hidden': 'true' }, '×'),
    matrixTable(
      `unfolded input (${k * k}×${L}): row = kernel tap, column = output (row,col)`,
      colRows,
      undefined,
      heads,
    ),
    el('span', { 'aria-hidden': 'true' }, '='),
    matrixTable(`output ${oh}×${ow} (matmul)`, outRows),
    el('p', { id: 'im2col-check', 'data-maxdiff': String(maxDiff) }, `max |matmul − conv2d| = ${fmt(maxDiff, 6)}`),
  );
}

export function initIm2col(): void {
  onConvChange(render);
  byId('im2col-size').addEventListener('change', () => {
    newInput();
    render();
  });
  byId('im2col-new').addEventListener('click', () => {
    newInput();
    render();
  });
  render();
}
