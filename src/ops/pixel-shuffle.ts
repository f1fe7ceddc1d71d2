/**
 * Sub-pixel rearrangements (Shi et al. 2016, ESPCN): pixelShuffle moves r² channels into an r×r block of pixels,
 * pixelUnshuffle is its inverse. Both are a reshape, a permute and a reshape, so they are differentiable to any
 * order; channel c·r² + i·r + j of the input becomes pixel (h·r + i, w·r + j) of output channel c, as in PyTorch.
 */
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { permute, reshape } from './shape.js';

function checkFactor(op: string, r: number, what: string): void {
  if (!Number.isInteger(r) || r < 1) throw new Error(`${op}: ${what} must be a positive integer, got ${r}`);
}

/** [*, C·r², H, W] → [*, C, H·r, W·r] (torch.nn.functional.pixel_shuffle). */
export function pixelShuffle(x: Tensor, upscaleFactor: number): Tensor {
  const op = 'pixelShuffle';
  const r = upscaleFactor;
  checkFactor(op, r, 'upscaleFactor');
  if (x.shape.length < 3)
    throw new Error(`${op}: expected an input of at least 3 dims [*, C·r², H, W], got ${formatShape(x.shape)}`);
  const lead = x.shape.slice(0, -3);
  const [c2, h, w] = x.shape.slice(-3);
  if (c2 % (r * r) !== 0)
    throw new Error(
      `${op}: ${c2} channels are not divisible by upscaleFactor² = ${r * r} (input ${formatShape(x.shape)})`,
    );
  const c = c2 / (r * r);
  const k = lead.length;
  const split = reshape(x, [...lead, c, r, r, h, w]);
  const order = [...lead.keys(), k, k + 3, k + 1, k + 4, k + 2];
  return reshape(permute(split, order), [...lead, c, h * r, w * r]);
}

/** [*, C, H·r, W·r] → [*, C·r², H, W] (torch.nn.functional.pixel_unshuffle), the inverse of pixelShuffle. */
export function pixelUnshuffle(x: Tensor, downscaleFactor: number): Tensor {
  const op = 'pixelUnshuffle';
  const r = downscaleFactor;
  checkFactor(op, r, 'downscaleFactor');
  if (x.shape.length < 3)
    throw new Error(`${op}: expected an input of at least 3 dims [*, C, H, W], got ${formatShape(x.shape)}`);
  const lead = x.shape.slice(0, -3);
  const [c, hr, wr] = x.shape.slice(-3);
  if (hr % r !== 0 || wr % r !== 0) {
    throw new Error(
      `${op}: height ${hr} and width ${wr} must be divisible by downscaleFactor ${r} (input ${formatShape(x.shape)})`,
    );
  }
  const h = hr / r,
    w = wr / r;
  const k = lead.length;
  const split = reshape(x, [...lead, c, h, r, w, r]);
  const order = [...lead.keys(), k, k + 2, k + 4, k + 1, k + 3];
  return reshape(permute(split, order), [...lead, c * r * r, h, w]);
}
