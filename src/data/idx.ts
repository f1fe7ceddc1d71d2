/**
 * The IDX file format (MNIST, Fashion-MNIST) and the MNIST / FashionMNIST datasets.
 *
 * IDX: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64),
 * the number of dimensions, then each dimension as a big-endian uint32, then the values in row-major order
 * (big-endian). Files may be gzipped (detected by the gzip magic bytes, not the name).
 */
// Node built-ins through the platform seam (../io/fs.ts), so a browser bundle can include this module.
import {
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  dirname,
  join,
  zlibConstants,
  gunzipSync,
  gzipSync,
} from '../io/fs.js';
import { Tensor } from '../tensor/tensor.js';
import { Dataset, type WorkerSpec } from './dataset.js';
import {
  embeddedDataDir,
  FASHION_MNIST_SOURCE,
  locateFiles,
  MNIST_SOURCE,
  downloadDataset,
  cacheDir,
  explicitRoot,
  type DatasetSource,
} from './locate.js';
import {
  transformPair,
  transformOptions,
  reviveTransform,
  type TransformLike,
  type TransformSpec,
} from './transform-base.js';

/** IDX element types. */
export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

const TYPE_CODES: Record<number, { type: IdxType; bytes: number }> = {
  0x08: { type: 'uint8', bytes: 1 },
  0x09: { type: 'int8', bytes: 1 },
  0x0b: { type: 'int16', bytes: 2 },
  0x0c: { type: 'int32', bytes: 4 },
  0x0d: { type: 'float32', bytes: 4 },
  0x0e: { type: 'float64', bytes: 8 },
};

/** Contents of an IDX file. uint8 data is a Uint8Array; int8/int16/int32 an Int32Array; floats their arrays. */
export interface IdxData {
  type: IdxType;
  dims: number[];
  data: Uint8Array | Int32Array | Float32Array | Float64Array;
}

/**
 * Largest IDX file Tatami decodes: 2 GiB of values (the full EMNIST is ~0.7 GB). A gzipped file is inflated only up
 * to the size its header declares, and that declaration must be below this cap and below what deflate can
 * physically expand the compressed bytes to (1032:1), so a small hostile file cannot make Tatami allocate gigabytes.
 */
export const MAX_IDX_BYTES = 2 ** 31;
/** Deflate's largest expansion ratio (RFC 1951: a 258-byte match coded in ~2 bits ⇒ at most ~1032 output bytes per input byte). */
const DEFLATE_MAX_RATIO = 1032;

/** Bytes a whole IDX file takes as its header declares (header + values), or null if `head` is too short to tell. */
function declaredIdxBytes(head: Uint8Array): number | null {
  if (head.length < 4) return null;
  const info = TYPE_CODES[head[2]];
  if (head[0] !== 0 || head[1] !== 0 || !info || head[3] === 0) return 0; // parseIdx reports the bad header
  const header = 4 + 4 * head[3];
  if (head.length < header) return null;
  let count = 1;
  for (let d = 0; d < head[3]; d++)
    count *= ((head[4 + 4 * d] << 24) | (head[5 + 4 * d] << 16) | (head[6 + 4 * d] << 8) | head[7 + 4 * d]) >>> 0;
  return header + count * info.bytes;
}

/**
 * Gunzips an IDX file with its output bounded by the size its header declares: the header is read from a
 * partial inflate of a prefix (whose output deflate bounds at 1032× its input), then the whole file is inflated
 * with `maxOutputLength` = the declared size + 1 (one byte over proves there is more data than declared).
 */
function gunzipIdx(raw: Buffer, path: string): Uint8Array {
  const physical = raw.length * DEFLATE_MAX_RATIO + 1024;
  let head: Uint8Array = new Uint8Array(0);
  let declared: number | null = null;
  for (let prefix = 1024; declared === null; prefix *= 4) {
    try {
      head = gunzipSync(raw.subarray(0, prefix), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch (e) {
      throw new Error(`${path}: corrupt or truncated gzip data (${(e as Error).message})`);
    }
    declared = declaredIdxBytes(head);
    if (prefix >= raw.length) break;
  }
  // No complete header even from the whole file (or not an IDX header): inflate it all, bounded, and let parseIdx
  // (or zlib's own error for a truncated stream) name the problem.
  if (declared === null || declared === 0) declared = Math.min(MAX_IDX_BYTES, physical);
  if (declared > MAX_IDX_BYTES || declared > physical) {
    throw new Error(
      `${path}: the IDX header declares ${declared} bytes, ` +
        (declared > MAX_IDX_BYTES
          ? `more than the ${MAX_IDX_BYTES}-byte limit for IDX files`
          : `more than ${raw.length} gzip bytes can expand to (corrupt header)`),
    );
  }
  try {
    return gunzipSync(raw, { maxOutputLength: declared + 1 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE')
      throw new Error(
        `${path}: corrupt: the gzip data inflates to more than the ${declared} bytes its IDX header declares`,
      );
    throw new Error(`${path}: corrupt or truncated gzip data (${err.message})`);
  }
}

/** Reads a file, gunzipping (bounded by the declared IDX size) when it starts with the gzip magic bytes; errors name the file. */
export function readMaybeGzip(path: string): Uint8Array {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(err.code === 'ENOENT' ? `${path}: file not found` : `${path}: cannot read (${err.message})`);
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) return gunzipIdx(raw, path);
  return raw;
}

/** Parses IDX bytes; `name` is used in error messages. */
export function parseIdx(bytes: Uint8Array, name: string): IdxData {
  if (bytes.length < 4) throw new Error(`${name}: truncated: ${bytes.length} bytes is too short for an IDX header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(
      `${name}: not an IDX file: magic number starts with 0x${hex(bytes[0])}${hex(bytes[1])}, expected 0x0000`,
    );
  }
  const info = TYPE_CODES[bytes[2]];
  if (!info)
    throw new Error(
      `${name}: not an IDX file: unknown type code 0x${hex(bytes[2])} (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)`,
    );
  const ndim = bytes[3];
  if (ndim === 0) throw new Error(`${name}: corrupt IDX header: 0 dimensions`);
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes)
    throw new Error(
      `${name}: truncated: header declares ${ndim} dimensions (${headerBytes} header bytes), file has ${bytes.length} bytes`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < ndim; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const need = count * info.bytes;
  const have = bytes.length - headerBytes;
  if (have < need) {
    throw new Error(
      `${name}: truncated: header says ${dims.join('×')}${info.bytes > 1 ? `×${info.bytes} bytes` : ''} = ${need} bytes, file has ${have}`,
    );
  }
  if (have > need)
    throw new Error(
      `${name}: corrupt: header says ${dims.join('×')} = ${need} data bytes, but the file has ${have - need} extra bytes`,
    );
  let data: IdxData['data'];
  const o = headerBytes;
  switch (info.type) {
    case 'uint8':
      data = bytes.slice(o, o + need);
      break;
    case 'int8':
      data = Int32Array.from(new Int8Array(bytes.buffer, bytes.byteOffset + o, count));
      break;
    case 'int16':
      data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt16(o + 2 * i, false);
      break;
    case 'int32':
      data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt32(o + 4 * i, false);
      break;
    case 'float32':
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(o + 4 * i, false);
      break;
    case 'float64':
      data = new Float64Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat64(o + 8 * i, false);
      break;
  }
  return { type: info.type, dims, data };
}

/** Reads an IDX file (gzipped or raw). */
export function readIdx(path: string): IdxData {
  return parseIdx(readMaybeGzip(path), path);
}

/** Encodes an IDX file's bytes. */
export function encodeIdx(data: ArrayLike<number>, dims: readonly number[], type: IdxType = 'uint8'): Uint8Array {
  const code = Number(Object.keys(TYPE_CODES).find((k) => TYPE_CODES[Number(k)].type === type));
  const { bytes: size } = TYPE_CODES[code];
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length)
    throw new Error(`encodeIdx: dims ${dims.join('×')} = ${count} values, data has ${data.length}`);
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + count * size);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < count; i++) {
    const p = header + i * size;
    switch (type) {
      case 'uint8':
        out[p] = data[i];
        break;
      case 'int8':
        view.setInt8(p, data[i]);
        break;
      case 'int16':
        view.setInt16(p, data[i], false);
        break;
      case 'int32':
        view.setInt32(p, data[i], false);
        break;
      case 'float32':
        view.setFloat32(p, data[i], false);
        break;
      case 'float64':
        view.setFloat64(p, data[i], false);
        break;
    }
  }
  return out;
}

/** Writes an IDX file, gzipped when the path ends in `.gz` (written to a temp file, then renamed). */
export function writeIdx(
  path: string,
  data: ArrayLike<number>,
  dims: readonly number[],
  type: IdxType = 'uint8',
): void {
  let bytes = encodeIdx(data, dims, type);
  if (path.endsWith('.gz')) bytes = gzipSync(bytes, { level: 9 });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0').toUpperCase();
}

/** Options of MNIST-style datasets. */
export interface MNISTOptions {
  /** Directory holding the IDX files (see locate.ts for the search order when omitted). */
  root?: string;
  /** Training split (60,000 images) or test split (10,000). Default true. */
  train?: boolean;
  /** Applied to each image: a float32 tensor [1, 28, 28] with values in [0, 1]. */
  transform?: TransformLike<Tensor, Tensor> | TransformSpec;
  /** Applied to each label (an integer class index). */
  targetTransform?: TransformLike<number, number> | TransformSpec;
  /** 'embedded': the small subset committed in the repository (FashionMNIST only; see data/fashion-mnist/README.md). */
  subset?: 'embedded';
  /** Explicit image and label file paths (overrides root and subset). */
  files?: { images: string; labels: string };
}

/**
 * MNIST-format dataset: sample i is `[image, label]` with image a float32 tensor [1, H, W] in [0, 1] (what
 * torchvision gives after ToTensor) passed through `transform`, and label an integer class index.
 * `data` (uint8 [N, H, W]) and `targets` (int32 [N]) hold the whole split, like torchvision's attributes.
 */
export class MNIST extends Dataset<[Tensor, number]> {
  /** Class names, index = label. */
  static readonly classes: readonly string[] = [
    '0 - zero',
    '1 - one',
    '2 - two',
    '3 - three',
    '4 - four',
    '5 - five',
    '6 - six',
    '7 - seven',
    '8 - eight',
    '9 - nine',
  ];
  protected static readonly source: DatasetSource = MNIST_SOURCE;
  readonly train: boolean;
  readonly imagesPath: string;
  readonly labelsPath: string;
  /** All images, uint8 [N, H, W]. */
  readonly data: Tensor;
  /** All labels, int32 [N]. */
  readonly targets: Tensor;
  readonly transform: TransformLike<Tensor, Tensor> | undefined;
  readonly targetTransform: TransformLike<number, number> | undefined;
  private readonly options: MNISTOptions;

  constructor(opts: MNISTOptions = {}) {
    super();
    const ctor = this.constructor as typeof MNIST;
    this.train = opts.train ?? true;
    this.options = opts;
    const prefix = this.train ? 'train' : 't10k';
    const bases = [`${prefix}-images-idx3-ubyte`, `${prefix}-labels-idx1-ubyte`];
    let files: string[];
    if (opts.files) files = [opts.files.images, opts.files.labels];
    else if (opts.subset === 'embedded') files = ctor.embeddedFiles(bases);
    else if (opts.subset !== undefined)
      throw new Error(`${ctor.name}: unknown subset '${String(opts.subset)}' (expected 'embedded')`);
    else {
      files = locateFiles(ctor.source.name, bases, {
        root: opts.root,
        torchvisionFolder: ctor.source.torchvisionFolder,
        hint: `get them with \`await ${ctor.name}.download()\`, or use { subset: 'embedded' } for the small subset shipped with tatami`,
      });
    }
    [this.imagesPath, this.labelsPath] = files;
    const images = readIdx(this.imagesPath);
    const labels = readIdx(this.labelsPath);
    if (images.type !== 'uint8' || images.dims.length !== 3) {
      throw new Error(
        `${this.imagesPath}: expected uint8 images of shape N×H×W (idx3-ubyte), got ${images.type} ${images.dims.join('×')}`,
      );
    }
    if (labels.type !== 'uint8' || labels.dims.length !== 1) {
      throw new Error(
        `${this.labelsPath}: expected uint8 labels of shape N (idx1-ubyte), got ${labels.type} ${labels.dims.join('×')}`,
      );
    }
    if (images.dims[0] !== labels.dims[0]) {
      throw new Error(
        `${ctor.name}: ${this.imagesPath} has ${images.dims[0]} images but ${this.labelsPath} has ${labels.dims[0]} labels`,
      );
    }
    const numClasses = ctor.classes.length;
    const lab = labels.data;
    for (let i = 0; i < lab.length; i++) {
      if (lab[i] >= numClasses)
        throw new Error(
          `${this.labelsPath}: label ${lab[i]} at index ${i} is outside the ${numClasses} classes [0, ${numClasses - 1}]`,
        );
    }
    this.data = new Tensor(images.data, images.dims, 'uint8');
    this.targets = new Tensor(Int32Array.from(lab), [lab.length], 'int32');
    this.transform = reviveTransform(opts.transform);
    this.targetTransform = reviveTransform(opts.targetTransform);
  }

  /** Paths of the embedded subset's files. */
  protected static embeddedFiles(bases: string[]): string[] {
    throw new Error(
      `${this.name}: no embedded subset ships with tatami (only FashionMNIST has one); bases ${bases.join(', ')}`,
    );
  }

  /**
   * Downloads the official files (verified by SHA-256) into `root`, or the cache directory, unless a search
   * location already has them. Returns the directory.
   */
  static async download(opts: { root?: string } = {}): Promise<string> {
    const src = this.source;
    try {
      return dirname(
        locateFiles(
          src.name,
          src.files.map((f) => f.name.replace(/\.gz$/, '')),
          { root: opts.root, torchvisionFolder: src.torchvisionFolder },
        )[0],
      );
    } catch {
      const root = explicitRoot(opts.root);
      return downloadDataset(src, root ?? cacheDir(src.name));
    }
  }

  /**
   * Builds the dataset, first downloading the official files when `download` is true and no search location has
   * them (the constructor itself never touches the network): `await FashionMNIST.load({ download: true })`.
   */
  static async load<D extends MNIST>(
    this: new (opts?: MNISTOptions) => D,
    opts: MNISTOptions & { download?: boolean } = {},
  ): Promise<D> {
    const { download, ...rest } = opts;
    if (download && !rest.files && rest.subset === undefined) {
      const ctor = this as unknown as typeof MNIST;
      const prefix = (rest.train ?? true) ? 'train' : 't10k';
      try {
        locateFiles(ctor.source.name, [`${prefix}-images-idx3-ubyte`, `${prefix}-labels-idx1-ubyte`], {
          root: rest.root,
          torchvisionFolder: ctor.source.torchvisionFolder,
        });
      } catch {
        const dir = await ctor.download({ root: rest.root });
        return new this({ ...rest, root: dir });
      }
    }
    return new this(rest);
  }

  /** Class names, index = label. */
  get classes(): readonly string[] {
    return (this.constructor as typeof MNIST).classes;
  }

  /** Class name → index. */
  get classToIdx(): Record<string, number> {
    return Object.fromEntries(this.classes.map((c, i) => [c, i]));
  }

  /** Image height and width. */
  get imageSize(): [number, number] {
    return [this.data.shape[1], this.data.shape[2]];
  }

  get length(): number {
    return this.data.shape[0];
  }

  get(index: number): [Tensor, number] {
    const i = this.checkIndex(index);
    const [, h, w] = this.data.shape;
    const px = h * w;
    const img = new Float32Array(px);
    const src = this.data.storage;
    for (let k = 0, o = i * px; k < px; k++) img[k] = src[o + k] / 255;
    const x = new Tensor(img, [1, h, w], 'float32');
    const y = this.targets.storage[i];
    return transformPair(x, y, this.transform, this.targetTransform);
  }

  override workerSpec(): WorkerSpec | null {
    const transforms = transformOptions(this.transform, this.targetTransform);
    if (transforms === null) return null;
    const args: MNISTOptions = {
      train: this.train,
      files: { images: this.imagesPath, labels: this.labelsPath },
      ...transforms,
    };
    return { module: import.meta.url, export: (this.constructor as typeof MNIST).name, args: [args], construct: true };
  }
}

/**
 * Fashion-MNIST (Zalando): 28×28 grayscale images of 10 clothing classes, in MNIST's IDX format.
 * `new FashionMNIST({ subset: 'embedded' })` reads the 6,000/1,000-image subset shipped with tatami (no
 * download); without it the full dataset is searched as described in locate.ts.
 */
export class FashionMNIST extends MNIST {
  static override readonly classes: readonly string[] = [
    'T-shirt/top',
    'Trouser',
    'Pullover',
    'Dress',
    'Coat',
    'Sandal',
    'Shirt',
    'Sneaker',
    'Bag',
    'Ankle boot',
  ];
  protected static override readonly source: DatasetSource = FASHION_MNIST_SOURCE;

  protected static override embeddedFiles(bases: string[]): string[] {
    const dir = embeddedDataDir('fashion-mnist');
    return bases.map((b) => join(dir, `${b}.gz`));
  }
}
