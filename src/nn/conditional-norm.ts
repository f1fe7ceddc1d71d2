/**
 * Conditional batch norm (de Vries et al. 2017; Dumoulin et al. 2017's conditional instance norm; the categorical
 * form of Miyato & Koyama 2018 and BigGAN's class-conditional generators): batch norm without its own affine
 * transform, followed by a per-class gain and bias looked up by the label — so a class label modulates every layer
 * of a generator, not only its input. PyTorch has no such layer; this is the usual PyTorch implementation
 * (`BatchNorm2d(C, affine=False)` then `γ[y]·x̂ + β[y]` with two `nn.Embedding(numClasses, C)` tables initialised
 * to 1 and 0), with the statistics module under `bn` so its buffers keep BatchNorm2d's names.
 */
import { add, mul } from '../ops/elementwise.js';
import { indexSelect, reshape } from '../ops/shape.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { ones_, zeros_ } from './init.js';
import { checkSize } from './linear.js';
import { Module } from './module.js';
import { BatchNorm2d, type NormLayerOptions } from './normalization.js';
import { Parameter } from './parameter.js';

/** Options of ConditionalBatchNorm2d: BatchNorm2d's, less `affine` (the affine transform is per class). */
export type ConditionalBatchNormOptions = Omit<NormLayerOptions, 'affine'>;

/**
 * Class-conditional batch norm over [N, C, H, W]: `bn` normalises with batch statistics in training and running
 * statistics in eval mode (exactly BatchNorm2d with affine = false), then sample i is scaled by `weight[y_i]` and
 * shifted by `bias[y_i]` ([numClasses, C] tables, initialised to 1 and 0 so the layer starts as plain batch norm).
 *
 *   const cbn = new nn.ConditionalBatchNorm2d(64, 10);
 *   const y = cbn.forward(x, labels);   // x [N, 64, H, W], labels int32 [N]
 *
 * State dict: `weight`, `bias`, `bn.running_mean`, `bn.running_var`, `bn.num_batches_tracked`.
 */
export class ConditionalBatchNorm2d extends Module<[Tensor, Tensor], Tensor> {
  declare bn: BatchNorm2d;
  declare weight: Parameter;
  declare bias: Parameter;

  constructor(
    readonly numFeatures: number,
    readonly numClasses: number,
    opts: ConditionalBatchNormOptions = {},
  ) {
    super();
    checkSize('ConditionalBatchNorm2d', 'num_features', numFeatures);
    checkSize('ConditionalBatchNorm2d', 'num_classes', numClasses);
    const dtype = opts.dtype ?? 'float32';
    this.bn = new BatchNorm2d(numFeatures, { ...opts, affine: false });
    this.weight = new Parameter(Tensor.empty([numClasses, numFeatures], dtype));
    this.bias = new Parameter(Tensor.empty([numClasses, numFeatures], dtype));
    this.resetParameters();
  }

  /** Running statistics reset, every class's gain 1 and bias 0. */
  resetParameters(): void {
    this.bn.resetParameters();
    ones_(this.weight);
    zeros_(this.bias);
  }

  /** x [N, C, H, W] and labels int32 [N] in [0, numClasses) → [N, C, H, W]. */
  forward(x: Tensor, labels: Tensor): Tensor {
    const op = 'ConditionalBatchNorm2d';
    if (x.shape.length !== 4 || x.shape[1] !== this.numFeatures)
      throw new Error(`${op}: expected input [N, ${this.numFeatures}, H, W], got ${formatShape(x.shape)}`);
    if (!(labels instanceof Tensor) || labels.dtype !== 'int32' || labels.shape.length !== 1)
      throw new Error(
        `${op}: labels must be an int32 tensor [N], got ${labels instanceof Tensor ? `${labels.dtype} ${formatShape(labels.shape)}` : typeof labels}`,
      );
    const n = x.shape[0];
    if (labels.shape[0] !== n) throw new Error(`${op}: ${labels.shape[0]} labels for a batch of ${n}`);
    const ys = labels.dataView();
    for (let i = 0; i < ys.length; i++)
      if (!(ys[i] >= 0 && ys[i] < this.numClasses))
        throw new Error(`${op}: label ${ys[i]} out of range [0, ${this.numClasses})`);
    const shape = [n, this.numFeatures, 1, 1];
    const gamma = reshape(indexSelect(this.weight, 0, labels), shape);
    const beta = reshape(indexSelect(this.bias, 0, labels), shape);
    return add(mul(this.bn.forward(x), gamma), beta);
  }

  override extraRepr(): string {
    return `${this.numFeatures}, num_classes=${this.numClasses}`;
  }
}
