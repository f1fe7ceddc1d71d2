/** Activation functions (each with its gradient kernel in the backend). */
import { Tensor } from '../tensor/tensor.js';
import { activation } from './elementwise.js';

/** max(x, 0). */
export function relu(x: Tensor): Tensor {
  return activation('relu', 'relu', x, {}, true);
}

/** 1 / (1 + exp(−x)). */
export function sigmoid(x: Tensor): Tensor {
  return activation('sigmoid', 'sigmoid', x, {}, true);
}

export function tanh(x: Tensor): Tensor {
  return activation('tanh', 'tanh', x, {}, true);
}
