/**
 * safetensors (https://github.com/huggingface/safetensors): 8-byte little-endian header length, a JSON header
 * mapping names to {dtype, shape, data_offsets}, then raw little-endian data. Tatami reads F32/F16/BF16 as
 * float32, F64 as float64, I64/I32/I16/I8/U8 as int32 (I64 values must fit), BOOL as bool; it writes F32, F64,
 * I32, U8 and BOOL. Every header is validated: size cap, known dtypes, offsets inside the data and consistent
 * with the shape, no overlaps or holes.
 */
import { readFile, writeFileAtomic } from './fs.js';

export { writeFileAtomic } from './fs.js';
import { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { allocate } from '../tensor/storage.js';
import { numel } from '../tensor/shape.js';

/** Largest header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

const BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Tensors and the free-form string metadata of a safetensors file. */
export interface SafetensorsContent {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

function fail(source: string, msg: string): never {
  throw new Error(`safetensors: ${source}: ${msg}`);
}

/** Parses a safetensors buffer; `source` names the file in errors. */
export function parseSafetensors(buf: Uint8Array, source = '<buffer>'): SafetensorsContent {
  if (buf.length < 8) fail(source, `file is ${buf.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES)
    fail(source, `header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (8 + headerLen > buf.length)
    fail(source, `header length ${headerLen} runs past the end of the ${buf.length}-byte file`);
  if (buf[8] === 0xef && buf[9] === 0xbb && buf[10] === 0xbf)
    fail(source, 'header starts with a UTF-8 byte-order mark; the format requires plain JSON');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf.subarray(8, 8 + headerLen)),
    );
  } catch (err) {
    fail(source, `header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    fail(source, 'header must be a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const metadata: Record<string, string> = {};
  // Keys come from the file: defineProperty makes "__proto__" an ordinary key instead of the object's prototype.
  const put = <V>(o: Record<string, V>, k: string, v: V) =>
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  const entries: [string, HeaderEntry][] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object') fail(source, '__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(source, `__metadata__.${k} must be a string`);
        put(metadata, k, v);
      }
      continue;
    }
    const e = raw as HeaderEntry;
    if (
      !e ||
      typeof e !== 'object' ||
      typeof e.dtype !== 'string' ||
      !Array.isArray(e.shape) ||
      !Array.isArray(e.data_offsets) ||
      e.data_offsets.length !== 2
    ) {
      fail(source, `tensor '${name}' must have dtype, shape and data_offsets [begin, end]`);
    }
    if (!Object.hasOwn(BYTES, e.dtype))
      fail(source, `tensor '${name}' has unsupported dtype ${e.dtype} (supported: ${Object.keys(BYTES).join(', ')})`);
    if (!e.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(source, `tensor '${name}' has invalid shape ${JSON.stringify(e.shape)}`);
    const [begin, end] = e.data_offsets;
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin || end > dataLen) {
      fail(source, `tensor '${name}' has data_offsets [${begin}, ${end}] outside the ${dataLen}-byte data section`);
    }
    const expected = numel(e.shape) * BYTES[e.dtype];
    if (end - begin !== expected) {
      fail(
        source,
        `tensor '${name}' (${e.dtype} ${JSON.stringify(e.shape)}) needs ${expected} bytes but data_offsets span ${end - begin}`,
      );
    }
    entries.push([name, e]);
  }
  // Offsets must tile the data section exactly: no overlaps, no holes. Sorting by (begin, end) puts a zero-size
  // tensor [k, k] before a tensor starting at k, as the reference implementation does.
  const sorted = entries
    .slice()
    .sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0] || a[1].data_offsets[1] - b[1].data_offsets[1]);
  let pos = 0;
  for (const [name, e] of sorted) {
    if (e.data_offsets[0] < pos)
      fail(
        source,
        `tensor '${name}' overlaps the previous tensor (starts at ${e.data_offsets[0]}, previous ends at ${pos})`,
      );
    if (e.data_offsets[0] > pos)
      fail(source, `hole in the data section before tensor '${name}' (bytes ${pos}..${e.data_offsets[0]})`);
    pos = e.data_offsets[1];
  }
  if (pos !== dataLen) fail(source, `data section has ${dataLen - pos} trailing bytes not covered by any tensor`);
  const tensors: Record<string, Tensor> = {};
  for (const [name, e] of entries) {
    put(tensors, name, decodeTensor(name, e, view, dataStart + e.data_offsets[0], source));
  }
  return { tensors, metadata };
}

function decodeTensor(name: string, e: HeaderEntry, view: DataView, at: number, source: string): Tensor {
  const n = numel(e.shape);
  const out = (dtype: DType) => new Tensor(allocate(dtype, n), e.shape, dtype);
  switch (e.dtype) {
    case 'F32': {
      const t = out('float32');
      for (let i = 0; i < n; i++) t.storage[i] = view.getFloat32(at + 4 * i, true);
      return t;
    }
    case 'F64': {
      const t = out('float64');
      for (let i = 0; i < n; i++) t.storage[i] = view.getFloat64(at + 8 * i, true);
      return t;
    }
    case 'F16': {
      const t = out('float32');
      for (let i = 0; i < n; i++) t.storage[i] = halfToFloat(view.getUint16(at + 2 * i, true));
      return t;
    }
    case 'BF16': {
      const t = out('float32');
      const tmp = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < n; i++) {
        tmp.setUint32(0, view.getUint16(at + 2 * i, true) << 16);
        t.storage[i] = tmp.getFloat32(0);
      }
      return t;
    }
    case 'I64': {
      const t = out('int32');
      for (let i = 0; i < n; i++) {
        const v = view.getBigInt64(at + 8 * i, true);
        if (v > 2147483647n || v < -2147483648n)
          fail(source, `tensor '${name}' element ${i} = ${v} does not fit in int32`);
        t.storage[i] = Number(v);
      }
      return t;
    }
    case 'I32': {
      const t = out('int32');
      for (let i = 0; i < n; i++) t.storage[i] = view.getInt32(at + 4 * i, true);
      return t;
    }
    case 'I16': {
      const t = out('int32');
      for (let i = 0; i < n; i++) t.storage[i] = view.getInt16(at + 2 * i, true);
      return t;
    }
    case 'I8': {
      const t = out('int32');
      for (let i = 0; i < n; i++) t.storage[i] = view.getInt8(at + i);
      return t;
    }
    case 'U8': {
      const t = out('uint8');
      for (let i = 0; i < n; i++) t.storage[i] = view.getUint8(at + i);
      return t;
    }
    case 'BOOL': {
      const t = out('bool');
      for (let i = 0; i < n; i++) t.storage[i] = view.getUint8(at + i) ? 1 : 0;
      return t;
    }
  }
  fail(source, `tensor '${name}' has unsupported dtype ${e.dtype}`);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const WRITE_DTYPE: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32', uint8: 'U8', bool: 'BOOL' };

/** Serialises tensors (and string metadata) to safetensors bytes, in the given key order. */
export function serializeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const parts: { t: Tensor; begin: number }[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (!(t instanceof Tensor)) throw new Error(`saveSafetensors: value for '${name}' is not a Tensor`);
    const bytes = t.numel() * t.storage.BYTES_PER_ELEMENT;
    header[name] = { dtype: WRITE_DTYPE[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes] };
    parts.push({ t, begin: offset });
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data section is 8-byte aligned (as the reference writer does).
  const encoder = new TextEncoder();
  let headerBytes = encoder.encode(json);
  const pad = (8 - (headerBytes.length % 8)) % 8;
  if (pad) {
    json += ' '.repeat(pad);
    headerBytes = encoder.encode(json);
  }
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  const dataStart = 8 + headerBytes.length;
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (!littleEndian) throw new Error('saveSafetensors: big-endian hosts are not supported');
  for (const { t, begin } of parts) {
    const data = t.dataView();
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), dataStart + begin);
  }
  return out;
}

/** Reads a .safetensors file into named tensors. */
export async function loadSafetensors(path: string): Promise<Record<string, Tensor>> {
  return (await readSafetensors(path)).tensors;
}

/** Reads a .safetensors file: tensors and metadata. */
export async function readSafetensors(path: string): Promise<SafetensorsContent> {
  let buf: Uint8Array;
  try {
    buf = await readFile(path);
  } catch (err) {
    throw new Error(`safetensors: cannot read ${path}: ${(err as Error).message}`);
  }
  return parseSafetensors(buf, path);
}

/** Writes tensors to `path` atomically (temp file, then rename), so a crash never leaves half a file. */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
