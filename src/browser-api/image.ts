/**
 * Images in a page ↔ tensors, in torchvision.io's layout (uint8 [C, H, W]): from ImageData, a canvas, an <img>,
 * an ImageBitmap or a video frame, from an image File/Blob or URL (decoded by the browser's own decoder through
 * createImageBitmap), and back to ImageData or a canvas. Float tensors are taken as [0, 1], as encodeImage does.
 */
import { Tensor } from '../tensor/tensor.js';
import { convertChannels, fromImageTensor, toImageTensor, type ImageReadMode, type RawImage } from '../io/image.js';

/** How to read pixels: which channels to keep (default 'rgb'; ImageData is always RGBA underneath). */
export interface PixelOptions {
  /** 'rgb' (default), 'rgba', 'gray' (ITU-R 601 luma, as PIL's convert('L')) or 'gray_alpha'. */
  mode?: Exclude<ImageReadMode, 'unchanged'>;
}

/** What a canvas can draw: <img>, <canvas>, ImageBitmap, <video>, OffscreenCanvas, VideoFrame. */
export type PixelSource = CanvasImageSource;

function rgbaImage(width: number, height: number, data: Uint8ClampedArray | Uint8Array): RawImage {
  return { width, height, channels: 4, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** ImageData → uint8 tensor [C, H, W] (C from `mode`, default 3). */
export function fromImageData(image: ImageData, opts: PixelOptions = {}): Tensor {
  if (
    typeof ImageData !== 'undefined' &&
    !(image instanceof ImageData) &&
    !(image && 'data' in image && 'width' in image)
  ) {
    throw new Error('fromImageData: expected an ImageData');
  }
  return toImageTensor(convertChannels(rgbaImage(image.width, image.height, image.data), opts.mode ?? 'rgb'));
}

/**
 * Image tensor ([C, H, W] with C in 1..4, or [H, W]; uint8, or float in [0, 1]) → ImageData (RGBA; gray is
 * replicated, a missing alpha is opaque).
 */
export function toImageData(t: Tensor): ImageData {
  const img = fromImageTensor(t);
  const rgba = convertChannels(img, 'rgba').data;
  const pixels = new Uint8ClampedArray(rgba.length);
  pixels.set(rgba);
  return new ImageData(pixels, img.width, img.height);
}

type Canvas2D = HTMLCanvasElement | OffscreenCanvas;

function context(canvas: Canvas2D, op: string): CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D {
  const ctx = canvas.getContext('2d', { willReadFrequently: true }) as
    CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
  if (!ctx) throw new Error(`${op}: the canvas has no 2d context (is it already used for WebGL?)`);
  return ctx;
}

function scratchCanvas(width: number, height: number): Canvas2D {
  if (typeof OffscreenCanvas !== 'undefined') return new OffscreenCanvas(width, height);
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  return c;
}

/** A canvas's pixels → uint8 tensor [C, H, W]. */
export function fromCanvas(canvas: Canvas2D, opts: PixelOptions = {}): Tensor {
  return fromImageData(context(canvas, 'fromCanvas').getImageData(0, 0, canvas.width, canvas.height), opts);
}

/**
 * Draws an image tensor on a canvas (resized to the image), or on a new one; returns the canvas. Scale it for
 * display with CSS (`image-rendering: pixelated` keeps small feature maps sharp).
 */
export function toCanvas(t: Tensor, canvas?: Canvas2D): Canvas2D {
  const data = toImageData(t);
  const c = canvas ?? scratchCanvas(data.width, data.height);
  c.width = data.width;
  c.height = data.height;
  context(c, 'toCanvas').putImageData(data, 0, 0);
  return c;
}

function sourceSize(source: PixelSource): { width: number; height: number } {
  const s = source as {
    naturalWidth?: number;
    naturalHeight?: number;
    videoWidth?: number;
    videoHeight?: number;
    displayWidth?: number;
    displayHeight?: number;
    width?: number | { baseVal: { value: number } };
    height?: number | { baseVal: { value: number } };
  };
  const width =
    s.naturalWidth ||
    s.videoWidth ||
    s.displayWidth ||
    (typeof s.width === 'number' ? s.width : s.width?.baseVal.value) ||
    0;
  const height =
    s.naturalHeight ||
    s.videoHeight ||
    s.displayHeight ||
    (typeof s.height === 'number' ? s.height : s.height?.baseVal.value) ||
    0;
  return { width, height };
}

/**
 * Pixels of anything a canvas can draw — a loaded <img>, an ImageBitmap, a <video> frame, a canvas — as a uint8
 * tensor [C, H, W] at the source's natural size.
 */
export function fromImageSource(source: PixelSource, opts: PixelOptions = {}): Tensor {
  const { width, height } = sourceSize(source);
  if (!(width > 0 && height > 0))
    throw new Error(
      `fromImageSource: the source has no pixels yet (${width}×${height}); wait for the image to load (img.decode())`,
    );
  const c = scratchCanvas(width, height);
  const ctx = context(c, 'fromImageSource');
  ctx.drawImage(source, 0, 0);
  return fromImageData(ctx.getImageData(0, 0, width, height), opts);
}

/**
 * Decodes an image File or Blob (PNG, JPEG, WebP, GIF's first frame … whatever the browser decodes) to a uint8
 * tensor [C, H, W] — the browser's counterpart of readImage. Colour management is off, so pixel values are the
 * file's own, as a Node decode gives them.
 */
export async function readImageFile(file: Blob, opts: PixelOptions = {}): Promise<Tensor> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (err) {
    const name = (file as File).name ?? 'blob';
    throw new Error(
      `readImageFile: ${name} (${file.type || 'unknown type'}, ${file.size} bytes) is not an image this browser decodes: ${(err as Error).message}`,
    );
  }
  try {
    return fromImageSource(bitmap, opts);
  } finally {
    bitmap.close();
  }
}

/** Fetches an image URL and decodes it to a uint8 tensor [C, H, W] (see readImageFile). */
export async function fetchImage(url: string | URL, opts: PixelOptions & { init?: RequestInit } = {}): Promise<Tensor> {
  const response = await fetch(url, opts.init);
  if (!response.ok) throw new Error(`fetchImage: ${String(url)}: HTTP ${response.status}`);
  return readImageFile(await response.blob(), opts);
}
