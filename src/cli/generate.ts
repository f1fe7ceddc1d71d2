/**
 * `tatami generate`: samples a trained `tatami gan train` run into a PNG grid.
 *
 *   tatami generate --run runs/dcgan --n 64 --out samples.png
 *   tatami generate --run runs/cgan --class Sneaker --out sneakers.png      (a class name or index)
 *   tatami generate --run runs/dcgan --interpolate --n 64 --out walk.png    (rows walk linearly between two z)
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { noGrad } from '../autograd/grad-mode.js';
import { saveImageGrid } from '../io/image.js';
import { loadSafetensors } from '../io/safetensors.js';
import type { ConditionalGenerator } from '../models/gan.js';
import type { Module } from '../nn/module.js';
import { randn, tensor } from '../tensor/creation.js';
import { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { CliError, positiveInt } from './common.js';
import { buildGanGenerator, type GanRunConfig } from './gan.js';

interface GenerateOptions {
  run: string;
  n: number;
  out: string;
  class?: string;
  interpolate?: boolean;
  nrow: number;
  seed: number;
}

/** Reads `<run>/config.json` of `tatami gan train`, with errors that name the path. */
export function readGanRun(run: string): GanRunConfig {
  const path = join(run, 'config.json');
  if (!existsSync(path))
    throw new CliError(`--run ${run}: ${path} is missing (expected the output folder of \`tatami gan train\`)`);
  let cfg: Partial<GanRunConfig>;
  try {
    cfg = JSON.parse(readFileSync(path, 'utf8')) as Partial<GanRunConfig>;
  } catch (e) {
    throw new CliError(`--run ${run}: ${path} is not valid JSON (${(e as Error).message})`);
  }
  if (
    cfg.kind !== 'gan' ||
    (cfg.model !== 'dcgan' && cfg.model !== 'cgan') ||
    !Number.isInteger(cfg.width) ||
    !Number.isInteger(cfg.nz) ||
    !Array.isArray(cfg.classes)
  ) {
    throw new CliError(
      `--run ${run}: ${path} is not a \`tatami gan train\` config (expected kind "gan", model dcgan|cgan, width, nz, classes)`,
    );
  }
  return cfg as GanRunConfig;
}

function classIndex(cfg: GanRunConfig, v: string): number {
  const byName = cfg.classes.findIndex(
    (c) =>
      c.toLowerCase() === v.toLowerCase() ||
      c.toLowerCase().replace(/\W+/g, '') === v.toLowerCase().replace(/\W+/g, ''),
  );
  if (byName >= 0) return byName;
  const k = Number(v);
  if (v.trim() !== '' && Number.isInteger(k) && k >= 0 && k < cfg.numClasses) return k;
  throw new CliError(
    `--class must be a class index 0–${cfg.numClasses - 1} or one of ${cfg.classes.join(', ')}, got '${v}'`,
  );
}

async function generate(o: GenerateOptions): Promise<void> {
  const cfg = readGanRun(o.run);
  const weights = join(o.run, 'generator.safetensors');
  if (!existsSync(weights))
    throw new CliError(`--run ${o.run}: ${weights} is missing (the run did not finish an epoch)`);
  if (o.class !== undefined && cfg.model !== 'cgan')
    throw new CliError(`--class needs a conditional GAN run (this run is ${cfg.model})`);
  const G = buildGanGenerator(cfg) as Module;
  G.loadStateDict(await loadSafetensors(weights));
  G.eval();
  const gen = new Generator(o.seed);
  let z: Tensor;
  if (o.interpolate) {
    // each row goes linearly from one z to another in nrow steps
    const rows = Math.max(1, Math.ceil(o.n / o.nrow));
    const ends = randn([rows, 2, cfg.nz], { generator: gen }).dataView();
    const data = new Float32Array(rows * o.nrow * cfg.nz);
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < o.nrow; k++) {
        const t = o.nrow === 1 ? 0 : k / (o.nrow - 1);
        for (let j = 0; j < cfg.nz; j++)
          data[(r * o.nrow + k) * cfg.nz + j] = (1 - t) * ends[r * 2 * cfg.nz + j] + t * ends[(r * 2 + 1) * cfg.nz + j];
      }
    }
    z = tensor(Array.from(data), { dtype: 'float32' })
      .reshape([rows * o.nrow, cfg.nz, 1, 1])
      .narrow(0, 0, o.n);
  } else {
    z = randn([o.n, cfg.nz, 1, 1], { generator: gen });
  }
  const samples = noGrad(() => {
    if (cfg.model === 'dcgan') return G.forward(z) as Tensor;
    // without --class: classes in turn, one row each (interpolation rows keep their class)
    const labels = Array.from({ length: o.n }, (_, i) =>
      o.class !== undefined ? classIndex(cfg, o.class) : Math.floor(i / o.nrow) % cfg.numClasses,
    );
    return (G as unknown as ConditionalGenerator).forward(z, tensor(labels, { dtype: 'int32' }));
  });
  saveImageGrid(o.out, samples, { nrow: o.nrow, normalize: true, valueRange: [-1, 1] });
  console.log(
    `wrote ${o.out}: ${o.n} samples of ${cfg.model}${o.class !== undefined ? ` (class ${cfg.classes[classIndex(cfg, o.class)]})` : ''}${o.interpolate ? ', interpolated rows' : ''}`,
  );
}

/** Registers `tatami generate`. */
export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('sample a `tatami gan train` run into a PNG grid (--class for a cGAN, --interpolate for latent walks)')
    .requiredOption('--run <dir>', 'run folder of `tatami gan train`')
    .option('--n <n>', 'number of samples', positiveInt('--n'), 64)
    .option('--class <c>', 'class index or name (conditional GAN runs)')
    .option('--interpolate', 'rows walk linearly between two random latent vectors')
    .option('--nrow <n>', 'images per row', positiveInt('--nrow'), 8)
    .option('--seed <n>', 'random seed', positiveInt('--seed'), 1)
    .option('--out <file>', 'PNG to write', 'samples.png')
    .action(async (o: GenerateOptions) => {
      await generate(o);
    });
}
