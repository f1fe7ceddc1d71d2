/**
 * The platform-neutral API both entries share: tensors and their ops, autograd, the backends' common controls,
 * `F`, and the namespaces that need neither a file system nor a browser. src/index.ts (Node) and src/browser.ts add
 * what is specific to their platform; this file is not an entry of its own.
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
export type { GradNode } from './tensor/tensor.js';
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
