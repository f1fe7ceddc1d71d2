/**
 * What browser bundles get for `pngjs` (scripts/build-browser.mjs): pngjs needs Node's zlib and streams. Encoding
 * is written here, synchronously and without Buffer: filter type 0 scanlines in stored (uncompressed) deflate
 * blocks — a valid PNG (RFC 2083, RFC 1950/1951), larger than a compressed one, which the page can hand to
 * `new Blob([bytes], { type: 'image/png' })` or a download link. Decoding in a page goes through the browser's
 * own decoder instead (createImageBitmap: readImageFile, fetchImage), since a page cannot inflate synchronously.
 */
export type ColorType = 0 | 2 | 4 | 6;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function adler32(bytes: Uint8Array): number {
  let a = 1,
    b = 0;
  for (let i = 0; i < bytes.length; i++) {
    a = (a + bytes[i]) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** A zlib stream of stored deflate blocks (at most 65 535 bytes each). */
function zlibStored(raw: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(raw.length / 65535));
  const out = new Uint8Array(2 + raw.length + blocks * 5 + 4);
  out[0] = 0x78;
  out[1] = 0x01; // deflate, 32 KiB window, no dictionary, check bits
  let o = 2;
  for (let b = 0; b < blocks; b++) {
    const start = b * 65535,
      len = Math.min(65535, raw.length - start);
    out[o++] = b === blocks - 1 ? 1 : 0;
    out[o++] = len & 0xff;
    out[o++] = len >>> 8;
    out[o++] = ~len & 0xff;
    out[o++] = (~len >>> 8) & 0xff;
    out.set(raw.subarray(start, start + len), o);
    o += len;
  }
  new DataView(out.buffer).setUint32(o, adler32(raw));
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

/** Encodes 8-bit RGBA pixels as a PNG of `colorType` (0 gray, 2 RGB, 4 gray+alpha, 6 RGBA). */
function write(
  png: { width: number; height: number; data: Uint8Array },
  opts: { colorType?: ColorType } = {},
): Uint8Array {
  const { width, height, data } = png;
  const colorType = opts.colorType ?? 6;
  const channels = colorType === 0 ? 1 : colorType === 2 ? 3 : colorType === 4 ? 2 : 4;
  const pick = colorType === 0 ? [0] : colorType === 2 ? [0, 1, 2] : colorType === 4 ? [0, 3] : [0, 1, 2, 3];
  const raw = new Uint8Array(height * (1 + width * channels));
  let o = 0;
  for (let y = 0; y < height; y++) {
    raw[o++] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      for (const c of pick) raw[o++] = data[p + c];
    }
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = colorType; // bit depth 8; compression, filter, interlace 0
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlibStored(raw)),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function read(): never {
  throw new Error(
    "decodeImage: PNG decoding in the browser goes through the browser's decoder: await tt.readImageFile(blob) or tt.fetchImage(url)",
  );
}

export const PNG = { sync: { read, write } };
