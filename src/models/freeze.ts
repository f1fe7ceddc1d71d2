/** Freezing for transfer learning. */
import type { Tensor } from '../tensor/tensor.js';

/** Freezes a module: its parameters stop requiring gradients (PyTorch: `requires_grad_(False)`). Returns it. */
export function freeze<M extends { parameters(): Tensor[] }>(module: M): M {
  for (const p of module.parameters()) p.requiresGrad_(false);
  return module;
}

/** Undoes `freeze`: every parameter requires gradients again. Returns the module. */
export function unfreeze<M extends { parameters(): Tensor[] }>(module: M): M {
  for (const p of module.parameters()) p.requiresGrad_(true);
  return module;
}
