/**
 * `nn`: PyTorch-shaped modules. `Module` (registration, hooks, state dicts), `Parameter`, containers, layers,
 * activations, losses, and `nn.init`.
 */
export { Parameter } from './parameter.js';
export {
  Module,
  type AnyModule,
  type ForwardHook,
  type ForwardPreHook,
  type RemovableHandle,
  type LoadResult,
} from './module.js';
export { Sequential, ModuleList, ModuleDict } from './container.js';
export {
  fuse,
  unfuse,
  isFused,
  isFrozen,
  type FuseOptions,
  fuseTemporarily,
  registerFusionRule,
  fusionCounts,
  resetFusionCounts,
  type FusionRule,
  type FusionKind,
  convBnAct,
  canFoldConvBn,
  foldedConvBnAct,
  foldedConvBnAddRelu,
  runChain,
  ownsInput,
  handBack,
  forwardOwned,
} from './fusion.js';
export { Linear, Identity, Flatten, Unflatten, type LinearOptions, type FactoryOptions } from './linear.js';
export { Conv2d, ConvTranspose2d, type Conv2dLayerOptions, type ConvTranspose2dLayerOptions } from './conv.js';
export {
  Conv1d,
  Conv3d,
  ConvTranspose1d,
  ConvTranspose3d,
  type Conv1dLayerOptions,
  type Conv3dLayerOptions,
  type ConvTranspose1dLayerOptions,
  type ConvTranspose3dLayerOptions,
  type ConvNdLayerOptions,
  type ConvTransposeNdLayerOptions,
} from './convnd.js';
export {
  MaxPool1d,
  MaxPool3d,
  AvgPool1d,
  AvgPool3d,
  AdaptiveAvgPool1d,
  AdaptiveAvgPool3d,
  AdaptiveMaxPool1d,
  AdaptiveMaxPool3d,
  MaxUnpool1d,
  MaxUnpool3d,
  type MaxPoolNdLayerOptions,
  type AvgPoolNdLayerOptions,
  type AvgPool1dLayerOptions,
  type AvgPool3dLayerOptions,
  type MaxPoolOutput,
} from './poolingnd.js';
export {
  MaxPool2d,
  AvgPool2d,
  AdaptiveAvgPool2d,
  AdaptiveMaxPool2d,
  MaxUnpool2d,
  type MaxPool2dLayerOptions,
  type AvgPool2dLayerOptions,
} from './pooling.js';
export {
  BatchNorm1d,
  BatchNorm2d,
  BatchNorm3d,
  InstanceNorm1d,
  InstanceNorm2d,
  InstanceNorm3d,
  GroupNorm,
  LayerNorm,
  LocalResponseNorm,
  type NormLayerOptions,
  type GroupNormLayerOptions,
  type LayerNormLayerOptions,
} from './normalization.js';
export {
  ReLU,
  ReLU6,
  LeakyReLU,
  ELU,
  CELU,
  SELU,
  GELU,
  SiLU,
  Hardswish,
  Hardsigmoid,
  Hardtanh,
  Sigmoid,
  Tanh,
  LogSigmoid,
  Softsign,
  Softplus,
  Mish,
  PReLU,
  Softmax,
  LogSoftmax,
  FReLU,
} from './activation.js';
export { Dropout, Dropout2d } from './dropout.js';
export { Upsample, type UpsampleOptions } from './upsampling.js';
export {
  CrossEntropyLoss,
  NLLLoss,
  BCELoss,
  BCEWithLogitsLoss,
  MSELoss,
  L1Loss,
  SmoothL1Loss,
  Flooding,
  flooding,
  type LossModule,
  type WeightedLossOptions,
} from './loss.js';
export * as init from './init.js';
export {
  MultiheadAttention,
  NonDynamicallyQuantizableLinear,
  SqueezeExcitation,
  NonLocal2d,
  type MultiheadAttentionOptions,
  type MultiheadAttentionForwardOptions,
  type SqueezeExcitationOptions,
  type NonLocal2dOptions,
} from './attention.js';
export { PixelShuffle, PixelUnshuffle } from './pixel-shuffle.js';
export {
  DiceLoss,
  FocalLoss,
  DiceCELoss,
  DeepSupervisionLoss,
  deepSupervisionLoss,
  resizeTargets,
  type AuxOutput,
  type LossFn,
  type DeepSupervisionOptions,
} from './seg-loss.js';
export { ReflectionPad2d, ReplicationPad2d, ConstantPad2d, ZeroPad2d, type Padding2d } from './padding.js';
export { ConditionalBatchNorm2d, type ConditionalBatchNormOptions } from './conditional-norm.js';
export * as utils from './utils.js';
