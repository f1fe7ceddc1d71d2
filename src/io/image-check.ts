/**
 * Checks an encoded PNG or JPEG before any pixel memory is allocated, so an untrusted file cannot exhaust memory
 * (a "decompression bomb": a few hundred bytes that declare 20000×20000 pixels) or decode silently to a black
 * image. The pixel count is read from the header and compared with a limit (PIL's `Image.MAX_IMAGE_PIXELS` idea);
 * a PNG's chunk structure and CRCs are verified and its image data is inflated with the output bounded by what the
 * header promises, and must come out at exactly that size.
 */
import { inflateSync } from './fs.js';

/**
 * Default pixel limit: 89,478,485 pixels, PIL's `MAX_IMAGE_PIXELS` (¼ GiB of 24-bit pixels, about 9459×9459).
 * Decoding such an image takes up to ~1 GB transiently (the codecs expand to RGBA, then the tensor is built).
 */
export const DEFAULT_MAX_IMAGE_PIXELS = 89_478_485;

function envLimit(): number | null {
  const raw = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
    ?.TATAMI_MAX_IMAGE_PIXELS;
  if (raw === undefined || raw === '') return null;
  if (raw === '0' || raw.toLowerCase() === 'infinity' || raw.toLowerCase() === 'none') return Infinity;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`TATAMI_MAX_IMAGE_PIXELS must be a positive integer, 0 or 'none' (no limit), got '${raw}'`);
  return v;
}

let maxPixels: number = envLimit() ?? DEFAULT_MAX_IMAGE_PIXELS;

/**
 * Sets the largest image (width × height) that readImage/decodeImage will decode; larger files are rejected from
 * their header, before decoding. `Infinity` (or `null`) removes the limit, for trusted files only. Also settable
 * with the environment variable TATAMI_MAX_IMAGE_PIXELS (0 or 'none' for no limit). Returns the previous limit.
 */
export function setMaxImagePixels(limit: number | null): number {
  const v = limit === null ? Infinity : limit;
  if (!(v === Infinity || (Number.isInteger(v) && v >= 1)))
    throw new Error(`setMaxImagePixels: limit must be a positive integer or Infinity, got ${limit}`);
  const prev = maxPixels;
  maxPixels = v;
  return prev;
}

/** The current image pixel limit (Infinity when unlimited). */
export function getMaxImagePixels(): number {
  return maxPixels;
}

function checkPixels(name: string, kind: string, width: number, height: number, limit: number): void {
  if (width === 0 || height === 0)
    throw new Error(`${name}: corrupt ${kind}: the header declares an empty image (${width}×${height})`);
  const pixels = width * height;
  if (pixels > limit) {
    throw new Error(
      `${name}: ${kind} of ${width}×${height} = ${pixels} pixels exceeds the limit of ${limit} pixels (a possible decompression bomb); ` +
        'raise it with tt.setMaxImagePixels(n) or TATAMI_MAX_IMAGE_PIXELS=n if the file is trusted',
    );
  }
}

// ---- PNG -------------------------------------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 of the PNG specification (ISO 3309) over bytes[start, end). */
function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = -1;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

const u32 = (b: Uint8Array, p: number) => ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;

/** Allowed bit depths per PNG colour type (PNG spec, table 11.1) and samples per pixel. */
const PNG_DEPTHS: Record<number, { depths: number[]; samples: number }> = {
  0: { depths: [1, 2, 4, 8, 16], samples: 1 },
  2: { depths: [8, 16], samples: 3 },
  3: { depths: [1, 2, 4, 8], samples: 1 },
  4: { depths: [8, 16], samples: 2 },
  6: { depths: [8, 16], samples: 4 },
};

/** Bytes of filtered scanlines (filter byte + packed samples per row) for a w×h image, or pass by pass when interlaced. */
function pngDataSize(w: number, h: number, bitsPerPixel: number, interlaced: boolean): number {
  const rows = (pw: number, ph: number) => (pw === 0 || ph === 0 ? 0 : ph * (1 + Math.ceil((pw * bitsPerPixel) / 8)));
  if (!interlaced) return rows(w, h);
  // Adam7: [x0, y0, dx, dy] of the seven passes.
  const passes = [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ];
  let total = 0;
  for (const [x0, y0, dx, dy] of passes) total += rows(Math.ceil((w - x0) / dx), Math.ceil((h - y0) / dy));
  return total;
}

/**
 * Validates a PNG before decoding: signature, IHDR first and well-formed, every chunk inside the file with a
 * correct CRC, at least one IDAT and all IDATs consecutive, IEND last, the pixel count within `limit`, and the
 * zlib image data inflating (bounded) to exactly the size the header implies. Returns the dimensions.
 */
export function checkPng(bytes: Uint8Array, name: string, limit = maxPixels): { width: number; height: number } {
  const fail = (why: string): never => {
    throw new Error(`${name}: corrupt PNG: ${why}`);
  };
  if (bytes.length < 8 + 25) fail(`${bytes.length} bytes is too short for a signature and an IHDR chunk`);
  let p = 8;
  let width = 0,
    height = 0,
    bitsPerPixel = 0,
    interlaced = false;
  const idat: Uint8Array[] = [];
  let idatBytes = 0;
  let idatEnded = false;
  let index = 0;
  for (;;) {
    if (p + 12 > bytes.length) fail(`truncated at byte ${p}: no IEND chunk`);
    const length = u32(bytes, p);
    const type = String.fromCharCode(bytes[p + 4], bytes[p + 5], bytes[p + 6], bytes[p + 7]);
    if (!/^[A-Za-z]{4}$/.test(type)) fail(`invalid chunk type ${JSON.stringify(type)} at byte ${p}`);
    if (length > 0x7fffffff || p + 12 + length > bytes.length)
      fail(`chunk ${type} at byte ${p} declares ${length} bytes, past the end of the file (${bytes.length} bytes)`);
    const dataStart = p + 8,
      dataEnd = dataStart + length;
    if (crc32(bytes, p + 4, dataEnd) !== u32(bytes, dataEnd)) fail(`CRC mismatch in chunk ${type} at byte ${p}`);
    if (index === 0) {
      if (type !== 'IHDR' || length !== 13)
        fail(`the first chunk must be a 13-byte IHDR, got ${type} of ${length} bytes`);
      width = u32(bytes, dataStart);
      height = u32(bytes, dataStart + 4);
      const depth = bytes[dataStart + 8],
        colorType = bytes[dataStart + 9];
      const spec = PNG_DEPTHS[colorType];
      if (!spec) fail(`unknown colour type ${colorType} (expected 0, 2, 3, 4 or 6)`);
      if (!spec.depths.includes(depth))
        fail(`bit depth ${depth} is not allowed for colour type ${colorType} (expected ${spec.depths.join(', ')})`);
      if (bytes[dataStart + 10] !== 0 || bytes[dataStart + 11] !== 0 || bytes[dataStart + 12] > 1)
        fail('unknown compression, filter or interlace method in IHDR');
      if (width > 0x7fffffff || height > 0x7fffffff) fail(`dimensions ${width}×${height} exceed 2³¹ − 1`);
      checkPixels(name, 'PNG', width, height, limit);
      bitsPerPixel = depth * spec.samples;
      interlaced = bytes[dataStart + 12] === 1;
    } else if (type === 'IHDR') fail(`a second IHDR chunk at byte ${p}`);
    if (type === 'IDAT') {
      if (idatEnded) fail(`IDAT chunks are not consecutive (another at byte ${p})`);
      idat.push(bytes.subarray(dataStart, dataEnd));
      idatBytes += length;
    } else if (idat.length > 0) idatEnded = true;
    p = dataEnd + 4;
    index++;
    if (type === 'IEND') break;
  }
  if (idat.length === 0) fail('no IDAT chunk (the file has no image data)');
  const expected = pngDataSize(width, height, bitsPerPixel, interlaced);
  // Concatenated without Node's Buffer: this check also runs in browser bundles.
  let stream = idat[0];
  if (idat.length > 1) {
    stream = new Uint8Array(idatBytes);
    let at = 0;
    for (const part of idat) {
      stream.set(part, at);
      at += part.length;
    }
  }
  let inflated: Buffer;
  try {
    // One byte more than expected is enough to tell "too much data" from "exactly right", without a bomb's memory.
    inflated = inflateSync(stream, { maxOutputLength: expected + 1 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE' || /maxOutputLength|Cannot create a Buffer larger/.test(err.message)) {
      fail(`the image data inflates to more than the ${expected} bytes a ${width}×${height} image holds`);
    }
    fail(`the image data is not a valid zlib stream (${err.message})`);
  }
  if (inflated!.length !== expected)
    fail(
      `the image data inflates to ${inflated!.length} bytes, expected ${expected} for ${width}×${height} pixels at ${bitsPerPixel} bits`,
    );
  // Every scanline starts with a filter type 0–4 (PNG spec §9); checked for the non-interlaced layout.
  if (!interlaced) {
    const stride = 1 + Math.ceil((width * bitsPerPixel) / 8);
    for (let r = 0; r < height; r++) {
      const f = inflated![r * stride];
      if (f > 4) fail(`scanline ${r} has filter type ${f} (expected 0–4)`);
    }
  }
  return { width, height };
}

// ---- JPEG ------------------------------------------------------------------------------------------------------

/**
 * Reads a JPEG's frame header (the first SOFn marker segment, before the first scan) and checks its dimensions
 * against `limit`. Returns the dimensions; throws naming the file when the marker structure is broken.
 */
export function checkJpeg(bytes: Uint8Array, name: string, limit = maxPixels): { width: number; height: number } {
  const fail = (why: string): never => {
    throw new Error(`${name}: corrupt JPEG: ${why}`);
  };
  let p = 2;
  for (;;) {
    while (p < bytes.length && bytes[p] === 0xff && bytes[p + 1] === 0xff) p++; // fill bytes
    if (p + 4 > bytes.length) fail(`truncated at byte ${p} before a frame header (SOF marker)`);
    if (bytes[p] !== 0xff) fail(`expected a marker at byte ${p}, found 0x${bytes[p].toString(16).padStart(2, '0')}`);
    const marker = bytes[p + 1];
    if (marker === 0xd9 || marker === 0xda)
      fail(`no frame header (SOF marker) before ${marker === 0xda ? 'the first scan' : 'the end of the image'}`);
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p += 2;
      continue;
    } // markers without a length
    const length = (bytes[p + 2] << 8) | bytes[p + 3];
    if (length < 2 || p + 2 + length > bytes.length)
      fail(`segment 0x${marker.toString(16)} at byte ${p} declares ${length} bytes, past the end of the file`);
    // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (length < 8) fail(`frame header at byte ${p} is ${length} bytes, too short`);
      const height = (bytes[p + 5] << 8) | bytes[p + 6];
      const width = (bytes[p + 7] << 8) | bytes[p + 8];
      const components = bytes[p + 9];
      if (components !== 1 && components !== 3 && components !== 4)
        fail(`${components} colour components (expected 1, 3 or 4)`);
      checkPixels(name, 'JPEG', width, height, limit);
      return { width, height };
    }
    p += 2 + length;
  }
}
