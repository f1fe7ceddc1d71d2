/**
 * `F`: the functional API (PyTorch's torch.nn.functional), camelCase names, required arguments positional and
 * everything with a default in an options object.
 */
export { relu, sigmoid, tanh } from './ops/activation.js';
export { softmax, logSoftmax } from './ops/softmax.js';
export { linear } from './ops/matmul.js';
export { oneHot, flatten } from './ops/shape.js';
export { conv2d, convTranspose2d, type Conv2dOptions, type ConvTranspose2dOptions, type ConvPaddingMode, type IntPair } from './ops/conv.js';
export {
  maxPool2d, maxUnpool2d, avgPool2d, adaptiveAvgPool2d, adaptiveMaxPool2d,
  type MaxPool2dOptions, type MaxUnpool2dOptions, type AvgPool2dOptions, type AdaptiveSize,
} from './ops/pool.js';
export { pad, type PadOptions, type PadMode } from './ops/pad.js';
export { interpolate, type InterpolateOptions, type InterpolateMode } from './ops/interpolate.js';
