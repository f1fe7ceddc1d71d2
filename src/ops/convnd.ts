/**
 * 1-D and 3-D convolution and transposed convolution (torch.nn.functional.conv1d/conv3d/conv_transpose1d/3d): the
 * N = 1 and N = 3 cases of the N-d convolution of ./conv.ts, which also holds the 2-D functions. 1-D runs on the
 * backend's 2-D kernels with a unit height; 3-D on its conv3d kernels (a float64 im2col reference; the
 * accelerated backends lower it onto their 2-D kernels).
 */
import type { Tensor } from '../tensor/tensor.js';
import { convNd, convTransposeNd, type ConvNdOptions, type ConvTransposeNdOptions } from './conv.js';
import type { IntSingle, IntTriple } from './util.js';

export { tupleN, type IntSingle, type IntTriple } from './util.js';
export type { ConvNdOptions, ConvTransposeNdOptions } from './conv.js';
export type Conv1dOptions = ConvNdOptions<IntSingle>;
export type Conv3dOptions = ConvNdOptions<IntTriple>;
export type ConvTranspose1dOptions = ConvTransposeNdOptions<IntSingle>;
export type ConvTranspose3dOptions = ConvTransposeNdOptions<IntTriple>;

/**
 * 1-D cross-correlation of `input` [N, C, L] (or [C, L]) with `weight` [OC, C/groups, K], plus `bias` [OC]:
 * torch.nn.functional.conv1d, with nn.Conv1d's paddingMode as an option. Output length
 * ⌊(L + 2·padding − dilation·(K−1) − 1) / stride⌋ + 1.
 */
export function conv1d(input: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv1dOptions = {}): Tensor {
  return convNd('conv1d', 1, input, weight, bias, opts);
}

/**
 * 3-D cross-correlation of `input` [N, C, D, H, W] (or [C, D, H, W]) with `weight` [OC, C/groups, KD, KH, KW],
 * plus `bias` [OC], as `torch.nn.functional.conv3d`, with `nn.Conv3d`'s paddingMode as an option.
 */
export function conv3d(input: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv3dOptions = {}): Tensor {
  return convNd('conv3d', 3, input, weight, bias, opts);
}

/**
 * Transposed 1-D convolution of `input` [N, IC, L] (or [IC, L]) with `weight` [IC, OC/groups, K]:
 * torch.nn.functional.conv_transpose1d.
 */
export function convTranspose1d(
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  opts: ConvTranspose1dOptions = {},
): Tensor {
  return convTransposeNd('convTranspose1d', 1, input, weight, bias, opts);
}

/**
 * Transposed 3-D convolution of `input` [N, IC, D, H, W] (or unbatched) with `weight` [IC, OC/groups, KD, KH, KW]:
 * torch.nn.functional.conv_transpose3d — the input gradient of the conv3d that maps the output back onto the input.
 */
export function convTranspose3d(
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  opts: ConvTranspose3dOptions = {},
): Tensor {
  return convTransposeNd('convTranspose3d', 3, input, weight, bias, opts);
}
