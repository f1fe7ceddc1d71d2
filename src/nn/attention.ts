/**
 * Attention blocks: MultiheadAttention (PyTorch's parameter names and outputs), SqueezeExcitation (torchvision's
 * channel attention) and NonLocal2d (spatial self-attention of Wang et al., CVPR 2018).
 */
import { noGrad } from '../autograd/grad-mode.js';
import { add, div, mul } from '../ops/elementwise.js';
import { dropout } from '../ops/dropout.js';
import { bmm, linear, matmul } from '../ops/matmul.js';
import { sum } from '../ops/reduce.js';
import { contiguous, maskedFill, narrow, permute, reshape, squeeze, transpose, unsqueeze } from '../ops/shape.js';
import { softmax } from '../ops/softmax.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import type { Generator } from '../tensor/random.js';
import { ReLU, Sigmoid } from './activation.js';
import { Conv2d } from './conv.js';
import { constant_, xavierUniform_ } from './init.js';
import { Linear, checkSize } from './linear.js';
import { Module, type AnyModule } from './module.js';
import { Parameter } from './parameter.js';
import { AdaptiveAvgPool2d } from './pooling.js';

/** The output projection of MultiheadAttention (PyTorch names its class this way; it is a Linear). */
export class NonDynamicallyQuantizableLinear extends Linear {}

/** Options of MultiheadAttention. */
export interface MultiheadAttentionOptions {
  /** Dropout on the attention weights (training only). Default 0. */
  dropout?: number;
  /** Biases on the input and output projections. Default true. */
  bias?: boolean;
  /** Inputs and output are [N, L, E] instead of [L, N, E]. Default false. */
  batchFirst?: boolean;
  dtype?: DType;
  generator?: Generator;
}

/** Options of MultiheadAttention.forward. */
export interface MultiheadAttentionForwardOptions {
  /** [N, S] (or [S]) bool: true marks keys to ignore (padding); or a float mask added to the scores. */
  keyPaddingMask?: Tensor | null;
  /** Return the attention weights (default true). */
  needWeights?: boolean;
  /** [L, S] or [N·numHeads, L, S]: bool (true = not allowed) or float added to the scores. */
  attnMask?: Tensor | null;
  /** Average the returned weights over heads (default true); otherwise [N, numHeads, L, S]. */
  averageAttnWeights?: boolean;
}

/** An additive float mask (−∞ where a bool mask is true). */
function additive(mask: Tensor, dtype: DType): Tensor {
  if (mask.dtype === 'bool' || mask.dtype === 'uint8')
    return maskedFill(Tensor.empty(mask.shape, dtype), mask, -Infinity);
  return mask;
}

/**
 * Multi-head scaled dot-product attention (Vaswani et al. 2017) with PyTorch's parameters: `in_proj_weight`
 * [3E, E] (query, key and value projections stacked), `in_proj_bias` [3E], and `out_proj` (a Linear E→E).
 * `forward(query, key, value, opts)` returns [attnOutput, attnWeights] — the weights averaged over heads
 * ([N, L, S]) unless `averageAttnWeights` is false, or null when `needWeights` is false.
 */
export class MultiheadAttention extends Module<
  [Tensor, Tensor, Tensor, MultiheadAttentionForwardOptions?],
  [Tensor, Tensor | null]
> {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly generator: Generator | undefined;
  declare inProjWeight: Parameter;
  declare inProjBias: Parameter | null;
  declare outProj: NonDynamicallyQuantizableLinear;

  constructor(embedDim: number, numHeads: number, opts: MultiheadAttentionOptions = {}) {
    super();
    checkSize('MultiheadAttention', 'embed_dim', embedDim);
    checkSize('MultiheadAttention', 'num_heads', numHeads);
    if (embedDim % numHeads !== 0)
      throw new Error(`MultiheadAttention: embed_dim (${embedDim}) must be divisible by num_heads (${numHeads})`);
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    this.dropout = opts.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout <= 1))
      throw new Error(`MultiheadAttention: dropout must be in [0, 1], got ${this.dropout}`);
    this.batchFirst = opts.batchFirst ?? false;
    this.generator = opts.generator;
    const dtype = opts.dtype ?? 'float32';
    const bias = opts.bias ?? true;
    this.registerParameter('in_proj_weight', new Parameter(Tensor.empty([3 * embedDim, embedDim], dtype)));
    this.registerParameter('in_proj_bias', bias ? new Parameter(Tensor.empty([3 * embedDim], dtype)) : null);
    this.registerModule(
      'out_proj',
      new NonDynamicallyQuantizableLinear(embedDim, embedDim, { bias, dtype, generator: opts.generator }),
    );
    noGrad(() => {
      xavierUniform_(this.inProjWeight, { generator: opts.generator });
      if (this.inProjBias) constant_(this.inProjBias, 0);
      if (this.outProj.bias) constant_(this.outProj.bias, 0);
    });
  }

  forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    opts: MultiheadAttentionForwardOptions = {},
  ): [Tensor, Tensor | null] {
    const E = this.embedDim;
    const H = this.numHeads;
    const hd = this.headDim;
    const batched = query.shape.length === 3;
    if (!batched && query.shape.length !== 2)
      throw new Error(`MultiheadAttention: query must be 2-D [L, E] or 3-D, got shape ${formatShape(query.shape)}`);
    if (key.shape.length !== query.shape.length || value.shape.length !== query.shape.length) {
      throw new Error(
        `MultiheadAttention: query ${formatShape(query.shape)}, key ${formatShape(key.shape)} and value ${formatShape(value.shape)} must have the same rank`,
      );
    }
    let q = query;
    let k = key;
    let v = value;
    let kpm = opts.keyPaddingMask ?? null;
    if (!batched) {
      q = unsqueeze(q, 1);
      k = unsqueeze(k, 1);
      v = unsqueeze(v, 1);
      if (kpm) kpm = unsqueeze(kpm, 0);
    } else if (this.batchFirst) {
      q = transpose(q, 0, 1);
      k = transpose(k, 0, 1);
      v = transpose(v, 0, 1);
    }
    // Now [L, N, E] / [S, N, E].
    const [L, N] = q.shape;
    const S = k.shape[0];
    if (q.shape[2] !== E)
      throw new Error(`MultiheadAttention: query has embedding size ${q.shape[2]} but embed_dim is ${E}`);
    if (k.shape[1] !== N || v.shape[1] !== N || v.shape[0] !== S) {
      throw new Error(
        `MultiheadAttention: key ${formatShape(key.shape)} and value ${formatShape(value.shape)} must match the query's batch and each other's length`,
      );
    }
    const w = this.inProjWeight;
    const b = this.inProjBias;
    const proj = (x: Tensor, i: number) => linear(x, narrow(w, 0, i * E, E), b ? narrow(b, 0, i * E, E) : null);
    // [len, N, E] → [N·H, len, hd]
    const heads = (x: Tensor, len: number) => transpose(reshape(contiguous(x), [len, N * H, hd]), 0, 1);
    const qh = heads(proj(q, 0), L);
    const kh = heads(proj(k, 1), S);
    const vh = heads(proj(v, 2), S);
    let scores = bmm(div(qh, Math.sqrt(hd)), contiguous(transpose(kh, 1, 2)));
    const attnMask = opts.attnMask ?? null;
    if (attnMask) {
      const ok2 = attnMask.shape.length === 2 && attnMask.shape[0] === L && attnMask.shape[1] === S;
      const ok3 =
        attnMask.shape.length === 3 &&
        attnMask.shape[0] === N * H &&
        attnMask.shape[1] === L &&
        attnMask.shape[2] === S;
      if (!ok2 && !ok3)
        throw new Error(
          `MultiheadAttention: attnMask should be [${L}, ${S}] or [${N * H}, ${L}, ${S}], got ${formatShape(attnMask.shape)}`,
        );
      scores = add(scores, additive(attnMask, scores.dtype));
    }
    if (kpm) {
      if (kpm.shape.length !== 2 || kpm.shape[0] !== N || kpm.shape[1] !== S) {
        throw new Error(`MultiheadAttention: keyPaddingMask should be [${N}, ${S}], got ${formatShape(kpm.shape)}`);
      }
      const m = reshape(additive(kpm, scores.dtype), [N, 1, 1, S]);
      scores = reshape(add(reshape(scores, [N, H, L, S]), m), [N * H, L, S]);
    }
    let attn = softmax(scores, -1);
    if (this.training && this.dropout > 0)
      attn = dropout(attn, { p: this.dropout, training: true, generator: this.generator });
    const ctx = bmm(attn, vh); // [N·H, L, hd]
    let out = this.outProj.forward(reshape(contiguous(transpose(ctx, 0, 1)), [L, N, E]));
    if (!batched) out = squeeze(out, 1);
    else if (this.batchFirst) out = transpose(out, 0, 1);
    if (opts.needWeights === false) return [out, null];
    let weights = reshape(attn, [N, H, L, S]);
    if (opts.averageAttnWeights ?? true) weights = div(sum(weights, 1), H);
    if (!batched) weights = squeeze(weights, 0);
    return [out, weights];
  }

  override extraRepr(): string {
    return '';
  }
}

/** Options of SqueezeExcitation. */
export interface SqueezeExcitationOptions {
  /** Class of the activation after fc1 (default ReLU). */
  activation?: new () => AnyModule;
  /** Class of the gate after fc2 (default Sigmoid; MobileNetV3 uses Hardsigmoid). */
  scaleActivation?: new () => AnyModule;
  dtype?: DType;
}

/**
 * Squeeze-and-Excitation (Hu et al., CVPR 2018) as torchvision.ops.SqueezeExcitation: global average pool,
 * fc1 (1×1 conv C→squeeze), activation, fc2 (1×1 conv squeeze→C), scale activation, then x·scale.
 */
export class SqueezeExcitation extends Module {
  declare avgpool: AdaptiveAvgPool2d;
  declare fc1: Conv2d;
  declare fc2: Conv2d;
  declare activation: AnyModule;
  declare scaleActivation: AnyModule;

  constructor(inputChannels: number, squeezeChannels: number, opts: SqueezeExcitationOptions = {}) {
    super();
    this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.registerModule('fc1', new Conv2d(inputChannels, squeezeChannels, 1, { dtype: opts.dtype }));
    this.registerModule('fc2', new Conv2d(squeezeChannels, inputChannels, 1, { dtype: opts.dtype }));
    this.registerModule('activation', new (opts.activation ?? ReLU)());
    this.registerModule('scale_activation', new (opts.scaleActivation ?? Sigmoid)());
  }

  /** The per-channel gate [N, C, 1, 1]. */
  scale(x: Tensor): Tensor {
    const s = this.fc2.forward(this.activation.forward(this.fc1.forward(this.avgpool.forward(x))) as Tensor);
    return this.scaleActivation.forward(s) as Tensor;
  }

  forward(x: Tensor): Tensor {
    return mul(this.scale(x), x);
  }
}

/** Options of NonLocal2d. */
export interface NonLocal2dOptions {
  /** Channels of the query/key/value embeddings (default ⌊C/2⌋, as Wang et al.). */
  innerChannels?: number;
  /** Zero-initialise the output conv so the block starts as the identity (for insertion into a trained net). */
  zeroInit?: boolean;
  dtype?: DType;
}

/**
 * Non-local block (Wang et al., CVPR 2018; embedded-Gaussian form): query, key and value are 1×1 convolutions
 * to `innerChannels`; every position attends to every position with softmax(qᵀk) over positions; the attended
 * values go through the output 1×1 convolution and are added to the input: z = x + out(softmax(qᵀk)·v).
 */
export class NonLocal2d extends Module {
  readonly innerChannels: number;
  declare query: Conv2d;
  declare key: Conv2d;
  declare value: Conv2d;
  declare out: Conv2d;

  constructor(
    readonly inChannels: number,
    opts: NonLocal2dOptions = {},
  ) {
    super();
    checkSize('NonLocal2d', 'in_channels', inChannels);
    this.innerChannels = opts.innerChannels ?? Math.max(1, Math.floor(inChannels / 2));
    checkSize('NonLocal2d', 'inner_channels', this.innerChannels);
    const o = { dtype: opts.dtype };
    this.registerModule('query', new Conv2d(inChannels, this.innerChannels, 1, o));
    this.registerModule('key', new Conv2d(inChannels, this.innerChannels, 1, o));
    this.registerModule('value', new Conv2d(inChannels, this.innerChannels, 1, o));
    this.registerModule('out', new Conv2d(this.innerChannels, inChannels, 1, o));
    if (opts.zeroInit) {
      noGrad(() => {
        constant_(this.out.weight, 0);
        if (this.out.bias) constant_(this.out.bias, 0);
      });
    }
  }

  /** The attention map [N, HW, HW] (row i: how position i attends to every position). */
  attention(x: Tensor): Tensor {
    const [n, , h, w] = x.shape;
    const ci = this.innerChannels;
    const q = permute(reshape(this.query.forward(x), [n, ci, h * w]), 0, 2, 1);
    const k = reshape(this.key.forward(x), [n, ci, h * w]);
    return softmax(matmul(q, k), -1);
  }

  forward(x: Tensor): Tensor {
    if (x.shape.length !== 4)
      throw new Error(`NonLocal2d: expected a 4-D input [N, C, H, W], got shape ${formatShape(x.shape)}`);
    const [n, , h, w] = x.shape;
    const ci = this.innerChannels;
    const attn = this.attention(x);
    const v = permute(reshape(this.value.forward(x), [n, ci, h * w]), 0, 2, 1);
    const y = reshape(permute(matmul(attn, v), 0, 2, 1), [n, ci, h, w]);
    return add(x, this.out.forward(y));
  }

  override extraRepr(): string {
    return `${this.inChannels}, inner_channels=${this.innerChannels}`;
  }
}
