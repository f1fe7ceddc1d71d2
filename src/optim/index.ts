/** `optim`: optimizers, gradient clipping and learning-rate schedulers (PyTorch's torch.optim). */
export {
  Optimizer,
  type BaseOptions,
  type ParamGroup,
  type ParamGroupInput,
  type ParamsArg,
  type ParamState,
  type OptimizerStateDict,
  type Closure,
} from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { RMSprop, type RMSpropOptions } from './rmsprop.js';
export { SAM, type SAMOptions, type OptimizerClass } from './sam.js';
export { clipGradNorm_, clipGradValue_ } from './clip-grad.js';
export { ExponentialMovingAverage, type ExponentialMovingAverageOptions, type EmaStateDict } from './ema.js';
export * as lrScheduler from './lr-scheduler.js';
export {
  LRScheduler,
  StepLR,
  MultiStepLR,
  ExponentialLR,
  CosineAnnealingLR,
  LinearLR,
  OneCycleLR,
  SequentialLR,
  ReduceLROnPlateau,
  type AnyOptimizer,
  type StepLROptions,
  type CosineAnnealingLROptions,
  type LinearLROptions,
  type OneCycleLROptions,
  type ReduceLROnPlateauOptions,
  type SchedulerStateDict,
} from './lr-scheduler.js';
