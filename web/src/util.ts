/** DOM and tensor ↔ canvas helpers shared by the playground's sections. */
import * as tt from 'tatami';

/** Where the page and the training worker fetch the wasm kernels (both bundles live in web/dist/). */
export const WASM_URL = new URL('../../build-wasm/', import.meta.url);

/** The element with this id (throws when the page lacks it: a broken page should fail loudly, not half-work). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`playground: no element #${id}`);
  return el as T;
}

/** Creates an element with attributes and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

/** An integer from a number input, clamped to [lo, hi] (empty or invalid → lo). */
export function intValue(id: string, lo: number, hi: number): number {
  const v = Math.round(Number(byId<HTMLInputElement>(id).value));
  return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : lo;
}

/** How float values become 0…255 display bytes. */
export type DisplayMode = 'clamp' | 'abs' | 'normalize';

/**
 * Draws a [C, H, W] tensor (C = 1 or 3, values on the 0…255 scale) into a canvas at its natural size. 'clamp'
 * stores the values as they are (Uint8ClampedArray rounds and clamps), 'abs' their magnitude, 'normalize'
 * stretches min…max over all channels to 0…255.
 */
export function drawTensor(canvas: HTMLCanvasElement, t: tt.Tensor, mode: DisplayMode = 'clamp'): void {
  const [C, H, W] = t.shape;
  const data = t.contiguous().toTypedArray();
  canvas.width = W;
  canvas.height = H;
  let lo = 0;
  let scale = 1;
  if (mode === 'normalize') {
    let mn = Infinity;
    let mx = -Infinity;
    for (let i = 0; i < data.length; i++) {
      mn = Math.min(mn, data[i]);
      mx = Math.max(mx, data[i]);
    }
    lo = mn;
    scale = mx > mn ? 255 / (mx - mn) : 0;
  }
  const img = new ImageData(W, H);
  const px = img.data;
  const plane = H * W;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      let v = data[(C === 1 ? 0 : c) * plane + i];
      if (mode === 'abs') v = Math.abs(v);
      else if (mode === 'normalize') v = (v - lo) * scale;
      px[4 * i + c] = v;
    }
    px[4 * i + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(img, 0, 0);
}

/** A canvas's pixels as a [3, H, W] float32 tensor on the 0…255 scale. */
export function canvasToTensor(canvas: HTMLCanvasElement): tt.Tensor {
  const { width: W, height: H } = canvas;
  const px = canvas.getContext('2d', { willReadFrequently: true })!.getImageData(0, 0, W, H).data;
  const out = new Float32Array(3 * H * W);
  for (let i = 0; i < H * W; i++) for (let c = 0; c < 3; c++) out[c * H * W + i] = px[4 * i + c];
  return tt.tensor(out, [3, H, W]);
}

/** ITU-R BT.601 luma, as PIL's convert('L') and torchvision's rgb_to_grayscale: [3, H, W] → [1, H, W]. */
export function toGray(rgb: tt.Tensor): tt.Tensor {
  const w = tt.tensor(new Float32Array([0.299, 0.587, 0.114]), [1, 3, 1, 1]);
  return tt.F.conv2d(rgb.unsqueeze(0), w).squeeze(0);
}

/** Loads an image URL (or object URL) into an HTMLImageElement. */
export function loadImage(src: string): Promise<HTMLImageElement> {
  return new Promise((ok, fail) => {
    const img = new Image();
    img.onload = () => ok(img);
    img.onerror = () => fail(new Error(`playground: could not load image ${src}`));
    img.src = src;
  });
}

/** Draws a single-channel plane (h×w values) into a canvas with a diverging or gray colour scale. */
export function drawPlane(
  canvas: HTMLCanvasElement,
  data: ArrayLike<number>,
  h: number,
  w: number,
  signed = false,
): void {
  canvas.width = w;
  canvas.height = h;
  let mn = Infinity;
  let mx = -Infinity;
  for (let i = 0; i < h * w; i++) {
    mn = Math.min(mn, data[i]);
    mx = Math.max(mx, data[i]);
  }
  const img = new ImageData(w, h);
  const m = Math.max(Math.abs(mn), Math.abs(mx)) || 1;
  for (let i = 0; i < h * w; i++) {
    const v = data[i];
    if (signed) {
      // Blue for negative weights, red for positive, white for zero.
      const a = Math.min(1, Math.abs(v) / m);
      const r = v >= 0 ? 255 : 255 * (1 - a);
      const b = v <= 0 ? 255 : 255 * (1 - a);
      const g = 255 * (1 - a);
      img.data.set([r, g, b, 255], 4 * i);
    } else {
      const g = mx > mn ? (255 * (v - mn)) / (mx - mn) : 0;
      img.data.set([g, g, g, 255], 4 * i);
    }
  }
  canvas.getContext('2d')!.putImageData(img, 0, 0);
}

/** Fixed-width number text for the tables. */
export function fmt(v: number, digits = 2): string {
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(digits);
}

/** A table of a 2-d array (rows of numbers or strings), with optional per-cell classes. */
export function matrixTable(
  caption: string,
  rows: (number | string)[][],
  cls?: (r: number, c: number) => string,
  colHeads?: string[],
): HTMLTableElement {
  const table = el('table', { class: 'mat' }, el('caption', {}, caption));
  if (colHeads) table.append(el('tr', {}, el('th', {}, ''), ...colHeads.map((h) => el('th', { scope: 'col' }, h))));
  rows.forEach((row, r) => {
    const tr = el('tr');
    if (colHeads) tr.append(el('th', { scope: 'row' }, String(r)));
    row.forEach((v, c) => {
      const td = el('td', cls ? { class: cls(r, c) } : {}, typeof v === 'number' ? fmt(v) : v);
      tr.append(td);
    });
    table.append(tr);
  });
  return table;
}
