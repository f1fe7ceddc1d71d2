/**
 * `tt.autograd`: the functional side of automatic differentiation (PyTorch's torch.autograd) — `grad` for
 * gradients returned rather than accumulated (and, with createGraph, differentiable again), and the numerical
 * checks `gradcheck` / `gradgradcheck`.
 */
export { grad, type GradOptions } from './engine.js';
export { gradcheck, gradgradcheck, type GradcheckOptions } from './gradcheck.js';
export { noGrad, enableGrad, detectAnomaly } from './grad-mode.js';
