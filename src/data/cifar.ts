/**
 * CIFAR-10, binary version (https://www.cs.toronto.edu/~kriz/cifar.html, "CIFAR-10 binary version"):
 * data_batch_1.bin … data_batch_5.bin (train) and test_batch.bin, each a sequence of 3073-byte records —
 * one label byte, then 3×32×32 pixel bytes (the red plane, then green, then blue; rows top to bottom).
 */
import { readFileSync } from 'node:fs';
import { Tensor } from '../tensor/tensor.js';
import { Dataset, type WorkerSpec } from './dataset.js';
import { locateFiles } from './locate.js';
import { transformPair, transformOptions, reviveTransform, type TransformLike, type TransformSpec } from './transform-base.js';

const RECORD = 1 + 3 * 32 * 32;

/** Reads one CIFAR-10 binary batch file; errors name the file and the problem. */
export function readCifarBatch(path: string, numClasses = 10): { images: Uint8Array; labels: Uint8Array } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(err.code === 'ENOENT' ? `${path}: file not found` : `${path}: cannot read (${err.message})`);
  }
  if (bytes.length === 0) throw new Error(`${path}: empty file (expected 3073-byte records: 1 label byte + 3×32×32 pixels)`);
  if (bytes.length % RECORD !== 0) {
    throw new Error(`${path}: truncated or corrupt: ${bytes.length} bytes is not a whole number of 3073-byte records (1 label byte + 3×32×32 pixels); ${Math.floor(bytes.length / RECORD)} complete records and ${bytes.length % RECORD} extra bytes`);
  }
  const n = bytes.length / RECORD;
  const images = new Uint8Array(n * (RECORD - 1));
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const label = bytes[i * RECORD];
    if (label >= numClasses) throw new Error(`${path}: record ${i} has label ${label}, outside the ${numClasses} classes [0, ${numClasses - 1}] (is this the CIFAR-100 or the Python version?)`);
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
}

/** CIFAR-10: sample i is `[image, label]`, image float32 [3, 32, 32] in [0, 1] (after `transform`). */
export class CIFAR10 extends Dataset<[Tensor, number]> {
  static readonly classes: readonly string[] = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
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
    const parts = this.files.map((f) => readCifarBatch(f, CIFAR10.classes.length));
    const n = parts.reduce((a, p) => a + p.labels.length, 0);
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
    const args: CIFAR10Options = { train: this.train, files: this.files, ...transforms };
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
