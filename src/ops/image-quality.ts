/**
 * Full-reference image quality: PSNR and SSIM (Wang et al. 2004). SSIM uses the Gaussian-weighted statistics of
 * scikit-image's `structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`:
 * an 11×11 Gaussian window (radius ⌊3.5σ + ½⌋), K1 = 0.01, K2 = 0.03, and the mean of the SSIM map over the pixels
 * whose window lies inside the image (scikit-image crops the border it pads). Both are built from differentiable
 * ops, so 1 − ssim can serve as a training loss.
 */
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { conv2d } from './conv.js';
import { add, div, log, mul, square, sub } from './elementwise.js';
import { mean } from './reduce.js';
import { reshape, unsqueeze } from './shape.js';
import { requireFloat } from './util.js';

/** Options shared by psnr and ssim. */
export interface ImageQualityOptions {
  /** Range of the pixel values, max − min possible (default 1, images in [0, 1]; 255 for 8-bit values). */
  dataRange?: number;
  /** 'mean' (default): the mean over the batch of the per-image values; 'none': one value per image [N]. */
  reduction?: 'mean' | 'none';
}

function operands(
  op: string,
  x: Tensor,
  y: Tensor,
  opts: ImageQualityOptions,
): { a: Tensor; b: Tensor; range: number } {
  requireFloat(op, x);
  requireFloat(op, y, 'target');
  if (!shapesEqual(x.shape, y.shape))
    throw new Error(`${op}: input ${formatShape(x.shape)} and target ${formatShape(y.shape)} must have the same shape`);
  if (x.shape.length !== 3 && x.shape.length !== 4)
    throw new Error(`${op}: expected images [N, C, H, W] or [C, H, W], got ${formatShape(x.shape)}`);
  const range = opts.dataRange ?? 1;
  if (!(range > 0)) throw new Error(`${op}: dataRange must be > 0, got ${range}`);
  const red = opts.reduction ?? 'mean';
  if (red !== 'mean' && red !== 'none')
    throw new Error(`${op}: reduction must be 'mean' or 'none', got ${JSON.stringify(red)}`);
  return x.shape.length === 3 ? { a: unsqueeze(x, 0), b: unsqueeze(y, 0), range } : { a: x, b: y, range };
}

/**
 * Peak signal-to-noise ratio 10·log10(dataRange² / MSE) in dB, per image (as skimage's peak_signal_noise_ratio),
 * then averaged over the batch unless reduction is 'none'. Identical images give +Infinity.
 */
export function psnr(x: Tensor, y: Tensor, opts: ImageQualityOptions = {}): Tensor {
  const { a, b, range } = operands('psnr', x, y, opts);
  const perImage = mean(square(sub(a, b)), [1, 2, 3]);
  const db = mul(log(div(range * range, perImage)), 10 / Math.LN10);
  return (opts.reduction ?? 'mean') === 'none' ? db : mean(db);
}

/** Options of ssim. */
export interface SsimOptions extends ImageQualityOptions {
  /** σ of the Gaussian window (default 1.5). */
  sigma?: number;
  /** The window's radius is ⌊truncate·σ + ½⌋ (scipy's gaussian_filter; default 3.5, an 11×11 window for σ = 1.5). */
  truncate?: number;
  /** Stabilising constants (default 0.01 and 0.03). */
  k1?: number;
  k2?: number;
}

/** The normalised 1-D Gaussian of scipy.ndimage.gaussian_filter. */
function gaussianWindow(sigma: number, radius: number): number[] {
  const w: number[] = [];
  let total = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp(-0.5 * (i / sigma) ** 2);
    w.push(v);
    total += v;
  }
  return w.map((v) => v / total);
}

/**
 * Mean structural similarity of x and y ([N, C, H, W] or [C, H, W]; each channel separately, then averaged, as
 * scikit-image with channel_axis): per image, then the batch mean unless reduction is 'none'.
 */
export function ssim(x: Tensor, y: Tensor, opts: SsimOptions = {}): Tensor {
  const op = 'ssim';
  const { a, b, range } = operands(op, x, y, opts);
  const sigma = opts.sigma ?? 1.5;
  const truncate = opts.truncate ?? 3.5;
  if (!(sigma > 0) || !(truncate > 0))
    throw new Error(`${op}: sigma and truncate must be > 0, got ${sigma} and ${truncate}`);
  const radius = Math.floor(truncate * sigma + 0.5);
  const k = 2 * radius + 1;
  const [n, c, h, w] = a.shape;
  if (h < k || w < k)
    throw new Error(`${op}: images ${h}×${w} are smaller than the ${k}×${k} Gaussian window (sigma ${sigma})`);
  const g = gaussianWindow(sigma, radius);
  const rowW = new Tensor(a.dtype === 'float64' ? Float64Array.from(g) : Float32Array.from(g), [1, 1, 1, k], a.dtype);
  const colW = reshape(rowW, [1, 1, k, 1]);
  // separable Gaussian over each channel plane; only the positions whose window fits (scikit-image's crop)
  const filter = (t: Tensor) => conv2d(conv2d(reshape(t, [n * c, 1, h, w]), rowW), colW);
  const ux = filter(a),
    uy = filter(b);
  const uxx = filter(square(a)),
    uyy = filter(square(b)),
    uxy = filter(mul(a, b));
  const vx = sub(uxx, square(ux)),
    vy = sub(uyy, square(uy)),
    vxy = sub(uxy, mul(ux, uy));
  const c1 = ((opts.k1 ?? 0.01) * range) ** 2;
  const c2 = ((opts.k2 ?? 0.03) * range) ** 2;
  const num = mul(add(mul(mul(ux, uy), 2), c1), add(mul(vxy, 2), c2));
  const den = mul(add(add(square(ux), square(uy)), c1), add(add(vx, vy), c2));
  const map = div(num, den); // [N·C, 1, H − 2r, W − 2r]
  const perImage = mean(reshape(map, [n, -1]), 1);
  return (opts.reduction ?? 'mean') === 'none' ? perImage : mean(perImage);
}
