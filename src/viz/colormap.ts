/**
 * Colormaps (viridis, jet, gray), heat maps and heat-map overlays. Images follow src/io/image.ts: tensors
 * [C, H, W], float in [0, 1] (or uint8 0…255); a heat map is a [H, W] (or [1, H, W]) float tensor.
 */
import { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { isFloating } from '../tensor/dtype.js';

/** Names of the built-in colormaps. */
export type ColormapName = 'viridis' | 'jet' | 'gray' | 'inferno';

// Matplotlib's viridis and inferno sampled at 11 evenly spaced points (0, 0.1, …, 1) and interpolated linearly;
// both are smooth enough in these steps for heat maps (deviation from the 256-entry tables of a few /255).
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [0.267004, 0.004874, 0.329415],
  [0.282623, 0.140926, 0.457517],
  [0.253935, 0.265254, 0.529983],
  [0.206756, 0.371758, 0.553117],
  [0.163625, 0.471133, 0.558148],
  [0.127568, 0.566949, 0.550556],
  [0.134692, 0.658636, 0.517649],
  [0.266941, 0.748751, 0.440573],
  [0.477504, 0.821444, 0.318195],
  [0.741388, 0.873449, 0.149561],
  [0.993248, 0.906157, 0.143936],
];
const INFERNO: readonly (readonly [number, number, number])[] = [
  [0.001462, 0.000466, 0.013866],
  [0.087411, 0.044556, 0.224813],
  [0.258234, 0.038571, 0.406485],
  [0.416331, 0.090203, 0.432943],
  [0.578304, 0.148039, 0.404411],
  [0.735683, 0.215906, 0.330245],
  [0.865006, 0.316822, 0.226055],
  [0.954506, 0.468744, 0.099874],
  [0.987622, 0.64532, 0.039886],
  [0.964394, 0.843848, 0.273391],
  [0.988362, 0.998364, 0.644924],
];

function interpTable(table: readonly (readonly [number, number, number])[], v: number, out: number[]): void {
  const x = v * (table.length - 1);
  const i = Math.min(table.length - 2, Math.floor(x));
  const f = x - i;
  for (let c = 0; c < 3; c++) out[c] = table[i][c] * (1 - f) + table[i + 1][c] * f;
}

/** Matplotlib's jet: piecewise-linear blue → cyan → yellow → red. */
function jet(v: number, out: number[]): void {
  const clip = (x: number): number => Math.min(1, Math.max(0, x));
  out[0] = clip(1.5 - Math.abs(4 * v - 3));
  out[1] = clip(1.5 - Math.abs(4 * v - 2));
  out[2] = clip(1.5 - Math.abs(4 * v - 1));
}

/** The RGB colour (each in [0, 1]) of the value `v` ∈ [0, 1] (clamped; NaN maps to 0) in a colormap. */
export function colormapColor(name: ColormapName, v: number): [number, number, number] {
  const out = [0, 0, 0];
  const x = Number.isNaN(v) ? 0 : Math.min(1, Math.max(0, v));
  if (name === 'viridis') interpTable(VIRIDIS, x, out);
  else if (name === 'inferno') interpTable(INFERNO, x, out);
  else if (name === 'jet') jet(x, out);
  else if (name === 'gray') out[0] = out[1] = out[2] = x;
  else throw new Error(`colormap: unknown colormap '${String(name)}' (expected viridis, jet, inferno or gray)`);
  return [out[0], out[1], out[2]];
}

function heatPlane(heat: Tensor, op: string): { data: Float32Array; H: number; W: number } {
  if (!(heat instanceof Tensor)) throw new Error(`${op}: expected a Tensor heat map`);
  const s = heat.shape;
  if (!(s.length === 2 || (s.length === 3 && s[0] === 1)))
    throw new Error(`${op}: expected a heat map of shape [H, W] or [1, H, W], got ${formatShape(s)}`);
  const H = s[s.length - 2],
    W = s[s.length - 1];
  return { data: Float32Array.from(heat.dataView() as ArrayLike<number>), H, W };
}

/** Options of applyColormap. */
export interface ColormapOptions {
  /** Colormap (default 'viridis'). */
  cmap?: ColormapName;
  /** Values mapped to the ends of the colormap; default: the heat map's own min and max. */
  vmin?: number;
  vmax?: number;
}

/** Rescales values to [0, 1] using [vmin, vmax] (default: min and max; a constant map becomes all zeros). */
export function normalizeMap(data: ArrayLike<number>, vmin?: number, vmax?: number): Float32Array {
  let lo = vmin ?? Infinity,
    hi = vmax ?? -Infinity;
  if (vmin === undefined || vmax === undefined) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (Number.isNaN(v)) continue;
      if (vmin === undefined && v < lo) lo = v;
      if (vmax === undefined && v > hi) hi = v;
    }
  }
  const out = new Float32Array(data.length);
  const span = hi - lo;
  if (!(span > 0)) return out;
  for (let i = 0; i < data.length; i++) out[i] = Math.min(1, Math.max(0, (data[i] - lo) / span));
  return out;
}

/** Maps a heat map [H, W] to an RGB image [3, H, W] in [0, 1] (matplotlib's `cmap(norm(x))`). */
export function applyColormap(heat: Tensor, opts: ColormapOptions = {}): Tensor {
  const { data, H, W } = heatPlane(heat, 'applyColormap');
  const cmap = opts.cmap ?? 'viridis';
  const norm = normalizeMap(data, opts.vmin, opts.vmax);
  const out = Tensor.empty([3, H, W], 'float32');
  const plane = H * W;
  const rgb = [0, 0, 0];
  for (let p = 0; p < plane; p++) {
    const c = colormapColor(cmap, norm[p]);
    rgb[0] = c[0];
    rgb[1] = c[1];
    rgb[2] = c[2];
    out.storage[p] = rgb[0];
    out.storage[plane + p] = rgb[1];
    out.storage[2 * plane + p] = rgb[2];
  }
  return out;
}

/** An image as float32 RGB [3, H, W] in [0, 1] (gray is replicated, alpha dropped, uint8 divided by 255). */
export function toRgbFloat(image: Tensor): Tensor {
  if (!(image instanceof Tensor)) throw new Error('toRgbFloat: expected a Tensor image');
  const s = image.shape.length === 2 ? [1, ...image.shape] : image.shape;
  if (s.length !== 3 || s[0] < 1 || s[0] > 4)
    throw new Error(
      `toRgbFloat: expected an image [C, H, W] with C in 1..4 (or [H, W]), got ${formatShape(image.shape)}`,
    );
  const [C, H, W] = s;
  const src = image.dataView();
  const scale = isFloating(image.dtype) ? 1 : 1 / 255;
  const plane = H * W;
  const out = Tensor.empty([3, H, W], 'float32');
  for (let c = 0; c < 3; c++) {
    const sc = C < 3 ? 0 : c;
    for (let p = 0; p < plane; p++) out.storage[c * plane + p] = Math.min(1, Math.max(0, src[sc * plane + p] * scale));
  }
  return out;
}

/** Bilinear resize of a single plane (align_corners=false, like F.interpolate) — used to bring heat maps to image size. */
export function resizePlane(data: ArrayLike<number>, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  const sy = h / H,
    sx = w / W;
  for (let i = 0; i < H; i++) {
    const y = Math.max(0, (i + 0.5) * sy - 0.5);
    const y0 = Math.min(h - 1, Math.floor(y)),
      y1 = Math.min(h - 1, y0 + 1),
      fy = y - y0;
    for (let j = 0; j < W; j++) {
      const x = Math.max(0, (j + 0.5) * sx - 0.5);
      const x0 = Math.min(w - 1, Math.floor(x)),
        x1 = Math.min(w - 1, x0 + 1),
        fx = x - x0;
      out[i * W + j] =
        (data[y0 * w + x0] * (1 - fx) + data[y0 * w + x1] * fx) * (1 - fy) +
        (data[y1 * w + x0] * (1 - fx) + data[y1 * w + x1] * fx) * fy;
    }
  }
  return out;
}

/** Resizes a heat map [H, W] (or [1, H, W]) bilinearly to [outH, outW]. */
export function resizeHeatmap(heat: Tensor, outH: number, outW: number): Tensor {
  const { data, H, W } = heatPlane(heat, 'resizeHeatmap');
  if (H === outH && W === outW) return new Tensor(data, [H, W], 'float32');
  return new Tensor(resizePlane(data, H, W, outH, outW), [outH, outW], 'float32');
}

/** Options of overlayHeatmap. */
export interface OverlayOptions extends ColormapOptions {
  /** Weight of the heat map colour (default 0.5): out = (1 − alpha)·image + alpha·colour. */
  alpha?: number;
  /**
   * Scale alpha by the normalised heat value, so cold regions keep the photo untouched (default false, the
   * usual Grad-CAM look of a uniform blend).
   */
  weightByValue?: boolean;
}

/**
 * Blends a colour-mapped heat map over an image. The heat map is resized bilinearly to the image size (Grad-CAM
 * maps are coarse, e.g. 7×7). Returns float32 RGB [3, H, W] in [0, 1].
 */
export function overlayHeatmap(image: Tensor, heat: Tensor, opts: OverlayOptions = {}): Tensor {
  const rgb = toRgbFloat(image);
  const [, H, W] = rgb.shape;
  const alpha = opts.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`overlayHeatmap: alpha must be in [0, 1], got ${alpha}`);
  const { data, H: h, W: w } = heatPlane(heat, 'overlayHeatmap');
  const norm = normalizeMap(resizePlane(data, h, w, H, W), opts.vmin, opts.vmax);
  const cmap = opts.cmap ?? 'jet';
  const plane = H * W;
  const out = Tensor.empty([3, H, W], 'float32');
  for (let p = 0; p < plane; p++) {
    const col = colormapColor(cmap, norm[p]);
    const a = opts.weightByValue ? alpha * norm[p] : alpha;
    for (let c = 0; c < 3; c++) out.storage[c * plane + p] = (1 - a) * rgb.storage[c * plane + p] + a * col[c];
  }
  return out;
}

/** Nearest-neighbour upscaling of an image [C, H, W] by an integer factor (keeps small images crisp in figures). */
export function upscaleNearest(image: Tensor, factor: number): Tensor {
  if (!Number.isInteger(factor) || factor < 1)
    throw new Error(`upscaleNearest: factor must be a positive integer, got ${factor}`);
  const s = image.shape.length === 2 ? [1, ...image.shape] : image.shape;
  if (s.length !== 3) throw new Error(`upscaleNearest: expected [C, H, W] or [H, W], got ${formatShape(image.shape)}`);
  const [C, H, W] = s;
  const src = image.dataView();
  const out = Tensor.empty([C, H * factor, W * factor], isFloating(image.dtype) ? 'float32' : image.dtype);
  const OW = W * factor,
    OH = H * factor;
  for (let c = 0; c < C; c++)
    for (let i = 0; i < OH; i++)
      for (let j = 0; j < OW; j++) {
        out.storage[c * OH * OW + i * OW + j] = src[c * H * W + Math.floor(i / factor) * W + Math.floor(j / factor)];
      }
  return out;
}
