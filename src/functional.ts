/**
 * `F`: the functional API (PyTorch's torch.nn.functional), camelCase names, required arguments positional and
 * everything with a default in an options object.
 */
export {
  relu, relu6, leakyRelu, elu, gelu, silu, hardswish, hardsigmoid, hardtanh, sigmoid, tanh, softplus, mish,
  selu, celu, logSigmoid, softsign, prelu,
  type LeakyReluOptions, type EluOptions, type GeluOptions, type HardtanhOptions, type SoftplusOptions, type CeluOptions,
} from './ops/activation.js';
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
export { dropout, dropout2d, type DropoutOptions } from './ops/dropout.js';
export {
  batchNorm, instanceNorm, groupNorm, layerNorm, localResponseNorm,
  type BatchNormOptions, type InstanceNormOptions, type GroupNormOptions, type LayerNormOptions, type LocalResponseNormOptions,
} from './ops/norm.js';
export {
  crossEntropy, nllLoss, binaryCrossEntropy, binaryCrossEntropyWithLogits, mseLoss, l1Loss, smoothL1Loss, huberLoss, klDiv,
  type Reduction, type NllLossOptions, type CrossEntropyOptions, type BinaryCrossEntropyOptions,
  type BinaryCrossEntropyWithLogitsOptions, type RegressionLossOptions, type SmoothL1LossOptions, type HuberLossOptions, type KlDivOptions,
} from './ops/loss.js';
export { scaledDotProductAttention, type ScaledDotProductAttentionOptions } from './ops/attention.js';
export {
  diceLoss, focalLoss, sigmoidFocalLoss, diceCELoss, type DiceLossOptions, type FocalLossOptions, type SigmoidFocalLossOptions, type DiceCELossOptions,
} from './ops/seg-loss.js';
