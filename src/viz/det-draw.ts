/**
 * Drawing detections on an image: torchvision.utils' `draw_bounding_boxes` (box outlines with a caption) and
 * `draw_segmentation_masks` (masks blended at `alpha`) in one call, on float images [C, H, W] in [0, 1]. Captions
 * use the built-in 5×7 font of `io/image` (upper case), on a filled strip in the box colour so they stay legible.
 */
import { drawText, FONT_HEIGHT, textWidth } from '../io/image.js';
import { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';

/** One image's detections (a detector's eval-mode output or a target). */
export interface DrawableDetections {
  /** [K, 4] (x1, y1, x2, y2) pixels. */
  boxes: Tensor;
  /** [K] class indices (1-based, 0 = background). */
  labels: Tensor;
  /** [K] scores; a target without them draws every box. */
  scores?: Tensor;
  /** [K, H, W] or [K, 1, H, W] masks (probabilities or 0/1). */
  masks?: Tensor;
}

/** Options of `drawDetections`. */
export interface DrawDetectionsOptions {
  /** Names by label value (index 0 = background); default the label number. */
  classNames?: readonly string[];
  /** Boxes scoring below this are not drawn (default 0.5). */
  scoreThreshold?: number;
  /** Outline width in pixels (default 1; 2 from 256 px). */
  width?: number;
  /** Mask opacity (default 0.45) and the probability above which a pixel is in the mask (default 0.5). */
  maskAlpha?: number;
  maskThreshold?: number;
  /** Captions "name 0.93" above each box (default true). */
  captions?: boolean;
  /** Text scale of the captions (default 1). */
  textScale?: number;
}

/** A colour per class: evenly spaced hues at full saturation (class k always gets the same colour). */
export function classColour(label: number): [number, number, number] {
  const h = ((label * 0.618033988749895) % 1) * 6;
  const x = 1 - Math.abs((h % 2) - 1);
  const rgb: [number, number, number][] = [
    [1, x, 0],
    [x, 1, 0],
    [0, 1, x],
    [0, x, 1],
    [x, 0, 1],
    [1, 0, x],
  ];
  return rgb[Math.floor(h) % 6];
}

/**
 * Returns a copy of `image` (float [1 or 3, H, W], values in [0, 1]; grey is made RGB) with the detections drawn:
 * masks first (blended), then box outlines, then captions; boxes are clipped to the image.
 */
export function drawDetections(image: Tensor, dets: DrawableDetections, opts: DrawDetectionsOptions = {}): Tensor {
  if (image.shape.length !== 3 || (image.shape[0] !== 1 && image.shape[0] !== 3))
    throw new Error(`drawDetections: expected an image [1 or 3, H, W], got ${formatShape(image.shape)}`);
  const [c, h, w] = image.shape;
  const k = dets.boxes.shape[0] ?? 0;
  if (dets.boxes.shape.length !== 2 || dets.boxes.shape[1] !== 4 || dets.labels.shape[0] !== k)
    throw new Error(
      `drawDetections: boxes must be [K, 4] with K labels, got boxes ${formatShape(dets.boxes.shape)} and labels ${formatShape(dets.labels.shape)}`,
    );
  const src = image.contiguous().dataView();
  const out = new Float32Array(3 * h * w);
  for (let ch = 0; ch < 3; ch++)
    for (let p = 0; p < h * w; p++) out[ch * h * w + p] = src[(c === 1 ? 0 : ch) * h * w + p];
  const thr = opts.scoreThreshold ?? 0.5;
  const scores = dets.scores?.dataView();
  const keep = Array.from({ length: k }, (_, i) => i).filter((i) => !scores || scores[i] >= thr);
  const b = dets.boxes.dataView(),
    l = dets.labels.dataView();
  const plane = h * w;
  if (dets.masks) {
    const m = dets.masks.contiguous().dataView();
    const ms = dets.masks.shape;
    if (ms[0] !== k || ms[ms.length - 2] !== h || ms[ms.length - 1] !== w)
      throw new Error(`drawDetections: masks ${formatShape(ms)} do not match ${k} boxes on a ${h}×${w} image`);
    const alpha = opts.maskAlpha ?? 0.45,
      mt = opts.maskThreshold ?? 0.5;
    for (const i of keep) {
      const col = classColour(Number(l[i]));
      for (let p = 0; p < plane; p++)
        if (m[i * plane + p] > mt)
          for (let ch = 0; ch < 3; ch++) out[ch * plane + p] = (1 - alpha) * out[ch * plane + p] + alpha * col[ch];
    }
  }
  const lw = opts.width ?? (Math.max(h, w) >= 256 ? 2 : 1);
  const put = (x: number, y: number, col: readonly number[]) => {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    for (let ch = 0; ch < 3; ch++) out[ch * plane + y * w + x] = col[ch];
  };
  for (const i of keep) {
    const col = classColour(Number(l[i]));
    const x1 = Math.max(0, Math.min(w - 1, Math.round(b[4 * i]))),
      y1 = Math.max(0, Math.min(h - 1, Math.round(b[4 * i + 1]))),
      x2 = Math.max(0, Math.min(w - 1, Math.round(b[4 * i + 2]) - 1)),
      y2 = Math.max(0, Math.min(h - 1, Math.round(b[4 * i + 3]) - 1));
    for (let t = 0; t < lw; t++) {
      for (let x = x1; x <= x2; x++) {
        put(x, y1 + t, col);
        put(x, y2 - t, col);
      }
      for (let y = y1; y <= y2; y++) {
        put(x1 + t, y, col);
        put(x2 - t, y, col);
      }
    }
  }
  // Captions: a strip in the box colour (drawn into the buffer), then the text on it.
  const scale = opts.textScale ?? 1;
  const th = FONT_HEIGHT * scale + 2;
  const captions = (opts.captions === false ? [] : keep).map((i) => {
    const label = Number(l[i]);
    const name = opts.classNames?.[label] ?? String(label);
    const text = scores ? `${name} ${Number(scores[i]).toFixed(2)}` : name;
    const col = classColour(label);
    const x = Math.max(0, Math.min(w - 1, Math.round(b[4 * i])));
    const top = Math.round(b[4 * i + 1]);
    // Above the box when there is room, else inside its top edge.
    const y = top - th >= 0 ? top - th : Math.max(0, top);
    const tw = Math.min(w - x, textWidth(text, scale) + 2);
    for (let yy = y; yy < Math.min(h, y + th); yy++) for (let xx = x; xx < x + tw; xx++) put(xx, yy, col);
    // Dark text on light colours, white on dark ones.
    const luma = 0.299 * col[0] + 0.587 * col[1] + 0.114 * col[2];
    return { text, x: x + 1, y: y + 1, color: luma > 0.5 ? 0 : 1 };
  });
  const img = new Tensor(out, [3, h, w], 'float32');
  for (const t of captions) drawText(img, t.text, t.x, t.y, { color: t.color, scale });
  return img;
}
