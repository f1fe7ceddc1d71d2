/**
 * Indexed (palette, colour type 3) PNG: decoding to the palette indices themselves and encoding index maps with a
 * palette — what segmentation masks are (Pascal VOC's SegmentationClass, `tatami predict` masks). pngjs, used for
 * ordinary images, expands palettes to RGBA and so loses the class indices. PNG spec: ISO/IEC 15948 (W3C PNG).
 */
import { deflateSync, inflateSync } from 'node:zlib';

/** An index map with its palette. */
export interface IndexedImage {
  width: number;
  height: number;
  /** One palette index per pixel, row-major. */
  indices: Uint8Array;
  /** RGB triples, 3·entries bytes. */
  palette: Uint8Array;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

let crcTable: Uint32Array | null = null;
function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && SIGNATURE.every((v, i) => b[i] === v);
}

/** Whether `bytes` is a PNG with a palette (colour type 3). */
export function isIndexedPng(bytes: Uint8Array): boolean {
  return isPng(bytes) && bytes.length > 25 && bytes[25] === 3;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c,
    pa = Math.abs(p - a),
    pb = Math.abs(p - b),
    pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Decodes a palette PNG (bit depth 1, 2, 4 or 8, not interlaced) to its indices and palette. */
export function decodeIndexedPng(bytes: Uint8Array, name = 'image'): IndexedImage {
  if (!isPng(bytes)) throw new Error(`decodeIndexedPng: ${name} is not a PNG file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0,
    height = 0,
    depth = 0,
    colorType = -1,
    interlace = 0;
  let palette: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  while (pos + 8 <= bytes.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    if (data.length !== len) throw new Error(`decodeIndexedPng: ${name} is truncated in chunk ${type}`);
    if (type === 'IHDR') {
      width = view.getUint32(pos + 8);
      height = view.getUint32(pos + 12);
      depth = data[8];
      colorType = data[9];
      interlace = data[12];
    } else if (type === 'PLTE') palette = data.slice();
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  if (colorType !== 3) throw new Error(`decodeIndexedPng: ${name} has colour type ${colorType}, not 3 (palette)`);
  if (![1, 2, 4, 8].includes(depth))
    throw new Error(`decodeIndexedPng: ${name} has bit depth ${depth} (1, 2, 4 or 8 expected)`);
  if (interlace !== 0)
    throw new Error(
      `decodeIndexedPng: ${name} is interlaced (Adam7), which is not supported; re-save it without interlacing`,
    );
  if (!palette) throw new Error(`decodeIndexedPng: ${name} has no PLTE chunk`);
  const total = idat.reduce((s, d) => s + d.length, 0);
  const z = new Uint8Array(total);
  let o = 0;
  for (const d of idat) {
    z.set(d, o);
    o += d.length;
  }
  const raw = inflateSync(z);
  const stride = Math.ceil((width * depth) / 8);
  if (raw.length < height * (stride + 1))
    throw new Error(
      `decodeIndexedPng: ${name} has ${raw.length} bytes of pixel data, expected ${height * (stride + 1)}`,
    );
  const rows = new Uint8Array(height * stride);
  // Filters work on bytes; for palette images the "bytes per pixel" of the filter is 1.
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = rows.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? rows.subarray((y - 1) * stride, y * stride) : null;
    for (let i = 0; i < stride; i++) {
      const a = i > 0 ? cur[i - 1] : 0,
        b = prev ? prev[i] : 0,
        c = prev && i > 0 ? prev[i - 1] : 0;
      let v = src[i];
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) v += paeth(a, b, c);
      else if (f !== 0) throw new Error(`decodeIndexedPng: ${name} row ${y} has an unknown filter ${f}`);
      cur[i] = v & 0xff;
    }
  }
  const indices = new Uint8Array(width * height);
  const perByte = 8 / depth,
    maskBits = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const byte = rows[y * stride + Math.floor(x / perByte)];
      indices[y * width + x] = depth === 8 ? byte : (byte >> (8 - depth * ((x % perByte) + 1))) & maskBits;
    }
  }
  return { width, height, indices, palette };
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Encodes an 8-bit index map with its palette (RGB triples, at most 256 entries) as a palette PNG. */
export function encodeIndexedPng(img: IndexedImage): Uint8Array {
  const { width, height, indices, palette } = img;
  if (
    !(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) ||
    indices.length !== width * height
  ) {
    throw new Error(`encodeIndexedPng: ${indices.length} indices for a ${width}×${height} image`);
  }
  if (palette.length % 3 !== 0 || palette.length === 0 || palette.length > 768) {
    throw new Error(`encodeIndexedPng: palette must hold 1–256 RGB triples, got ${palette.length} bytes`);
  }
  const entries = palette.length / 3;
  for (let i = 0; i < indices.length; i++) {
    if (indices[i] >= entries)
      throw new Error(`encodeIndexedPng: index ${indices[i]} at pixel ${i} is beyond the ${entries}-entry palette`);
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = 3;
  const raw = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) raw.set(indices.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const parts = [
    Uint8Array.from(SIGNATURE),
    chunk('IHDR', ihdr),
    chunk('PLTE', palette),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Pascal VOC's colour map (the devkit's `labelcolormap`): class c gets the colour whose bits interleave c's bits,
 * most significant first; 255 (the "void" border) is (224, 224, 192). 256 RGB triples.
 */
export function vocPalette(): Uint8Array {
  const p = new Uint8Array(768);
  for (let i = 0; i < 256; i++) {
    let r = 0,
      g = 0,
      b = 0,
      c = i;
    for (let j = 0; j < 8; j++) {
      r |= ((c >> 0) & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    p.set([r, g, b], 3 * i);
  }
  return p;
}
