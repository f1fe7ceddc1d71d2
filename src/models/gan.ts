/**
 * Generative adversarial networks: DCGAN (Radford et al. 2016) exactly as the W8 benchmark (and a 1×28×28
 * variant for Fashion-MNIST), a conditional GAN (Mirza & Osindero 2014: a class embedding concatenated to the
 * generator's noise, a projection discriminator after Miyato & Koyama 2018), the GAN losses (non-saturating BCE of
 * Goodfellow et al. 2014, LSGAN, hinge, WGAN-GP) with the gradient penalty and R1 regulariser computed by double
 * backward, and `ganStep`, one alternating discriminator/generator update that a training loop calls per batch.
 */
import { grad } from '../autograd/engine.js';
import { noGrad } from '../autograd/grad-mode.js';
import { LeakyReLU, ReLU, Tanh } from '../nn/activation.js';
import { Sequential } from '../nn/container.js';
import { Conv2d, ConvTranspose2d } from '../nn/conv.js';
import { Linear } from '../nn/linear.js';
import { Module, type AnyModule } from '../nn/module.js';
import { ConditionalBatchNorm2d } from '../nn/conditional-norm.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { spectralNorm } from '../nn/spectral-norm.js';
import { Parameter } from '../nn/parameter.js';
import { normal_, zeros_ } from '../nn/init.js';
import { relu } from '../ops/activation.js';
import { add, mul, neg, sqrt, square, sub } from '../ops/elementwise.js';
import { binaryCrossEntropyWithLogits } from '../ops/loss.js';
import { mean, sum } from '../ops/reduce.js';
import { cat, expand, flatten, indexSelect, oneHot, reshape } from '../ops/shape.js';
import type { Optimizer } from '../optim/optimizer.js';
import { full, rand, randn } from '../tensor/creation.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Options of `dcgan`. */
export interface DcganOptions {
  /** 64 (default: 3×64×64 as W8 and the paper's LSUN model) or 28 (Fashion-MNIST / MNIST). */
  imageSize?: 64 | 28;
  /** Image channels (default 3 for 64, 1 for 28). */
  channels?: number;
  /** Length of the noise vector z (default 100). */
  nz?: number;
  /** Width of the generator's last hidden layer (default 64). */
  ngf?: number;
  /** Width of the discriminator's first layer (default 64). */
  ndf?: number;
}

/** A DCGAN pair: `generator` maps z [N, nz, 1, 1] to images in [−1, 1]; `discriminator` maps images to logits [N, 1, 1, 1]. */
export interface Dcgan {
  generator: Sequential;
  discriminator: Sequential;
  nz: number;
}

/**
 * DCGAN as PyTorch's DCGAN example and W8 (../shared/bench/torch_bench.py `dcgan()`): strided transposed
 * convolutions instead of upsampling, batch norm, ReLU and a tanh output in G; strided convolutions, LeakyReLU(0.2)
 * and batch norm (not on the first layer) in D; no biases. 3×64×64: G 3,576,704 and D 2,765,568 parameters.
 * The 28×28 variant starts G from a 7×7 map and ends D with a 7×7 convolution. Call `dcganInit` for the paper's
 * N(0, 0.02) initialisation.
 */
export function dcgan(opts: DcganOptions = {}): Dcgan {
  const size = opts.imageSize ?? 64;
  if (size !== 64 && size !== 28) throw new Error(`dcgan: imageSize must be 64 or 28, got ${String(size)}`);
  const c = opts.channels ?? (size === 64 ? 3 : 1);
  const nz = opts.nz ?? 100,
    ngf = opts.ngf ?? 64,
    ndf = opts.ndf ?? 64;
  for (const [k, v] of Object.entries({ channels: c, nz, ngf, ndf })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`dcgan: ${k} must be a positive integer, got ${v}`);
  }
  const up = (i: number, o: number, k: number, s: number, p: number) =>
    new ConvTranspose2d(i, o, k, { stride: s, padding: p, bias: false });
  const down = (i: number, o: number, k: number, s: number, p: number) =>
    new Conv2d(i, o, k, { stride: s, padding: p, bias: false });
  const lrelu = () => new LeakyReLU(0.2);
  if (size === 64) {
    return {
      nz,
      generator: new Sequential(
        up(nz, ngf * 8, 4, 1, 0),
        new BatchNorm2d(ngf * 8),
        new ReLU(),
        up(ngf * 8, ngf * 4, 4, 2, 1),
        new BatchNorm2d(ngf * 4),
        new ReLU(),
        up(ngf * 4, ngf * 2, 4, 2, 1),
        new BatchNorm2d(ngf * 2),
        new ReLU(),
        up(ngf * 2, ngf, 4, 2, 1),
        new BatchNorm2d(ngf),
        new ReLU(),
        up(ngf, c, 4, 2, 1),
        new Tanh(),
      ),
      discriminator: new Sequential(
        down(c, ndf, 4, 2, 1),
        lrelu(),
        down(ndf, ndf * 2, 4, 2, 1),
        new BatchNorm2d(ndf * 2),
        lrelu(),
        down(ndf * 2, ndf * 4, 4, 2, 1),
        new BatchNorm2d(ndf * 4),
        lrelu(),
        down(ndf * 4, ndf * 8, 4, 2, 1),
        new BatchNorm2d(ndf * 8),
        lrelu(),
        down(ndf * 8, 1, 4, 1, 0),
      ),
    };
  }
  return {
    nz,
    generator: new Sequential(
      up(nz, ngf * 4, 7, 1, 0),
      new BatchNorm2d(ngf * 4),
      new ReLU(), // 7×7
      up(ngf * 4, ngf * 2, 4, 2, 1),
      new BatchNorm2d(ngf * 2),
      new ReLU(), // 14×14
      up(ngf * 2, c, 4, 2, 1),
      new Tanh(), // 28×28
    ),
    discriminator: new Sequential(
      down(c, ndf, 4, 2, 1),
      lrelu(), // 14×14
      down(ndf, ndf * 2, 4, 2, 1),
      new BatchNorm2d(ndf * 2),
      lrelu(), // 7×7
      down(ndf * 2, 1, 7, 1, 0), // 1×1
    ),
  };
}

/**
 * DCGAN's initialisation (Radford et al. 2016, as PyTorch's example `weights_init`): convolution weights
 * N(0, 0.02); batch-norm scales N(1, 0.02) and shifts 0. Returns the module.
 */
export function dcganInit<M extends AnyModule>(module: M, generator: Generator = defaultGenerator): M {
  noGrad(() => {
    for (const m of module.modules()) {
      if (m instanceof Conv2d || m instanceof ConvTranspose2d) {
        normal_(m.weight, 0, 0.02, generator);
        if (m.bias) zeros_(m.bias);
      } else if (m instanceof BatchNorm2d && m.weight && m.bias) {
        normal_(m.weight, 1, 0.02, generator);
        zeros_(m.bias);
      }
    }
  });
  return module;
}

/** A learned table of class vectors (what nn.Embedding holds), looked up by int32 labels. */
function lookup(table: Tensor, labels: Tensor, op: string): Tensor {
  if (labels.dtype !== 'int32' || labels.shape.length !== 1) {
    throw new Error(`${op}: labels must be an int32 tensor [N], got ${labels.dtype} ${formatShape(labels.shape)}`);
  }
  return indexSelect(table, 0, labels);
}

/** Options of ConditionalGenerator and ProjectionDiscriminator (28×28 images). */
export interface ConditionalGanOptions {
  /** Image channels (default 1). */
  channels?: number;
  /** Noise length (default 100). */
  nz?: number;
  /** Size of the class embedding concatenated to z (default 50). */
  embedDim?: number;
  /** Width (default 64): ngf of G, ndf of D. */
  width?: number;
  /**
   * ProjectionDiscriminator only: also give every convolution the one-hot label as constant input maps (the
   * concatenation discriminator of Mirza & Osindero 2014 in convolutional form), besides the projection term —
   * stronger conditioning early in training (default false).
   */
  labelMaps?: boolean;
  /**
   * ConditionalGenerator only: replace G's batch norms by `nn.ConditionalBatchNorm2d` (a per-class gain and bias
   * after each normalisation, as the generators of Miyato & Koyama 2018 and BigGAN), so the label modulates every
   * layer and not only the input (default false).
   */
  conditionalNorm?: boolean;
  /**
   * ProjectionDiscriminator only: spectral normalisation (`nn.utils.spectralNorm`, Miyato et al. 2018) of every
   * convolution and of the linear head, as the projection discriminator of Miyato & Koyama 2018 (default false).
   */
  spectralNorm?: boolean;
}

/**
 * Conditional DCGAN generator for 28×28 images: the class's learned embedding is concatenated to the noise, and
 * the 28×28 DCGAN generator maps [z, e(y)] to an image of that class.
 */
export class ConditionalGenerator extends Module<[Tensor, Tensor], Tensor> {
  declare embedding: Parameter;
  declare net: Sequential;
  readonly nz: number;

  constructor(
    readonly numClasses: number,
    opts: ConditionalGanOptions = {},
  ) {
    super();
    const nz = opts.nz ?? 100,
      e = opts.embedDim ?? 50;
    if (!Number.isInteger(numClasses) || numClasses < 2)
      throw new Error(`ConditionalGenerator: numClasses must be an integer ≥ 2, got ${numClasses}`);
    this.nz = nz;
    this.embedding = new Parameter(randn([numClasses, e]));
    const net = dcgan({ imageSize: 28, channels: opts.channels ?? 1, nz: nz + e, ngf: opts.width ?? 64 }).generator;
    this.net = opts.conditionalNorm
      ? new Sequential(
          ...[...net.children()].map((m) =>
            m instanceof BatchNorm2d ? new ConditionalBatchNorm2d(m.numFeatures, numClasses) : m,
          ),
        )
      : net;
  }

  /** z [N, nz] or [N, nz, 1, 1] and labels int32 [N] → images [N, C, 28, 28] in [−1, 1]. */
  forward(z: Tensor, labels: Tensor): Tensor {
    const n = z.shape[0];
    if (z.numel() !== n * this.nz)
      throw new Error(
        `ConditionalGenerator: expected z [N, ${this.nz}] or [N, ${this.nz}, 1, 1], got ${formatShape(z.shape)}`,
      );
    if (labels.shape[0] !== n)
      throw new Error(`ConditionalGenerator: ${labels.shape[0]} labels for ${n} noise vectors`);
    const e = lookup(this.embedding, labels, 'ConditionalGenerator');
    let h = reshape(cat([reshape(z, [n, this.nz]), e], 1), [n, -1, 1, 1]);
    // the label also goes to every conditional batch norm (conditionalNorm); other layers take h alone
    for (const m of this.net.children())
      h = m instanceof ConditionalBatchNorm2d ? m.forward(h, labels) : (m as Module<[Tensor], Tensor>).forward(h);
    return h;
  }
}

/**
 * Projection discriminator (Miyato & Koyama 2018) for 28×28 images: a DCGAN-style convolutional body φ(x), then
 * logit = ψ(φ(x)) + ⟨e(y), φ(x)⟩ with a learned class embedding e — the class enters as an inner product with the
 * features rather than as extra input channels.
 */
export class ProjectionDiscriminator extends Module<[Tensor, Tensor], Tensor> {
  declare body: Sequential;
  declare linear: Linear;
  declare embedding: Parameter;
  readonly labelMaps: boolean;

  constructor(
    readonly numClasses: number,
    opts: ConditionalGanOptions = {},
  ) {
    super();
    const c = opts.channels ?? 1,
      w = opts.width ?? 64;
    this.labelMaps = opts.labelMaps ?? false;
    const k = this.labelMaps ? numClasses : 0; // extra input maps per convolution
    this.body = new Sequential(
      new Conv2d(c + k, w, 4, { stride: 2, padding: 1 }),
      new LeakyReLU(0.2), // 14×14
      new Conv2d(w + k, 2 * w, 4, { stride: 2, padding: 1 }),
      new LeakyReLU(0.2), // 7×7
      new Conv2d(2 * w + k, 4 * w, 3, { stride: 2, padding: 1 }),
      new LeakyReLU(0.2), // 4×4
    );
    this.linear = new Linear(4 * w, 1);
    this.embedding = new Parameter(mul(randn([numClasses, 4 * w]), 0.02));
    if (opts.spectralNorm) {
      for (const m of this.body.children()) if (m instanceof Conv2d) spectralNorm(m);
      spectralNorm(this.linear);
    }
  }

  /** Images [N, C, 28, 28] and labels int32 [N] → logits [N]. */
  forward(x: Tensor, labels: Tensor): Tensor {
    const e = lookup(this.embedding, labels, 'ProjectionDiscriminator');
    let h = x;
    if (this.labelMaps) {
      const n = x.shape[0];
      const hot = reshape(oneHot(labels, this.numClasses).to(x.dtype), [n, this.numClasses, 1, 1]);
      const layers = [...this.body.children()] as Module[];
      for (let i = 0; i < layers.length; i += 2) {
        const maps = expand(hot, [n, this.numClasses, h.shape[2], h.shape[3]]);
        h = layers[i + 1].forward(layers[i].forward(cat([h, maps], 1)));
      }
    } else h = this.body.forward(x);
    const pooled = sum(h, [2, 3]); // global sum pooling, as Miyato & Koyama
    return add(reshape(this.linear.forward(pooled), [-1]), sum(mul(e, pooled), 1));
  }
}

/** The adversarial objectives ganLoss knows. */
export type GanLossKind = 'bce' | 'lsgan' | 'hinge' | 'wgan-gp';

const KINDS: readonly GanLossKind[] = ['bce', 'lsgan', 'hinge', 'wgan-gp'];

function checkKind(op: string, kind: GanLossKind): void {
  if (!KINDS.includes(kind))
    throw new Error(`${op}: loss must be one of ${KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
}

/**
 * The discriminator's loss on logits of real and generated samples (any shape; PatchGAN maps included):
 * 'bce' −log D(x) − log(1 − D(G(z))) with the real target 1 − labelSmoothing (one-sided smoothing, Salimans et
 * al. 2016); 'lsgan' ½(D(x) − 1)² + ½D(G(z))² (Mao et al. 2017); 'hinge' max(0, 1 − D(x)) + max(0, 1 + D(G(z)));
 * 'wgan-gp' D(G(z)) − D(x) (the critic; add `gradientPenalty`). Means over elements.
 */
export function discriminatorLoss(
  kind: GanLossKind,
  realLogits: Tensor,
  fakeLogits: Tensor,
  opts: { labelSmoothing?: number } = {},
): Tensor {
  const op = 'discriminatorLoss';
  checkKind(op, kind);
  const smooth = opts.labelSmoothing ?? 0;
  if (!(smooth >= 0 && smooth < 1)) throw new Error(`${op}: labelSmoothing must be in [0, 1), got ${smooth}`);
  switch (kind) {
    case 'bce':
      return add(
        binaryCrossEntropyWithLogits(realLogits, full(realLogits.shape, 1 - smooth, { dtype: realLogits.dtype })),
        binaryCrossEntropyWithLogits(fakeLogits, full(fakeLogits.shape, 0, { dtype: fakeLogits.dtype })),
      );
    case 'lsgan':
      return mul(add(mean(square(sub(realLogits, 1 - smooth))), mean(square(fakeLogits))), 0.5);
    case 'hinge':
      return add(mean(relu(sub(1, realLogits))), mean(relu(add(fakeLogits, 1))));
    default:
      return sub(mean(fakeLogits), mean(realLogits));
  }
}

/**
 * The generator's loss on the discriminator's logits of its samples: 'bce' the non-saturating −log D(G(z))
 * (Goodfellow et al. 2014, §3), 'lsgan' ½(D(G(z)) − 1)², 'hinge' and 'wgan-gp' −D(G(z)). Means over elements.
 */
export function generatorLoss(kind: GanLossKind, fakeLogits: Tensor): Tensor {
  checkKind('generatorLoss', kind);
  switch (kind) {
    case 'bce':
      return binaryCrossEntropyWithLogits(fakeLogits, full(fakeLogits.shape, 1, { dtype: fakeLogits.dtype }));
    case 'lsgan':
      return mul(mean(square(sub(fakeLogits, 1))), 0.5);
    default:
      return neg(mean(fakeLogits));
  }
}

/** A discriminator as a function of images (bind the labels of a conditional one). */
export type Critic = (images: Tensor) => Tensor;

/**
 * WGAN-GP's gradient penalty (Gulrajani et al. 2017): E[(‖∇x̂ D(x̂)‖₂ − target)²] at x̂ = εx + (1 − ε)x̃ with
 * ε ~ U[0, 1] per sample. Differentiable with respect to D's parameters (double backward), so it is added to the
 * critic's loss (weighted by λ = 10 in the paper).
 */
export function gradientPenalty(
  critic: Critic,
  real: Tensor,
  fake: Tensor,
  opts: { target?: number; generator?: Generator } = {},
): Tensor {
  if (real.shape.length < 2 || formatShape(real.shape) !== formatShape(fake.shape)) {
    throw new Error(
      `gradientPenalty: real ${formatShape(real.shape)} and fake ${formatShape(fake.shape)} must be batches of the same shape`,
    );
  }
  const n = real.shape[0];
  const eps = rand([n, ...real.shape.slice(1).map(() => 1)], {
    dtype: real.dtype,
    generator: opts.generator ?? defaultGenerator,
  });
  const interp = add(mul(eps, real.detach()), mul(sub(1, eps), fake.detach())).requiresGrad_(true);
  const d = critic(interp);
  const [g] = grad(d, interp, { gradOutputs: full(d.shape, 1, { dtype: d.dtype }), createGraph: true });
  const norms = sqrt(add(sum(square(flatten(g!, 1)), 1), 1e-12));
  return mean(square(sub(norms, opts.target ?? 1)));
}

/**
 * The R1 regulariser (Mescheder et al. 2018): E[‖∇x D(x)‖²] on real data — multiply by γ/2 and add to the
 * discriminator's loss. Differentiable with respect to D's parameters.
 */
export function r1Penalty(critic: Critic, real: Tensor): Tensor {
  const x = real.detach().requiresGrad_(true);
  const [g] = grad(sum(critic(x)), x, { createGraph: true });
  return mean(sum(square(flatten(g!, 1)), 1));
}

/** Options of ganStep. */
export interface GanStepOptions {
  /** Adversarial objective (default 'bce', the non-saturating GAN). */
  loss?: GanLossKind;
  /** One-sided label smoothing of the real target for 'bce'/'lsgan' (default 0; 0.1 is common). */
  labelSmoothing?: number;
  /** λ of the WGAN-GP gradient penalty (default 10; used with loss 'wgan-gp'). */
  gpWeight?: number;
  /** γ of an R1 penalty γ/2·E‖∇D(x)‖² on real data (default 0: off). */
  r1Gamma?: number;
  /** Discriminator updates per generator update (default 1; WGAN-GP used 5). */
  dSteps?: number;
  /** Draws the generator's input for n samples (default z ~ N(0, I) of shape [n, nz, 1, 1]). */
  latent?: (n: number) => Tensor;
  /** Length of z for the default latent (default 100). */
  nz?: number;
  generator?: Generator;
}

/** The modules and optimizers of a GAN; `labels` switch on the conditional path (G(z, y), D(x, y)). */
export interface GanParts {
  generator: AnyModule;
  discriminator: AnyModule;
  optimizerG: Optimizer;
  optimizerD: Optimizer;
}

/** Losses of one ganStep. */
export interface GanStepResult {
  lossD: number;
  lossG: number;
  /** Mean logit of D on the real and on the generated batch (for monitoring). */
  dReal: number;
  dFake: number;
}

/** What one discriminator phase returns: D's numbers and the last generated batch (still attached to G). */
interface DiscriminatorPhase {
  lossD: number;
  dReal: number;
  dFake: number;
  fake: Tensor;
  D: Critic;
  kind: GanLossKind;
}

/** `dSteps` updates of D on the real batch and fresh generated batches (detached from G). */
function discriminatorPhase(
  op: string,
  parts: GanParts,
  real: Tensor,
  opts: GanStepOptions,
  labels: Tensor | undefined,
): DiscriminatorPhase {
  const kind = opts.loss ?? 'bce';
  checkKind(op, kind);
  const gen = opts.generator ?? defaultGenerator;
  const n = real.shape[0];
  if (labels && labels.shape[0] !== n) throw new Error(`${op}: ${labels.shape[0]} labels for a batch of ${n} images`);
  const nz = opts.nz ?? 100;
  const latent = opts.latent ?? ((m: number) => randn([m, nz, 1, 1], { dtype: real.dtype, generator: gen }));
  const G = (z: Tensor) =>
    labels
      ? (parts.generator as Module<[Tensor, Tensor], Tensor>).forward(z, labels)
      : (parts.generator as Module).forward(z);
  const D: Critic = (x) =>
    labels
      ? (parts.discriminator as Module<[Tensor, Tensor], Tensor>).forward(x, labels)
      : (parts.discriminator as Module).forward(x);
  const dSteps = opts.dSteps ?? 1;
  if (!Number.isInteger(dSteps) || dSteps < 1)
    throw new Error(`${op}: dSteps must be a positive integer, got ${dSteps}`);
  let lossD = 0,
    dReal = 0,
    dFake = 0;
  let fake: Tensor | null = null;
  for (let s = 0; s < dSteps; s++) {
    fake = G(latent(n));
    const realLogits = D(real);
    const fakeLogits = D(fake.detach());
    let loss = discriminatorLoss(kind, realLogits, fakeLogits, { labelSmoothing: opts.labelSmoothing });
    if (kind === 'wgan-gp')
      loss = add(loss, mul(gradientPenalty(D, real, fake, { generator: gen }), opts.gpWeight ?? 10));
    if (opts.r1Gamma) loss = add(loss, mul(r1Penalty(D, real), opts.r1Gamma / 2));
    parts.optimizerD.zeroGrad();
    loss.backward();
    parts.optimizerD.step();
    lossD = loss.item();
    dReal = noGrad(() => mean(realLogits).item());
    dFake = noGrad(() => mean(fakeLogits).item());
  }
  return { lossD, dReal, dFake, fake: fake!, D, kind };
}

/**
 * One alternating GAN update on a batch of real images (Goodfellow et al. 2014, Algorithm 1): `dSteps` updates of
 * D on the real batch and a fresh generated batch (detached), then one update of G through D. For a conditional
 * GAN pass the batch's `labels` (int32 [N]); G and D are then called with them. To train with `fit`, use
 * `ganTrainingStep`, which runs the same two phases with fit stepping G.
 */
export function ganStep(parts: GanParts, real: Tensor, opts: GanStepOptions = {}, labels?: Tensor): GanStepResult {
  const d = discriminatorPhase('ganStep', parts, real, opts, labels);
  // G's update reuses the last generated batch, as PyTorch's DCGAN example; D's gradients from it are discarded
  const lossGT = generatorLoss(d.kind, d.D(d.fake));
  parts.optimizerG.zeroGrad();
  lossGT.backward();
  parts.optimizerG.step();
  return { lossD: d.lossD, lossG: lossGT.item(), dReal: d.dReal, dFake: d.dFake };
}

/**
 * A generator and a discriminator in one module (`generator.*`, `discriminator.*` in the state dict), so that one
 * checkpoint holds both and `fit` can train them with `ganTrainingStep`. `forward` samples: G(z), or G(z, labels)
 * for a conditional generator.
 */
export class GAN extends Module<[Tensor, Tensor?], Tensor> {
  declare generator: AnyModule;
  declare discriminator: AnyModule;

  constructor(generator: AnyModule, discriminator: AnyModule) {
    super();
    this.generator = generator;
    this.discriminator = discriminator;
  }

  /** G(z), or G(z, labels) when labels are given. */
  forward(z: Tensor, labels?: Tensor): Tensor {
    return labels
      ? (this.generator as Module<[Tensor, Tensor], Tensor>).forward(z, labels)
      : (this.generator as Module).forward(z);
  }
}

/** The per-batch function `ganTrainingStep` returns; `last` holds the latest step's numbers. */
export interface GanTrainingStep {
  (batch: readonly Tensor[]): { loss: Tensor; terms: { lossD: number; lossG: number; dReal: number; dFake: number } };
  last: GanStepResult | null;
}

/**
 * A `trainingStep` for `fit` (Lightning's manual-optimisation pattern, as `cycleganTrainingStep`), with fit's
 * optimizer over the generator's parameters: each batch (images, or [images, labels] when `conditional`) first
 * updates D with `optimizerD` exactly as `ganStep` does, then returns G's loss through D, which fit
 * back-propagates and steps. D's gradients from that loss are cleared by optimizerD's next zeroGrad. The step's
 * lossD, lossG, dReal and dFake go to fit's progress bar and history (trainLossD, trainLossG, …).
 *
 *   const gan = new GAN(G, D);
 *   const step = ganTrainingStep(gan, new optim.Adam(D.parameters(), …), { loss: 'hinge', conditional: true });
 *   await fit(gan, loader, { epochs, optimizer: new optim.Adam(G.parameters(), …), trainingStep: step });
 */
export function ganTrainingStep(
  nets: { generator: AnyModule; discriminator: AnyModule },
  optimizerD: Optimizer,
  opts: GanTrainingStepOptions = {},
): GanTrainingStep {
  const pre = opts.preprocess ?? ((x: Tensor) => x);
  // fit owns G's optimizer; the discriminator phase never steps it
  const parts: GanParts = {
    generator: nets.generator,
    discriminator: nets.discriminator,
    optimizerD,
    optimizerG: optimizerD,
  };
  const step = ((batch: readonly Tensor[]) => {
    const images = Array.isArray(batch) ? batch[0] : (batch as unknown as Tensor);
    const labels = opts.conditional ? (batch as readonly Tensor[])[1] : undefined;
    if (opts.conditional && labels === undefined)
      throw new Error('ganTrainingStep: conditional GAN batches must be [images, labels]');
    const d = discriminatorPhase('ganTrainingStep', parts, pre(images), opts, labels);
    const loss = generatorLoss(d.kind, d.D(d.fake));
    const last = { lossD: d.lossD, lossG: loss.item(), dReal: d.dReal, dFake: d.dFake };
    step.last = last;
    return { loss, terms: { ...last } };
  }) as GanTrainingStep;
  step.last = null;
  return step;
}

/** Options of ganTrainingStep: ganStep's, plus how batches are read. */
export interface GanTrainingStepOptions extends GanStepOptions {
  /** Pass the batch's second element (int32 labels) to G and D: a conditional GAN (default false). */
  conditional?: boolean;
  /** Maps the batch's images to G's output range, e.g. x ↦ 2x − 1 for [0, 1] pixels and a tanh generator (default identity). */
  preprocess?: (images: Tensor) => Tensor;
}
