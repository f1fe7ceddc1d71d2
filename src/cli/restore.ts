/**
 * `tatami restore`: runs a trained restoration network on one image.
 *
 *   tatami restore --model dncnn --weights dncnn.safetensors noisy.png clean.png
 *   tatami restore --model srcnn --weights srcnn.safetensors --scale 3 small.png large.png   (bilinear ×3, then SRCNN)
 *   tatami restore --model espcn --weights espcn.safetensors small.png large.png             (×r from the weights)
 *
 * The architecture's sizes (channels, depth, width, upscale factor) are read from the weights' shapes. A gray
 * model restores each channel of a colour image as its own plane.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { noGrad } from '../autograd/grad-mode.js';
import { readImage, writeImage } from '../io/image.js';
import { loadSafetensors } from '../io/safetensors.js';
import { DnCNN, ESPCN, SRCNN } from '../models/restoration.js';
import type { Module } from '../nn/module.js';
import { interpolate } from '../ops/interpolate.js';
import type { Tensor } from '../tensor/tensor.js';
import { CliError, positiveInt } from './common.js';

type RestoreModel = 'dncnn' | 'srcnn' | 'espcn';

interface RestoreOptions {
  model: RestoreModel;
  weights: string;
  scale: number;
}

function shapeOf(sd: Record<string, Tensor>, key: string, model: string, weights: string): number[] {
  const t = sd[key];
  if (!t || t.shape.length !== 4)
    throw new CliError(
      `--weights ${weights}: no 4-D '${key}' tensor, so these are not ${model} weights (keys: ${Object.keys(sd).slice(0, 6).join(', ')}…)`,
    );
  return t.shape;
}

/** Builds the network whose sizes the state dict's shapes give. */
export function restorationFromWeights(
  model: RestoreModel,
  sd: Record<string, Tensor>,
  weights: string,
): { net: Module; channels: number; factor: number } {
  if (model === 'dncnn') {
    const [f, c] = shapeOf(sd, 'net.0.weight', model, weights);
    const depth = Object.keys(sd).filter((k) => /^net\.\d+\.weight$/.test(k) && sd[k].shape.length === 4).length;
    return { net: new DnCNN({ channels: c, depth, features: f }), channels: c, factor: 1 };
  }
  if (model === 'srcnn') {
    const [n1, c, f1] = shapeOf(sd, '0.weight', model, weights),
      [n2, , f2] = shapeOf(sd, '2.weight', model, weights),
      [, , f3] = shapeOf(sd, '4.weight', model, weights);
    return { net: new SRCNN({ channels: c, kernelSizes: [f1, f2, f3], features: [n1, n2] }), channels: c, factor: 1 };
  }
  const [, c] = shapeOf(sd, '0.weight', model, weights),
    [out] = shapeOf(sd, '4.weight', model, weights);
  const r = Math.round(Math.sqrt(out / c));
  if (r * r * c !== out)
    throw new CliError(`--weights ${weights}: the last ESPCN layer has ${out} channels, not C·r² for C = ${c}`);
  return { net: new ESPCN({ channels: c, upscaleFactor: r }), channels: c, factor: r };
}

async function restore(input: string, output: string, o: RestoreOptions): Promise<void> {
  const sd = await loadSafetensors(o.weights);
  const { net, channels, factor } = restorationFromWeights(o.model, sd, o.weights);
  const res = net.loadStateDict(sd);
  if (res.missingKeys.length || res.unexpectedKeys.length) {
    throw new CliError(
      `--weights ${o.weights}: do not fit ${o.model} (missing ${res.missingKeys.join(', ') || '-'}; unexpected ${res.unexpectedKeys.join(', ') || '-'})`,
    );
  }
  net.eval();
  let img = readImage(input).to('float32').div(255); // [C, H, W] in [0, 1]
  const c = img.shape[0];
  if (channels !== 1 && channels !== c)
    throw new CliError(`${input}: the image has ${c} channels, the ${o.model} weights expect ${channels}`);
  const out = noGrad(() => {
    // a gray model sees each channel as its own image
    let x = channels === 1 ? img.unsqueeze(1) : img.unsqueeze(0);
    if (o.model === 'srcnn' && o.scale > 1) x = interpolate(x, { scaleFactor: o.scale, mode: 'bilinear' });
    const y = net.forward(x) as Tensor;
    return (channels === 1 ? y.squeeze(1) : y.squeeze(0)).clamp(0, 1);
  });
  img = out;
  writeImage(output, img.mul(255).round().to('uint8'));
  console.log(
    `wrote ${output} (${o.model}${factor > 1 ? ` ×${factor}` : o.model === 'srcnn' && o.scale > 1 ? ` ×${o.scale}` : ''}, ${img.shape[2]}×${img.shape[1]})`,
  );
}

/** Registers `tatami restore`. */
export function registerRestore(program: Command): void {
  program
    .command('restore')
    .description('denoise (DnCNN) or super-resolve (SRCNN, ESPCN) an image with trained weights')
    .argument('<in>', 'input image (PNG or JPEG)')
    .argument('<out>', 'output PNG')
    .option(
      '--model <name>',
      'dncnn, srcnn or espcn',
      (v: string): RestoreModel => {
        if (v !== 'dncnn' && v !== 'srcnn' && v !== 'espcn')
          throw new InvalidArgumentError(`--model must be dncnn, srcnn or espcn, got '${v}'`);
        return v;
      },
      'dncnn',
    )
    .requiredOption('--weights <file>', 'trained weights (.safetensors state dict of the model)')
    .option('--scale <n>', 'SRCNN: upscale the input by this factor before the network', positiveInt('--scale'), 1)
    .action(async (input: string, output: string, o: RestoreOptions) => {
      await restore(input, output, o);
    });
}
