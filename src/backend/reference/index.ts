import type { Backend } from '../types.js';
import { axpy, binary, copyStrided, unary, unaryGrad, where } from './elementwise.js';
import { argReduce, logsumexp, reduce, softmax, softmaxGrad } from './reduce.js';
import { gemm } from './gemm.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight } from './conv.js';
import { conv3d, conv3dBackwardInput, conv3dBackwardWeight } from './conv3d.js';
import {
  adaptiveAvgPool3d,
  adaptiveAvgPool3dBackward,
  adaptiveMaxPool3d,
  avgPool3d,
  avgPool3dBackward,
  maxPool3d,
} from './pool3d.js';
import {
  adaptiveAvgPool2d,
  adaptiveAvgPool2dBackward,
  adaptiveMaxPool2d,
  avgPool2d,
  avgPool2dBackward,
  maxPool2d,
  maxPool2dBackward,
  maxUnpool2d,
  maxUnpool2dBackward,
} from './pool.js';
import { pad, padBackward } from './pad.js';
import { interpolate2d, interpolate2dBackward } from './interp.js';
import { batchNormBackward, channelAffine, channelStats } from './norm.js';
import { adamStep, sgdStep } from './optim.js';

/** Plain TypeScript kernels: correct everywhere, the baseline the accelerated backends are tested against. */
export const referenceBackend: Backend = {
  name: 'reference',
  unary,
  unaryGrad,
  binary,
  where,
  copyStrided,
  axpy,
  sgdStep,
  adamStep,
  reduce,
  argReduce,
  logsumexp,
  softmax,
  softmaxGrad,
  gemm,
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv3d,
  conv3dBackwardInput,
  conv3dBackwardWeight,
  maxPool3d,
  avgPool3d,
  avgPool3dBackward,
  adaptiveAvgPool3d,
  adaptiveAvgPool3dBackward,
  adaptiveMaxPool3d,
  maxPool2d,
  maxPool2dBackward,
  avgPool2d,
  avgPool2dBackward,
  maxUnpool2d,
  maxUnpool2dBackward,
  adaptiveAvgPool2d,
  adaptiveAvgPool2dBackward,
  adaptiveMaxPool2d,
  pad,
  padBackward,
  interpolate2d,
  interpolate2dBackward,
  channelStats,
  channelAffine,
  batchNormBackward,
};
