/**
 * Detection datasets on disk: COCO JSON (boxes, polygon and RLE masks, crowd), Pascal VOC XML and YOLO txt.
 *
 * Every reader returns a `DetectionSample` — torchvision's detection target (what its datasets give after
 * `wrap_dataset_for_transforms_v2`), with Tatami's sample keys so the box- and mask-aware transforms move them:
 * `image` float32 [3, H, W] in [0, 1], `boxes` float32 [K, 4] xyxy pixels, `labels` int32 [K], and optionally
 * `mask` uint8 [K, H, W] instance masks, `iscrowd`, `area`, `difficult`.
 */
import { VOC_CLASSES } from './segmentation.js';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { readImage } from '../io/image.js';
import { Tensor } from '../tensor/tensor.js';
import { rleArea, rleDecode, toRle, type CocoSegmentation } from './coco-mask.js';
import { Dataset, type WorkerSpec } from './dataset.js';
import {
  applyTransform,
  reviveTransform,
  transformSpec,
  type TransformLike,
  type TransformSpec,
} from './transform-base.js';
import type { ImageSample } from './transforms.js';
// Registers ScaleJitter / SanitizeBoxes so specs naming them revive in worker threads.
import './detection-transforms.js';

/** One image with its objects. */
export interface DetectionSample extends ImageSample {
  image: Tensor;
  /** float32 [K, 4]: (x1, y1, x2, y2) in pixels. */
  boxes: Tensor;
  /** int32 [K]: category of each box (dataset's ids: COCO category id, VOC 1…20, YOLO class index). */
  labels: Tensor;
  /** uint8 [K, H, W]: instance masks (COCO with `masks: true`). */
  mask?: Tensor;
  /** int32 [K]: 1 for COCO crowd regions. */
  iscrowd?: Tensor;
  /** float32 [K]: COCO annotation area. */
  area?: Tensor;
  /** int32 [K]: 1 for VOC "difficult" objects. */
  difficult?: Tensor;
  /** COCO image id / VOC or YOLO file stem. */
  imageId: number | string;
}

/** Options shared by the readers. */
export interface DetectionDatasetOptions {
  /** Applied to each sample (geometric transforms keep boxes and masks aligned). */
  transform?: TransformLike<ImageSample, ImageSample> | TransformSpec;
}

function loadRgb(path: string): Tensor {
  const raw = readImage(path, { mode: 'rgb' });
  const img = new Float32Array(raw.storage.length);
  for (let k = 0; k < img.length; k++) img[k] = raw.storage[k] / 255;
  return new Tensor(img, raw.shape, 'float32');
}

function boxesTensor(b: number[]): Tensor {
  return new Tensor(Float32Array.from(b), [b.length / 4, 4], 'float32');
}

function ints(v: number[]): Tensor {
  return new Tensor(Int32Array.from(v), [v.length], 'int32');
}

abstract class DetectionDataset extends Dataset<DetectionSample> {
  readonly transform: TransformLike<ImageSample, ImageSample> | undefined;

  constructor(opts: DetectionDatasetOptions) {
    super();
    this.transform = reviveTransform(opts.transform);
  }

  /** The sample before the transform. */
  abstract load(i: number): DetectionSample;

  get(index: number): DetectionSample {
    const s = this.load(this.checkIndex(index));
    return this.transform ? (applyTransform(this.transform, s) as DetectionSample) : s;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// COCO

/** The parts of a COCO instances file the reader uses. */
export interface CocoInstances {
  images: { id: number; file_name: string; height: number; width: number }[];
  annotations: {
    id?: number;
    image_id: number;
    category_id: number;
    bbox: number[];
    area?: number;
    iscrowd?: number;
    segmentation?: CocoSegmentation;
  }[];
  categories: { id: number; name: string; supercategory?: string }[];
}

/** Options of CocoDetection. */
export interface CocoDetectionOptions extends DetectionDatasetOptions {
  /** Decode instance masks from polygons / RLE into `mask` [K, H, W] (default false). */
  masks?: boolean;
  /** Drop crowd annotations (default false: kept, flagged in `iscrowd`). */
  removeCrowd?: boolean;
}

/**
 * COCO-format detection (torchvision.datasets.CocoDetection with the v2 target conversion): images under `root`,
 * annotations from an instances JSON file (path or parsed object). Boxes [x, y, w, h] become xyxy; annotations
 * with w or h < 1 are dropped as torchvision's wrapper does. Images keep the file's order.
 */
export class CocoDetection extends DetectionDataset {
  readonly root: string;
  readonly annFile: string | null;
  readonly coco: CocoInstances;
  readonly masks: boolean;
  readonly removeCrowd: boolean;
  /** Category id → name. */
  readonly categoryNames: Map<number, string>;
  private readonly byImage = new Map<number, CocoInstances['annotations']>();

  constructor(root: string, annotations: string | CocoInstances, opts: CocoDetectionOptions = {}) {
    super(opts);
    this.root = resolve(root);
    this.annFile = typeof annotations === 'string' ? resolve(annotations) : null;
    if (typeof annotations === 'string' && !existsSync(annotations))
      throw new Error(`CocoDetection: annotation file ${annotations} not found`);
    this.coco =
      typeof annotations === 'string' ? (JSON.parse(readFileSync(annotations, 'utf8')) as CocoInstances) : annotations;
    for (const key of ['images', 'annotations', 'categories'] as const) {
      if (!Array.isArray(this.coco[key])) throw new Error(`CocoDetection: the annotation file has no "${key}" list`);
    }
    this.masks = opts.masks ?? false;
    this.removeCrowd = opts.removeCrowd ?? false;
    this.categoryNames = new Map(this.coco.categories.map((c) => [c.id, c.name]));
    for (const a of this.coco.annotations) {
      const list = this.byImage.get(a.image_id) ?? [];
      list.push(a);
      this.byImage.set(a.image_id, list);
    }
  }

  get length(): number {
    return this.coco.images.length;
  }

  load(i: number): DetectionSample {
    const info = this.coco.images[i];
    const image = loadRgb(join(this.root, info.file_name));
    const [, h, w] = image.shape;
    const boxes: number[] = [];
    const labels: number[] = [];
    const crowd: number[] = [];
    const area: number[] = [];
    const masks: Uint8Array[] = [];
    for (const a of this.byImage.get(info.id) ?? []) {
      if (this.removeCrowd && a.iscrowd) continue;
      const [x, y, bw, bh] = a.bbox;
      if (!(bw >= 1 && bh >= 1)) continue;
      boxes.push(x, y, x + bw, y + bh);
      labels.push(a.category_id);
      crowd.push(a.iscrowd ? 1 : 0);
      if (this.masks) {
        if (!a.segmentation)
          throw new Error(
            `CocoDetection: annotation ${a.id ?? '?'} of image ${info.id} has no segmentation (masks: true)`,
          );
        const rle = toRle(a.segmentation, h, w);
        masks.push(rleDecode(rle));
        area.push(a.area ?? rleArea(rle));
      } else area.push(a.area ?? bw * bh);
    }
    const sample: DetectionSample = {
      image,
      boxes: boxesTensor(boxes),
      labels: ints(labels),
      iscrowd: ints(crowd),
      area: new Tensor(Float32Array.from(area), [area.length], 'float32'),
      imageId: info.id,
    };
    if (this.masks) {
      const m = new Uint8Array(masks.length * h * w);
      masks.forEach((mk, k) => m.set(mk, k * h * w));
      sample.mask = new Tensor(m, [masks.length, h, w], 'uint8');
    }
    return sample;
  }

  override workerSpec(): WorkerSpec | null {
    const t = transformSpec(this.transform);
    if (t === null || this.annFile === null) return null;
    const opts: CocoDetectionOptions = { masks: this.masks, removeCrowd: this.removeCrowd };
    if (t) opts.transform = t;
    return { module: import.meta.url, export: 'CocoDetection', args: [this.root, this.annFile, opts], construct: true };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Pascal VOC

/** The 20 VOC object classes; label k + 1 is VOC_OBJECT_CLASSES[k] = VOC_CLASSES[k + 1] (0 is background). */
const VOC_OBJECT_CLASSES: readonly string[] = VOC_CLASSES.slice(1);

/** One VOC annotation file. */
export interface VocAnnotation {
  filename: string;
  size: { width: number; height: number; depth: number };
  objects: { name: string; difficult: boolean; truncated: boolean; box: [number, number, number, number] }[];
}

function xmlText(xml: string, tag: string): string | null {
  const m = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`).exec(xml);
  if (!m) return null;
  return m[1]
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
    .trim();
}

/** Parses a Pascal VOC annotation XML (the devkit's format: filename, size, object/name, difficult, bndbox). */
export function parseVocXml(xml: string, what = 'VOC annotation'): VocAnnotation {
  const sizeXml = xmlText(xml, 'size') ?? '';
  const num = (s: string | null, name: string) => {
    const v = Number(s);
    if (s === null || !Number.isFinite(v))
      throw new Error(`parseVocXml: ${what}: <${name}> is missing or not a number (${JSON.stringify(s)})`);
    return v;
  };
  const objects: VocAnnotation['objects'] = [];
  const re = /<object(?:\s[^>]*)?>([\s\S]*?)<\/object>/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const o = m[1];
    // Parts (<part><bndbox>) of person layouts come after the object's own box; read the first one only.
    const bb = xmlText(o, 'bndbox');
    const name = xmlText(o, 'name');
    if (bb === null || name === null) throw new Error(`parseVocXml: ${what}: an <object> lacks <name> or <bndbox>`);
    objects.push({
      name,
      difficult: xmlText(o, 'difficult') === '1',
      truncated: xmlText(o, 'truncated') === '1',
      box: [
        num(xmlText(bb, 'xmin'), 'xmin'),
        num(xmlText(bb, 'ymin'), 'ymin'),
        num(xmlText(bb, 'xmax'), 'xmax'),
        num(xmlText(bb, 'ymax'), 'ymax'),
      ],
    });
  }
  return {
    filename: xmlText(xml, 'filename') ?? '',
    size: {
      width: Number(xmlText(sizeXml, 'width') ?? 0),
      height: Number(xmlText(sizeXml, 'height') ?? 0),
      depth: Number(xmlText(sizeXml, 'depth') ?? 3),
    },
    objects,
  };
}

/** Options of VocDetection. */
export interface VocDetectionOptions extends DetectionDatasetOptions {
  /** Image set listed in ImageSets/Main/<imageSet>.txt (default 'train'). */
  imageSet?: string;
  /** Class names in label order (labels are index + 1; default the 20 of VOC_CLASSES after 'background'). */
  classes?: readonly string[];
  /** Keep objects marked difficult (default true; they are flagged in `difficult`). */
  keepDifficult?: boolean;
}

/**
 * Pascal VOC detection (torchvision.datasets.VOCDetection with the v2 target conversion) from a devkit folder
 * `root` holding JPEGImages/, Annotations/ and ImageSets/Main/ (e.g. VOCdevkit/VOC2007). Boxes are the XML's
 * xmin, ymin, xmax, ymax as they are (1-based, inclusive), as torchvision keeps them.
 */
export class VocDetection extends DetectionDataset {
  readonly root: string;
  readonly imageSet: string;
  readonly classes: string[];
  readonly keepDifficult: boolean;
  readonly ids: string[];

  constructor(root: string, opts: VocDetectionOptions = {}) {
    super(opts);
    this.root = resolve(root);
    this.imageSet = opts.imageSet ?? 'train';
    this.classes = (opts.classes ?? VOC_OBJECT_CLASSES).slice();
    this.keepDifficult = opts.keepDifficult ?? true;
    const list = join(this.root, 'ImageSets', 'Main', `${this.imageSet}.txt`);
    if (!existsSync(list))
      throw new Error(
        `VocDetection: ${list} not found (root must be a VOC folder with JPEGImages/, Annotations/, ImageSets/Main/)`,
      );
    this.ids = readFileSync(list, 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim().split(/\s+/)[0])
      .filter((l) => l.length > 0);
  }

  get length(): number {
    return this.ids.length;
  }

  load(i: number): DetectionSample {
    const id = this.ids[i];
    const xmlPath = join(this.root, 'Annotations', `${id}.xml`);
    const ann = parseVocXml(readFileSync(xmlPath, 'utf8'), xmlPath);
    const boxes: number[] = [];
    const labels: number[] = [];
    const difficult: number[] = [];
    for (const o of ann.objects) {
      if (o.difficult && !this.keepDifficult) continue;
      const k = this.classes.indexOf(o.name);
      if (k < 0)
        throw new Error(`VocDetection: ${xmlPath}: class '${o.name}' is not among the ${this.classes.length} classes`);
      boxes.push(...o.box);
      labels.push(k + 1);
      difficult.push(o.difficult ? 1 : 0);
    }
    const file = ann.filename || `${id}.jpg`;
    return {
      image: loadRgb(join(this.root, 'JPEGImages', file)),
      boxes: boxesTensor(boxes),
      labels: ints(labels),
      difficult: ints(difficult),
      imageId: id,
    };
  }

  override workerSpec(): WorkerSpec | null {
    const t = transformSpec(this.transform);
    if (t === null) return null;
    const opts: VocDetectionOptions = {
      imageSet: this.imageSet,
      classes: this.classes,
      keepDifficult: this.keepDifficult,
    };
    if (t) opts.transform = t;
    return { module: import.meta.url, export: 'VocDetection', args: [this.root, opts], construct: true };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// YOLO

/**
 * Parses a YOLO label file: one object per line, `class cx cy w h` normalised to [0, 1] by the image size, or
 * `class x1 y1 x2 y2 …` (a normalised polygon, the segmentation variant; its bounding box is taken). Returns xyxy
 * pixel boxes for an image of width × height and the class indices.
 */
export function parseYoloTxt(
  text: string,
  width: number,
  height: number,
  what = 'YOLO labels',
): { boxes: number[]; labels: number[] } {
  const boxes: number[] = [];
  const labels: number[] = [];
  text.split(/\r?\n/).forEach((line, n) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const v = t.split(/\s+/).map(Number);
    if (
      v.some((x) => !Number.isFinite(x)) ||
      v.length < 5 ||
      (v.length > 5 && v.length % 2 === 0) ||
      !Number.isInteger(v[0]) ||
      v[0] < 0
    ) {
      throw new Error(
        `parseYoloTxt: ${what} line ${n + 1}: expected "class cx cy w h" or "class x1 y1 x2 y2 …" (normalised), got ${JSON.stringify(t)}`,
      );
    }
    labels.push(v[0]);
    if (v.length === 5) {
      const [, cx, cy, w, h] = v;
      boxes.push((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height);
    } else {
      let x1 = Infinity,
        y1 = Infinity,
        x2 = -Infinity,
        y2 = -Infinity;
      for (let k = 1; k < v.length; k += 2) {
        x1 = Math.min(x1, v[k]);
        x2 = Math.max(x2, v[k]);
        y1 = Math.min(y1, v[k + 1]);
        y2 = Math.max(y2, v[k + 1]);
      }
      boxes.push(x1 * width, y1 * height, x2 * width, y2 * height);
    }
  });
  return { boxes, labels };
}

/** Options of YoloDetection. */
export interface YoloDetectionOptions extends DetectionDatasetOptions {
  /** Image folder under root (default 'images'). */
  images?: string;
  /** Label folder under root (default 'labels'); an image without a label file has no objects. */
  labels?: string;
}

/** A YOLO-format folder: root/images/*.{jpg,png} with root/labels/<stem>.txt (Ultralytics' layout). */
export class YoloDetection extends DetectionDataset {
  readonly root: string;
  readonly imagesDir: string;
  readonly labelsDir: string;
  readonly files: string[];

  constructor(root: string, opts: YoloDetectionOptions = {}) {
    super(opts);
    this.root = resolve(root);
    this.imagesDir = join(this.root, opts.images ?? 'images');
    this.labelsDir = join(this.root, opts.labels ?? 'labels');
    if (!existsSync(this.imagesDir)) throw new Error(`YoloDetection: image folder ${this.imagesDir} not found`);
    this.files = readdirSync(this.imagesDir)
      .filter((f) => ['.jpg', '.jpeg', '.png'].includes(extname(f).toLowerCase()))
      .sort();
  }

  get length(): number {
    return this.files.length;
  }

  load(i: number): DetectionSample {
    const file = this.files[i];
    const image = loadRgb(join(this.imagesDir, file));
    const stem = basename(file, extname(file));
    const labelPath = join(this.labelsDir, `${stem}.txt`);
    const { boxes, labels } = existsSync(labelPath)
      ? parseYoloTxt(readFileSync(labelPath, 'utf8'), image.shape[2], image.shape[1], labelPath)
      : { boxes: [], labels: [] };
    return { image, boxes: boxesTensor(boxes), labels: ints(labels), imageId: stem };
  }

  override workerSpec(): WorkerSpec | null {
    const t = transformSpec(this.transform);
    if (t === null) return null;
    const opts: YoloDetectionOptions = { images: basename(this.imagesDir), labels: basename(this.labelsDir) };
    if (t) opts.transform = t;
    return { module: import.meta.url, export: 'YoloDetection', args: [this.root, opts], construct: true };
  }
}

/**
 * Collate for detection samples of different sizes (torchvision's references use `tuple(zip(*batch))`): images and
 * targets stay lists, for a model whose transform batches and pads them (GeneralizedRCNNTransform).
 */
export function detectionListCollate<S extends ImageSample>(samples: S[]): { images: Tensor[]; targets: S[] } {
  return { images: samples.map((s) => s.image), targets: samples };
}
