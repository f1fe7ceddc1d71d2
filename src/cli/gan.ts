/**
 * `tatami gan train`: trains the 1×28×28 DCGAN or the conditional GAN on Fashion-MNIST with `fit` and
 * models.ganTrainingStep (fit steps G; the step updates D first).
 *
 *   tatami gan train --model dcgan --epochs 5 --out runs/dcgan
 *   tatami gan train --model cgan --loss hinge --data embedded --steps-per-epoch 100 --out runs/cgan
 *
 * The progress bar shows D's and G's losses (fit's `loss` is G's); after each epoch a sample grid from fixed noise is
 * written to `<out>/samples-epoch-<k>.png` and listed with the epoch's mean losses in `<out>/report.md`; fit's
 * epoch records (trainLossD, trainLossG, trainDReal, trainDFake …) go to history.jsonl. The run folder holds
 * config.json, generator.safetensors and discriminator.safetensors, which `tatami generate --run` reads.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { noGrad } from '../autograd/grad-mode.js';
import { DataLoader } from '../data/dataloader.js';
import { TensorDataset } from '../data/dataset.js';
import { FashionMNIST } from '../data/idx.js';
import { RandomSampler } from '../data/sampler.js';
import { saveImageGrid } from '../io/image.js';
import { saveSafetensors } from '../io/safetensors.js';
import {
  ConditionalGenerator,
  ProjectionDiscriminator,
  dcgan,
  dcganInit,
  GAN,
  ganTrainingStep,
  type GanLossKind,
} from '../models/gan.js';
import type { AnyModule, Module } from '../nn/module.js';
import { Adam } from '../optim/adam.js';
import { fit, type EpochRecord } from '../train/fit.js';
import { randn, tensor } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { CliError, positiveInt } from './common.js';

/** What `tatami gan train` records in config.json; `tatami generate` rebuilds the generator from it. */
export interface GanRunConfig {
  kind: 'gan';
  model: 'dcgan' | 'cgan';
  width: number;
  nz: number;
  numClasses: number;
  classes: string[];
  loss: GanLossKind;
  epochs: number;
  stepsPerEpoch: number;
  batchSize: number;
  lr: number;
  data: string;
}

const MODELS = ['dcgan', 'cgan'] as const;
const LOSSES: readonly GanLossKind[] = ['bce', 'lsgan', 'hinge', 'wgan-gp'];

function choice<T extends string>(name: string, values: readonly T[]) {
  return (v: string): T => {
    if (!(values as readonly string[]).includes(v))
      throw new InvalidArgumentError(`${name} must be one of ${values.join(', ')}, got '${v}'`);
    return v as T;
  };
}

function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a positive number, got '${v}'`);
    return n;
  };
}

/** The generator a GAN run config describes (untrained). */
export function buildGanGenerator(cfg: Pick<GanRunConfig, 'model' | 'width' | 'nz' | 'numClasses'>): AnyModule {
  return cfg.model === 'cgan'
    ? new ConditionalGenerator(cfg.numClasses, { width: cfg.width, nz: cfg.nz })
    : dcgan({ imageSize: 28, ngf: cfg.width, ndf: cfg.width, nz: cfg.nz }).generator;
}

interface GanTrainOptions {
  model: 'dcgan' | 'cgan';
  data: string;
  epochs: number;
  stepsPerEpoch?: number;
  batchSize: number;
  lr: number;
  loss: GanLossKind;
  width: number;
  seed: number;
  out: string;
  progress: boolean;
}

async function ganTrain(opts: GanTrainOptions, log: (s: string) => void): Promise<void> {
  const ds =
    opts.data === 'embedded'
      ? new FashionMNIST({ subset: 'embedded' })
      : new FashionMNIST({ root: opts.data === 'fashion-mnist' ? undefined : opts.data });
  const images = ds.data.to('float32').div(127.5).sub(1).unsqueeze(1); // tanh range
  const n = images.shape[0];
  const steps = opts.stepsPerEpoch ?? Math.floor(n / opts.batchSize);
  if (steps < 1) throw new CliError(`gan train: ${n} images make no batch of ${opts.batchSize}`);
  const gen = new Generator(opts.seed);
  const nz = 100,
    numClasses = FashionMNIST.classes.length;
  const cond = opts.model === 'cgan';
  const G = buildGanGenerator({ model: opts.model, width: opts.width, nz, numClasses }) as Module;
  const D: AnyModule = cond
    ? // the label enters every D layer as one-hot maps besides the projection: examples/cgan-fashion-proof.ts
      new ProjectionDiscriminator(numClasses, { width: opts.width, labelMaps: true })
    : dcgan({ imageSize: 28, ngf: opts.width, ndf: opts.width, nz }).discriminator;
  dcganInit(G, gen);
  if (!cond) dcganInit(D, gen);
  const wgan = opts.loss === 'wgan-gp';
  const betas: [number, number] = wgan ? [0.5, 0.9] : [0.5, 0.999];
  const gan = new GAN(G, D);
  const step = ganTrainingStep(gan, new Adam(D.parameters(), { lr: opts.lr, betas }), {
    loss: opts.loss,
    labelSmoothing: opts.loss === 'bce' ? 0.1 : 0,
    dSteps: wgan ? 5 : 1,
    nz,
    generator: gen,
    conditional: cond,
  });
  const cfg: GanRunConfig = {
    kind: 'gan',
    model: opts.model,
    width: opts.width,
    nz,
    numClasses,
    classes: [...FashionMNIST.classes],
    loss: opts.loss,
    epochs: opts.epochs,
    stepsPerEpoch: steps,
    batchSize: opts.batchSize,
    lr: opts.lr,
    data: opts.data,
  };
  await mkdir(opts.out, { recursive: true });
  writeFileSync(join(opts.out, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
  // fixed noise (and, for the cGAN, one row per class) so the epoch grids are comparable
  const fixedZ = randn([64, nz, 1, 1], { generator: new Generator(opts.seed + 1) });
  const fixedY = tensor(
    Array.from({ length: 64 }, (_, i) => Math.floor(i / 8) % numClasses),
    { dtype: 'int32' },
  );
  const report = [
    `# tatami gan train — ${opts.model}`,
    '',
    `${n} images, ${steps} steps of ${opts.batchSize} per epoch, loss ${opts.loss}, lr ${opts.lr}, width ${opts.width}`,
    '',
    '| epoch | loss D | loss G | D(real) | D(fake) | seconds | samples |',
    '|---|---|---|---|---|---|---|',
  ];
  // one shuffled pass over the images per epoch, or --steps-per-epoch batches from shuffled passes
  const ds2 = new TensorDataset(images, ds.targets);
  const loader = new DataLoader(ds2, {
    batchSize: opts.batchSize,
    dropLast: true,
    generator: gen,
    sampler: new RandomSampler(ds2, { numSamples: steps * opts.batchSize }),
  });
  const historyPath = join(opts.out, 'history.jsonl');
  writeFileSync(historyPath, '');
  const onEpochEnd = async (rec: EpochRecord) => {
    const epoch = rec.epoch;
    const file = `samples-epoch-${epoch}.png`;
    const samples = noGrad(() => {
      G.eval();
      const out = cond ? (G as unknown as ConditionalGenerator).forward(fixedZ, fixedY) : G.forward(fixedZ);
      G.train();
      return out as Tensor;
    });
    saveImageGrid(join(opts.out, file), samples, { nrow: 8, normalize: true, valueRange: [-1, 1] });
    const m = (v: number | undefined) => (v ?? NaN).toFixed(4);
    log(
      `epoch ${epoch}/${opts.epochs} · loss_D ${m(rec.trainLossD)} · loss_G ${m(rec.trainLossG)} · D(real) ${m(rec.trainDReal)} · D(fake) ${m(rec.trainDFake)} · ${rec.seconds.toFixed(1)}s`,
    );
    report.push(
      `| ${epoch} | ${m(rec.trainLossD)} | ${m(rec.trainLossG)} | ${m(rec.trainDReal)} | ${m(rec.trainDFake)} | ${rec.seconds.toFixed(1)} | ![epoch ${epoch}](${file}) |`,
    );
    writeFileSync(join(opts.out, 'report.md'), report.join('\n') + '\n');
    appendFileSync(historyPath, JSON.stringify(rec) + '\n');
    await saveSafetensors(join(opts.out, 'generator.safetensors'), G.stateDict());
    await saveSafetensors(join(opts.out, 'discriminator.safetensors'), (D as Module).stateDict());
  };
  await fit(gan, loader, {
    epochs: opts.epochs,
    optimizer: new Adam(G.parameters(), { lr: opts.lr, betas }),
    trainingStep: step,
    progress: opts.progress,
    // fit's own epoch line (loss = G's) only with the bar; the GAN line above is always logged
    log: opts.progress ? undefined : () => {},
    callbacks: [{ onEpochEnd }],
  });
  log(
    `wrote ${opts.out}: config.json, generator.safetensors, discriminator.safetensors, report.md, samples-epoch-*.png`,
  );
}

/** Registers `tatami gan train`. */
export function registerGanCommands(program: Command): void {
  const gan = program.command('gan').description('generative adversarial networks on Fashion-MNIST (28×28)');
  gan
    .command('train')
    .description(
      'train the 28×28 DCGAN or the conditional GAN; D/G losses in the progress bar, a sample grid per epoch',
    )
    .option('--model <name>', `dcgan or cgan`, choice('--model', MODELS), 'dcgan')
    .option(
      '--data <src>',
      "'fashion-mnist' (the full set, located as FashionMNIST does), 'embedded' (the shipped subset) or a folder of IDX files",
      'fashion-mnist',
    )
    .option('--epochs <n>', 'epochs', positiveInt('--epochs'), 5)
    .option(
      '--steps-per-epoch <n>',
      'batches per epoch (default: one pass over the images)',
      positiveInt('--steps-per-epoch'),
    )
    .option('--batch-size <n>', 'batch size', positiveInt('--batch-size'), 64)
    .option('--lr <x>', 'Adam learning rate of G and D', positiveNumber('--lr'), 2e-4)
    .option('--loss <kind>', `adversarial loss: ${LOSSES.join(', ')}`, choice('--loss', LOSSES), 'bce')
    .option('--width <n>', 'ngf = ndf of the networks', positiveInt('--width'), 32)
    .option('--seed <n>', 'random seed', positiveInt('--seed'), 1)
    .option('--no-progress', 'no progress bar')
    .requiredOption('--out <dir>', 'run folder to write')
    .action(async (o: GanTrainOptions) => {
      await ganTrain(o, (s) => console.log(s));
    });
}
