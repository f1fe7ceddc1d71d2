/**
 * `F`: the functional API (PyTorch's torch.nn.functional), camelCase names, required arguments positional and
 * everything with a default in an options object.
 */
export { relu, sigmoid, tanh } from './ops/activation.js';
export { softmax, logSoftmax } from './ops/softmax.js';
export { linear } from './ops/matmul.js';
export { oneHot } from './ops/shape.js';
