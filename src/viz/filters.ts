/**
 * Convolution kernels as images: each output channel's [C, kh, kw] kernel, min–max scaled on its own, as an RGB
 * tile (C = 3) or a gray/colour-mapped tile (other C: the kernels of every input channel side by side is rarely
 * readable, so the mean over input channels is shown).
 */
import { Tensor } from '../tensor/tensor.js';
import type { AnyModule } from '../nn/module.js';
import { formatShape } from '../tensor/shape.js';
import { makeGrid, writeImage } from '../io/image.js';
import { applyColormap, normalizeMap, upscaleNearest, type ColormapName } from './colormap.js';
import { findLayer } from './model-util.js';

/** Options of filterGrid. */
export interface FilterGridOptions {
  /** Nearest-neighbour magnification (default: kernels become ≥ 40 px). */
  scale?: number;
  /** Filters per row (default ceil(sqrt(O))). */
  nrow?: number;
  /** Show at most this many filters (default 64). */
  maxFilters?: number;
  /** Colormap for single-channel kernels (default 'viridis': unlike gray, tiles stay distinct from the white grid lines). */
  cmap?: ColormapName;
}

/** Renders a conv weight [O, C, kh, kw] as a grid of kernel images: RGB [3, H, W] in [0, 1]. */
export function filterGrid(weight: Tensor, opts: FilterGridOptions = {}): Tensor {
  if (!(weight instanceof Tensor) || weight.shape.length !== 4)
    throw new Error(
      `filterGrid: expected a convolution weight [out, in, kh, kw], got ${weight instanceof Tensor ? formatShape(weight.shape) : typeof weight}`,
    );
  const [O, C, kh, kw] = weight.shape;
  const d = weight.dataView();
  const n = Math.min(O, opts.maxFilters ?? 64);
  const scale = opts.scale ?? Math.max(1, Math.ceil(40 / Math.max(kh, kw)));
  const plane = kh * kw;
  const tiles: Tensor[] = [];
  for (let o = 0; o < n; o++) {
    const k = d.subarray(o * C * plane, (o + 1) * C * plane);
    let tile: Tensor;
    if (C === 3) tile = new Tensor(normalizeMap(k), [3, kh, kw], 'float32');
    else {
      const mean = new Float32Array(plane);
      for (let c = 0; c < C; c++) for (let p = 0; p < plane; p++) mean[p] += k[c * plane + p] / C;
      tile = applyColormap(new Tensor(mean, [kh, kw], 'float32'), { cmap: opts.cmap ?? 'viridis' });
    }
    tiles.push(upscaleNearest(tile, scale));
  }
  return makeGrid(tiles, { nrow: opts.nrow ?? Math.ceil(Math.sqrt(n)), padding: 3, padValue: 1 });
}

/** The weight of a named conv layer (default: the first module with a 4-d weight). */
export function convWeight(model: AnyModule, layer?: string): { name: string; weight: Tensor } {
  if (layer !== undefined) {
    const m = findLayer(model, layer, 'convWeight');
    const w = (m as unknown as { weight?: unknown }).weight;
    if (!(w instanceof Tensor) || w.shape.length !== 4)
      throw new Error(`convWeight: layer '${layer}' (${m.constructor.name}) has no 4-d convolution weight`);
    return { name: layer, weight: w };
  }
  for (const [name, m] of model.namedModules()) {
    const w = (m as unknown as { weight?: unknown }).weight;
    if (w instanceof Tensor && w.shape.length === 4) return { name, weight: w };
  }
  throw new Error('convWeight: the model has no convolutional layer');
}

/** Writes the grid of a model's first-layer (or named layer's) kernels. */
export function saveFilters(path: string, model: AnyModule, layer?: string, opts: FilterGridOptions = {}): Tensor {
  const grid = filterGrid(convWeight(model, layer).weight, opts);
  writeImage(path, grid);
  return grid;
}
