/**
 * `tatami translate`: runs a trained image-to-image generator on one image.
 *
 *   tatami translate --model cyclegan --weights G_day2night.safetensors day.png night.png
 *   tatami translate --model pix2pix --weights unet.safetensors edges.png shoe.png
 *
 * `cyclegan` is a models.ResnetGenerator state dict (or a models.CycleGAN one: `--direction AB|BA` picks
 * generatorAB or generatorBA), `pix2pix` a models.UnetGenerator one; channels, width, depth and norm are read from
 * the weights. Pixels are mapped to [−1, 1] for the tanh generators and back; the image is cropped to a multiple of
 * the generator's total stride (4 for the ResNet generator, 2^numDowns for the U-Net).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { noGrad } from '../autograd/grad-mode.js';
import { readImage, writeImage } from '../io/image.js';
import { loadSafetensors } from '../io/safetensors.js';
import { ResnetGenerator } from '../models/cyclegan.js';
import { UnetGenerator } from '../models/pix2pix.js';
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { CliError } from './common.js';

type TranslateModel = 'cyclegan' | 'pix2pix';

interface TranslateOptions {
  model: TranslateModel;
  weights: string;
  direction: 'AB' | 'BA';
}

/** Builds the generator whose sizes the state dict gives, and the stride its input size must be a multiple of. */
export function translatorFromWeights(
  model: TranslateModel,
  sd: Record<string, Tensor>,
  weights: string,
): { net: Module; inChannels: number; stride: number } {
  const need = (key: string, rank = 4): number[] => {
    const t = sd[key];
    if (!t || t.shape.length !== rank)
      throw new CliError(
        `--weights ${weights}: no ${rank}-D '${key}' tensor, so these are not ${model} generator weights (keys: ${Object.keys(sd).slice(0, 6).join(', ')}…)`,
      );
    return t.shape;
  };
  if (model === 'cyclegan') {
    const [ngf, inC] = need('model.1.weight');
    const last = Object.keys(sd)
      .filter((k) => /^model\.\d+\.weight$/.test(k) && sd[k].shape.length === 4)
      .sort((a, b) => Number(b.split('.')[1]) - Number(a.split('.')[1]))[0];
    const outC = need(last)[0];
    const blocks = new Set(
      Object.keys(sd)
        .filter((k) => k.includes('.conv_block.'))
        .map((k) => k.split('.')[1]),
    ).size;
    const norm = sd['model.2.running_mean'] ? 'batch' : 'instance';
    return { net: new ResnetGenerator(inC, outC, { ngf, numBlocks: blocks, norm }), inChannels: inC, stride: 4 };
  }
  const [ngf, inC] = need('model.model.0.weight');
  const outC = need('model.model.3.weight')[1]; // ConvTranspose2d weight: [in, out, k, k]
  const convs = Object.keys(sd).filter((k) => k.endsWith('.weight') && sd[k].shape.length === 4).length;
  const numDowns = convs / 2;
  return { net: new UnetGenerator(inC, outC, { ngf, numDowns }), inChannels: inC, stride: 2 ** numDowns };
}

async function translate(input: string, output: string, o: TranslateOptions): Promise<void> {
  let sd = await loadSafetensors(o.weights);
  // a whole models.CycleGAN checkpoint: take the requested generator
  const prefix = o.direction === 'BA' ? 'generatorBA.' : 'generatorAB.';
  if (Object.keys(sd).some((k) => k.startsWith(prefix))) {
    sd = Object.fromEntries(
      Object.entries(sd)
        .filter(([k]) => k.startsWith(prefix))
        .map(([k, v]) => [k.slice(prefix.length), v]),
    );
  }
  const { net, inChannels, stride } = translatorFromWeights(o.model, sd, o.weights);
  const res = net.loadStateDict(sd);
  if (res.missingKeys.length || res.unexpectedKeys.length) {
    throw new CliError(
      `--weights ${o.weights}: do not fit ${o.model} (missing ${res.missingKeys.slice(0, 4).join(', ') || '-'}; unexpected ${res.unexpectedKeys.slice(0, 4).join(', ') || '-'})`,
    );
  }
  net.eval();
  const img = readImage(input, { mode: inChannels === 1 ? 'gray' : 'rgb' })
    .to('float32')
    .div(255);
  const h = Math.floor(img.shape[1] / stride) * stride,
    w = Math.floor(img.shape[2] / stride) * stride;
  if (h === 0 || w === 0)
    throw new CliError(`${input}: ${img.shape[2]}×${img.shape[1]} is smaller than the generator's stride ${stride}`);
  const x = img.narrow(1, 0, h).narrow(2, 0, w).unsqueeze(0).mul(2).sub(1);
  const y = noGrad(() => (net.forward(x) as Tensor).add(1).div(2).clamp(0, 1).squeeze(0));
  writeImage(output, y.mul(255).round().to('uint8'));
  console.log(`wrote ${output} (${o.model}, ${w}×${h})`);
}

/** Registers `tatami translate`. */
export function registerTranslate(program: Command): void {
  program
    .command('translate')
    .description('translate an image with a trained CycleGAN (ResNet) or pix2pix (U-Net) generator')
    .argument('<in>', 'input image (PNG or JPEG)')
    .argument('<out>', 'output PNG')
    .option(
      '--model <name>',
      'cyclegan or pix2pix',
      (v: string): TranslateModel => {
        if (v !== 'cyclegan' && v !== 'pix2pix')
          throw new InvalidArgumentError(`--model must be cyclegan or pix2pix, got '${v}'`);
        return v;
      },
      'cyclegan',
    )
    .requiredOption('--weights <file>', 'generator weights (.safetensors), or a whole models.CycleGAN state dict')
    .option(
      '--direction <d>',
      'with a whole CycleGAN state dict: AB (generatorAB) or BA (generatorBA)',
      (v: string): 'AB' | 'BA' => {
        if (v !== 'AB' && v !== 'BA') throw new InvalidArgumentError(`--direction must be AB or BA, got '${v}'`);
        return v;
      },
      'AB',
    )
    .action(async (input: string, output: string, o: TranslateOptions) => {
      await translate(input, output, o);
    });
}
