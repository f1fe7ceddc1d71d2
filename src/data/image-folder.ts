/**
 * ImageFolder (torchvision's): one sub-directory per class under `root`, class names sorted → indices.
 *
 *   root/cat/001.png, root/cat/sub/002.jpg, root/dog/xyz.jpeg …
 *
 * Files are found recursively in each class folder and sorted, so sample order is deterministic.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { Tensor } from '../tensor/tensor.js';
import { readImage, type ImageReadMode } from '../io/image.js';
import { Dataset, type WorkerSpec } from './dataset.js';
import {
  transformPair,
  transformOptions,
  reviveTransform,
  type TransformLike,
  type TransformSpec,
} from './transform-base.js';

/** Options of ImageFolder. */
export interface ImageFolderOptions {
  /** Applied to each image: a float32 tensor [C, H, W] in [0, 1]. */
  transform?: TransformLike<Tensor, Tensor> | TransformSpec;
  targetTransform?: TransformLike<number, number> | TransformSpec;
  /** File extensions that count as images (case-insensitive; default .png, .jpg, .jpeg). */
  extensions?: readonly string[];
  /** Channels of the decoded images (default 'rgb', like torchvision's PIL loader). */
  mode?: ImageReadMode;
}

/** Images in class folders: sample i is `[image, classIndex]`. */
export class ImageFolder extends Dataset<[Tensor, number]> {
  readonly root: string;
  /** Sorted class folder names; index = label. */
  readonly classes: string[];
  readonly classToIdx: Record<string, number>;
  /** [path, classIndex] of every image, sorted by class then path. */
  readonly samples: [string, number][];
  readonly extensions: string[];
  readonly mode: ImageReadMode;
  readonly transform: TransformLike<Tensor, Tensor> | undefined;
  readonly targetTransform: TransformLike<number, number> | undefined;

  constructor(root: string, opts: ImageFolderOptions = {}) {
    super();
    this.root = resolve(root);
    this.extensions = (opts.extensions ?? ['.png', '.jpg', '.jpeg']).map((e) =>
      (e.startsWith('.') ? e : `.${e}`).toLowerCase(),
    );
    this.mode = opts.mode ?? 'rgb';
    if (!existsSync(this.root) || !statSync(this.root).isDirectory())
      throw new Error(`ImageFolder: ${this.root}: directory not found`);
    this.classes = readdirSync(this.root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    if (this.classes.length === 0)
      throw new Error(`ImageFolder: ${this.root}: no class folders found (expected one sub-directory per class)`);
    this.classToIdx = Object.fromEntries(this.classes.map((c, i) => [c, i]));
    this.samples = [];
    const empty: string[] = [];
    this.classes.forEach((c, idx) => {
      const files = walk(join(this.root, c))
        .filter((f) => this.extensions.includes(extname(f).toLowerCase()))
        .sort();
      if (files.length === 0) empty.push(c);
      for (const f of files) this.samples.push([f, idx]);
    });
    if (empty.length) {
      throw new Error(
        `ImageFolder: ${this.root}: found no valid file for the classes ${empty.join(', ')}. Supported extensions are: ${this.extensions.join(', ')}`,
      );
    }
    this.transform = reviveTransform(opts.transform);
    this.targetTransform = reviveTransform(opts.targetTransform);
  }

  /** Labels of all samples (int32 [N]). */
  get targets(): Tensor {
    return new Tensor(
      Int32Array.from(this.samples, (s) => s[1]),
      [this.samples.length],
      'int32',
    );
  }

  get length(): number {
    return this.samples.length;
  }

  get(index: number): [Tensor, number] {
    const [path, label] = this.samples[this.checkIndex(index)];
    const raw = readImage(path, { mode: this.mode });
    const src = raw.storage;
    const img = new Float32Array(src.length);
    for (let k = 0; k < src.length; k++) img[k] = src[k] / 255;
    const x = new Tensor(img, raw.shape, 'float32');
    const y = label;
    return transformPair(x, y, this.transform, this.targetTransform);
  }

  override workerSpec(): WorkerSpec | null {
    const transforms = transformOptions(this.transform, this.targetTransform);
    if (transforms === null) return null;
    const opts: ImageFolderOptions = { extensions: this.extensions, mode: this.mode, ...transforms };
    return { module: import.meta.url, export: 'ImageFolder', args: [this.root, opts], construct: true };
  }
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...walk(p));
    else if (d.isFile() || d.isSymbolicLink()) out.push(p);
  }
  return out;
}
