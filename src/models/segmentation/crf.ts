/**
 * DeepLab's post-processing: the fully connected CRF of Krähenbühl & Koltun, "Efficient Inference in Fully
 * Connected CRFs with Gaussian Edge Potentials" (NIPS 2011), as DeepLab v1/v2 (Chen et al. 2015/2017) apply it to
 * the network's softmax output.
 *
 * Energy: E(x) = Σ_i ψ_u(x_i) + Σ_{i<j} μ(x_i, x_j) k(f_i, f_j) with unaries ψ_u = -log P (the network's
 * probabilities), the Potts compatibility μ = [x_i ≠ x_j] and two kernels over positions p and colours I:
 *   k = w_b · exp(-|p_i - p_j|² / 2θ_α² - |I_i - I_j|² / 2θ_β²)   (bilateral: appearance)
 *     + w_g · exp(-|p_i - p_j|² / 2θ_γ²)                          (Gaussian: smoothness)
 * Mean-field inference (the paper's Algorithm 1): Q_i(l) ∝ exp(-ψ_u(l) + Σ_{j≠i} k(f_i, f_j) Q_j(l)); with the
 * Potts model the message for label l is the kernel-weighted sum of the other pixels' Q(l) (the constant part of
 * Σ_{l'≠l} cancels in the normalisation).
 *
 * This is the exact O(N²) message passing (N pixels), without the paper's permutohedral-lattice filtering: fine
 * for the small images it is meant for here (64×64 = 4,096 pixels: 16.8 M pairs per iteration), and it refuses
 * images above `maxPixels` rather than running for minutes. Colours are compared on the 0–255 scale, as DeepLab's
 * θ_β (e.g. 3–5 on VOC) are given.
 */
import { Tensor } from '../../tensor/tensor.js';
import { formatShape } from '../../tensor/shape.js';

/** Options of `denseCrf` (defaults: DeepLab's published VOC settings scaled to small images, 5 iterations). */
export interface DenseCrfOptions {
  /** Mean-field iterations (default 5, as DeepLab). */
  iterations?: number;
  /** w_b: bilateral (appearance) kernel weight (default 4, DeepLab-LargeFOV's). */
  bilateralWeight?: number;
  /** θ_α: bilateral kernel's spatial standard deviation in pixels (default 10; DeepLab uses 121 on 500-pixel images). */
  bilateralSxy?: number;
  /** θ_β: bilateral kernel's colour standard deviation on the 0–255 scale (default 5, DeepLab's). */
  bilateralSrgb?: number;
  /** w_g: Gaussian (smoothness) kernel weight (default 3, DeepLab's). */
  gaussianWeight?: number;
  /** θ_γ: Gaussian kernel's standard deviation in pixels (default 3, DeepLab's). */
  gaussianSxy?: number;
  /** Largest H·W accepted (default 16,384 = 128×128): the exact inference is quadratic in it. */
  maxPixels?: number;
}

/**
 * Refines per-pixel class probabilities `probs` `[K, H, W]` (a softmax output; rows need not be exactly normalised)
 * with the fully connected CRF on `image` `[C, H, W]` (values in [0, 1]; C = 3 or 1). Returns the mean-field
 * marginals Q `[K, H, W]` (float32, summing to 1 per pixel); their argmax over dim 0 is the refined labelling.
 */
export function denseCrf(probs: Tensor, image: Tensor, opts: DenseCrfOptions = {}): Tensor {
  const op = 'denseCrf';
  if (!(probs instanceof Tensor) || probs.shape.length !== 3)
    throw new Error(
      `${op}: probs must be a [K, H, W] Tensor of probabilities, got ${probs instanceof Tensor ? formatShape(probs.shape) : typeof probs}`,
    );
  const [K, H, W] = probs.shape;
  if (!(image instanceof Tensor) || image.shape.length !== 3 || image.shape[1] !== H || image.shape[2] !== W) {
    throw new Error(
      `${op}: image must be [C, ${H}, ${W}] to match probs ${formatShape(probs.shape)}, got ${image instanceof Tensor ? formatShape(image.shape) : typeof image}`,
    );
  }
  const C = image.shape[0];
  const iters = opts.iterations ?? 5;
  const wb = opts.bilateralWeight ?? 4,
    sa = opts.bilateralSxy ?? 10,
    sb = opts.bilateralSrgb ?? 5;
  const wg = opts.gaussianWeight ?? 3,
    sg = opts.gaussianSxy ?? 3;
  const maxPixels = opts.maxPixels ?? 16384;
  const N = H * W;
  if (!Number.isInteger(iters) || iters < 0)
    throw new Error(`${op}: iterations must be a non-negative integer, got ${iters}`);
  for (const [name, v] of [
    ['bilateralWeight', wb],
    ['gaussianWeight', wg],
  ] as const)
    if (!(v >= 0)) throw new Error(`${op}: ${name} must be ≥ 0, got ${v}`);
  for (const [name, v] of [
    ['bilateralSxy', sa],
    ['bilateralSrgb', sb],
    ['gaussianSxy', sg],
  ] as const)
    if (!(v > 0)) throw new Error(`${op}: ${name} must be > 0, got ${v}`);
  if (N > maxPixels)
    throw new Error(
      `${op}: ${H}×${W} = ${N} pixels exceeds maxPixels ${maxPixels} (exact inference is O(N²); downsample the image and probabilities, or raise maxPixels)`,
    );
  const P = probs.contiguous().dataView(),
    I = image.contiguous().dataView();
  // Unary: -log P, clamped so that a zero probability stays finite (as pydensecrf's unary_from_softmax does).
  const unary = new Float64Array(K * N);
  for (let i = 0; i < K * N; i++) {
    const p = Number(P[i]);
    if (!(p >= 0)) throw new Error(`${op}: probs must be non-negative probabilities, found ${p} at flat index ${i}`);
    unary[i] = -Math.log(Math.max(p, 1e-8));
  }
  // Features scaled by their standard deviations, so that each kernel is exp(-|f_i - f_j|² / 2).
  const fb = new Float64Array(N * (2 + C)),
    fg = new Float64Array(N * 2);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      fb[i * (2 + C)] = x / sa;
      fb[i * (2 + C) + 1] = y / sa;
      for (let c = 0; c < C; c++) fb[i * (2 + C) + 2 + c] = (255 * Number(I[c * N + i])) / sb;
      fg[2 * i] = x / sg;
      fg[2 * i + 1] = y / sg;
    }
  }
  const Q = new Float64Array(K * N);
  const softmaxInto = (energy: Float64Array) => {
    for (let i = 0; i < N; i++) {
      let m = -Infinity;
      for (let l = 0; l < K; l++) m = Math.max(m, -energy[l * N + i]);
      let s = 0;
      for (let l = 0; l < K; l++) s += Q[l * N + i] = Math.exp(-energy[l * N + i] - m);
      for (let l = 0; l < K; l++) Q[l * N + i] /= s;
    }
  };
  softmaxInto(unary);
  const D = 2 + C,
    msg = new Float64Array(K * N),
    energy = new Float64Array(K * N),
    acc = new Float64Array(K);
  for (let t = 0; t < iters; t++) {
    msg.fill(0);
    // Message passing over all pairs, each pair once (the kernel is symmetric).
    for (let i = 0; i < N; i++) {
      acc.fill(0);
      for (let j = i + 1; j < N; j++) {
        let db = 0;
        for (let d = 0; d < D; d++) {
          const v = fb[i * D + d] - fb[j * D + d];
          db += v * v;
        }
        const gx = fg[2 * i] - fg[2 * j],
          gy = fg[2 * i + 1] - fg[2 * j + 1];
        const k = wb * Math.exp(-0.5 * db) + wg * Math.exp(-0.5 * (gx * gx + gy * gy));
        if (k < 1e-12) continue;
        for (let l = 0; l < K; l++) {
          acc[l] += k * Q[l * N + j];
          msg[l * N + j] += k * Q[l * N + i];
        }
      }
      for (let l = 0; l < K; l++) msg[l * N + i] += acc[l];
    }
    // Potts compatibility: agreeing neighbours lower the energy of the label they share.
    for (let i = 0; i < K * N; i++) energy[i] = unary[i] - msg[i];
    softmaxInto(energy);
  }
  return new Tensor(Float32Array.from(Q), [K, H, W], 'float32');
}
