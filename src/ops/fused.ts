/**
 * Op chains run as one autograd node where that saves whole passes over large tensors. Each equals its chain of
 * separate ops exactly, values and gradients; nn.Sequential picks them when no hook can observe the inside.
 */
import { record } from '../autograd/graph.js';
import { isCreatingGraph, isGradEnabled } from '../autograd/grad-mode.js';
import { backend } from '../backend/index.js';
import { recycleStorage } from '../tensor/storage.js';
import { Tensor } from '../tensor/tensor.js';
import {
  conv2dGeometry,
  convGradients,
  convGradientsDifferentiable,
  type Conv2dOptions,
  type IntPair,
} from './conv.js';
import { packedConv2dWeights } from './conv-pack.js';
import { gt, mul } from './elementwise.js';
import { indexScatterGrad, poolGeometry, type MaxPool2dOptions } from './pool.js';
import { floatData, requireRank } from './util.js';

/**
 * maxPool2d(relu(conv2d(input, weight, bias))) for a batched NCHW input — the conv block of LeNet-style nets.
 *
 * The convolution's output, the largest tensor of the block, lives only until it is pooled, and the backward
 * needs no pass over it: max pooling commutes with ReLU (max relu(z) = relu(max z)), so the ReLU's derivative is
 * read off the pooled output and applied to the pooled gradient, a quarter of the size, before it is scattered
 * to the window maxima; the separate chain would write the unpooled gradient and then mask it again in full.
 */
export function conv2dReluMaxPool2d(
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  convOpts: Omit<Conv2dOptions, 'activation'>,
  kernelSize: IntPair,
  poolOpts: Omit<MaxPool2dOptions, 'returnIndices'> = {},
): Tensor {
  const op = 'conv2dReluMaxPool2d';
  requireRank(op, input, 4, 'input', '[N, C, H, W]');
  const { x, g } = conv2dGeometry(op, input, weight, bias, convOpts);
  const xd = floatData(x);
  const wd = floatData(weight);
  const conv = Tensor.unfilled([g.n, g.oc, g.oh, g.ow], x.dtype);
  backend().conv2d(
    xd,
    wd,
    bias === null ? null : floatData(bias),
    floatData(conv),
    g,
    'relu',
    null,
    packedConv2dWeights(weight, g),
  );
  const pg = poolGeometry(
    op,
    conv,
    kernelSize,
    poolOpts.stride,
    poolOpts.padding,
    poolOpts.dilation,
    poolOpts.ceilMode ?? false,
  );
  const out = Tensor.unfilled([pg.n, pg.c, pg.oh, pg.ow], x.dtype);
  const tracked = isGradEnabled() && (x.requiresGrad || weight.requiresGrad || (bias !== null && bias.requiresGrad));
  const idx = tracked ? (Tensor.unfilled(out.shape, 'int32').storage as Int32Array) : null;
  backend().maxPool2d(floatData(conv), floatData(out), idx, pg);
  recycleStorage(conv.storage); // read by nothing else: the next allocation of its size takes it while in cache
  if (!idx) return out;
  return record(op, out, [x, weight, bias], () => (gyPool) => {
    if (isCreatingGraph()) {
      const gy = indexScatterGrad(
        op,
        mul(gyPool, gt(out, 0)),
        idx,
        conv.shape,
        pg.n * pg.c,
        pg.h * pg.w,
        pg.oh * pg.ow,
      );
      return convGradientsDifferentiable(x, weight, bias, g, gy);
    }
    const masked = Tensor.unfilled(out.shape, out.dtype);
    backend().unaryGrad('relu', floatData(out), floatData(gyPool), floatData(masked), {});
    const gy = Tensor.unfilled(conv.shape, out.dtype);
    backend().maxPool2dBackward(floatData(masked), idx, floatData(gy), pg.n * pg.c, pg.h * pg.w, pg.oh * pg.ow);
    recycleStorage(masked.storage);
    const grads = convGradients(x, xd, weight, wd, bias, g, gy);
    recycleStorage(gy.storage);
    return grads;
  });
}
