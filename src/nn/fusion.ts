/**
 * Inference fusion of the conv → batch norm (→ ReLU) chains CNNs are built from. With gradients off and the batch
 * norm in evaluation mode, its affine y = γ·(x − μ)/√(σ² + ε) + β is a per-channel scale and shift, which the
 * convolution applies in its epilogue (with the ReLU): one pass and one tensor instead of three. Training, a
 * needed gradient, hooks or a replaced forward on any of the modules, or a subclass, runs the modules one by one.
 */
import { isGradEnabled } from '../autograd/grad-mode.js';
import { conv2dScaleShift } from '../ops/conv.js';
import { add } from '../ops/elementwise.js';
import { add_, relu_ } from '../ops/inplace.js';
import { shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { ReLU } from './activation.js';
import { Conv2d } from './conv.js';
import type { AnyModule } from './module.js';
import { BatchNorm2d } from './normalization.js';

/** `m` is an instance of `cls` itself, not of a subclass that might compute something else. */
export function isExactly(m: object, cls: abstract new (...args: never[]) => object): boolean {
  return Object.getPrototypeOf(m) === cls.prototype;
}

/** Whether conv → bn (→ act) may run as one folded convolution now. */
export function canFoldConvBn(conv: AnyModule, bn: AnyModule, act: AnyModule | null): boolean {
  return !isGradEnabled() && conv instanceof Conv2d && isExactly(conv, Conv2d) && conv.isPlainForward() &&
    conv.paddingMode === 'zeros' && bn instanceof BatchNorm2d && isExactly(bn, BatchNorm2d) && bn.isPlainForward() &&
    !bn.training && bn.runningMean !== null && bn.runningVar !== null &&
    (act === null || (act instanceof ReLU && isExactly(act, ReLU) && act.isPlainForward()));
}

/** γ/√(σ² + ε) and β − μ·scale (+ scale·conv bias), per channel, in the batch norm's dtype. */
function foldedAffine(conv: Conv2d, bn: BatchNorm2d): { scale: Tensor; shift: Tensor } {
  const c = bn.numFeatures;
  const scale = Tensor.empty([c], conv.weight.dtype), shift = Tensor.empty([c], conv.weight.dtype);
  const mean = bn.runningMean!.dataView(), variance = bn.runningVar!.dataView();
  const gamma = bn.weight?.dataView(), beta = bn.bias?.dataView(), b = conv.bias?.dataView();
  const so = scale.storage, ho = shift.storage;
  for (let i = 0; i < c; i++) {
    const s = (gamma ? gamma[i] : 1) / Math.sqrt(variance[i] + bn.eps);
    so[i] = s;
    ho[i] = (beta ? beta[i] : 0) + s * ((b ? b[i] : 0) - mean[i]);
  }
  return { scale, shift };
}

/**
 * act(bn(conv(x))) as one folded convolution when `canFoldConvBn` holds and x is a 4-D batch; null otherwise, for
 * the caller to run the modules (callers that must know whether it folded use this, so the check runs once).
 */
export function foldedConvBnAct(conv: Conv2d, bn: AnyModule, act: AnyModule | null, x: Tensor): Tensor | null {
  if (!canFoldConvBn(conv, bn, act) || x.shape.length !== 4) return null;
  const { scale, shift } = foldedAffine(conv, bn as BatchNorm2d);
  return conv2dScaleShift(x, conv.weight, scale, shift, {
    stride: conv.stride, padding: conv.padding, dilation: conv.dilation, groups: conv.groups, activation: act ? 'relu' : 'none',
  });
}

/**
 * act(bn(conv(x))) — folded into one convolution when `canFoldConvBn` holds, else the modules' own forwards.
 * `act` null means no activation (it may be any module when not folded).
 */
export function convBnAct(conv: Conv2d, bn: AnyModule, act: AnyModule | null, x: Tensor): Tensor {
  const folded = foldedConvBnAct(conv, bn, act, x);
  if (folded) return folded;
  const y = bn.forward(conv.forward(x)) as Tensor;
  return act ? (act.forward(y) as Tensor) : y;
}

/**
 * relu(out + identity), the end of a residual block. When `out` came from a folded convolution (`outIsFresh`:
 * inference, nothing else holds it) and `relu` is a plain ReLU, both steps run in place on `out`.
 */
export function residualRelu(out: Tensor, identity: Tensor, relu: AnyModule, outIsFresh: boolean): Tensor {
  if (outIsFresh && !isGradEnabled() && relu instanceof ReLU && isExactly(relu, ReLU) && relu.isPlainForward() &&
    out.isContiguous() && shapesEqual(out.shape, identity.shape) && out.dtype === identity.dtype) {
    return relu_(add_(out, identity));
  }
  return relu.forward(add(out, identity)) as Tensor;
}
