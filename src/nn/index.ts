/**
 * `nn`: PyTorch-shaped modules. `Module` (registration, hooks, state dicts), `Parameter`, containers, layers,
 * activations, losses, and `nn.init`.
 */
export { Parameter } from './parameter.js';
export {
  Module, type AnyModule, type ForwardHook, type ForwardPreHook, type RemovableHandle, type LoadResult,
} from './module.js';
export { Sequential, ModuleList, ModuleDict } from './container.js';
export { Linear, Identity, Flatten, Unflatten, type LinearOptions, type FactoryOptions } from './linear.js';
export { ReLU, Sigmoid, Tanh, Softmax, LogSoftmax } from './activation.js';
export * as init from './init.js';
