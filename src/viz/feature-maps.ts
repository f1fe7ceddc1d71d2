/**
 * Feature maps: capture any layer's activations by module name (forward hooks) and render them as a grid of
 * colour-mapped heat maps.
 */
import { Tensor } from '../tensor/tensor.js';
import type { AnyModule } from '../nn/module.js';
import { noGrad } from '../autograd/grad-mode.js';
import { formatShape } from '../tensor/shape.js';
import { makeGrid, writeImage } from '../io/image.js';
import { applyColormap, upscaleNearest, type ColormapName } from './colormap.js';
import { asBatch, callModel, withCapturedOutputs } from './model-util.js';

/**
 * Runs `model` on `input` (without recording a graph) and returns the outputs of the named layers (PyTorch's
 * dotted names from `model.namedModules()`), e.g. `captureActivations(vgg, x, ['features.29'])`.
 */
export function captureActivations(model: AnyModule, input: Tensor, layers: readonly string[]): Map<string, Tensor> {
  if (layers.length === 0) throw new Error('captureActivations: no layer names given');
  const x = asBatch(input, 'captureActivations');
  return withCapturedOutputs(model, layers, 'captureActivations', (captured) => {
    noGrad(() => callModel(model, x));
    for (const name of layers)
      if (!captured.has(name))
        throw new Error(`captureActivations: layer '${name}' was not called during the forward pass`);
    return new Map(captured);
  });
}

/** Options of featureMapGrid. */
export interface FeatureMapGridOptions {
  /** Show at most this many channels (default 64; `order` decides which). */
  maxMaps?: number;
  /** 'index' keeps channel order; 'activation' shows the channels with the largest mean activation first (default 'index'). */
  order?: 'index' | 'activation';
  /** Colormap (default 'viridis'). */
  cmap?: ColormapName;
  /** Maps per grid row (default ceil(sqrt(count))). */
  nrow?: number;
  /** Integer nearest-neighbour magnification of each map (default: enough to make maps ≥ 56 px). */
  scale?: number;
  /** One colour range for all maps (true) instead of each map's own min/max (default false). */
  sharedRange?: boolean;
  /** Caption each map with its channel index (default true). */
  labels?: boolean;
}

/**
 * Renders activations [C, h, w] (or [1, C, h, w]) as a grid of heat maps, one per channel: RGB [3, H, W] in [0, 1].
 */
export function featureMapGrid(activations: Tensor, opts: FeatureMapGridOptions = {}): Tensor {
  let a = activations;
  if (a.shape.length === 4) {
    if (a.shape[0] !== 1)
      throw new Error(
        `featureMapGrid: expected the activations of ONE image [1, C, h, w] or [C, h, w], got ${formatShape(a.shape)}`,
      );
    a = a.reshape(a.shape.slice(1));
  }
  if (a.shape.length !== 3)
    throw new Error(
      `featureMapGrid: expected activations [C, h, w], got ${formatShape(activations.shape)} (not a convolutional layer?)`,
    );
  const [C, h, w] = a.shape;
  const data = a.dataView();
  const plane = h * w;
  let channels = Array.from({ length: C }, (_, i) => i);
  if (opts.order === 'activation') {
    const means = channels.map((c) => {
      let s = 0;
      for (let p = 0; p < plane; p++) s += data[c * plane + p];
      return s / plane;
    });
    channels.sort((i, j) => means[j] - means[i]);
  }
  channels = channels.slice(0, opts.maxMaps ?? 64);
  let vmin: number | undefined, vmax: number | undefined;
  if (opts.sharedRange) {
    vmin = Infinity;
    vmax = -Infinity;
    for (const c of channels)
      for (let p = 0; p < plane; p++) {
        const v = data[c * plane + p];
        if (v < vmin) vmin = v;
        if (v > vmax) vmax = v;
      }
  }
  const scale = opts.scale ?? Math.max(1, Math.ceil(56 / Math.max(h, w)));
  const maps = channels.map((c) => {
    const heat = new Tensor(
      Float32Array.from(data.subarray(c * plane, (c + 1) * plane) as ArrayLike<number>),
      [h, w],
      'float32',
    );
    return upscaleNearest(applyColormap(heat, { cmap: opts.cmap ?? 'viridis', vmin, vmax }), scale);
  });
  const labels = opts.labels === false || w * scale < 18 ? undefined : channels.map(String);
  return makeGrid(maps, { nrow: opts.nrow ?? Math.ceil(Math.sqrt(maps.length)), padding: 2, padValue: 1, labels });
}

/** captureActivations + featureMapGrid for one layer and one image, written to `path` (PNG or JPEG). Returns the grid. */
export function saveFeatureMaps(
  path: string,
  model: AnyModule,
  image: Tensor,
  layer: string,
  opts: FeatureMapGridOptions = {},
): Tensor {
  const x = asBatch(image, 'saveFeatureMaps');
  if (x.shape[0] !== 1) throw new Error(`saveFeatureMaps: expected one image, got a batch of ${x.shape[0]}`);
  const act = captureActivations(model, x, [layer]).get(layer)!;
  const grid = featureMapGrid(act, opts);
  writeImage(path, grid);
  return grid;
}
