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
import './autograd/engine.js';
import './ops/methods.js';

export {
  Tensor,
  type NestedArray,
  type NestedBoolArray,
  type GradHook,
  type BackwardOptions,
} from './tensor/tensor.js';
export type { DType, TypedArray, FloatArray } from './tensor/dtype.js';
export type { Node } from './autograd/node.js';
export type { TensorLike } from './ops/util.js';
/** The kernel interface a backend implements (for registerBackend), with its operand and geometry types. */
export type * as backendTypes from './backend/types.js';
export { Generator, manualSeed, defaultGenerator } from './tensor/random.js';
export {
  tensor,
  scalar,
  zeros,
  ones,
  full,
  zerosLike,
  onesLike,
  fullLike,
  arange,
  linspace,
  eye,
  rand,
  randn,
  randint,
  randperm,
  randLike,
  randnLike,
  uniform_,
  normal_,
  type TensorOptions,
  type RandomOptions,
} from './tensor/creation.js';
export {
  noGrad,
  enableGrad,
  isGradEnabled,
  setGradEnabled,
  detectAnomaly,
  setDetectAnomaly,
  isAnomalyEnabled,
} from './autograd/grad-mode.js';
export { gradcheck, gradgradcheck, type GradcheckOptions } from './autograd/gradcheck.js';
export * as autograd from './autograd/index.js';
export {
  add,
  sub,
  mul,
  div,
  pow,
  neg,
  abs,
  sign,
  exp,
  expm1,
  log,
  log1p,
  sqrt,
  rsqrt,
  square,
  reciprocal,
  sin,
  cos,
  floor,
  ceil,
  round,
  clamp,
  maximum,
  minimum,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  where,
  allclose,
} from './ops/elementwise.js';
export {
  sum,
  mean,
  variance as var,
  variance,
  std,
  prod,
  max,
  min,
  amax,
  amin,
  argmax,
  argmin,
  logsumexp,
  type Dims,
  type ValuesIndices,
  type VarOptions,
} from './ops/reduce.js';
export {
  reshape,
  view,
  flatten,
  unflatten,
  permute,
  transpose,
  t,
  squeeze,
  unsqueeze,
  expand,
  expandAs,
  narrow,
  slice,
  select,
  contiguous,
  clone,
  to,
  cat,
  stack,
  split,
  chunk,
  gather,
  scatter,
  indexSelect,
  oneHot,
  repeat,
  flip,
  maskedFill,
} from './ops/shape.js';
export { mm, bmm, matmul } from './ops/matmul.js';
export { softmax, logSoftmax } from './ops/softmax.js';
export { relu, sigmoid, tanh } from './ops/activation.js';
export { add_, sub_, mul_, div_, fill_, zero_, copy_, relu_ } from './ops/inplace.js';
export {
  backend,
  setBackend,
  getBackendName,
  availableBackends,
  registerBackend,
  withBackend,
  setNumThreads,
  getNumThreads,
  backendInfo,
  type BackendLoader,
  type BackendInfo,
} from './backend/index.js';
export { loadWasm, type WasmLoadOptions } from './browser-api/wasm.js';
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
