/**
 * Tatami for the browser: what `import * as tt from 'tatami'` gives a bundler targeting the browser (package.json
 * `browser` condition) and what dist/browser/tatami.js holds for a plain `<script type="module">`.
 *
 * The same API as the Node entry (src/index.ts) minus what needs a file system, the native addon or worker_threads
 * (readImage/writeImage and the checkpoint files throw saying so; datasets that read files, WAV and ONNX files are
 * left out), plus the browser's ways in: `await tt.loadWasm()` fetches the wasm kernels (threads over Web Workers
 * when the page is cross-origin isolated), `tt.backendInfo()` says what runs, and tensors come from and go to
 * ImageData, canvases, images, Files and fetched safetensors (src/browser-api/). See docs/browser.md.
 */
export * from './core.js';
export { loadWasm, type WasmLoadOptions, type WasmUrls, type WasmFileName } from './browser-api/wasm.js';
export type { Backend } from './backend/index.js';
export * as F from './functional.js';
export * as data from './data/browser.js';
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
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as models from './models/index.js';
export { summary, type ModelSummary, type SummaryRow, type SummaryOptions } from './models/summary.js';
export { parseSafetensors, serializeSafetensors, type SafetensorsContent } from './io/safetensors.js';
export {
  loadSafetensors,
  readSafetensors,
  safetensorsBlob,
  type SafetensorsSource,
} from './browser-api/safetensors.js';
export {
  fromImageData,
  toImageData,
  fromCanvas,
  toCanvas,
  fromImageSource,
  readImageFile,
  fetchImage,
  type PixelOptions,
  type PixelSource,
} from './browser-api/image.js';
export * as viz from './viz/index.js';
export * as train from './train/index.js';
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
