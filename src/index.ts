/**
 * Tatami — convolutional neural networks in TypeScript.
 *
 * `import * as tt from 'tatami'` (or `require('tatami')`) gives tensors and their ops (`tt.tensor`, `tt.add`,
 * `tt.cat` …), autograd controls (`tt.noGrad`), the functional API `tt.F`, the namespaces `nn`, `optim`, `data`,
 * `models`, `viz` and `train`, and the training loop's most used names at the top level (`fit`, `evaluate`,
 * `ConfusionMatrix`, `accuracy`, `topKAccuracy`, `saveCheckpoint`, `loadCheckpoint`, `ProgressBar`).
 */
export * from './core.js';
export type { Backend } from './backend/index.js';
export * as F from './functional.js';
export * as data from './data/index.js';
export {
  readImage,
  writeImage,
  decodeImage,
  encodeImage,
  detectImageFormat,
  toImageTensor,
  fromImageTensor,
  makeGrid,
  saveImageGrid,
  drawText,
  setMaxImagePixels,
  getMaxImagePixels,
  DEFAULT_MAX_IMAGE_PIXELS,
  type RawImage,
  type ImageReadMode,
  type ImageFormat,
  type MakeGridOptions,
} from './io/image.js';
export { readWav, writeWav, decodeWav, encodeWav, type WavAudio, type WavEncodeOptions } from './io/wav.js';
export { decodeIndexedPng, encodeIndexedPng, isIndexedPng, vocPalette, type IndexedImage } from './io/indexed-png.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as models from './models/index.js';
export { summary, type ModelSummary, type SummaryRow, type SummaryOptions } from './models/summary.js';
export {
  loadSafetensors,
  saveSafetensors,
  readSafetensors,
  parseSafetensors,
  serializeSafetensors,
  type SafetensorsContent,
} from './io/safetensors.js';
export * as viz from './viz/index.js';
export * as train from './train/index.js';
export * as recipes from './recipes/index.js';
export {
  fit,
  evaluate,
  type FitOptions,
  type EvaluateResult,
  type EpochRecord,
  type Callback,
  type BatchSource,
  type TrainableModel,
  type OptimizerLike,
  type SchedulerLike,
} from './train/fit.js';
export { ConfusionMatrix, accuracy, topKAccuracy, topKCorrect } from './train/metrics.js';
export { saveCheckpoint, loadCheckpoint, readCheckpoint, type CheckpointContent } from './train/checkpoint.js';
export { ProgressBar, type ProgressOptions, type ProgressStream } from './train/progress.js';
export * as ops from './vision-ops.js';
export * as metrics from './train/detection-metrics.js';
export * as onnx from './onnx/index.js';
