/**
 * CIFAR-10, binary version (https://www.cs.toronto.edu/~kriz/cifar.html, "CIFAR-10 binary version"):
 * data_batch_1.bin … data_batch_5.bin (train) and test_batch.bin, each a sequence of 3073-byte records —
 * one label byte, then 3×32×32 pixel bytes (the red plane, then green, then blue; rows top to bottom).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Tensor } from '../tensor/tensor.js';
import { Dataset, type WorkerSpec } from './dataset.js';
import { locateFiles } from './locate.js';
import {
  transformPair,
  transformOptions,
  reviveTransform,
  type TransformLike,
  type TransformSpec,
} from './transform-base.js';

const RECORD = 1 + 3 * 32 * 32;
/** Records in each file of the official binary release (each file is exactly 30,730,000 bytes). */
const OFFICIAL_RECORDS = 10_000;
const OFFICIAL_NAME = /^(data_batch_[1-5]|test_batch)\.bin$/;

/**
 * Integrity of the known files. The dataset's authors publish an MD5 for the archive, not for each .bin file,
 * so the built-in check is structural and exact for the official release: every data_batch_N.bin / test_batch.bin
 * holds 10,000 records, the test batch exactly 1,000 per class and the five training batches together exactly
 * 5,000 per class (as the release documents). Pass `md5` to CIFAR10 to also verify checksums you trust.
 */
function checkOfficialFile(path: string, labels: Uint8Array, numClasses: number): void {
  const name = basename(path);
  if (!OFFICIAL_NAME.test(name)) return;
  if (labels.length !== OFFICIAL_RECORDS) {
    throw new Error(
      `${path}: integrity check failed: the official ${name} holds ${OFFICIAL_RECORDS} records (30730000 bytes), this one ${labels.length}; re-download or extract it again`,
    );
  }
  if (name === 'test_batch.bin') checkClassCounts(path, labels, numClasses, 1000);
}

function checkClassCounts(what: string, labels: ArrayLike<number>, numClasses: number, each: number): void {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  const off = counts.findIndex((c) => c !== each);
  if (off >= 0)
    throw new Error(
      `${what}: integrity check failed: class ${off} has ${counts[off]} images, the official release has ${each} (counts ${counts.join(', ')})`,
    );
}

/** Reads one CIFAR-10 binary batch file; errors name the file and the problem. */
export function readCifarBatch(path: string, numClasses = 10): { images: Uint8Array; labels: Uint8Array } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(err.code === 'ENOENT' ? `${path}: file not found` : `${path}: cannot read (${err.message})`);
  }
  if (bytes.length === 0)
    throw new Error(`${path}: empty file (expected 3073-byte records: 1 label byte + 3×32×32 pixels)`);
  if (bytes.length % RECORD !== 0) {
    throw new Error(
      `${path}: truncated or corrupt: ${bytes.length} bytes is not a whole number of 3073-byte records (1 label byte + 3×32×32 pixels); ${Math.floor(bytes.length / RECORD)} complete records and ${bytes.length % RECORD} extra bytes`,
    );
  }
  const n = bytes.length / RECORD;
  const images = new Uint8Array(n * (RECORD - 1));
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const label = bytes[i * RECORD];
    if (label >= numClasses)
      throw new Error(
        `${path}: record ${i} has label ${label}, outside the ${numClasses} classes [0, ${numClasses - 1}] (is this the CIFAR-100 or the Python version?)`,
      );
    labels[i] = label;
    images.set(bytes.subarray(i * RECORD + 1, (i + 1) * RECORD), i * (RECORD - 1));
  }
  return { images, labels };
}

/** Options of CIFAR10. */
export interface CIFAR10Options {
  /** Directory holding the .bin files (or its parent holding cifar-10-batches-bin/). */
  root?: string;
  /** Training split (50,000 images in 5 files) or test split (10,000). Default true. */
  train?: boolean;
  /** Applied to each image: a float32 tensor [3, 32, 32] with values in [0, 1]. */
  transform?: TransformLike<Tensor, Tensor> | TransformSpec;
  targetTransform?: TransformLike<number, number> | TransformSpec;
  /** Explicit batch file paths (overrides root and train). */
  files?: string[];
  /** Expected MD5 (hex) of batch files by base name, e.g. `{ 'test_batch.bin': '…' }`; a mismatch throws. */
  md5?: Record<string, string>;
  /**
   * Verify files with the official names against the official release (10,000 records each, exact class
   * counts; see the module); default true, as torchvision checks its known files. False for subsets you made.
   */
  checkIntegrity?: boolean;
}

/** CIFAR-10: sample i is `[image, label]`, image float32 [3, 32, 32] in [0, 1] (after `transform`). */
export class CIFAR10 extends Dataset<[Tensor, number]> {
  static readonly classes: readonly string[] = [
    'airplane',
    'automobile',
    'bird',
    'cat',
    'deer',
    'dog',
    'frog',
    'horse',
    'ship',
    'truck',
  ];
  readonly train: boolean;
  readonly files: string[];
  /** All images, uint8 [N, 3, 32, 32]. */
  readonly data: Tensor;
  /** All labels, int32 [N]. */
  readonly targets: Tensor;
  readonly transform: TransformLike<Tensor, Tensor> | undefined;
  readonly targetTransform: TransformLike<number, number> | undefined;

  constructor(opts: CIFAR10Options = {}) {
    super();
    this.train = opts.train ?? true;
    const bases = this.train ? [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`) : ['test_batch.bin'];
    this.files = opts.files ?? locateCifar(bases, opts.root);
    for (const f of this.files) {
      const want = opts.md5 && Object.hasOwn(opts.md5, basename(f)) ? opts.md5[basename(f)].toLowerCase() : null;
      if (want === null) continue;
      let got: string;
      try {
        got = createHash('md5').update(readFileSync(f)).digest('hex');
      } catch (e) {
        throw new Error(`${f}: cannot read (${(e as Error).message})`);
      }
      if (got !== want) throw new Error(`${f}: integrity check failed: MD5 ${got}, expected ${want}`);
    }
    const parts = this.files.map((f) => readCifarBatch(f, CIFAR10.classes.length));
    const n = parts.reduce((a, p) => a + p.labels.length, 0);
    if (opts.checkIntegrity ?? true)
      this.files.forEach((f, i) => checkOfficialFile(f, parts[i].labels, CIFAR10.classes.length));
    const official =
      (opts.checkIntegrity ?? true) &&
      this.files
        .map((f) => basename(f))
        .sort()
        .join(',') === [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`).join(',');
    if (official)
      checkClassCounts(
        `CIFAR-10 training batches (${this.files.length} files)`,
        Uint8Array.from(parts.flatMap((p) => Array.from(p.labels))),
        CIFAR10.classes.length,
        5000,
      );
    const images = new Uint8Array(n * (RECORD - 1));
    const labels = new Int32Array(n);
    let k = 0;
    for (const p of parts) {
      images.set(p.images, k * (RECORD - 1));
      labels.set(p.labels, k);
      k += p.labels.length;
    }
    this.data = new Tensor(images, [n, 3, 32, 32], 'uint8');
    this.targets = new Tensor(labels, [n], 'int32');
    this.transform = reviveTransform(opts.transform);
    this.targetTransform = reviveTransform(opts.targetTransform);
  }

  get classes(): readonly string[] {
    return CIFAR10.classes;
  }

  get length(): number {
    return this.targets.shape[0];
  }

  get(index: number): [Tensor, number] {
    const i = this.checkIndex(index);
    const per = RECORD - 1;
    const img = new Float32Array(per);
    const src = this.data.storage;
    for (let k = 0, o = i * per; k < per; k++) img[k] = src[o + k] / 255;
    const x = new Tensor(img, [3, 32, 32], 'float32');
    const y = this.targets.storage[i];
    return transformPair(x, y, this.transform, this.targetTransform);
  }

  override workerSpec(): WorkerSpec | null {
    const transforms = transformOptions(this.transform, this.targetTransform);
    if (transforms === null) return null;
    const args: CIFAR10Options = { train: this.train, files: this.files, checkIntegrity: false, ...transforms };
    return { module: import.meta.url, export: 'CIFAR10', args: [args], construct: true };
  }
}

/** Finds the batch files: in `root` itself or `root/cifar-10-batches-bin` (see locate.ts for the search order). */
function locateCifar(bases: string[], root?: string): string[] {
  return locateFiles('cifar-10-batches-bin', bases, {
    root,
    hint: 'download "CIFAR-10 binary version" (cifar-10-binary.tar.gz) from https://www.cs.toronto.edu/~kriz/cifar.html and extract it',
  });
}
