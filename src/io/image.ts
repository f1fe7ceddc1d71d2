/**
 * Image files ↔ tensors. Layout follows torchvision.io: a decoded image is a uint8 tensor [C, H, W]
 * (C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA). PNG and JPEG are decoded by pure-JS codecs (pngjs, jpeg-js); the format
 * is detected from the magic bytes, not the file name.
 */
import { readFileSync, extname, writeFileAtomicSync } from './fs.js';
import { PNG, type ColorType } from 'pngjs';
import jpeg from 'jpeg-js';
import { isFloating } from '../tensor/dtype.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkJpeg, checkPng, getMaxImagePixels } from './image-check.js';

export { setMaxImagePixels, getMaxImagePixels, DEFAULT_MAX_IMAGE_PIXELS } from './image-check.js';

/** Decoded pixels in interleaved (HWC) layout, as codecs and canvases use them. */
export interface RawImage {
  width: number;
  height: number;
  /** Channels per pixel. */
  channels: number;
  data: Uint8Array;
}

/** Channel selection when decoding (torchvision's ImageReadMode). */
export type ImageReadMode = 'unchanged' | 'gray' | 'gray_alpha' | 'rgb' | 'rgba';

/** Image file formats Tatami reads and writes. */
export type ImageFormat = 'png' | 'jpeg';

/** The format of encoded bytes from their magic number, or null. */
export function detectImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (
    bytes.length >= 8 &&
    bytes[0] === 0x89 &&
    bytes[1] === 0x50 &&
    bytes[2] === 0x4e &&
    bytes[3] === 0x47 &&
    bytes[4] === 0x0d &&
    bytes[5] === 0x0a &&
    bytes[6] === 0x1a &&
    bytes[7] === 0x0a
  )
    return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/**
 * Decodes PNG or JPEG bytes to interleaved pixels; `name` (a file name) is used in error messages. The header is
 * checked first: images above `maxPixels` (default: the global limit, see `setMaxImagePixels`) are refused before
 * any pixel memory is allocated, and a PNG's structure, CRCs and image-data size are verified, so a corrupt file
 * fails naming itself instead of decoding to black.
 */
export function decodeRaw(bytes: Uint8Array, name = 'image', maxPixels = getMaxImagePixels()): RawImage {
  const format = detectImageFormat(bytes);
  if (format === null) {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(
      `${name}: not a PNG or JPEG file (starts with bytes ${head || '(empty)'}; expected 89 50 4e 47 for PNG or ff d8 ff for JPEG)`,
    );
  }
  if (format === 'png') {
    if (!hasIend(bytes)) {
      throw new Error(`${name}: truncated PNG: no IEND chunk at the end of the file (${bytes.length} bytes)`);
    }
    checkPng(bytes, name, maxPixels);
    let png;
    try {
      png = PNG.sync.read(
        typeof Buffer === 'undefined'
          ? (bytes as Buffer)
          : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      );
    } catch (e) {
      throw new Error(`${name}: corrupt or truncated PNG (${(e as Error).message})`);
    }
    // pngjs always expands to 8-bit RGBA; keep the channels the file actually has.
    const channels =
      png.colorType === 0
        ? 1
        : png.colorType === 4
          ? 2
          : png.colorType === 2
            ? 3
            : png.colorType === 6
              ? 4
              : png.alpha
                ? 4
                : 3;
    const rgba = new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength);
    return { width: png.width, height: png.height, channels, data: fromRgba(rgba, png.width * png.height, channels) };
  }
  let eoi = false;
  for (let i = bytes.length - 2; i >= Math.max(0, bytes.length - 64) && !eoi; i--)
    eoi = bytes[i] === 0xff && bytes[i + 1] === 0xd9;
  if (!eoi)
    throw new Error(
      `${name}: truncated JPEG: no end-of-image marker (FF D9) at the end of the file (${bytes.length} bytes)`,
    );
  checkJpeg(bytes, name, maxPixels);
  let img;
  try {
    img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: false,
      maxMemoryUsageInMB: 2048,
      maxResolutionInMP: Number.isFinite(maxPixels) ? Math.max(1, maxPixels / 1e6) : 1e9,
    });
  } catch (e) {
    throw new Error(`${name}: corrupt or truncated JPEG (the decoder failed: ${(e as Error).message})`);
  }
  const n = img.width * img.height;
  const channels = n > 0 ? img.data.length / n : 3;
  if (!Number.isInteger(channels) || channels < 1 || channels > 4)
    throw new Error(`${name}: corrupt JPEG: ${img.data.length} bytes for ${img.width}×${img.height} pixels`);
  return { width: img.width, height: img.height, channels, data: img.data };
}

function fromRgba(rgba: Uint8Array, n: number, channels: number): Uint8Array {
  const out = new Uint8Array(n * channels);
  for (let p = 0; p < n; p++) {
    const s = 4 * p;
    if (channels === 1) out[p] = rgba[s];
    else if (channels === 2) {
      out[2 * p] = rgba[s];
      out[2 * p + 1] = rgba[s + 3];
    } else for (let c = 0; c < channels; c++) out[channels * p + c] = rgba[s + c];
  }
  return out;
}

/** Converts interleaved pixels to another channel layout (gray uses ITU-R 601 luma, like PIL). */
export function convertChannels(img: RawImage, mode: ImageReadMode): RawImage {
  const want =
    mode === 'gray' ? 1 : mode === 'gray_alpha' ? 2 : mode === 'rgb' ? 3 : mode === 'rgba' ? 4 : img.channels;
  if (want === img.channels) return img;
  const n = img.width * img.height;
  const C = img.channels;
  const out = new Uint8Array(n * want);
  for (let p = 0; p < n; p++) {
    const s = p * C;
    const hasColor = C >= 3;
    const r = img.data[s],
      g = hasColor ? img.data[s + 1] : r,
      b = hasColor ? img.data[s + 2] : r;
    const a = C === 2 ? img.data[s + 1] : C === 4 ? img.data[s + 3] : 255;
    const o = p * want;
    if (want <= 2) {
      out[o] = hasColor ? Math.round(0.299 * r + 0.587 * g + 0.114 * b) : r;
      if (want === 2) out[o + 1] = a;
    } else {
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
      if (want === 4) out[o + 3] = a;
    }
  }
  return { width: img.width, height: img.height, channels: want, data: out };
}

/** Interleaved pixels → uint8 tensor [C, H, W]. */
export function toImageTensor(img: RawImage): Tensor {
  const { width: W, height: H, channels: C, data } = img;
  if (data.length !== W * H * C) throw new Error(`toImageTensor: ${data.length} bytes is not ${W}×${H}×${C}`);
  const out = Tensor.empty([C, H, W], 'uint8');
  const plane = H * W;
  for (let p = 0; p < plane; p++) for (let c = 0; c < C; c++) out.storage[c * plane + p] = data[p * C + c];
  return out;
}

/**
 * Image tensor → interleaved uint8 pixels. Accepts [C, H, W] or [H, W]; uint8 values are used as they are, float
 * values are taken as [0, 1] (clamped, ×255, rounded).
 */
export function fromImageTensor(t: Tensor): RawImage {
  if (!(t instanceof Tensor)) throw new Error('fromImageTensor: expected a Tensor');
  const shape = t.shape.length === 2 ? [1, ...t.shape] : t.shape;
  if (shape.length !== 3 || shape[0] < 1 || shape[0] > 4) {
    throw new Error(
      `fromImageTensor: expected an image of shape [C, H, W] with C in 1..4 (or [H, W]), got ${formatShape(t.shape)}`,
    );
  }
  const [C, H, W] = shape;
  const src = t.dataView();
  const float = isFloating(t.dtype);
  const out = new Uint8Array(C * H * W);
  const plane = H * W;
  for (let c = 0; c < C; c++) {
    for (let p = 0; p < plane; p++) {
      let v = src[c * plane + p];
      if (float) v = Number.isNaN(v) ? 0 : Math.round(Math.min(1, Math.max(0, v)) * 255);
      else v = Math.min(255, Math.max(0, v));
      out[p * C + c] = v;
    }
  }
  return { width: W, height: H, channels: C, data: out };
}

/** Whether the last 64 bytes hold an IEND chunk type (a complete PNG ends with it). */
function hasIend(bytes: Uint8Array): boolean {
  for (let i = bytes.length - 4; i >= Math.max(0, bytes.length - 64); i--) {
    if (bytes[i] === 0x49 && bytes[i + 1] === 0x45 && bytes[i + 2] === 0x4e && bytes[i + 3] === 0x44) return true;
  }
  return false;
}

/** Decodes PNG or JPEG bytes to a uint8 tensor [C, H, W] (torchvision.io.decode_image). */
export function decodeImage(
  bytes: Uint8Array,
  opts: { mode?: ImageReadMode; name?: string; maxPixels?: number } = {},
): Tensor {
  return toImageTensor(convertChannels(decodeRaw(bytes, opts.name, opts.maxPixels), opts.mode ?? 'unchanged'));
}

/** Reads a PNG or JPEG file as a uint8 tensor [C, H, W] (torchvision.io.read_image). Errors name the file. */
export function readImage(path: string, opts: { mode?: ImageReadMode; maxPixels?: number } = {}): Tensor {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(
      err.code === 'ENOENT' ? `readImage: ${path}: file not found` : `readImage: ${path}: cannot read (${err.message})`,
    );
  }
  return decodeImage(bytes, { mode: opts.mode, name: path, maxPixels: opts.maxPixels });
}

/** Expands 1–4 channel interleaved pixels to RGBA (gray replicated; alpha kept when asked, else opaque). */
function toRgba(img: RawImage, keepAlpha: boolean): Uint8Array {
  const n = img.width * img.height;
  const c = img.channels;
  const gray = c <= 2;
  const rgba = new Uint8Array(n * 4);
  for (let p = 0; p < n; p++) {
    const s = p * c;
    rgba[4 * p] = img.data[s];
    rgba[4 * p + 1] = gray ? img.data[s] : img.data[s + 1];
    rgba[4 * p + 2] = gray ? img.data[s] : img.data[s + 2];
    rgba[4 * p + 3] = keepAlpha && c === 2 ? img.data[s + 1] : keepAlpha && c === 4 ? img.data[s + 3] : 255;
  }
  return rgba;
}

/** Encodes an image tensor ([C, H, W] or [H, W]; uint8, or float in [0, 1]) as PNG or JPEG bytes. */
export function encodeImage(t: Tensor, format: ImageFormat = 'png', opts: { quality?: number } = {}): Uint8Array {
  const img = fromImageTensor(t);
  if (format === 'png') {
    const colorType: ColorType = img.channels === 1 ? 0 : img.channels === 2 ? 4 : img.channels === 3 ? 2 : 6;
    const rgba = toRgba(img, true);
    // No Buffer here, so the same code runs in a page (where pngjs is src/io/pngjs.browser.ts); plain Uint8Array out.
    const png = { width: img.width, height: img.height, data: rgba } as unknown as PNG;
    const out = PNG.sync.write(png, { colorType, inputColorType: 6, inputHasAlpha: true });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
  const quality = opts.quality ?? 90;
  if (!(quality >= 1 && quality <= 100)) throw new Error(`encodeImage: JPEG quality must be in 1..100, got ${quality}`);
  // jpeg-js encodes RGBA input (alpha ignored); gray images are replicated to RGB.
  const rgba = toRgba(img, false);
  if (typeof Buffer === 'undefined') {
    throw new Error(
      "encodeImage: JPEG encoding needs Node (jpeg-js returns a Buffer); in the browser encode PNG, or draw with tt.toCanvas and use canvas.toBlob(cb, 'image/jpeg')",
    );
  }
  const out = jpeg.encode({ width: img.width, height: img.height, data: rgba }, quality).data;
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Writes an image tensor to `path` as PNG or JPEG, chosen by the extension (.png, .jpg, .jpeg). The file is
 * written to a temporary name and renamed, so readers never see a half-written image.
 */
export function writeImage(path: string, t: Tensor, opts: { quality?: number } = {}): void {
  const ext = extname(path).toLowerCase();
  const format: ImageFormat | null = ext === '.png' ? 'png' : ext === '.jpg' || ext === '.jpeg' ? 'jpeg' : null;
  if (format === null)
    throw new Error(`writeImage: ${path}: unknown image extension '${ext}' (use .png, .jpg or .jpeg)`);
  const bytes = encodeImage(t, format, opts);
  writeFileAtomicSync(path, bytes);
}

// ---------------------------------------------------------------------------------------------------------------
// Grids and labels

// A 5×7 bitmap font: each glyph is 7 rows of 5 bits (most significant bit = leftmost pixel).
const GLYPHS: Record<string, string> = {
  '0': '01110 10001 10011 10101 11001 10001 01110',
  '1': '00100 01100 00100 00100 00100 00100 01110',
  '2': '01110 10001 00001 00010 00100 01000 11111',
  '3': '11111 00010 00100 00010 00001 10001 01110',
  '4': '00010 00110 01010 10010 11111 00010 00010',
  '5': '11111 10000 11110 00001 00001 10001 01110',
  '6': '00110 01000 10000 11110 10001 10001 01110',
  '7': '11111 00001 00010 00100 01000 01000 01000',
  '8': '01110 10001 10001 01110 10001 10001 01110',
  '9': '01110 10001 10001 01111 00001 00010 01100',
  A: '01110 10001 10001 11111 10001 10001 10001',
  B: '11110 10001 10001 11110 10001 10001 11110',
  C: '01110 10001 10000 10000 10000 10001 01110',
  D: '11100 10010 10001 10001 10001 10010 11100',
  E: '11111 10000 10000 11110 10000 10000 11111',
  F: '11111 10000 10000 11110 10000 10000 10000',
  G: '01110 10001 10000 10111 10001 10001 01111',
  H: '10001 10001 10001 11111 10001 10001 10001',
  I: '01110 00100 00100 00100 00100 00100 01110',
  J: '00111 00010 00010 00010 00010 10010 01100',
  K: '10001 10010 10100 11000 10100 10010 10001',
  L: '10000 10000 10000 10000 10000 10000 11111',
  M: '10001 11011 10101 10101 10001 10001 10001',
  N: '10001 10001 11001 10101 10011 10001 10001',
  O: '01110 10001 10001 10001 10001 10001 01110',
  P: '11110 10001 10001 11110 10000 10000 10000',
  Q: '01110 10001 10001 10001 10101 10010 01101',
  R: '11110 10001 10001 11110 10100 10010 10001',
  S: '01111 10000 10000 01110 00001 00001 11110',
  T: '11111 00100 00100 00100 00100 00100 00100',
  U: '10001 10001 10001 10001 10001 10001 01110',
  V: '10001 10001 10001 10001 10001 01010 00100',
  W: '10001 10001 10001 10101 10101 10101 01010',
  X: '10001 10001 01010 00100 01010 10001 10001',
  Y: '10001 10001 10001 01010 00100 00100 00100',
  Z: '11111 00001 00010 00100 01000 10000 11111',
  ' ': '00000 00000 00000 00000 00000 00000 00000',
  '-': '00000 00000 00000 11111 00000 00000 00000',
  '.': '00000 00000 00000 00000 00000 01100 01100',
  '/': '00000 00001 00010 00100 01000 10000 00000',
  ':': '00000 01100 01100 00000 01100 01100 00000',
  '=': '00000 00000 11111 00000 11111 00000 00000',
  '%': '11000 11001 00010 00100 01000 10011 00011',
  '?': '01110 10001 00001 00010 00100 00000 00100',
  '+': '00000 00100 00100 11111 00100 00100 00000',
  _: '00000 00000 00000 00000 00000 00000 11111',
  '(': '00010 00100 01000 01000 01000 00100 00010',
  ')': '01000 00100 00010 00010 00010 00100 01000',
  '!': '00100 00100 00100 00100 00100 00000 00100',
  ',': '00000 00000 00000 00000 01100 00100 01000',
  '#': '01010 01010 11111 01010 11111 01010 01010',
  "'": '00100 00100 01000 00000 00000 00000 00000',
};

/** Height and advance of the built-in font at scale 1. */
export const FONT_HEIGHT = 7;
export const FONT_ADVANCE = 6;

/** Width in pixels of `text` drawn at `scale`. */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * FONT_ADVANCE - 1) * scale;
}

/**
 * Draws `text` into an image tensor in place ([C, H, W], any dtype) with its top-left corner at (x, y), using a
 * built-in 5×7 font (digits, A–Z — lower case is drawn as upper case — and common punctuation). Pixels outside the
 * image are skipped. `color` is one value or one per channel.
 */
export function drawText(
  img: Tensor,
  text: string,
  x: number,
  y: number,
  opts: { color?: number | readonly number[]; scale?: number } = {},
): Tensor {
  if (img.shape.length !== 3 || !img.isContiguous())
    throw new Error(`drawText: expected a contiguous image [C, H, W], got ${formatShape(img.shape)}`);
  const [C, H, W] = img.shape;
  const scale = opts.scale ?? 1;
  const color = opts.color ?? (isFloating(img.dtype) ? 1 : 255);
  const data = img.dataView();
  let cx = x;
  for (const ch of text.toUpperCase()) {
    const rows = (GLYPHS[ch] ?? GLYPHS['?']).split(' ');
    for (let r = 0; r < 7; r++) {
      for (let col = 0; col < 5; col++) {
        if (rows[r][col] !== '1') continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const py = y + r * scale + dy,
              px = cx + col * scale + dx;
            if (py < 0 || py >= H || px < 0 || px >= W) continue;
            for (let c = 0; c < C; c++)
              data[c * H * W + py * W + px] = typeof color === 'number' ? color : color[c % color.length];
          }
        }
      }
    }
    cx += FONT_ADVANCE * scale;
  }
  img.version++;
  return img;
}

/** Options of makeGrid (torchvision.utils.make_grid, plus optional labels). */
export interface MakeGridOptions {
  /** Images per row (default 8). */
  nrow?: number;
  /** Pixels between and around images (default 2). */
  padding?: number;
  /** Value of the padding (default 0). */
  padValue?: number;
  /** Rescale to [0, 1] using `valueRange` or the min/max (of each image with `scaleEach`, else of all). */
  normalize?: boolean;
  valueRange?: readonly [number, number];
  scaleEach?: boolean;
  /** A caption under each image, drawn with the built-in font (clipped to the cell width). */
  labels?: readonly string[];
  /** Font scale for labels (default 1). */
  labelScale?: number;
}

/**
 * Tiles images into one grid image [C, H', W'] (float32, or uint8 when the inputs are uint8). Accepts a batch
 * [N, C, H, W] or a list of [C, H, W] / [H, W] tensors of equal size; 1-channel images become 3-channel like
 * torchvision's make_grid, so the grid can be saved with writeImage.
 */
export function makeGrid(images: Tensor | readonly Tensor[], opts: MakeGridOptions = {}): Tensor {
  let list: Tensor[];
  if (images instanceof Tensor) {
    if (images.shape.length === 4)
      list = Array.from(
        { length: images.shape[0] },
        (_, i) =>
          new Tensor(
            images.storage,
            images.shape.slice(1),
            images.dtype,
            images.strides.slice(1),
            images.offset + i * images.strides[0],
          ),
      );
    else if (images.shape.length === 3 || images.shape.length === 2) list = [images];
    else
      throw new Error(
        `makeGrid: expected a batch [N, C, H, W] or an image [C, H, W], got ${formatShape(images.shape)}`,
      );
  } else list = images.slice();
  if (list.length === 0) throw new Error('makeGrid: no images');
  const shapes = list.map((t) => (t.shape.length === 2 ? [1, ...t.shape] : t.shape));
  const [, H, W] = shapes[0];
  shapes.forEach((s, i) => {
    if (s.length !== 3 || s[1] !== H || s[2] !== W)
      throw new Error(
        `makeGrid: image ${i} has shape ${formatShape(list[i].shape)} but image 0 has ${formatShape(list[0].shape)}; all images must have the same size`,
      );
  });
  if (opts.labels && opts.labels.length !== list.length)
    throw new Error(`makeGrid: ${opts.labels.length} labels for ${list.length} images`);
  const C = Math.max(...shapes.map((s) => s[0])) === 1 ? 3 : Math.max(...shapes.map((s) => s[0]));
  const dtype = !opts.normalize && list.every((t) => t.dtype === 'uint8') ? 'uint8' : 'float32';
  const nrow = opts.nrow ?? 8;
  const padding = opts.padding ?? 2;
  const labelScale = opts.labelScale ?? 1;
  const labelH = opts.labels ? FONT_HEIGHT * labelScale + 2 : 0;
  const xmaps = Math.min(nrow, list.length);
  const ymaps = Math.ceil(list.length / xmaps);
  const cellH = H + labelH + padding;
  const cellW = W + padding;
  const GH = ymaps * cellH + padding;
  const GW = xmaps * cellW + padding;
  const grid = Tensor.empty([C, GH, GW], dtype);
  grid.storage.fill(opts.padValue ?? 0);
  // Global normalisation range.
  let globalRange: [number, number] | null = null;
  if (opts.normalize && !opts.scaleEach)
    globalRange = opts.valueRange ? [opts.valueRange[0], opts.valueRange[1]] : minMax(list);
  list.forEach((t, k) => {
    const s = shapes[k];
    const src = t.dataView();
    const range = opts.normalize
      ? opts.valueRange
        ? [opts.valueRange[0], opts.valueRange[1]]
        : opts.scaleEach
          ? minMax([t])
          : globalRange!
      : null;
    const row = Math.floor(k / xmaps),
      col = k % xmaps;
    const y0 = row * cellH + padding,
      x0 = col * cellW + padding;
    for (let c = 0; c < C; c++) {
      const sc = s[0] === 1 ? 0 : Math.min(c, s[0] - 1);
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          let v = src[sc * H * W + i * W + j];
          if (range)
            v =
              range[1] > range[0] ? (Math.min(range[1], Math.max(range[0], v)) - range[0]) / (range[1] - range[0]) : 0;
          grid.storage[c * GH * GW + (y0 + i) * GW + x0 + j] = v;
        }
      }
    }
    if (opts.labels) {
      const label = opts.labels[k];
      // Clip the caption to the cell by drawing into a cell-sized strip, then copying it in.
      const strip = Tensor.empty([C, labelH, W], dtype);
      drawText(strip, label, Math.max(0, Math.floor((W - textWidth(label, labelScale)) / 2)), 1, { scale: labelScale });
      for (let c = 0; c < C; c++) {
        for (let i = 0; i < labelH; i++) {
          for (let j = 0; j < W; j++)
            grid.storage[c * GH * GW + (y0 + H + i) * GW + x0 + j] = strip.storage[c * labelH * W + i * W + j];
        }
      }
    }
  });
  return grid;
}

function minMax(list: readonly Tensor[]): [number, number] {
  let lo = Infinity,
    hi = -Infinity;
  for (const t of list) {
    const d = t.dataView();
    for (let i = 0; i < d.length; i++) {
      if (d[i] < lo) lo = d[i];
      if (d[i] > hi) hi = d[i];
    }
  }
  return [lo, hi];
}

/** makeGrid, then writeImage (torchvision.utils.save_image). */
export function saveImageGrid(
  path: string,
  images: Tensor | readonly Tensor[],
  opts: MakeGridOptions & { quality?: number } = {},
): Tensor {
  const grid = makeGrid(images, opts);
  writeImage(path, grid, { quality: opts.quality });
  return grid;
}
