/**
 * The `data` namespace of the browser entry: everything of data/index.ts that needs no file system or
 * worker_threads — datasets over tensors, DataLoader (batches on the calling thread), splits, transforms,
 * procedural datasets, and the IDX byte parser (for Fashion-MNIST bytes fetched by the page).
 */
export { Dataset, TensorDataset, Subset, ConcatDataset, datasetFromSpec, type WorkerSpec } from './dataset.js';
export { DataLoader, type DataLoaderOptions } from './dataloader.js';
export { defaultCollate, type Collated } from './collate.js';
export { randomSplit, KFold, crossValidate, type Fold, type CrossValidationResult, type Generator_ } from './split.js';
export { parseIdx, encodeIdx, type IdxData, type IdxType } from './idx.js';
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
export type { ImageSample, Sample } from './transforms.js';
export {
  Shapes,
  detectionCollate,
  SHAPE_KINDS,
  type ShapeKind,
  type ShapesOptions,
  type ShapesSample,
  type DetectionBatch,
} from './shapes.js';
export { DetectionScenes, type DetectionScenesOptions } from './detection-scenes.js';
export { SegmentationScenes, type SegmentationScenesOptions } from './segmentation-scenes.js';
export { MovingImages, type MovingImagesOptions } from './moving.js';
