/**
 * `F`: the functional API (PyTorch's torch.nn.functional), camelCase names, required arguments positional and
 * everything with a default in an options object.
 */
export {
  relu,
  relu6,
  leakyRelu,
  elu,
  gelu,
  silu,
  hardswish,
  hardsigmoid,
  hardtanh,
  sigmoid,
  tanh,
  softplus,
  mish,
  selu,
  celu,
  logSigmoid,
  softsign,
  prelu,
  type LeakyReluOptions,
  type EluOptions,
  type GeluOptions,
  type HardtanhOptions,
  type SoftplusOptions,
  type CeluOptions,
} from './ops/activation.js';
export { softmax, logSoftmax } from './ops/softmax.js';
export { linear } from './ops/matmul.js';
export { oneHot, flatten } from './ops/shape.js';
export {
  conv2d,
  convTranspose2d,
  type Conv2dOptions,
  type ConvTranspose2dOptions,
  type ConvPaddingMode,
  type IntPair,
} from './ops/conv.js';
export {
  maxPool2d,
  maxUnpool2d,
  avgPool2d,
  adaptiveAvgPool2d,
  adaptiveMaxPool2d,
  type MaxPool2dOptions,
  type MaxUnpool2dOptions,
  type AvgPool2dOptions,
  type AdaptiveSize,
} from './ops/pool.js';
export {
  conv1d,
  conv3d,
  convTranspose1d,
  convTranspose3d,
  type Conv1dOptions,
  type Conv3dOptions,
  type ConvTranspose1dOptions,
  type ConvTranspose3dOptions,
  type IntSingle,
  type IntTriple,
  type ConvNdOptions,
  type ConvTransposeNdOptions,
} from './ops/convnd.js';
export {
  maxPool1d,
  maxPool3d,
  avgPool1d,
  avgPool3d,
  adaptiveAvgPool1d,
  adaptiveAvgPool3d,
  adaptiveMaxPool1d,
  adaptiveMaxPool3d,
  maxUnpool1d,
  maxUnpool3d,
  type MaxPool1dOptions,
  type MaxPool3dOptions,
  type AvgPool1dOptions,
  type AvgPool3dOptions,
  type MaxUnpoolNdOptions,
  type AdaptiveSize3d,
  type MaxPoolNdOptions,
  type AvgPoolNdOptions,
} from './ops/poolnd.js';
export { pad, type PadOptions, type PadMode } from './ops/pad.js';
export { interpolate, type InterpolateOptions, type InterpolateMode } from './ops/interpolate.js';
export { dropout, dropout2d, type DropoutOptions } from './ops/dropout.js';
export {
  batchNorm,
  instanceNorm,
  groupNorm,
  layerNorm,
  localResponseNorm,
  type BatchNormOptions,
  type InstanceNormOptions,
  type GroupNormOptions,
  type LayerNormOptions,
  type LocalResponseNormOptions,
} from './ops/norm.js';
export {
  crossEntropy,
  nllLoss,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  mseLoss,
  l1Loss,
  smoothL1Loss,
  huberLoss,
  klDiv,
  type Reduction,
  type NllLossOptions,
  type CrossEntropyOptions,
  type BinaryCrossEntropyOptions,
  type BinaryCrossEntropyWithLogitsOptions,
  type RegressionLossOptions,
  type SmoothL1LossOptions,
  type HuberLossOptions,
  type KlDivOptions,
} from './ops/loss.js';
export { scaledDotProductAttention, type ScaledDotProductAttentionOptions } from './ops/attention.js';
export { pixelShuffle, pixelUnshuffle } from './ops/pixel-shuffle.js';
export { psnr, ssim, type ImageQualityOptions, type SsimOptions } from './ops/image-quality.js';
export {
  diceLoss,
  focalLoss,
  sigmoidFocalLoss,
  diceCELoss,
  type DiceLossOptions,
  type FocalLossOptions,
  type SigmoidFocalLossOptions,
  type DiceCELossOptions,
} from './ops/seg-loss.js';
