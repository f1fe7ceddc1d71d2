/**
 * Mask paste (torchvision.models.detection.roi_heads.paste_masks_in_image): turns Mask R-CNN's fixed-size
 * per-box mask probabilities into full-image masks.
 */
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkBoxes } from './boxes.js';

/**
 * Pastes masks [N, 1, M, M] (probabilities in box coordinates) into an image of `imageSize` = [height, width]:
 * each mask is zero-padded by `padding` pixels, its box enlarged by (M + 2·padding)/M about its centre and cut to
 * integers, the padded mask resized bilinearly (half-pixel centres) onto the box's (x2 − x1 + 1) × (y2 − y1 + 1)
 * pixels and copied into the image where box and image overlap. Returns [N, 1, height, width]. The padding lets
 * the mask fade out at the box edge instead of ending with a hard step, as in torchvision (Detectron's trick).
 * Boxes wholly outside the image give empty masks (torchvision's slicing fails on some of them).
 */
export function pasteMasksInImage(
  masks: Tensor,
  boxes: Tensor,
  imageSize: readonly [number, number],
  padding = 1,
): Tensor {
  const op = 'pasteMasksInImage';
  if (masks.shape.length !== 4 || masks.shape[1] !== 1)
    throw new Error(`${op}: masks must have shape [N, 1, M, M], got ${formatShape(masks.shape)}`);
  checkBoxes(op, boxes);
  if (boxes.shape[0] !== masks.shape[0]) throw new Error(`${op}: ${masks.shape[0]} masks but ${boxes.shape[0]} boxes`);
  if (!Number.isInteger(padding) || padding < 0)
    throw new Error(`${op}: padding must be an integer ≥ 0, got ${padding}`);
  const [imH, imW] = imageSize;
  if (!Number.isInteger(imH) || !Number.isInteger(imW) || imH < 0 || imW < 0)
    throw new Error(`${op}: imageSize must be two integers ≥ 0, got ${JSON.stringify(imageSize)}`);
  const [n, , mh0, mw0] = masks.shape;
  const mh = mh0 + 2 * padding;
  const mw = mw0 + 2 * padding;
  const f = boxes.dtype === 'float64' ? (x: number) => x : Math.fround;
  const scale = f((mw0 + 2 * padding) / mw0);
  const m = masks.dataView();
  const b = boxes.dataView();
  const out = Tensor.empty([n, 1, imH, imW], masks.dtype === 'float64' ? 'float64' : 'float32');
  const o = out.storage;
  const padded = new Float64Array(mh * mw);
  for (let k = 0; k < n; k++) {
    // Enlarged box, truncated towards zero like torchvision's .to(torch.int64).
    const wHalf = f(f(f(b[4 * k + 2] - b[4 * k]) * 0.5) * scale);
    const hHalf = f(f(f(b[4 * k + 3] - b[4 * k + 1]) * 0.5) * scale);
    const xc = f(f(b[4 * k + 2] + b[4 * k]) * 0.5);
    const yc = f(f(b[4 * k + 3] + b[4 * k + 1]) * 0.5);
    const bx0 = Math.trunc(f(xc - wHalf));
    const by0 = Math.trunc(f(yc - hHalf));
    const bx1 = Math.trunc(f(xc + wHalf));
    const by1 = Math.trunc(f(yc + hHalf));
    const w = Math.max(bx1 - bx0 + 1, 1);
    const h = Math.max(by1 - by0 + 1, 1);
    padded.fill(0);
    for (let y = 0; y < mh0; y++) {
      for (let x = 0; x < mw0; x++) padded[(y + padding) * mw + x + padding] = m[(k * mh0 + y) * mw0 + x];
    }
    const x0 = Math.max(bx0, 0);
    const x1 = Math.min(bx1 + 1, imW);
    const y0 = Math.max(by0, 0);
    const y1 = Math.min(by1 + 1, imH);
    if (x1 <= x0 || y1 <= y0) continue;
    // Bilinear resize of the padded mask to h × w with align_corners=False (PyTorch's source-index rule).
    const sy = Math.fround(mh / h);
    const sx = Math.fround(mw / w);
    const xl = new Int32Array(x1 - x0);
    const xh = new Int32Array(x1 - x0);
    const lx = new Float64Array(x1 - x0);
    for (let xx = x0; xx < x1; xx++) {
      const src = Math.max(Math.fround(sx * (xx - bx0 + 0.5) - 0.5), 0);
      const i = Math.trunc(src);
      xl[xx - x0] = i;
      xh[xx - x0] = i < mw - 1 ? i + 1 : i;
      lx[xx - x0] = src - i;
    }
    for (let yy = y0; yy < y1; yy++) {
      const src = Math.max(Math.fround(sy * (yy - by0 + 0.5) - 0.5), 0);
      const i = Math.trunc(src);
      const ly = src - i;
      const r0 = i * mw;
      const r1 = (i < mh - 1 ? i + 1 : i) * mw;
      const base = (k * imH + yy) * imW;
      for (let xx = x0; xx < x1; xx++) {
        const j = xx - x0;
        const top = (1 - lx[j]) * padded[r0 + xl[j]] + lx[j] * padded[r0 + xh[j]];
        const bottom = (1 - lx[j]) * padded[r1 + xl[j]] + lx[j] * padded[r1 + xh[j]];
        o[base + xx] = (1 - ly) * top + ly * bottom;
      }
    }
  }
  return out;
}
