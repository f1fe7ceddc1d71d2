/**
 * Data loading (torch.utils.data + torchvision.datasets/transforms, in camelCase).
 *
 * ```ts
 * import * as tt from 'tatami';
 * const { data } = tt;
 * const T = data.transforms;
 * const train = new data.FashionMNIST({ subset: 'embedded', transform: new T.RandomCrop(28, { padding: 2 }) });
 * const loader = new data.DataLoader(train, { batchSize: 64, shuffle: true, generator: new tt.Generator(0), numWorkers: 2 });
 * for await (const [x, y] of loader) { ... }   // x: float32 [64, 1, 28, 28] in [0, 1], y: int32 [64]
 * for (const [x, y] of loader) { ... }         // the same batches, loaded synchronously in this thread
 * ```
 *
 * - Datasets: `Dataset` (abstract `length` + `get(i)`), `TensorDataset`, `Subset`, `ConcatDataset`; file formats
 *   `MNIST` / `FashionMNIST` (IDX, gzip or raw), `CIFAR10` (binary batches), `ImageFolder` (PNG/JPEG class
 *   folders); the procedural `Shapes` (image, mask, boxes). Image datasets return float32 [C, H, W] in [0, 1]
 *   before their `transform` (what torchvision gives after ToTensor).
 * - Finding files: explicit `root` (or TATAMI_DATA / the CLI's --data), /usr/share/datasets/<name>, then the cache
 *   (TATAMI_CACHE or ~/.cache/tatami/datasets/<name>); `await FashionMNIST.load({ download: true })` fetches the
 *   official files with SHA-256 checks. `{ subset: 'embedded' }` reads the 6,000 + 1,000 image Fashion-MNIST
 *   subset shipped in data/fashion-mnist/ (no network).
 * - `DataLoader`: batching with `defaultCollate`, seeded per-epoch shuffling, `dropLast`, and `numWorkers` worker
 *   threads that rebuild the dataset from `dataset.workerSpec()` (built-in datasets and transforms) or from the
 *   `workerDataset` option `{ module, export, args, construct? }`; results are identical with and without workers
 *   for a fixed generator seed, because random transforms draw from a stream seeded per batch.
 * - `randomSplit`, `KFold`, `crossValidate`.
 * - `transforms`: ToTensor, Normalize, MinMaxScale, Resize, CenterCrop, Pad, RandomCrop, RandomResizedCrop,
 *   RandomHorizontalFlip, RandomVerticalFlip, RandomRotation, RandomAffine, ColorJitter, RandomErasing, Compose,
 *   Lambda, RandomApply — applied to an image or to a `{ image, mask?, boxes? }` sample, keeping them aligned.
 */
export { Dataset, TensorDataset, Subset, ConcatDataset, datasetFromSpec, type WorkerSpec } from './dataset.js';
export { DataLoader, type DataLoaderOptions } from './dataloader.js';
export { RandomSampler, SequentialSampler, type Sampler, type RandomSamplerOptions } from './sampler.js';
export { defaultCollate, type Collated } from './collate.js';
export { randomSplit, KFold, crossValidate, type Fold, type CrossValidationResult, type Generator_ } from './split.js';
export {
  MNIST,
  FashionMNIST,
  readIdx,
  writeIdx,
  parseIdx,
  encodeIdx,
  type IdxData,
  type IdxType,
  type MNISTOptions,
} from './idx.js';
export {
  locateFiles,
  downloadDataset,
  cacheDir,
  candidateDirs,
  embeddedDataDir,
  FASHION_MNIST_SOURCE,
  MNIST_SOURCE,
  SYSTEM_DATASETS_DIR,
  type DatasetSource,
  type RemoteFile,
} from './locate.js';
export {
  Transform,
  applyTransform,
  transformFromSpec,
  registerTransform,
  type TransformLike,
  type TransformSpec,
  type TransformCtor,
} from './transform-base.js';
export { dataGenerator, withDataSeed } from './rng.js';
export * as transforms from './transforms.js';
export { CIFAR10, readCifarBatch, type CIFAR10Options } from './cifar.js';
export {
  DegradedPairs,
  gaussianBlur,
  motionBlur,
  motionBlurKernel,
  gaussianNoise,
  poissonNoise,
  jpegArtifacts,
  rainStreaks,
  downscale,
  type Degradation,
  type RainOptions,
} from './degradations.js';
export { ImageFolder, type ImageFolderOptions } from './image-folder.js';
export {
  Shapes,
  detectionCollate,
  SHAPE_KINDS,
  type ShapeKind,
  type ShapesOptions,
  type ShapesSample,
  type DetectionBatch,
} from './shapes.js';
export type { ImageSample, Sample } from './transforms.js';
export {
  rleEncode,
  rleDecode,
  rleToString,
  rleFromString,
  rleFromPolygon,
  rleMerge,
  toRle,
  rleArea,
  rleToBbox,
  rleIntersection,
  rleIou,
  bboxIou,
  type Rle,
  type CocoSegmentation,
} from './coco-mask.js';
export {
  CocoDetection,
  VocDetection,
  YoloDetection,
  parseVocXml,
  parseYoloTxt,
  detectionListCollate,
  type DetectionSample,
  type DetectionDatasetOptions,
  type CocoInstances,
  type CocoDetectionOptions,
  type VocAnnotation,
  type VocDetectionOptions,
  type YoloDetectionOptions,
} from './detection-datasets.js';
export { DetectionScenes, type DetectionScenesOptions } from './detection-scenes.js';
export { ScaleJitter, SanitizeBoxes, type SanitizeBoxesOptions } from './detection-transforms.js';
export { resample, padOrCrop, RandomTimeShift, RandomGain, AddNoise } from './audio.js';
export {
  SpokenDigits,
  DIGIT_WORDS,
  SPOKEN_DIGIT_ACCENTS,
  SPOKEN_DIGIT_TRAIN_VARIANTS,
  SPOKEN_DIGIT_TEST_VARIANTS,
  type SpokenDigitClip,
  type SpokenDigitsOptions,
  type SpokenDigitsGenerateOptions,
} from './spoken-digits.js';
export { CTVolumes, RandomFlip3d, RandomCrop3d, type VolumeSample, type CTVolumesOptions } from './volumes.js';
export { MovingImages, type MovingImagesOptions } from './moving.js';
export {
  SegmentationFolder,
  VOCSegmentation,
  OxfordIIITPet,
  SegmentationPairs,
  readMask,
  decodeMask,
  extractTar,
  VOC_CLASSES,
  VOC2012_SOURCE,
  OXFORD_PET_SOURCE,
  type SegmentationFolderOptions,
  type VOCSegmentationOptions,
  type OxfordIIITPetOptions,
  type MaskOptions,
  type SegmentationTransform,
} from './segmentation.js';
export { SegmentationScenes, type SegmentationScenesOptions } from './segmentation-scenes.js';
export { RandomScaleCrop, type RandomScaleCropOptions } from './seg-transforms.js';
export { UnpairedDataset, randomPatches, toNight, type ImageSource } from './unpaired.js';
