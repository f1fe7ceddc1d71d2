/**
 * The datasets `tatami train` and `tatami eval` read: MNIST, Fashion-MNIST (full set when installed, else the
 * embedded subset), CIFAR-10 (binary version) and an image folder (torchvision's ImageFolder: one sub-folder per
 * class; with `train/` and `test/` or `val/` sub-folders those are the splits).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../tensor/tensor.js';
import type { Dataset } from '../data/dataset.js';
import { FashionMNIST, MNIST } from '../data/idx.js';
import { CIFAR10 } from '../data/cifar.js';
import { ImageFolder } from '../data/image-folder.js';
import type { TransformLike } from '../data/transform-base.js';
import { CliError } from './common.js';

export const DATASETS = ['fashion-mnist', 'mnist', 'cifar10', 'folder'] as const;
export type DatasetName = (typeof DATASETS)[number];

/** One split of a dataset with what the CLI reports and stores about it. */
export interface LoadedSplit {
  ds: Dataset<[Tensor, number]>;
  classes: readonly string[];
  /** Where the images came from, for the log line. */
  source: string;
  /** Channels of the images the dataset yields before any transform. */
  channels: number;
  /** [H, W] when every image has it (IDX, CIFAR); undefined for folders of arbitrary images. */
  size?: [number, number];
}

export interface SplitOptions {
  dataset: DatasetName;
  data?: string;
  subset?: 'auto' | 'full' | 'embedded';
  train: boolean;
  transform?: TransformLike<Tensor, Tensor>;
  /** Channels to decode folder images with (1: grayscale, else RGB). */
  channels?: number;
  /** CIFAR-10: require the official files (10,000 records each); false accepts subsets made by hand. */
  checkIntegrity?: boolean;
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** The folders of an image-folder dataset: `<root>/train` + `<root>/test|val` when present, else `<root>` alone. */
export function folderSplits(root: string): { train: string; test: string | null } {
  if (!isDir(root))
    throw new CliError(`--data ${root}: no such folder (expected an image folder: one sub-folder of images per class)`);
  if (isDir(join(root, 'train'))) {
    const test = ['test', 'val'].map((s) => join(root, s)).find(isDir) ?? null;
    return { train: join(root, 'train'), test };
  }
  return { train: root, test: null };
}

/**
 * Channels and size of the images a dataset yields before transforms, known without reading it: IDX files are
 * 1×28×28, CIFAR-10 3×32×32; folder images are decoded to the model's channels and have any size.
 */
export function imageFormat(
  dataset: DatasetName,
  modelChannels: number,
): { channels: number; size?: [number, number] } {
  switch (dataset) {
    case 'fashion-mnist':
    case 'mnist':
      return { channels: 1, size: [28, 28] };
    case 'cifar10':
      return { channels: 3, size: [32, 32] };
    case 'folder':
      return { channels: modelChannels === 1 ? 1 : 3 };
  }
}

/** Loads one split; returns null for the test split of a folder dataset that has none. */
export function loadSplit(opts: SplitOptions): LoadedSplit | null {
  const { train, transform } = opts;
  switch (opts.dataset) {
    case 'fashion-mnist':
    case 'mnist': {
      const Ctor = opts.dataset === 'mnist' ? MNIST : FashionMNIST;
      const subset = opts.subset ?? 'auto';
      const of = (ds: FashionMNIST | MNIST, source: string): LoadedSplit => ({
        ds,
        classes: ds.classes,
        source,
        channels: 1,
        size: [28, 28],
      });
      if (subset === 'embedded') return of(new Ctor({ train, subset: 'embedded', transform }), 'embedded subset');
      try {
        const ds = new Ctor({ train, root: opts.data, transform });
        return of(ds, ds.imagesPath.replace(/\/[^/]+$/, ''));
      } catch (err) {
        if (subset === 'full' || opts.data || Ctor !== FashionMNIST) throw err;
        return of(new Ctor({ train, subset: 'embedded', transform }), 'embedded subset (full set not found)');
      }
    }
    case 'cifar10': {
      const ds = new CIFAR10({ train, root: opts.data, transform, checkIntegrity: opts.checkIntegrity ?? true });
      return { ds, classes: CIFAR10.classes, source: ds.files[0].replace(/\/[^/]+$/, ''), channels: 3, size: [32, 32] };
    }
    case 'folder': {
      if (!opts.data)
        throw new CliError(
          '--dataset folder needs --data <dir>: a folder with one sub-folder of images per class (or train/ and test/ folders of those)',
        );
      const dirs = folderSplits(opts.data);
      const dir = train ? dirs.train : dirs.test;
      if (!dir) return null;
      const channels = opts.channels === 1 ? 1 : 3;
      const ds = new ImageFolder(dir, { transform, mode: channels === 1 ? 'gray' : 'rgb' });
      return { ds, classes: ds.classes, source: dir, channels };
    }
  }
}
