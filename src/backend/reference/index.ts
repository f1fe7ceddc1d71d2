import type { Backend } from '../types.js';
import { binary, copyStrided, unary, unaryGrad, where } from './elementwise.js';
import { argReduce, logsumexp, reduce } from './reduce.js';
import { gemm } from './gemm.js';
import {
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv3d,
  conv3dBackwardInput,
  conv3dBackwardWeight,
} from './conv.js';
import {
  adaptiveAvgPool2d,
  adaptiveAvgPool2dBackward,
  adaptiveMaxPool2d,
  adaptiveAvgPool3d,
  adaptiveAvgPool3dBackward,
  adaptiveMaxPool3d,
  avgPool2d,
  avgPool2dBackward,
  avgPool3d,
  avgPool3dBackward,
  maxPool3d,
  maxUnpool2d,
  maxUnpool2dBackward,
} from './pool.js';
import { pad, padBackward } from './pad.js';
import { interpolate2d, interpolate2dBackward } from './interp.js';
import { channelAffine } from './norm.js';
import { tableReferenceKernels } from './kernels.gen.js';

/** Plain TypeScript kernels: correct everywhere, the baseline the accelerated backends are tested against. */
export const referenceBackend: Backend = {
  name: 'reference',
  // the reference bodies of the kernels described in native/kernels.table.mjs, gathered by the generator
  ...tableReferenceKernels,
  unary,
  unaryGrad,
  binary,
  where,
  copyStrided,
  reduce,
  argReduce,
  logsumexp,
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
  channelAffine,
};
