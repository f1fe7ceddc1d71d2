/**
 * Tatami — convolutional neural networks in TypeScript.
 *
 * `import * as tt from 'tatami'` gives tensors and their ops (`tt.tensor`, `tt.add`, `tt.cat` …), autograd
 * controls (`tt.noGrad`), the functional API `tt.F`, and — as they land — `nn`, `optim`, `data`, `models`.
 */
import './autograd/engine.js';
import './tensor/methods.js';

export { Tensor, type NestedArray, type GradHook, type BackwardOptions } from './tensor/tensor.js';
export type { DType, TypedArray } from './tensor/dtype.js';
export { Generator, manualSeed, defaultGenerator } from './tensor/random.js';
export {
  tensor, scalar, zeros, ones, full, zerosLike, onesLike, fullLike, arange, linspace, eye,
  rand, randn, randint, randperm, randLike, randnLike, uniform_, normal_,
  type TensorOptions, type RandomOptions,
} from './tensor/creation.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled, detectAnomaly, setDetectAnomaly, isAnomalyEnabled } from './autograd/grad-mode.js';
export { gradcheck, type GradcheckOptions } from './autograd/gradcheck.js';
export {
  add, sub, mul, div, pow, neg, abs, sign, exp, expm1, log, log1p, sqrt, rsqrt, square, reciprocal, sin, cos,
  floor, ceil, round, clamp, maximum, minimum, eq, ne, lt, le, gt, ge, where, allclose,
} from './ops/elementwise.js';
export { sum, mean, variance as var, variance, std, prod, max, min, amax, amin, argmax, argmin, logsumexp, type Dims, type ValuesIndices } from './ops/reduce.js';
export {
  reshape, view, flatten, unflatten, permute, transpose, t, squeeze, unsqueeze, expand, expandAs, narrow, slice, select,
  contiguous, clone, to, cat, stack, split, chunk, gather, scatter, indexSelect, oneHot, repeat, flip, maskedFill,
} from './ops/shape.js';
export { mm, bmm, matmul } from './ops/matmul.js';
export { softmax, logSoftmax } from './ops/softmax.js';
export { relu, sigmoid, tanh } from './ops/activation.js';
export { add_, sub_, mul_, div_, fill_, zero_, copy_, relu_ } from './ops/inplace.js';
export { backend, setBackend, getBackendName, availableBackends, registerBackend, withBackend, setNumThreads, getNumThreads } from './backend/index.js';
export * as F from './functional.js';
export * as data from './data/index.js';
export {
  readImage, writeImage, decodeImage, encodeImage, detectImageFormat, toImageTensor, fromImageTensor, makeGrid, saveImageGrid, drawText,
  type RawImage, type ImageReadMode, type ImageFormat, type MakeGridOptions,
} from './io/image.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as models from './models/index.js';
export { summary, type ModelSummary, type SummaryRow, type SummaryOptions } from './models/summary.js';
export { loadSafetensors, saveSafetensors, readSafetensors, parseSafetensors, serializeSafetensors, type SafetensorsContent } from './io/safetensors.js';
export * as viz from './viz/index.js';
export * as onnx from './onnx/index.js';
