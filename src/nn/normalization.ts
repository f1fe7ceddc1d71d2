/** Normalisation layers: BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, GroupNorm, LayerNorm, LocalResponseNorm. */
import { noGrad } from '../autograd/grad-mode.js';
import { batchNorm, groupNorm, instanceNorm, layerNorm, localResponseNorm } from '../ops/norm.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import type { Epilogue } from '../backend/types.js';
import { ones_, zeros_ } from './init.js';
import { checkSize } from './linear.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';
import { pyBool, pyFloat, pyInts } from './repr.js';

/** Options of the batch/instance norm layers (PyTorch's keyword arguments). */
export interface NormLayerOptions {
  eps?: number;
  /** Weight of the new batch in the running averages; null = cumulative moving average (1/numBatchesTracked). */
  momentum?: number | null;
  /** Learn a per-channel scale and shift. */
  affine?: boolean;
  /** Keep running mean/var for evaluation. */
  trackRunningStats?: boolean;
  dtype?: DType;
}

/**
 * Shared batch-norm layer. Parameters `weight`, `bias` (when affine) and buffers `running_mean`, `running_var`,
 * `num_batches_tracked` (int32 scalar) keep PyTorch's names, so torchvision state dicts load as is; the camelCase
 * accessors `runningMean`, `runningVar`, `numBatchesTracked` reach the same tensors.
 */
abstract class BatchNormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  declare weight: Parameter | null;
  declare bias: Parameter | null;
  declare runningMean: Tensor | null;
  declare runningVar: Tensor | null;
  declare numBatchesTracked: Tensor | null;

  constructor(numFeatures: number, opts: NormLayerOptions, defaults: { affine: boolean; trackRunningStats: boolean }) {
    super();
    checkSize(this.constructor.name, 'num_features', numFeatures);
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    this.affine = opts.affine ?? defaults.affine;
    this.trackRunningStats = opts.trackRunningStats ?? defaults.trackRunningStats;
    const dtype = opts.dtype ?? 'float32';
    this.registerParameter('weight', this.affine ? new Parameter(Tensor.empty([numFeatures], dtype)) : null);
    this.registerParameter('bias', this.affine ? new Parameter(Tensor.empty([numFeatures], dtype)) : null);
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', Tensor.empty([numFeatures], dtype));
      this.registerBuffer('running_var', Tensor.empty([numFeatures], dtype));
      this.registerBuffer('num_batches_tracked', Tensor.empty([], 'int32'));
    } else {
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerBuffer('num_batches_tracked', null);
    }
    this.resetParameters();
  }

  /** Zeros the running statistics (mean 0, var 1, count 0). */
  resetRunningStats(): void {
    noGrad(() => {
      if (this.runningMean) zeros_(this.runningMean);
      if (this.runningVar) ones_(this.runningVar);
      if (this.numBatchesTracked) zeros_(this.numBatchesTracked);
    });
  }

  /** Running statistics reset, weight 1, bias 0 (PyTorch's default). */
  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight) ones_(this.weight);
    if (this.bias) zeros_(this.bias);
  }

  /** Throws unless the input has a rank this layer accepts. */
  protected abstract checkInput(x: Tensor): void;

  /** The averaging factor of this step; also counts the batch. */
  protected averagingFactor(): number {
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats && this.numBatchesTracked) {
      const t = this.numBatchesTracked;
      t.storage[t.offset] += 1;
      t.version++;
      if (this.momentum === null) factor = 1 / t.storage[t.offset];
    }
    return factor;
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${this.momentum === null ? 'None' : pyFloat(this.momentum)}, affine=${pyBool(this.affine)}, track_running_stats=${pyBool(this.trackRunningStats)}`;
  }
}

/** Batch norm with running statistics; training uses batch statistics, eval the running ones. */
abstract class BatchNormLayer extends BatchNormBase {
  constructor(numFeatures: number, opts: NormLayerOptions = {}) {
    super(numFeatures, opts, { affine: true, trackRunningStats: true });
  }

  forward(x: Tensor): Tensor {
    return this.normalize(x, 'none');
  }

  /**
   * `forward`, then the activation in the same pass: what the fusion pass runs for BatchNorm → ReLU in training
   * (nn/fusion.ts); the values and gradients of `relu(forward(x))`.
   */
  normalize(x: Tensor, activation: Epilogue): Tensor {
    this.checkInput(x);
    const factor = this.averagingFactor();
    // Without running statistics the layer normalises with batch statistics even in eval mode, as PyTorch.
    const useBatchStats = this.training || (this.runningMean === null && this.runningVar === null);
    const track = !this.training || this.trackRunningStats;
    return batchNorm(x, track ? this.runningMean : null, track ? this.runningVar : null, {
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum: factor,
      eps: this.eps,
      activation,
    });
  }
}

/** Batch norm over [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNormLayer {
  protected checkInput(x: Tensor): void {
    if (x.shape.length !== 2 && x.shape.length !== 3)
      throw new Error(
        `BatchNorm1d: expected 2D or 3D input (got ${x.shape.length}D input, shape ${formatShape(x.shape)})`,
      );
  }
}

/** Batch norm over [N, C, H, W]. */
export class BatchNorm2d extends BatchNormLayer {
  protected checkInput(x: Tensor): void {
    if (x.shape.length !== 4)
      throw new Error(`BatchNorm2d: expected 4D input (got ${x.shape.length}D input, shape ${formatShape(x.shape)})`);
  }
}

/** Batch norm over [N, C, D, H, W] (volumes, video clips). */
export class BatchNorm3d extends BatchNormLayer {
  protected checkInput(x: Tensor): void {
    if (x.shape.length !== 5)
      throw new Error(`BatchNorm3d: expected 5D input (got ${x.shape.length}D input, shape ${formatShape(x.shape)})`);
  }
}

/**
 * Instance norm over `dims` spatial dims (batched or unbatched); PyTorch's defaults: no affine, no running
 * statistics.
 */
abstract class InstanceNormNd extends BatchNormBase {
  constructor(
    private readonly dims: number,
    numFeatures: number,
    opts: NormLayerOptions = {},
  ) {
    super(numFeatures, opts, { affine: false, trackRunningStats: false });
  }

  protected checkInput(x: Tensor): void {
    const r = x.shape.length;
    if (r !== this.dims + 1 && r !== this.dims + 2) {
      throw new Error(
        `${this.constructor.name}: expected ${this.dims + 1}D or ${this.dims + 2}D input (got ${r}D input, shape ${formatShape(x.shape)})`,
      );
    }
  }

  forward(x: Tensor): Tensor {
    this.checkInput(x);
    if (x.shape.length === this.dims + 1) return this.forward(x.unsqueeze(0)).squeeze(0);
    if (x.shape[1] !== this.numFeatures && this.affine) {
      throw new Error(
        `${this.constructor.name}: expected input with ${this.numFeatures} channels, got shape ${formatShape(x.shape)}`,
      );
    }
    return instanceNorm(x, {
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      weight: this.weight,
      bias: this.bias,
      useInputStats: this.training || !this.trackRunningStats,
      momentum: this.momentum ?? 0.1,
      eps: this.eps,
    });
  }
}

/** Instance norm over [N, C, L] (or [C, L]). */
export class InstanceNorm1d extends InstanceNormNd {
  constructor(numFeatures: number, opts: NormLayerOptions = {}) {
    super(1, numFeatures, opts);
  }
}

/** Instance norm over [N, C, H, W] (or [C, H, W]). */
export class InstanceNorm2d extends InstanceNormNd {
  constructor(numFeatures: number, opts: NormLayerOptions = {}) {
    super(2, numFeatures, opts);
  }
}

/** Instance norm over [N, C, D, H, W] (or [C, D, H, W]). */
export class InstanceNorm3d extends InstanceNormNd {
  constructor(numFeatures: number, opts: NormLayerOptions = {}) {
    super(3, numFeatures, opts);
  }
}

/** Options of GroupNorm. */
export interface GroupNormLayerOptions {
  eps?: number;
  affine?: boolean;
  dtype?: DType;
}

/** Group norm (Wu & He 2018): channels split into numGroups groups normalised per sample. */
export class GroupNorm extends Module {
  readonly eps: number;
  readonly affine: boolean;
  declare weight: Parameter | null;
  declare bias: Parameter | null;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    opts: GroupNormLayerOptions = {},
  ) {
    super();
    checkSize('GroupNorm', 'num_groups', numGroups);
    checkSize('GroupNorm', 'num_channels', numChannels);
    if (numChannels % numGroups !== 0)
      throw new Error(`GroupNorm: num_channels (${numChannels}) must be divisible by num_groups (${numGroups})`);
    this.eps = opts.eps ?? 1e-5;
    this.affine = opts.affine ?? true;
    const dtype = opts.dtype ?? 'float32';
    this.registerParameter(
      'weight',
      this.affine ? (ones_(new Parameter(Tensor.empty([numChannels], dtype))) as Parameter) : null,
    );
    this.registerParameter('bias', this.affine ? new Parameter(Tensor.empty([numChannels], dtype)) : null);
  }

  forward(x: Tensor): Tensor {
    return groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${pyBool(this.affine)}`;
  }
}

/** Options of LayerNorm. */
export interface LayerNormLayerOptions {
  eps?: number;
  elementwiseAffine?: boolean;
  dtype?: DType;
}

/** Layer norm over the trailing `normalizedShape` dims. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  declare weight: Parameter | null;
  declare bias: Parameter | null;

  constructor(normalizedShape: number | readonly number[], opts: LayerNormLayerOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = opts.eps ?? 1e-5;
    this.elementwiseAffine = opts.elementwiseAffine ?? true;
    const dtype = opts.dtype ?? 'float32';
    this.registerParameter(
      'weight',
      this.elementwiseAffine ? (ones_(new Parameter(Tensor.empty(this.normalizedShape, dtype))) as Parameter) : null,
    );
    this.registerParameter(
      'bias',
      this.elementwiseAffine ? new Parameter(Tensor.empty(this.normalizedShape, dtype)) : null,
    );
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${pyInts(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyBool(this.elementwiseAffine)}`;
  }
}

/** Local response normalisation across `size` neighbouring channels (AlexNet). */
export class LocalResponseNorm extends Module {
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;

  constructor(
    readonly size: number,
    opts: { alpha?: number; beta?: number; k?: number } = {},
  ) {
    super();
    checkSize('LocalResponseNorm', 'size', size);
    this.alpha = opts.alpha ?? 1e-4;
    this.beta = opts.beta ?? 0.75;
    this.k = opts.k ?? 1;
  }

  forward(x: Tensor): Tensor {
    return localResponseNorm(x, this.size, { alpha: this.alpha, beta: this.beta, k: this.k });
  }

  override extraRepr(): string {
    return `${this.size}, alpha=${pyFloat(this.alpha)}, beta=${pyFloat(this.beta)}, k=${pyFloat(this.k)}`;
  }
}
