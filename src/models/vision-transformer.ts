/**
 * Vision Transformer (Dosovitskiy et al. 2020) exactly as torchvision 0.14: `conv_proj`, `class_token`,
 * `encoder.pos_embedding`, `encoder.layers.encoder_layer_N.{ln_1, self_attention, ln_2, mlp.0, mlp.3}`,
 * `encoder.ln`, `heads.head`. Plus `vit_tiny`, a small configuration that trains on a CPU.
 */
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/container.js';
import { Dropout } from '../nn/dropout.js';
import { normal_, truncNormal_, xavierUniform_, zeros_ } from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import { Module, type AnyModule } from '../nn/module.js';
import { LayerNorm } from '../nn/normalization.js';
import { GELU, Tanh } from '../nn/activation.js';
import { MultiheadAttention } from '../nn/attention.js';
import { Parameter } from '../nn/parameter.js';
import { add } from '../ops/elementwise.js';
import { cat, expand, permute, reshape, select } from '../ops/shape.js';
import { zeros } from '../tensor/creation.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

const ln = (d: number): LayerNorm => new LayerNorm(d, { eps: 1e-6 });

/** Linear → GELU → Dropout → Linear → Dropout (`mlp.0`, `mlp.3`). */
export class MLPBlock extends Sequential {
  constructor(inDim: number, mlpDim: number, dropout: number) {
    super(new Linear(inDim, mlpDim), new GELU(), new Dropout(dropout), new Linear(mlpDim, inDim), new Dropout(dropout));
    for (const m of this.children()) {
      if (m instanceof Linear) {
        xavierUniform_(m.weight);
        if (m.bias) normal_(m.bias, 0, 1e-6);
      }
    }
  }
}

/** Pre-norm transformer block: x + attn(ln_1(x)), then + mlp(ln_2(·)). */
export class EncoderBlock extends Module {
  constructor(numHeads: number, hiddenDim: number, mlpDim: number, dropout: number, attentionDropout: number) {
    super();
    this.registerModule('ln_1', ln(hiddenDim));
    this.registerModule(
      'self_attention',
      new MultiheadAttention(hiddenDim, numHeads, { dropout: attentionDropout, batchFirst: true }),
    );
    this.registerModule('dropout', new Dropout(dropout));
    this.registerModule('ln_2', ln(hiddenDim));
    this.registerModule('mlp', new MLPBlock(hiddenDim, mlpDim, dropout));
  }

  declare ln1: LayerNorm;
  declare selfAttention: MultiheadAttention;
  declare dropout: Dropout;
  declare ln2: LayerNorm;
  declare mlp: MLPBlock;

  forward(input: Tensor): Tensor {
    if (input.shape.length !== 3)
      throw new Error(`EncoderBlock: expected (batch, seq, hidden), got ${formatShape(input.shape)}`);
    const h = this.ln1.forward(input);
    const [a] = this.selfAttention.forward(h, h, h, { needWeights: false });
    const x = add(this.dropout.forward(a), input);
    return add(x, this.mlp.forward(this.ln2.forward(x)));
  }
}

/** Position embedding, dropout, the blocks and the final LayerNorm. */
export class Encoder extends Module {
  declare posEmbedding: Parameter;
  declare dropout: Dropout;
  declare layers: Sequential;
  declare ln: LayerNorm;

  constructor(
    seqLength: number,
    numLayers: number,
    numHeads: number,
    hiddenDim: number,
    mlpDim: number,
    dropout: number,
    attentionDropout: number,
  ) {
    super();
    const pos = new Parameter(zeros([1, seqLength, hiddenDim]));
    normal_(pos, 0, 0.02);
    this.registerParameter('pos_embedding', pos);
    this.registerModule('dropout', new Dropout(dropout));
    const layers: Record<string, EncoderBlock> = {};
    for (let i = 0; i < numLayers; i++)
      layers[`encoder_layer_${i}`] = new EncoderBlock(numHeads, hiddenDim, mlpDim, dropout, attentionDropout);
    this.registerModule('layers', new Sequential(layers));
    this.registerModule('ln', ln(hiddenDim));
  }

  forward(x: Tensor): Tensor {
    let y = this.dropout.forward(add(x, this.posEmbedding));
    for (const m of this.layers.children()) y = (m as EncoderBlock).forward(y);
    return this.ln.forward(y);
  }
}

/** Options of the ViT builders (torchvision's keyword arguments; `inChannels` is Tatami's addition). */
export interface VisionTransformerOptions {
  numClasses?: number;
  imageSize?: number;
  patchSize?: number;
  numLayers?: number;
  numHeads?: number;
  hiddenDim?: number;
  mlpDim?: number;
  dropout?: number;
  attentionDropout?: number;
  /** Adds a Linear+Tanh "pre_logits" layer of this size before the head. */
  representationSize?: number | null;
  /** Input channels (default 3; 1 for grey images). Not a torchvision option. */
  inChannels?: number;
}

/** The Vision Transformer classifier. */
export class VisionTransformer extends Module {
  readonly imageSize: number;
  readonly patchSize: number;
  readonly hiddenDim: number;
  declare convProj: Conv2d;
  declare classToken: Parameter;
  declare encoder: Encoder;
  declare heads: Sequential;

  constructor(opts: VisionTransformerOptions = {}) {
    super();
    const imageSize = opts.imageSize ?? 224,
      patch = opts.patchSize ?? 16,
      hidden = opts.hiddenDim ?? 768;
    if (imageSize % patch !== 0)
      throw new Error(
        `VisionTransformer: input shape indivisible by patch size (imageSize ${imageSize}, patchSize ${patch})`,
      );
    this.imageSize = imageSize;
    this.patchSize = patch;
    this.hiddenDim = hidden;
    const inC = opts.inChannels ?? 3;
    const conv = new Conv2d(inC, hidden, patch, { stride: patch });
    const fanIn = inC * patch * patch;
    truncNormal_(conv.weight, 0, Math.sqrt(1 / fanIn));
    zeros_(conv.bias!);
    this.registerModule('conv_proj', conv);
    this.registerParameter('class_token', new Parameter(zeros([1, 1, hidden])));
    const seq = (imageSize / patch) ** 2 + 1;
    this.registerModule(
      'encoder',
      new Encoder(
        seq,
        opts.numLayers ?? 12,
        opts.numHeads ?? 12,
        hidden,
        opts.mlpDim ?? 3072,
        opts.dropout ?? 0,
        opts.attentionDropout ?? 0,
      ),
    );
    const nc = opts.numClasses ?? 1000;
    const heads: Record<string, AnyModule> = {};
    const rep = opts.representationSize ?? null;
    if (rep === null) heads.head = new Linear(hidden, nc);
    else {
      const pre = new Linear(hidden, rep);
      truncNormal_(pre.weight, 0, Math.sqrt(1 / hidden));
      zeros_(pre.bias!);
      heads.pre_logits = pre;
      heads.act = new Tanh();
      heads.head = new Linear(rep, nc);
    }
    const head = heads.head as Linear;
    zeros_(head.weight);
    zeros_(head.bias!);
    this.registerModule('heads', new Sequential(heads));
  }

  /** Patchify: [N, C, H, W] → [N, (H/p)(W/p), hidden]. */
  processInput(x: Tensor): Tensor {
    const [n, , h, w] = x.shape;
    if (h !== this.imageSize || w !== this.imageSize) {
      throw new Error(
        `VisionTransformer: wrong image size: expected ${this.imageSize}×${this.imageSize}, got ${h}×${w}`,
      );
    }
    const y = this.convProj.forward(x);
    return permute(reshape(y, [n, this.hiddenDim, (h / this.patchSize) * (w / this.patchSize)]), [0, 2, 1]);
  }

  forward(x: Tensor): Tensor {
    const tokens = this.processInput(x);
    const cls = expand(this.classToken, [tokens.shape[0], 1, this.hiddenDim]);
    const enc = this.encoder.forward(cat([cls, tokens], 1));
    let y = select(enc, 1, 0);
    for (const m of this.heads.children()) y = m.forward(y) as Tensor;
    return y;
  }
}

/** ViT-B/16 (86,567,656 parameters at 224×224; `imageSize` changes only the position embedding). */
export function vit_b_16(opts: VisionTransformerOptions = {}): VisionTransformer {
  return new VisionTransformer({ patchSize: 16, numLayers: 12, numHeads: 12, hiddenDim: 768, mlpDim: 3072, ...opts });
}
/** ViT-B/32. */
export function vit_b_32(opts: VisionTransformerOptions = {}): VisionTransformer {
  return new VisionTransformer({ patchSize: 32, numLayers: 12, numHeads: 12, hiddenDim: 768, mlpDim: 3072, ...opts });
}
/** ViT-L/16. */
export function vit_l_16(opts: VisionTransformerOptions = {}): VisionTransformer {
  return new VisionTransformer({ patchSize: 16, numLayers: 24, numHeads: 16, hiddenDim: 1024, mlpDim: 4096, ...opts });
}

/**
 * A small ViT that trains on a CPU (not torchvision): 32×32 input, 4×4 patches (64 tokens), 6 layers, 4 heads,
 * width 128, MLP 256, 10 classes — about 0.8 M parameters. Same module tree as vit_b_16.
 */
export function vit_tiny(opts: VisionTransformerOptions = {}): VisionTransformer {
  return new VisionTransformer({
    imageSize: 32,
    patchSize: 4,
    numLayers: 6,
    numHeads: 4,
    hiddenDim: 128,
    mlpDim: 256,
    numClasses: 10,
    ...opts,
  });
}
