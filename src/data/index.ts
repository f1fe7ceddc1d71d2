/**
 * Data loading: datasets (`Dataset`, `TensorDataset`, `Subset`, `ConcatDataset`, file-format datasets),
 * `DataLoader`, splits and cross-validation, and image transforms (`data.transforms`).
 */
export { Dataset, TensorDataset, Subset, ConcatDataset, datasetFromSpec, type WorkerSpec } from './dataset.js';
export { DataLoader, type DataLoaderOptions } from './dataloader.js';
export { defaultCollate, type Collated } from './collate.js';
export { randomSplit, KFold, crossValidate, type Fold, type CrossValidationResult } from './split.js';
export { MNIST, FashionMNIST, readIdx, writeIdx, parseIdx, encodeIdx, type IdxData, type IdxType, type MNISTOptions } from './idx.js';
export {
  locateFiles, downloadDataset, cacheDir, candidateDirs, embeddedDataDir, FASHION_MNIST_SOURCE, MNIST_SOURCE, SYSTEM_DATASETS_DIR,
  type DatasetSource, type RemoteFile,
} from './locate.js';
export { Transform, applyTransform, transformFromSpec, registerTransform, type TransformLike, type TransformSpec } from './transform-base.js';
export { dataGenerator, withDataSeed } from './rng.js';
export * as transforms from './transforms.js';
