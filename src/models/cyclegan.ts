/**
 * CycleGAN (Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks"):
 * two generators G: A → B and F: B → A, two PatchGAN discriminators, the least-squares GAN loss, the cycle
 * consistency loss λ(‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁) with λ = 10, the identity loss 0.5λ(‖G(b) − b‖₁ + ‖F(a) − a‖₁),
 * and a history of generated images (Shrivastava et al. 2017) from which the discriminators see half their fakes.
 *
 * The generator is the authors' ResnetGenerator after Johnson et al. 2016: a reflection-padded 7×7 convolution,
 * two stride-2 3×3 convolutions, `numBlocks` residual blocks (9 for 256×256, 6 for 128×128 in the paper), two
 * stride-2 transposed convolutions and a 7×7 convolution to tanh; instance norm (no affine, no running statistics),
 * so the convolutions keep their biases. Module names match the authors' PyTorch code, so their state dicts load.
 */
import { ReLU, Tanh } from '../nn/activation.js';
import { Sequential } from '../nn/container.js';
import { Conv2d, ConvTranspose2d } from '../nn/conv.js';
import { Dropout } from '../nn/dropout.js';
import { Module, type AnyModule } from '../nn/module.js';
import { BatchNorm2d, InstanceNorm2d } from '../nn/normalization.js';
import { ReflectionPad2d } from '../nn/padding.js';
import { add, mul } from '../ops/elementwise.js';
import { l1Loss, mseLoss } from '../ops/loss.js';
import { cat } from '../ops/shape.js';
import { noGrad } from '../autograd/grad-mode.js';
import type { Parameter } from '../nn/parameter.js';
import type { Optimizer } from '../optim/optimizer.js';
import { onesLike } from '../tensor/creation.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { discriminatorLoss, generatorLoss, type GanLossKind } from './gan.js';
import { PatchGANDiscriminator } from './pix2pix.js';

/** Normalisation layer of the CycleGAN/pix2pix networks: 'instance' (CycleGAN's), 'batch' (pix2pix's) or none. */
export type ImageNormKind = 'instance' | 'batch' | 'none';

function normLayer(kind: ImageNormKind, channels: number): AnyModule[] {
  if (kind === 'instance') return [new InstanceNorm2d(channels)];
  if (kind === 'batch') return [new BatchNorm2d(channels)];
  return [];
}

function checkNorm(op: string, kind: ImageNormKind): void {
  if (!['instance', 'batch', 'none'].includes(kind))
    throw new Error(`${op}: norm must be 'instance', 'batch' or 'none', got ${JSON.stringify(kind)}`);
}

/** x + conv-norm-ReLU-(dropout)-conv-norm(x), reflection padded (the authors' ResnetBlock). */
export class ResnetBlock extends Module {
  declare conv_block: Sequential;

  constructor(dim: number, opts: { norm?: ImageNormKind; dropout?: boolean } = {}) {
    super();
    const norm = opts.norm ?? 'instance';
    checkNorm('ResnetBlock', norm);
    // a convolution followed by batch norm needs no bias; instance norm without affine keeps it (authors' use_bias)
    const bias = norm !== 'batch';
    const layers: AnyModule[] = [
      new ReflectionPad2d(1),
      new Conv2d(dim, dim, 3, { bias }),
      ...normLayer(norm, dim),
      new ReLU(),
    ];
    if (opts.dropout) layers.push(new Dropout(0.5));
    layers.push(new ReflectionPad2d(1), new Conv2d(dim, dim, 3, { bias }), ...normLayer(norm, dim));
    this.conv_block = new Sequential(...layers);
  }

  forward(x: Tensor): Tensor {
    return add(x, this.conv_block.forward(x));
  }
}

/** Options of ResnetGenerator. */
export interface ResnetGeneratorOptions {
  /** Channels of the first layer (default 64). */
  ngf?: number;
  /** Residual blocks at 1/4 resolution (default 9, the paper's 256×256 generator; 6 for 128×128). */
  numBlocks?: number;
  /** Normalisation (default 'instance', CycleGAN's). */
  norm?: ImageNormKind;
  /** Dropout 0.5 inside the residual blocks (default false, as CycleGAN). */
  dropout?: boolean;
}

/**
 * The CycleGAN generator (the authors' `resnet_9blocks` has 11,378,179 parameters for 3 → 3 channels,
 * `resnet_6blocks` 7,837,699). Input H and W must be divisible by 4; the output has the input's size.
 */
export class ResnetGenerator extends Module {
  declare model: Sequential;

  constructor(inChannels = 3, outChannels = 3, opts: ResnetGeneratorOptions = {}) {
    super();
    const ngf = opts.ngf ?? 64,
      numBlocks = opts.numBlocks ?? 9,
      norm = opts.norm ?? 'instance';
    checkNorm('ResnetGenerator', norm);
    if (!Number.isInteger(numBlocks) || numBlocks < 0)
      throw new Error(`ResnetGenerator: numBlocks must be a non-negative integer, got ${numBlocks}`);
    const bias = norm !== 'batch';
    const layers: AnyModule[] = [
      new ReflectionPad2d(3),
      new Conv2d(inChannels, ngf, 7, { bias }),
      ...normLayer(norm, ngf),
      new ReLU(),
    ];
    for (const mult of [1, 2]) {
      layers.push(
        new Conv2d(ngf * mult, ngf * mult * 2, 3, { stride: 2, padding: 1, bias }),
        ...normLayer(norm, ngf * mult * 2),
        new ReLU(),
      );
    }
    for (let i = 0; i < numBlocks; i++) layers.push(new ResnetBlock(ngf * 4, { norm, dropout: opts.dropout }));
    for (const mult of [4, 2]) {
      layers.push(
        new ConvTranspose2d(ngf * mult, (ngf * mult) / 2, 3, { stride: 2, padding: 1, outputPadding: 1, bias }),
        ...normLayer(norm, (ngf * mult) / 2),
        new ReLU(),
      );
    }
    layers.push(new ReflectionPad2d(3), new Conv2d(ngf, outChannels, 7), new Tanh());
    this.model = new Sequential(...layers);
  }

  forward(x: Tensor): Tensor {
    // reflection padding 3 needs H, W ≥ 4 and the two stride-2 stages need multiples of 4 to come back to size
    if (x.shape.length !== 4 || x.shape[2] % 4 !== 0 || x.shape[3] % 4 !== 0 || x.shape[2] < 8 || x.shape[3] < 8) {
      throw new Error(
        `ResnetGenerator: expected images [N, C, H, W] with H and W multiples of 4 and ≥ 8, got ${formatShape(x.shape)}`,
      );
    }
    return this.model.forward(x);
  }
}

/**
 * A buffer of previously generated images (Shrivastava et al. 2017, §2.3; CycleGAN's ImagePool): `query` returns
 * a batch for the discriminator where each image is, once the pool is full, with probability ½ swapped for a
 * stored older one (which the new image replaces). Size 0 returns the batch unchanged. Images are stored detached.
 */
export class ImagePool {
  private readonly images: Tensor[] = [];

  constructor(
    readonly size = 50,
    private readonly generator: Generator = defaultGenerator,
  ) {
    if (!Number.isInteger(size) || size < 0)
      throw new Error(`ImagePool: size must be a non-negative integer, got ${size}`);
  }

  /** Number of images stored. */
  get length(): number {
    return this.images.length;
  }

  query(batch: Tensor): Tensor {
    if (batch.shape.length < 1)
      throw new Error(`ImagePool.query: expected a batch [N, ...], got ${formatShape(batch.shape)}`);
    const fresh = batch.detach();
    if (this.size === 0) return fresh;
    const out: Tensor[] = [];
    for (let i = 0; i < fresh.shape[0]; i++) {
      const img = fresh.narrow(0, i, 1).contiguous();
      if (this.images.length < this.size) {
        this.images.push(img);
        out.push(img);
      } else if (this.generator.random() > 0.5) {
        const j = this.generator.randint(0, this.size);
        out.push(this.images[j]);
        this.images[j] = img;
      } else {
        out.push(img);
      }
    }
    return cat(out, 0);
  }
}

/** The four networks and two optimizers of a CycleGAN (optimizerG over both generators, optimizerD over both discriminators). */
export interface CycleGanParts extends CycleGanNets {
  optimizerG: Optimizer;
  optimizerD: Optimizer;
}

/** Options of cycleganStep. */
export interface CycleGanStepOptions {
  /** Weight λ of the cycle-consistency L1 losses (default 10). */
  lambdaCycle?: number;
  /** Weight of the identity losses relative to λ (default 0.5; 0 turns them off and saves two generator passes). */
  lambdaIdentity?: number;
  /** Adversarial loss (default 'lsgan', the paper's: G minimises (D(G(a)) − 1)², D ½[(D(b) − 1)² + D(G(a))²]). */
  loss?: Exclude<GanLossKind, 'wgan-gp'>;
  /** Image pools of generated A and B images (default none: D sees the current batch only). */
  poolA?: ImagePool;
  poolB?: ImagePool;
}

/** Losses of one cycleganStep (numbers, for a progress bar). */
export interface CycleGanStepResult {
  /** Total generator objective and its parts. */
  lossG: number;
  ganAB: number;
  ganBA: number;
  cycleA: number;
  cycleB: number;
  idtA: number;
  idtB: number;
  lossDA: number;
  lossDB: number;
}

function ganG(kind: NonNullable<CycleGanStepOptions['loss']>, logits: Tensor): Tensor {
  // the paper's least-squares generator term has no ½ (the authors' MSELoss against a target of ones)
  return kind === 'lsgan' ? mseLoss(logits, onesLike(logits)) : generatorLoss(kind, logits);
}

function checkStep(op: string, realA: Tensor, realB: Tensor, opts: CycleGanStepOptions): void {
  const kind = opts.loss ?? 'lsgan';
  if (!['bce', 'lsgan', 'hinge'].includes(kind))
    throw new Error(`${op}: loss must be 'bce', 'lsgan' or 'hinge', got ${JSON.stringify(kind)}`);
  const lambda = opts.lambdaCycle ?? 10,
    lambdaIdt = opts.lambdaIdentity ?? 0.5;
  if (!(lambda >= 0) || !(lambdaIdt >= 0))
    throw new Error(`${op}: lambdaCycle and lambdaIdentity must be ≥ 0, got ${lambda} and ${lambdaIdt}`);
  if (realA.shape.length !== 4 || realB.shape.length !== 4) {
    throw new Error(
      `${op}: expected image batches [N, C, H, W], got ${formatShape(realA.shape)} and ${formatShape(realB.shape)}`,
    );
  }
}

/** The generators' outputs and objective on one pair of batches (graph kept for backward). */
interface GeneratorPass {
  fakeA: Tensor;
  fakeB: Tensor;
  lossG: Tensor;
  parts: Omit<CycleGanStepResult, 'lossDA' | 'lossDB' | 'lossG'>;
}

function generatorPass(nets: CycleGanNets, realA: Tensor, realB: Tensor, opts: CycleGanStepOptions): GeneratorPass {
  const kind = opts.loss ?? 'lsgan';
  const lambda = opts.lambdaCycle ?? 10,
    lambdaIdt = opts.lambdaIdentity ?? 0.5;
  const { generatorAB: G, generatorBA: F, discriminatorA: DA, discriminatorB: DB } = nets;
  const fakeB = G.forward(realA) as Tensor;
  const fakeA = F.forward(realB) as Tensor;
  const ganAB = ganG(kind, DB.forward(fakeB) as Tensor);
  const ganBA = ganG(kind, DA.forward(fakeA) as Tensor);
  const cycleA = mul(l1Loss(F.forward(fakeB) as Tensor, realA), lambda);
  const cycleB = mul(l1Loss(G.forward(fakeA) as Tensor, realB), lambda);
  let lossG = add(add(ganAB, ganBA), add(cycleA, cycleB));
  let idtA = 0,
    idtB = 0;
  if (lambdaIdt > 0) {
    // G should leave images already in B alone (and F those in A): preserves colour composition (paper §5.2)
    const iA = mul(l1Loss(G.forward(realB) as Tensor, realB), lambda * lambdaIdt);
    const iB = mul(l1Loss(F.forward(realA) as Tensor, realA), lambda * lambdaIdt);
    lossG = add(lossG, add(iA, iB));
    idtA = iA.item();
    idtB = iB.item();
  }
  return {
    fakeA,
    fakeB,
    lossG,
    parts: { ganAB: ganAB.item(), ganBA: ganBA.item(), cycleA: cycleA.item(), cycleB: cycleB.item(), idtA, idtB },
  };
}

/** One update of both discriminators on real images and (pooled) detached fakes; returns their losses. */
function discriminatorUpdate(
  nets: CycleGanNets,
  optimizerD: Optimizer,
  realA: Tensor,
  realB: Tensor,
  fakeA: Tensor,
  fakeB: Tensor,
  opts: CycleGanStepOptions,
): [number, number] {
  const kind = opts.loss ?? 'lsgan';
  // the paper halves each D objective (§7.1) to slow D down; discriminatorLoss's 'lsgan' already carries that ½
  const dLoss = (D: AnyModule, real: Tensor, fake: Tensor) =>
    mul(discriminatorLoss(kind, D.forward(real) as Tensor, D.forward(fake) as Tensor), kind === 'lsgan' ? 1 : 0.5);
  const lossDB = dLoss(nets.discriminatorB, realB, opts.poolB ? opts.poolB.query(fakeB) : fakeB.detach());
  const lossDA = dLoss(nets.discriminatorA, realA, opts.poolA ? opts.poolA.query(fakeA) : fakeA.detach());
  optimizerD.zeroGrad();
  add(lossDA, lossDB).backward();
  optimizerD.step();
  return [lossDA.item(), lossDB.item()];
}

/**
 * One CycleGAN update on unpaired batches `realA`, `realB` (the authors' optimize_parameters): the generators
 * first on L_GAN(G, D_B) + L_GAN(F, D_A) + λ·(cycle A + cycle B) + λ·λ_idt·(identity A + identity B) (the
 * discriminators' gradients from it are cleared before their own update), then the discriminators on real images
 * and the (pooled) detached fakes.
 */
export function cycleganStep(
  parts: CycleGanParts,
  realA: Tensor,
  realB: Tensor,
  opts: CycleGanStepOptions = {},
): CycleGanStepResult {
  checkStep('cycleganStep', realA, realB, opts);
  const g = generatorPass(parts, realA, realB, opts);
  parts.optimizerG.zeroGrad();
  g.lossG.backward();
  parts.optimizerG.step();
  const [lossDA, lossDB] = discriminatorUpdate(parts, parts.optimizerD, realA, realB, g.fakeA, g.fakeB, opts);
  return { lossG: g.lossG.item(), ...g.parts, lossDA, lossDB };
}

/** The four networks of a CycleGAN. */
export interface CycleGanNets {
  /** G: A → B. */
  generatorAB: AnyModule;
  /** F: B → A. */
  generatorBA: AnyModule;
  /** D_A judges images of domain A (real a vs F(b)). */
  discriminatorA: AnyModule;
  /** D_B judges images of domain B (real b vs G(a)). */
  discriminatorB: AnyModule;
}

/** Options of the CycleGAN container. */
export interface CycleGanOptions extends ResnetGeneratorOptions {
  /** Channels of domain A and B images (default 3 and 3). */
  channelsA?: number;
  channelsB?: number;
  /** Discriminator width (default 64) and depth (default 3: 70×70 patches). */
  ndf?: number;
  numLayersD?: number;
}

/**
 * The four CycleGAN networks in one module (state dict `generatorAB.*`, `generatorBA.*`, `discriminatorA.*`,
 * `discriminatorB.*`), so one checkpoint holds them and `fit` can train it with `cycleganTrainingStep`.
 * `forward` translates A → B; `backward` direction is `generatorBA.forward`.
 */
export class CycleGAN extends Module implements CycleGanNets {
  declare generatorAB: ResnetGenerator;
  declare generatorBA: ResnetGenerator;
  declare discriminatorA: PatchGANDiscriminator;
  declare discriminatorB: PatchGANDiscriminator;

  constructor(opts: CycleGanOptions = {}) {
    super();
    const cA = opts.channelsA ?? 3,
      cB = opts.channelsB ?? 3,
      norm = opts.norm ?? 'instance';
    this.generatorAB = new ResnetGenerator(cA, cB, opts);
    this.generatorBA = new ResnetGenerator(cB, cA, opts);
    this.discriminatorA = new PatchGANDiscriminator(cA, { ndf: opts.ndf, numLayers: opts.numLayersD, norm });
    this.discriminatorB = new PatchGANDiscriminator(cB, { ndf: opts.ndf, numLayers: opts.numLayersD, norm });
  }

  /** G(a): A → B. */
  forward(x: Tensor): Tensor {
    return this.generatorAB.forward(x);
  }

  /** Parameters of both generators (for optimizerG). */
  generatorParameters(): Parameter[] {
    return [...this.generatorAB.parameters(), ...this.generatorBA.parameters()];
  }

  /** Parameters of both discriminators (for optimizerD). */
  discriminatorParameters(): Parameter[] {
    return [...this.discriminatorA.parameters(), ...this.discriminatorB.parameters()];
  }
}

/** Losses of the last step of cycleganTrainingStep, for logging. */
export interface CycleGanTrainingStep {
  (batch: readonly Tensor[]): { loss: Tensor };
  /** The last step's losses (lossG is filled in from the returned tensor). */
  last: CycleGanStepResult | null;
}

/**
 * A `trainingStep` for `fit` (Lightning's manual-optimisation pattern with fit's optimizer as optimizerG): each
 * batch [imagesA, imagesB] first updates the discriminators with `optimizerD` on detached (pooled) fakes, then
 * returns the generators' objective, which fit back-propagates and steps with its optimizer (over
 * `model.generatorParameters()`). D's gradients from the generator loss are cleared by optimizerD's next zeroGrad.
 * The order differs from `cycleganStep` (D before G), like ganStep: the fakes D sees are the same either way.
 */
export function cycleganTrainingStep(
  nets: CycleGanNets,
  optimizerD: Optimizer,
  opts: CycleGanStepOptions = {},
): CycleGanTrainingStep {
  const step = ((batch: readonly Tensor[]) => {
    if (!Array.isArray(batch) || batch.length < 2)
      throw new Error('cycleganTrainingStep: batches must be [imagesA, imagesB]');
    const [realA, realB] = batch;
    checkStep('cycleganTrainingStep', realA, realB, opts);
    const fakes = noGrad(() => [nets.generatorBA.forward(realB) as Tensor, nets.generatorAB.forward(realA) as Tensor]);
    const [lossDA, lossDB] = discriminatorUpdate(nets, optimizerD, realA, realB, fakes[0], fakes[1], opts);
    const g = generatorPass(nets, realA, realB, opts);
    step.last = { lossG: g.lossG.item(), ...g.parts, lossDA, lossDB };
    return { loss: g.lossG };
  }) as CycleGanTrainingStep;
  step.last = null;
  return step;
}
