/**
 * Segmentation datasets on disk: a plain folder format (images/ + masks/), Pascal VOC 2012 and Oxford-IIIT Pet,
 * found with the same search as the classification sets (explicit root / $TATAMI_DATA, /usr/share/datasets, the
 * cache) and downloadable with checksum verification. Every sample is `[image, mask]`: image float32 [3, H, W] in
 * [0, 1], mask int32 [H, W] of class indices; a joint `transform` sees `{ image, mask }` first (geometric
 * transforms move the mask with nearest-neighbour sampling, see data.transforms and RandomScaleCrop).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { decodeIndexedPng, isIndexedPng } from '../io/indexed-png.js';
import { decodeImage } from '../io/image.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { Dataset, type WorkerSpec } from './dataset.js';
import { cacheDir, candidateDirs, downloadDataset, explicitRoot, type DatasetSource } from './locate.js';
import {
  applyTransform,
  reviveTransform,
  transformSpec,
  type TransformLike,
  type TransformSpec,
} from './transform-base.js';
import type { ImageSample } from './transforms.js';

/** Options of `readMask` / `decodeMask`. */
export interface MaskOptions {
  /**
   * For RGB(A) masks: the colour of each class, [r, g, b] by class index (pixels of other colours are an error
   * unless `unknownColor` is set). Palette PNGs give their indices and grayscale PNGs their values without it.
   */
  colormap?: readonly (readonly [number, number, number])[];
  /** Class given to RGB pixels whose colour is not in `colormap` (default: throw). */
  unknownColor?: number;
}

/**
 * Decodes a mask image to int32 [H, W] class indices: palette PNGs → their palette indices (Pascal VOC's
 * SegmentationClass), grayscale images → their values, RGB(A) → the index of the colour in `colormap`.
 */
export function decodeMask(bytes: Uint8Array, opts: MaskOptions = {}, name = 'mask'): Tensor {
  if (isIndexedPng(bytes)) {
    const img = decodeIndexedPng(bytes, name);
    return new Tensor(Int32Array.from(img.indices), [img.height, img.width], 'int32');
  }
  const t = decodeImage(bytes, { name });
  const [c, h, w] = t.shape;
  const d = t.dataView();
  if (c === 1 || c === 2) return new Tensor(Int32Array.from(d.subarray(0, h * w)), [h, w], 'int32');
  if (!opts.colormap) {
    throw new Error(
      `decodeMask: ${name} is an RGB image (${formatShape(t.shape)}); pass a colormap ([r, g, b] per class) to map its colours to classes`,
    );
  }
  const lut = new Map<number, number>();
  opts.colormap.forEach(([r, g, b], i) => {
    if (!lut.has((r << 16) | (g << 8) | b)) lut.set((r << 16) | (g << 8) | b, i);
  });
  const out = new Int32Array(h * w);
  const plane = h * w;
  for (let p = 0; p < plane; p++) {
    const key = (d[p] << 16) | (d[plane + p] << 8) | d[2 * plane + p];
    const cls = lut.get(key);
    if (cls === undefined) {
      if (opts.unknownColor === undefined) {
        throw new Error(
          `decodeMask: ${name} pixel (${p % w}, ${Math.floor(p / w)}) has colour (${d[p]}, ${d[plane + p]}, ${d[2 * plane + p]}), which is not in the colormap`,
        );
      }
      out[p] = opts.unknownColor;
    } else out[p] = cls;
  }
  return new Tensor(out, [h, w], 'int32');
}

/** Reads a mask file (see `decodeMask`). Errors name the file. */
export function readMask(path: string, opts: MaskOptions = {}): Tensor {
  if (!existsSync(path)) throw new Error(`readMask: ${path}: file not found`);
  return decodeMask(readFileSync(path), opts, path);
}

/** Reads an image as float32 [3, H, W] in [0, 1]. */
function readRgb(path: string): Tensor {
  const u8 = decodeImage(readFileSync(path), { mode: 'rgb', name: path });
  const d = u8.dataView();
  const f = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) f[i] = d[i] / 255;
  return new Tensor(f, u8.shape.slice(), 'float32');
}

/** A joint transform of `{ image, mask }` samples. */
export type SegmentationTransform = TransformLike<ImageSample, ImageSample> | TransformSpec;

/** Base of the on-disk segmentation datasets: image/mask path pairs, a joint transform, `[image, mask]` samples. */
export abstract class SegmentationPairs extends Dataset<[Tensor, Tensor]> {
  readonly transform: TransformLike<ImageSample, ImageSample> | undefined;
  protected abstract readonly pairs: readonly [string, string][];

  constructor(transform?: SegmentationTransform) {
    super();
    this.transform = reviveTransform(transform);
  }

  get length(): number {
    return this.pairs.length;
  }

  /** The image and mask paths of sample i. */
  files(index: number): [string, string] {
    const [a, b] = this.pairs[this.checkIndex(index)];
    return [a, b];
  }

  /** Decodes the mask of one file; subclasses map raw values (trimaps) here. */
  protected loadMask(path: string): Tensor {
    return readMask(path);
  }

  get(index: number): [Tensor, Tensor] {
    const [ip, mp] = this.files(index);
    const image = readRgb(ip),
      mask = this.loadMask(mp);
    if (image.shape[1] !== mask.shape[0] || image.shape[2] !== mask.shape[1]) {
      throw new Error(
        `${this.constructor.name}: image ${ip} is ${image.shape[2]}×${image.shape[1]} but mask ${mp} is ${mask.shape[1]}×${mask.shape[0]}`,
      );
    }
    if (!this.transform) return [image, mask];
    const s = applyTransform(this.transform, { image, mask });
    if (!s || !(s.image instanceof Tensor) || !(s.mask instanceof Tensor))
      throw new Error(`${this.constructor.name}: the transform must return { image, mask }`);
    return [s.image, s.mask];
  }

  protected spec(exportName: string, opts: Record<string, unknown>): WorkerSpec | null {
    const t = transformSpec(this.transform);
    if (t === null) return null;
    return {
      module: import.meta.url,
      export: exportName,
      args: [t ? { ...opts, transform: t } : opts],
      construct: true,
    };
  }
}

const IMAGE_EXTS = ['.png', '.jpg', '.jpeg'];

/** Options of `SegmentationFolder`. */
export interface SegmentationFolderOptions {
  /** Folder holding `images/` and `masks/` (or `split/images`, `split/masks` with `split`). */
  root: string;
  /** Optional sub-folder of root, e.g. 'train' or 'val'. */
  split?: string;
  transform?: SegmentationTransform;
  /** Colours of the classes for RGB masks (see `decodeMask`). */
  colormap?: readonly (readonly [number, number, number])[];
}

/**
 * The folder format: `root/images/NAME.{png,jpg,jpeg}` and `root/masks/NAME.png` (same stem), masks as grayscale
 * index PNGs, palette PNGs or RGB with a `colormap`. Sorted by name; every image needs its mask.
 */
export class SegmentationFolder extends SegmentationPairs {
  protected readonly pairs: [string, string][];
  readonly root: string;

  constructor(private readonly opts: SegmentationFolderOptions) {
    super(opts.transform);
    const base = resolve(opts.split ? join(opts.root, opts.split) : opts.root);
    const imgDir = join(base, 'images'),
      maskDir = join(base, 'masks');
    for (const d of [imgDir, maskDir]) {
      if (!existsSync(d) || !statSync(d).isDirectory())
        throw new Error(`SegmentationFolder: ${d} is not a directory (expected ${base}/images and ${base}/masks)`);
    }
    this.root = base;
    const masks = new Map<string, string>();
    for (const f of readdirSync(maskDir))
      if (extname(f).toLowerCase() === '.png') masks.set(basename(f, extname(f)), join(maskDir, f));
    const images = readdirSync(imgDir)
      .filter((f) => IMAGE_EXTS.includes(extname(f).toLowerCase()))
      .sort();
    const missing = images.filter((f) => !masks.has(basename(f, extname(f))));
    if (missing.length) {
      throw new Error(
        `SegmentationFolder: ${missing.length} image(s) without a mask in ${maskDir}: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`,
      );
    }
    if (images.length === 0) throw new Error(`SegmentationFolder: no images (.png, .jpg) in ${imgDir}`);
    this.pairs = images.map((f) => [join(imgDir, f), masks.get(basename(f, extname(f)))!]);
  }

  protected override loadMask(path: string): Tensor {
    return readMask(path, { colormap: this.opts.colormap });
  }

  override workerSpec(): WorkerSpec | null {
    const { transform: _t, ...rest } = this.opts;
    return this.spec('SegmentationFolder', rest);
  }
}

/** Extracts a .tar / .tar.gz archive into `dir` with the system's `tar` (present on Linux, macOS and Windows 10+). */
export function extractTar(archive: string, dir: string): void {
  const r = spawnSync('tar', ['-xf', archive, '-C', dir], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(
      `extractTar: could not extract ${archive} into ${dir}: ${r.error?.message ?? r.stderr}. Extract it by hand (tar -xf ${archive} -C ${dir}).`,
    );
  }
}

/** Pascal VOC 2012 trainval (torchvision's URL and MD5). */
export const VOC2012_SOURCE: DatasetSource = {
  name: 'voc',
  mirrors: ['http://host.robots.ox.ac.uk/pascal/VOC/voc2012/'],
  files: [{ name: 'VOCtrainval_11-May-2012.tar', md5: '6cd6e144f989b92b3379bac3b3de84fd' }],
};

/** The 21 Pascal VOC classes in label order (0 background; 255 marks the "void" borders). */
export const VOC_CLASSES: readonly string[] = [
  'background',
  'aeroplane',
  'bicycle',
  'bird',
  'boat',
  'bottle',
  'bus',
  'car',
  'cat',
  'chair',
  'cow',
  'diningtable',
  'dog',
  'horse',
  'motorbike',
  'person',
  'pottedplant',
  'sheep',
  'sofa',
  'train',
  'tvmonitor',
];

/** Options of `VOCSegmentation`. */
export interface VOCSegmentationOptions {
  /** Folder holding VOCdevkit/VOC2012 (or VOC2012 itself); default: $TATAMI_DATA, /usr/share/datasets/voc, the cache. */
  root?: string;
  /** 'train' (1,464 images), 'val' (1,449) or 'trainval' (default 'train'). */
  imageSet?: 'train' | 'val' | 'trainval';
  transform?: SegmentationTransform;
}

function findVocDir(root?: string): { dir: string | null; looked: string[] } {
  const looked: string[] = [];
  for (const c of candidateDirs('voc', root)) {
    for (const d of [join(c, 'VOCdevkit', 'VOC2012'), join(c, 'VOC2012'), c]) {
      looked.push(d);
      if (existsSync(join(d, 'ImageSets', 'Segmentation')) && existsSync(join(d, 'SegmentationClass')))
        return { dir: d, looked };
    }
  }
  return { dir: null, looked };
}

/**
 * Pascal VOC 2012 segmentation (torchvision's VOCSegmentation): `JPEGImages/NAME.jpg` and the palette PNG
 * `SegmentationClass/NAME.png` (classes 0–20, 255 = void) for the names in `ImageSets/Segmentation/<imageSet>.txt`.
 */
export class VOCSegmentation extends SegmentationPairs {
  protected readonly pairs: [string, string][];
  readonly dir: string;
  readonly classes = VOC_CLASSES;

  constructor(private readonly opts: VOCSegmentationOptions = {}) {
    super(opts.transform);
    const set = opts.imageSet ?? 'train';
    if (!['train', 'val', 'trainval'].includes(set))
      throw new Error(`VOCSegmentation: imageSet must be 'train', 'val' or 'trainval', got '${set}'`);
    const { dir, looked } = findVocDir(opts.root);
    if (!dir) {
      throw new Error(
        `VOCSegmentation: Pascal VOC 2012 not found. Looked for ImageSets/Segmentation and SegmentationClass in:\n${looked.map((d) => `  ${d}`).join('\n')}\n` +
          `Run \`await data.VOCSegmentation.download()\` (2 GB from ${VOC2012_SOURCE.mirrors[0]}, MD5-checked, into ${cacheDir('voc')}) ` +
          'or extract VOCtrainval_11-May-2012.tar into one of these folders (or pass { root: DIR } / --data DIR).',
      );
    }
    this.dir = dir;
    const list = join(dir, 'ImageSets', 'Segmentation', `${set}.txt`);
    if (!existsSync(list)) throw new Error(`VOCSegmentation: ${list} not found`);
    const names = readFileSync(list, 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
    this.pairs = names.map((n) => [join(dir, 'JPEGImages', `${n}.jpg`), join(dir, 'SegmentationClass', `${n}.png`)]);
    const absent = this.pairs.filter(([a, b]) => !existsSync(a) || !existsSync(b));
    if (absent.length)
      throw new Error(
        `VOCSegmentation: ${absent.length} of ${names.length} listed samples lack files, e.g. ${absent[0].join(' / ')}`,
      );
  }

  /** Downloads and extracts VOC 2012 trainval into `root` (default the cache); returns the folder. */
  static async download(root?: string): Promise<string> {
    const r = explicitRoot(root);
    const dir = r ? resolve(r) : cacheDir('voc');
    if (findVocDir(dir).dir) return dir;
    await downloadDataset(VOC2012_SOURCE, dir);
    extractTar(join(dir, VOC2012_SOURCE.files[0].name), dir);
    return dir;
  }

  override workerSpec(): WorkerSpec | null {
    const { transform: _t, ...rest } = this.opts;
    return this.spec('VOCSegmentation', rest);
  }
}

/** Oxford-IIIT Pet (torchvision's URLs and MD5s). */
export const OXFORD_PET_SOURCE: DatasetSource = {
  name: 'oxford-iiit-pet',
  mirrors: ['https://www.robots.ox.ac.uk/~vgg/data/pets/data/'],
  files: [
    { name: 'images.tar.gz', md5: '5c4f3ee8e5d25df40f4fd59a7f44e54c' },
    { name: 'annotations.tar.gz', md5: '95a8c909bbe2e81eed6a22bccdf3f68f' },
  ],
};

/** Options of `OxfordIIITPet`. */
export interface OxfordIIITPetOptions {
  /** Folder holding images/ and annotations/ (or oxford-iiit-pet/ with them, torchvision's layout). */
  root?: string;
  /** 'trainval' (3,680 images, default) or 'test' (3,669). */
  split?: 'trainval' | 'test';
  /**
   * 'raw' (default, as torchvision): the trimap values 1 = pet, 2 = background, 3 = border. 'binary': 1 = pet,
   * 0 = background, 255 = border (to ignore), ready for a two-class model.
   */
  trimap?: 'raw' | 'binary';
  transform?: SegmentationTransform;
}

function findPetDir(root?: string): { dir: string | null; looked: string[] } {
  const looked: string[] = [];
  for (const c of candidateDirs('oxford-iiit-pet', root)) {
    for (const d of [c, join(c, 'oxford-iiit-pet')]) {
      looked.push(d);
      if (existsSync(join(d, 'images')) && existsSync(join(d, 'annotations', 'trimaps'))) return { dir: d, looked };
    }
  }
  return { dir: null, looked };
}

/**
 * Oxford-IIIT Pet trimaps (torchvision's OxfordIIITPet with target_types='segmentation'): `images/NAME.jpg`,
 * `annotations/trimaps/NAME.png` for the names of `annotations/<split>.txt`.
 */
export class OxfordIIITPet extends SegmentationPairs {
  protected readonly pairs: [string, string][];
  readonly dir: string;

  constructor(private readonly opts: OxfordIIITPetOptions = {}) {
    super(opts.transform);
    const split = opts.split ?? 'trainval';
    if (split !== 'trainval' && split !== 'test')
      throw new Error(`OxfordIIITPet: split must be 'trainval' or 'test', got '${String(split)}'`);
    if (opts.trimap !== undefined && opts.trimap !== 'raw' && opts.trimap !== 'binary')
      throw new Error(`OxfordIIITPet: trimap must be 'raw' or 'binary', got '${String(opts.trimap)}'`);
    const { dir, looked } = findPetDir(opts.root);
    if (!dir) {
      throw new Error(
        `OxfordIIITPet: dataset not found. Looked for images/ and annotations/trimaps/ in:\n${looked.map((d) => `  ${d}`).join('\n')}\n` +
          `Run \`await data.OxfordIIITPet.download()\` (800 MB from ${OXFORD_PET_SOURCE.mirrors[0]}, MD5-checked, into ${cacheDir('oxford-iiit-pet')}) ` +
          'or extract images.tar.gz and annotations.tar.gz into one of these folders (or pass { root: DIR } / --data DIR).',
      );
    }
    this.dir = dir;
    const list = join(dir, 'annotations', `${split}.txt`);
    if (!existsSync(list)) throw new Error(`OxfordIIITPet: ${list} not found`);
    const names = readFileSync(list, 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim().split(/\s+/)[0])
      .filter(Boolean);
    this.pairs = names.map((n) => [join(dir, 'images', `${n}.jpg`), join(dir, 'annotations', 'trimaps', `${n}.png`)]);
  }

  protected override loadMask(path: string): Tensor {
    const m = readMask(path);
    if ((this.opts.trimap ?? 'raw') === 'raw') return m;
    const d = m.storage as Int32Array;
    for (let i = 0; i < d.length; i++) d[i] = d[i] === 1 ? 1 : d[i] === 2 ? 0 : 255;
    return m;
  }

  /** Downloads and extracts the images and annotations into `root` (default the cache); returns the folder. */
  static async download(root?: string): Promise<string> {
    const r = explicitRoot(root);
    const dir = r ? resolve(r) : cacheDir('oxford-iiit-pet');
    if (findPetDir(dir).dir) return dir;
    await downloadDataset(OXFORD_PET_SOURCE, dir);
    for (const f of OXFORD_PET_SOURCE.files) extractTar(join(dir, f.name), dir);
    return dir;
  }

  override workerSpec(): WorkerSpec | null {
    const { transform: _t, ...rest } = this.opts;
    return this.spec('OxfordIIITPet', rest);
  }
}
