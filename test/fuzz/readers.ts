/**
 * Mutation fuzzing of the file readers (issue 13): safetensors, IDX (raw and gzip'd), CIFAR-10 batches, PNG, JPEG
 * and training checkpoints. Run as a child process by test/fuzz.test.ts:
 *
 *   node --import tsx test/fuzz/readers.ts <target> <seed> <budget-ms>
 *
 * Each input is a valid seed file mutated a few times (bit flips, interesting bytes and 32-bit fields, insertions,
 * deletions, truncation, chunk duplication, splices; and for JSON headers, values replaced by other JSON types).
 * An input must either load or throw an `Error` whose message names the input (its file name): anything else — a
 * TypeError/RangeError from inside a reader, an error without context, an input slower than SLOW_MS — is recorded
 * as a finding. Prints one JSON line: inputs tried, loaded, rejected cleanly, findings, peak RSS.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import * as tt from '../../src/index.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.ts';

type Target = 'safetensors' | 'idx' | 'cifar' | 'png' | 'jpeg' | 'checkpoint';

const [target, seedArg, budgetArg] = process.argv.slice(2) as [Target, string, string];
const rng = new tt.Generator(Number(seedArg));
const budgetMs = Number(budgetArg);
/** One input slower than this is a finding (a near-hang). */
const SLOW_MS = 3000;
const dir = mkdtempSync(join(tmpdir(), `tatami-fuzz-${target}-`));
// Bounded memory for the image fuzzers: mutated headers may declare any size up to this.
tt.setMaxImagePixels(1 << 20);

const int = (n: number) => Math.floor(rng.random() * n);
const pick = <T>(a: readonly T[]): T => a[int(a.length)];
const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff];
const INTERESTING_32 = [0, 1, 2, 0x7f, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 1e6, 4096];

/** A few random mutations of `src`. */
function mutate(src: Uint8Array, donors: Uint8Array[]): Uint8Array {
  let b: Uint8Array = Uint8Array.from(src);
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds; r++) {
    const at = b.length ? int(b.length) : 0;
    switch (int(9)) {
      case 0:
        if (b.length) b[at] ^= 1 << int(8);
        break;
      case 1:
        if (b.length) b[at] = pick(INTERESTING_8);
        break;
      case 2:
        if (b.length >= 4)
          new DataView(b.buffer).setUint32(Math.min(at, b.length - 4), pick(INTERESTING_32) >>> 0, rng.random() < 0.5);
        break;
      case 3: {
        const n = 1 + int(16);
        const ins = Uint8Array.from({ length: n }, () => int(256));
        b = concat(b.subarray(0, at), ins, b.subarray(at));
        break;
      }
      case 4: {
        const n = 1 + int(Math.max(1, b.length >> 3));
        b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + n)));
        break;
      }
      case 5:
        b = b.subarray(0, int(b.length + 1));
        break;
      case 6: {
        const n = 1 + int(64);
        b = concat(b.subarray(0, at), b.subarray(at, at + n), b.subarray(at));
        break;
      }
      case 7: {
        const d = pick(donors);
        const s = int(d.length + 1);
        b = concat(b.subarray(0, at), d.subarray(s, s + 1 + int(256)), b.subarray(at));
        break;
      }
      default:
        if (b.length) for (let i = 0, n = 1 + int(8); i < n; i++) b[int(b.length)] = int(256);
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Replaces one value of a JSON document by another JSON type (semantic mutation of headers and metadata). */
function mutateJson(value: unknown, depth = 0): unknown {
  const replacements = [null, -1, 0, 1.5, 2 ** 53, 1e308, -1e308, 'abc', '', [], {}, [1, 2, 3], true, { __proto__: 1 }];
  if (Array.isArray(value) && value.length && depth < 6 && rng.random() < 0.8) {
    const c = value.slice();
    const i = int(c.length);
    c[i] = mutateJson(c[i], depth + 1);
    return c;
  }
  if (value && typeof value === 'object' && !Array.isArray(value) && depth < 6 && rng.random() < 0.85) {
    const keys = Object.keys(value);
    if (keys.length) {
      const c: Record<string, unknown> = { ...(value as Record<string, unknown>) };
      const k = pick(keys);
      if (rng.random() < 0.1) delete c[k];
      // eslint-disable-next-line no-dupe-else-if -- a second, independent draw
      else if (rng.random() < 0.1)
        Object.defineProperty(c, '__proto__', { value: c[k], enumerable: true, configurable: true, writable: true });
      else c[k] = mutateJson(c[k], depth + 1);
      return c;
    }
  }
  if (typeof value === 'number' && rng.random() < 0.5)
    return pick([value + 1, value - 1, value * 2, -value, value + 0.5, 2 ** 32 + value]);
  const r = pick(replacements);
  return r;
}

function safetensorsBytes(header: unknown, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

// ---- seeds -----------------------------------------------------------------------------------------------------

const CRC = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  Buffer.from(data).copy(out, 8);
  let c = 0xffffffff;
  for (const x of out.subarray(4, 8 + data.length)) c = CRC[(c ^ x) & 0xff] ^ (c >>> 8);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0, 8 + data.length);
  return out;
}
/** A hand-built PNG: any colour type / depth, optionally Adam7-interlaced, with filter-0 scanlines. */
function pngSeed(w: number, h: number, depth: number, colorType: number, interlace: boolean): Uint8Array {
  const samples = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType]!;
  const rowBytes = (pw: number) => Math.ceil((pw * depth * samples) / 8);
  const passes = interlace
    ? [
        [0, 0, 8, 8],
        [4, 0, 8, 8],
        [0, 4, 4, 8],
        [2, 0, 4, 4],
        [0, 2, 2, 4],
        [1, 0, 2, 2],
        [0, 1, 1, 2],
      ]
    : [[0, 0, 1, 1]];
  const rows: number[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((w - x0) / dx),
      ph = Math.ceil((h - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    for (let y = 0; y < ph; y++) {
      rows.push(0);
      for (let i = 0; i < rowBytes(pw); i++) rows.push((i * 37 + y * 11) & (colorType === 3 ? 3 : 255));
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  ihdr[12] = interlace ? 1 : 0;
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  if (colorType === 3)
    parts.push(
      chunk(
        'PLTE',
        Uint8Array.from({ length: 12 }, (_, i) => i * 20),
      ),
    );
  parts.push(chunk('IDAT', deflateSync(Uint8Array.from(rows))), chunk('IEND', new Uint8Array(0)));
  return concat(...parts);
}

/** Small real images from scikit-image's data folder, when installed (python3-skimage), as extra seeds. */
function skimageSeeds(ext: RegExp): Uint8Array[] {
  const d = '/usr/lib/python3/dist-packages/skimage/data/';
  try {
    return readdirSync(d)
      .filter((f) => ext.test(f) && statSync(d + f).size <= 20_000)
      .map((f) => readFileSync(d + f));
  } catch {
    return [];
  }
}

function image(c: number, h: number, w: number): tt.Tensor {
  const t = tt.Tensor.empty([c, h, w], 'uint8');
  for (let i = 0; i < t.storage.length; i++) t.storage[i] = (i * 31 + (i >> 5) * 7) & 255;
  return t;
}

async function seeds(): Promise<Uint8Array[]> {
  switch (target) {
    case 'safetensors': {
      const g = new tt.Generator(5);
      return [
        tt.serializeSafetensors(
          {
            w: tt.randn([3, 4], { generator: g }),
            b: tt.zeros([4]),
            i: tt.arange(0, 6),
            m: tt.ones([2, 2], { dtype: 'uint8' }),
            e: tt.zeros([0, 3]),
          },
          { format: 'pt', note: 'seed' },
        ),
        tt.serializeSafetensors({ x: tt.randn([2, 2], { generator: g, dtype: 'float64' }) }),
        safetensorsBytes(
          {
            h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
            bf: { dtype: 'BF16', shape: [1], data_offsets: [4, 6] },
            l: { dtype: 'I64', shape: [1], data_offsets: [6, 14] },
          },
          new Uint8Array(14),
        ),
      ];
    }
    case 'idx': {
      const labels = readFileSync(new URL('../../data/fashion-mnist/t10k-labels-idx1-ubyte.gz', import.meta.url));
      const images = tt.data.readIdx(
        new URL('../../data/fashion-mnist/t10k-images-idx3-ubyte.gz', import.meta.url).pathname,
      );
      const few = tt.data.encodeIdx(images.data.subarray(0, 20 * 28 * 28), [20, 28, 28]);
      return [
        labels,
        few,
        gzipSync(few),
        tt.data.encodeIdx([1.5, -2, 3], [3], 'float32'),
        tt.data.encodeIdx([1, -2, 300, 4], [2, 2], 'int16'),
      ];
    }
    case 'cifar': {
      const rec = new Uint8Array(4 * 3073);
      for (let i = 0; i < rec.length; i++) rec[i] = i % 3073 === 0 ? (i / 3073) % 10 : (i * 13) & 255;
      return [rec];
    }
    case 'png':
      return [
        tt.encodeImage(image(1, 9, 7), 'png'),
        tt.encodeImage(image(3, 8, 8), 'png'),
        tt.encodeImage(image(4, 5, 6), 'png'),
        tt.encodeImage(image(2, 4, 4), 'png'),
        pngSeed(7, 5, 2, 3, false),
        pngSeed(9, 9, 16, 0, false),
        pngSeed(10, 6, 8, 2, true),
        pngSeed(5, 3, 1, 0, true),
        pngSeed(6, 6, 16, 6, false),
        ...skimageSeeds(/\.png$/),
      ];
    case 'jpeg':
      return [
        tt.encodeImage(image(3, 16, 16), 'jpeg', { quality: 80 }),
        tt.encodeImage(image(1, 8, 24), 'jpeg'),
        tt.encodeImage(image(3, 9, 7), 'jpeg', { quality: 30 }),
        ...skimageSeeds(/\.jpe?g$/).filter((b) => b.length < 20_000),
      ];
    case 'checkpoint': {
      tt.manualSeed(1);
      const model = new tt.nn.Sequential(new tt.nn.Linear(3, 4), new tt.nn.ReLU(), new tt.nn.Linear(4, 2));
      const optimizer = new tt.optim.Adam(model.parameters(), { lr: 1e-2 });
      model
        .forward(tt.randn([2, 3]))
        .sum()
        .backward();
      optimizer.step();
      const p = join(dir, 'seed.safetensors');
      await saveCheckpoint(p, {
        epoch: 1,
        model,
        optimizer,
        extra: { history: [{ epoch: 1, trainLoss: 0.5 }], best: 0.5, sinceBest: 0 },
      });
      return [readFileSync(p)];
    }
  }
}

/** Structured variant: mutate the JSON header (and checkpoint metadata) instead of raw bytes. */
function mutateHeader(src: Uint8Array): Uint8Array | null {
  if (target !== 'safetensors' && target !== 'checkpoint') return null;
  const len = Number(new DataView(src.buffer, src.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(src.subarray(8, 8 + len)));
  if (target === 'checkpoint' && rng.random() < 0.7) {
    const meta = JSON.parse(header.__metadata__['tatami.checkpoint']);
    header.__metadata__['tatami.checkpoint'] = JSON.stringify(mutateJson(meta));
  } else header[pick(Object.keys(header))] = mutateJson(header[pick(Object.keys(header))]);
  return safetensorsBytes(header, src.subarray(8 + len));
}

/** Recomputes the CRC of every chunk that still parses, so mutations reach the decoder behind the CRC check. */
function fixPngCrcs(b: Uint8Array): Uint8Array {
  const out = Buffer.from(b);
  for (let p = 8; p + 12 <= out.length;) {
    const len = out.readUInt32BE(p);
    if (p + 12 + len > out.length) break;
    let c = 0xffffffff;
    for (const x of out.subarray(p + 4, p + 8 + len)) c = CRC[(c ^ x) & 0xff] ^ (c >>> 8);
    out.writeUInt32BE((c ^ 0xffffffff) >>> 0, p + 8 + len);
    p += 12 + len;
  }
  return out;
}

// ---- the reader under test -------------------------------------------------------------------------------------

async function load(bytes: Uint8Array, name: string): Promise<void> {
  const path = join(dir, name);
  switch (target) {
    case 'safetensors': {
      const r = tt.parseSafetensors(bytes, name);
      for (const t of Object.values(r.tensors)) t.sum();
      return;
    }
    case 'idx':
      writeFileSync(path, bytes);
      tt.data.readIdx(path);
      return;
    case 'cifar':
      writeFileSync(path, bytes);
      tt.data.readCifarBatch(path);
      return;
    case 'png':
    case 'jpeg':
      writeFileSync(path, bytes);
      tt.readImage(path);
      return;
    case 'checkpoint': {
      writeFileSync(path, bytes);
      tt.manualSeed(2);
      const model = new tt.nn.Sequential(new tt.nn.Linear(3, 4), new tt.nn.ReLU(), new tt.nn.Linear(4, 2));
      const optimizer = new tt.optim.Adam(model.parameters(), { lr: 1e-2 });
      await loadCheckpoint(path, { model, optimizer });
      // A loaded checkpoint must leave a usable model, optimizer and generator.
      model
        .forward(tt.randn([2, 3]))
        .sum()
        .backward();
      optimizer.step();
      for (const p of model.parameters())
        for (const v of p.dataView())
          if (!Number.isFinite(v)) throw new Error(`${path}: loaded parameters are not finite`);
      return;
    }
  }
}

const pool = await seeds();
const started = performance.now();
const counts = {
  target,
  seed: Number(seedArg),
  tried: 0,
  loaded: 0,
  rejected: 0,
  findings: [] as string[],
  slowestMs: 0,
  peakRssMB: 0,
  seeds: pool.length,
};
for (let i = 0; performance.now() - started < budgetMs; i++) {
  const src = pick(pool);
  let bytes = rng.random() < 0.25 ? (mutateHeader(src) ?? mutate(src, pool)) : mutate(src, pool);
  if (target === 'png' && rng.random() < 0.6) bytes = fixPngCrcs(bytes);
  const name = `case-${i}.${target === 'jpeg' ? 'jpg' : target === 'png' ? 'png' : 'bin'}`;
  const t0 = performance.now();
  try {
    await load(bytes, name);
    counts.loaded++;
  } catch (e) {
    const clean = e instanceof Error && e.constructor === Error && e.message.includes(name);
    if (clean) counts.rejected++;
    else
      counts.findings.push(
        `${name}: ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`.slice(0, 300),
      );
  }
  const ms = performance.now() - t0;
  counts.slowestMs = Math.max(counts.slowestMs, Math.round(ms));
  if (ms > SLOW_MS) counts.findings.push(`${name}: took ${Math.round(ms)} ms`);
  counts.tried++;
  rmSync(join(dir, name), { force: true });
}
counts.peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(counts));
