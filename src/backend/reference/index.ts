import type { Backend } from '../types.js';
import { axpy, binary, copyStrided, unary, unaryGrad, where } from './elementwise.js';
import { argReduce, logsumexp, reduce, softmax, softmaxGrad } from './reduce.js';
import { gemm } from './gemm.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight } from './conv.js';
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward } from './pool.js';
import { batchNormBackward, channelAffine, channelStats } from './norm.js';

/** Plain TypeScript kernels: correct everywhere, the baseline the accelerated backends are tested against. */
export const referenceBackend: Backend = {
  name: 'reference',
  unary, unaryGrad, binary, where, copyStrided, axpy,
  reduce, argReduce, logsumexp, softmax, softmaxGrad,
  gemm,
  conv2d, conv2dBackwardInput, conv2dBackwardWeight,
  maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward,
  channelStats, channelAffine, batchNormBackward,
};
