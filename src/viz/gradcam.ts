/**
 * Grad-CAM (Selvaraju et al. 2017) and Grad-CAM++ (Chattopadhay et al. 2018) for any convolutional layer, named
 * by its dotted module name. The layer's output A and the gradient of the class score y_c with respect to it are
 * captured with a forward hook and a tensor gradient hook.
 */
import { Tensor } from '../tensor/tensor.js';
import type { AnyModule } from '../nn/module.js';
import { formatShape } from '../tensor/shape.js';
import { overlayHeatmap, resizePlane, type OverlayOptions } from './colormap.js';
import { argmaxRows, asBatch, callModel, findLayer, gradLeaf, lastConvLayer } from './model-util.js';

/** Options of gradCam. */
export interface GradCamOptions {
  /** Layer name (default: the last layer with a 4-d weight, i.e. the last convolution). */
  layer?: string;
  /** Class to explain, per image or one for all (default: each image's predicted class). */
  target?: number | readonly number[];
  /** 'gradcam' (default) or 'gradcam++'. */
  method?: 'gradcam' | 'gradcam++';
}

/** Result of gradCam for a batch of N images. */
export interface GradCamResult {
  /** The layer explained. */
  layer: string;
  /** Class maps at the layer's resolution [N, h, w], ReLU'd and scaled to [0, 1] per image. */
  cams: Tensor;
  /** The same maps resized bilinearly to the input size [N, H, W]. */
  upsampled: Tensor;
  /** Class explained per image. */
  targets: number[];
  /** Predicted class per image. */
  predictions: number[];
  /** The model's logits [N, K]. */
  logits: Tensor;
}

/**
 * Computes Grad-CAM / Grad-CAM++ maps for images [N, C, H, W] (or one image [C, H, W]). The model should be in
 * eval mode (BatchNorm statistics, dropout) as for inference; parameters' `.grad` are left untouched.
 */
export function gradCam(model: AnyModule, input: Tensor, opts: GradCamOptions = {}): GradCamResult {
  const x = gradLeaf(asBatch(input, 'gradCam'));
  const [N, , H, W] = x.shape;
  const layer = opts.layer ?? lastConvLayer(model, 'gradCam');
  const method = opts.method ?? 'gradcam';
  if (method !== 'gradcam' && method !== 'gradcam++')
    throw new Error(`gradCam: unknown method '${String(method)}' (expected 'gradcam' or 'gradcam++')`);
  const module = findLayer(model, layer, 'gradCam');
  let act: Tensor | null = null;
  let grad: Tensor | null = null;
  const handle = module.registerForwardHook((_m, _i, out) => {
    if (!(out instanceof Tensor)) throw new Error(`gradCam: layer '${layer}' did not return a tensor`);
    act = out;
    if (out.requiresGrad)
      out.registerHook((g) => {
        grad = g;
      });
  });
  // Save and restore parameter gradients: explaining a prediction must not disturb a training loop.
  const params = model.parameters();
  const saved = params.map((p) => p.grad);
  let logits: Tensor;
  try {
    logits = callModel(model, x);
  } finally {
    handle.remove();
  }
  const A = act as Tensor | null;
  if (A === null) throw new Error(`gradCam: layer '${layer}' was not called during the forward pass`);
  if (A.shape.length !== 4)
    throw new Error(
      `gradCam: layer '${layer}' outputs ${formatShape(A.shape)}; Grad-CAM needs a convolutional feature map [N, C, h, w]`,
    );
  if (logits.shape.length !== 2 || logits.shape[0] !== N)
    throw new Error(`gradCam: expected logits [${N}, K] from the model, got ${formatShape(logits.shape)}`);
  const K = logits.shape[1];
  const predictions = argmaxRows(logits);
  const t = opts.target;
  const targets = t === undefined ? predictions : typeof t === 'number' ? new Array<number>(N).fill(t) : [...t];
  if (targets.length !== N) throw new Error(`gradCam: ${targets.length} targets for ${N} images`);
  for (const c of targets)
    if (!Number.isInteger(c) || c < 0 || c >= K)
      throw new Error(`gradCam: target class ${c} out of range for ${K} classes`);
  // d(sum_n y_{n, c_n}) / dA gives every image's own class gradient in one backward pass.
  const sel = new Float32Array(N * K);
  targets.forEach((c, n) => {
    sel[n * K + c] = 1;
  });
  logits.backward(new Tensor(sel, [N, K], 'float32'));
  params.forEach((p, i) => {
    p.grad = saved[i];
  });
  const G = grad as Tensor | null;
  if (G === null)
    throw new Error(`gradCam: no gradient reached layer '${layer}' (is it part of the path to the logits?)`);
  const [, C, h, w] = A.shape;
  const a = A.dataView(),
    g = G.dataView();
  const plane = h * w;
  const cams = new Float32Array(N * plane);
  const up = new Float32Array(N * H * W);
  for (let n = 0; n < N; n++) {
    const cam = cams.subarray(n * plane, (n + 1) * plane);
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * plane;
      let weight = 0;
      if (method === 'gradcam') {
        for (let p = 0; p < plane; p++) weight += g[base + p];
        weight /= plane;
      } else {
        // Grad-CAM++ closed form with the exponential score: α = g² / (2g² + ΣA·g³).
        let sumA = 0;
        for (let p = 0; p < plane; p++) sumA += a[base + p];
        for (let p = 0; p < plane; p++) {
          const gv = g[base + p];
          if (gv === 0) continue;
          const g2 = gv * gv;
          const denom = 2 * g2 + sumA * g2 * gv;
          const alpha = denom !== 0 ? g2 / denom : 0;
          weight += alpha * Math.max(0, gv);
        }
      }
      for (let p = 0; p < plane; p++) cam[p] += weight * a[base + p];
    }
    let hi = 0;
    for (let p = 0; p < plane; p++) {
      cam[p] = Math.max(0, cam[p]);
      if (cam[p] > hi) hi = cam[p];
    }
    if (hi > 0) for (let p = 0; p < plane; p++) cam[p] /= hi;
    const u = resizePlane(cam, h, w, H, W);
    up.set(u, n * H * W);
  }
  return {
    layer,
    cams: new Tensor(cams, [N, h, w], 'float32'),
    upsampled: new Tensor(up, [N, H, W], 'float32'),
    targets,
    predictions,
    logits: logits.detach(),
  };
}

/**
 * Grad-CAM of one image overlaid on a display image (e.g. the un-normalised photo) with the jet colormap:
 * RGB [3, H, W] in [0, 1].
 */
export function gradCamOverlay(
  model: AnyModule,
  input: Tensor,
  display: Tensor,
  opts: GradCamOptions & OverlayOptions = {},
): { image: Tensor; result: GradCamResult } {
  const result = gradCam(model, input, opts);
  if (result.cams.shape[0] !== 1) throw new Error(`gradCamOverlay: expected one image, got ${result.cams.shape[0]}`);
  const [, h, w] = result.cams.shape;
  const image = overlayHeatmap(display, result.cams.reshape([h, w]), {
    alpha: opts.alpha ?? 0.45,
    cmap: opts.cmap ?? 'jet',
    vmin: 0,
    vmax: 1,
  });
  return { image, result };
}
