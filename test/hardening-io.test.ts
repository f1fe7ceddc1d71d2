/**
 * Regression tests for issue 13, items 2 and 3: decompression bombs (PNG, JPEG, gzip'd IDX) are refused from
 * their headers with memory bounded by what the header promises, and corrupt images fail naming the file instead
 * of decoding to black.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import * as tt from '../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'tatami-hardening-io-'));

const CRC = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
/** One PNG chunk with a correct CRC. */
function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
const SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
function ihdr(w: number, h: number, depth = 8, colorType = 0): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(w, 0);
  d.writeUInt32BE(h, 4);
  d[8] = depth;
  d[9] = colorType;
  return chunk('IHDR', d);
}
const iend = () => chunk('IEND', new Uint8Array(0));
function rssMB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

test('issue 13.2: a PNG declaring 20000×20000 is refused from its header, fast and without allocating', () => {
  // The reported bomb: a few hundred KB of zlib zeros behind a header promising 400 M pixels (1.2 GB of rows).
  const idat = chunk('IDAT', deflateSync(Buffer.alloc(4 << 20)));
  const bomb = Buffer.concat([SIG, ihdr(20000, 20000), idat, iend()]);
  const p = join(dir, 'bomb.png');
  writeFileSync(p, bomb);
  const before = rssMB();
  const t0 = performance.now();
  assert.throws(
    () => tt.readImage(p),
    new RegExp(
      `${p.replace(/[/.]/g, '\\$&')}: PNG of 20000×20000 = 400000000 pixels exceeds the limit of 89478485 pixels \\(a possible decompression bomb\\); raise it with tt\\.setMaxImagePixels`,
    ),
  );
  assert.ok(performance.now() - t0 < 1000, 'refused from the header, not after decoding');
  assert.ok(rssMB() - before < 64, `RSS grew by ${rssMB() - before} MB`);
});

test('issue 13.2: the pixel limit is configurable globally, per call and restores', () => {
  const img = tt.encodeImage(tt.zeros([1, 20, 30], { dtype: 'uint8' }), 'png');
  assert.equal(tt.getMaxImagePixels(), tt.DEFAULT_MAX_IMAGE_PIXELS);
  assert.equal(tt.DEFAULT_MAX_IMAGE_PIXELS, 89478485); // PIL's Image.MAX_IMAGE_PIXELS
  const prev = tt.setMaxImagePixels(599);
  try {
    assert.throws(
      () => tt.decodeImage(img, { name: 'small.png' }),
      /small\.png: PNG of 30×20 = 600 pixels exceeds the limit of 599 pixels/,
    );
    assert.deepEqual(tt.decodeImage(img, { maxPixels: 600 }).shape, [1, 20, 30]);
    tt.setMaxImagePixels(Infinity);
    assert.deepEqual(tt.decodeImage(img).shape, [1, 20, 30]);
    assert.throws(
      () => tt.setMaxImagePixels(-3),
      /setMaxImagePixels: limit must be a positive integer or Infinity, got -3/,
    );
  } finally {
    tt.setMaxImagePixels(prev);
  }
  // The environment variable is read at start-up.
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      "import * as tt from './src/index.ts'; console.log(tt.getMaxImagePixels())",
    ],
    { cwd: new URL('..', import.meta.url), encoding: 'utf8', env: { ...process.env, TATAMI_MAX_IMAGE_PIXELS: '1234' } },
  );
  assert.equal(r.stdout.trim(), '1234', r.stderr);
});

test('issue 13.2: a PNG whose data inflates past its header is stopped at the declared size', () => {
  // 64×64 gray promises 64·65 bytes; the stream holds 64 MB of zeros.
  const bytes = Buffer.concat([SIG, ihdr(64, 64), chunk('IDAT', deflateSync(Buffer.alloc(64 << 20))), iend()]);
  const before = rssMB();
  assert.throws(
    () => tt.decodeImage(bytes, { name: 'liar.png' }),
    /liar\.png: corrupt PNG: the image data inflates to more than the 4160 bytes a 64×64 image holds/,
  );
  assert.ok(rssMB() - before < 48, `RSS grew by ${rssMB() - before} MB`);
});

test('issue 13.2: a 640-byte JPEG claiming 10000×10000 is refused from its frame header', () => {
  const jpg = Buffer.from(tt.encodeImage(tt.randint(0, 256, [3, 16, 16], { dtype: 'uint8' }), 'jpeg'));
  // Patch the SOF0 frame header's height and width.
  let p = 2;
  while (jpg[p + 1] !== 0xc0) p += 2 + jpg.readUInt16BE(p + 2);
  jpg.writeUInt16BE(10000, p + 5);
  jpg.writeUInt16BE(10000, p + 7);
  const before = rssMB();
  assert.throws(
    () => tt.decodeImage(jpg, { name: 'claim.jpg' }),
    /claim\.jpg: JPEG of 10000×10000 = 100000000 pixels exceeds the limit of 89478485 pixels/,
  );
  assert.ok(rssMB() - before < 32);
});

test("issue 13.2: a gzip'd IDX file is inflated no further than its header declares", () => {
  const body = Buffer.alloc(256 << 20); // 256 MB of zeros behind a header declaring 100 bytes
  Buffer.from(tt.data.encodeIdx(new Uint8Array(100), [100])).copy(body);
  const p = join(dir, 'bomb-idx3-ubyte.gz');
  writeFileSync(p, gzipSync(body, { level: 1 }));
  const before = rssMB();
  assert.throws(
    () => tt.data.readIdx(p),
    /bomb-idx3-ubyte\.gz: corrupt: the gzip data inflates to more than the 108 bytes its IDX header declares/,
  );
  assert.ok(rssMB() - before < 64, `RSS grew by ${rssMB() - before} MB`);
  // A header declaring more than the compressed bytes can expand to is refused before inflating.
  const hdr = Buffer.from(tt.data.encodeIdx(new Uint8Array(0), [0]));
  hdr.writeUInt32BE(0x7ffffff, 4);
  const q = join(dir, 'claims-2g.gz');
  writeFileSync(q, gzipSync(Buffer.concat([hdr, Buffer.alloc(1000)])));
  assert.throws(
    () => tt.data.readIdx(q),
    /claims-2g\.gz: the IDX header declares 134217735 bytes, more than \d+ gzip bytes can expand to \(corrupt header\)/,
  );
  // Real files still read.
  const real = tt.data.readIdx(new URL('../data/fashion-mnist/t10k-labels-idx1-ubyte.gz', import.meta.url).pathname);
  assert.deepEqual(real.dims, [1000]);
});

test('issue 13.3: random IDAT bytes and a missing IDAT fail naming the file instead of decoding to black', () => {
  const raw = Buffer.alloc(8 * 9); // 8×8 gray: 8 rows of filter byte + 8 samples
  for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) raw[r * 9 + 1 + c] = r * 30 + c;
  const good = Buffer.concat([SIG, ihdr(8, 8), chunk('IDAT', deflateSync(raw)), iend()]);
  assert.equal(tt.decodeImage(good).storage[9], 31); // row 1, column 1
  const random = Buffer.alloc(40);
  for (let i = 0; i < random.length; i++) random[i] = (i * 7919 + 13) & 255;
  const cases: [string, Buffer, RegExp][] = [
    [
      'random-idat.png',
      Buffer.concat([SIG, ihdr(8, 8), chunk('IDAT', random), iend()]),
      /random-idat\.png: corrupt PNG: the image data is not a valid zlib stream/,
    ],
    [
      'no-idat.png',
      Buffer.concat([SIG, ihdr(8, 8), iend()]),
      /no-idat\.png: corrupt PNG: no IDAT chunk \(the file has no image data\)/,
    ],
    [
      'short-idat.png',
      Buffer.concat([SIG, ihdr(8, 8), chunk('IDAT', deflateSync(raw.subarray(0, 40))), iend()]),
      /short-idat\.png: corrupt PNG: the image data inflates to 40 bytes, expected 72/,
    ],
    [
      'bad-filter.png',
      Buffer.concat([SIG, ihdr(8, 8), chunk('IDAT', deflateSync(Buffer.alloc(72, 9))), iend()]),
      /bad-filter\.png: corrupt PNG: scanline 0 has filter type 9/,
    ],
    [
      'bad-crc.png',
      (() => {
        const b = Buffer.from(good);
        b[45] ^= 1;
        return b;
      })(),
      /bad-crc\.png: corrupt PNG: CRC mismatch in chunk IDAT/,
    ],
    [
      'bad-depth.png',
      Buffer.concat([SIG, ihdr(8, 8, 3, 2), chunk('IDAT', deflateSync(raw)), iend()]),
      /bit depth 3 is not allowed for colour type 2/,
    ],
    [
      'zero.png',
      Buffer.concat([SIG, ihdr(0, 8), chunk('IDAT', deflateSync(raw)), iend()]),
      /zero\.png: corrupt PNG: the header declares an empty image \(0×8\)/,
    ],
    [
      'huge-len.png',
      Buffer.concat([SIG, ihdr(8, 8), Buffer.from([0xff, 0xff, 0xff, 0xf0, 0x49, 0x44, 0x41, 0x54]), iend()]),
      /huge-len\.png: corrupt PNG: chunk IDAT at byte 33 declares 4294967280 bytes, past the end/,
    ],
  ];
  for (const [name, bytes, re] of cases) {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    assert.throws(
      () => tt.readImage(p),
      (e: Error) => e.message.startsWith(p) && re.test(e.message),
      name,
    );
  }
});

test('issue 13.3: JPEG decoder failures are wrapped with the file name', () => {
  const jpg = Buffer.from(tt.encodeImage(tt.randint(0, 256, [3, 16, 16], { dtype: 'uint8' }), 'jpeg'));
  const noSof = Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0xff, 0xd9]);
  assert.throws(
    () => tt.decodeImage(noSof, { name: 'nosof.jpg' }),
    /nosof\.jpg: corrupt JPEG: no frame header \(SOF marker\) before the first scan/,
  );
  const garbage = Buffer.from(jpg);
  // Overwrite the markers after SOI with zeros (the reported "unknown JPEG marker 0").
  garbage.fill(0, 4, 40);
  assert.throws(
    () => tt.decodeImage(garbage, { name: 'garbage.jpg' }),
    /garbage\.jpg: corrupt JPEG: segment 0xe0 at byte 2 declares 0 bytes/,
  );
  // A well-formed frame header followed by a broken scan reaches the decoder, whose error is wrapped.
  const scan = Buffer.from(jpg);
  let p = 2;
  while (scan[p + 1] !== 0xda) p += 2 + scan.readUInt16BE(p + 2);
  scan.fill(0xff, p + 14, p + 14 + 20);
  scan[p + 14 + 20] = 0x00;
  assert.throws(
    () => tt.decodeImage(scan, { name: 'scan.jpg' }),
    /scan\.jpg: corrupt or truncated JPEG \(the decoder failed: /,
  );
});
