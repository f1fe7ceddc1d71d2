/** `tatami predict`: top-k classes of image files, for a trained run (`--run`) or a zoo model with weights. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { getModel, predict, IMAGENET_CLASSES, imagenetPreprocess } from '../models/index.js';
import { loadSafetensors } from '../io/safetensors.js';
import { readImage } from '../io/image.js';
import { adaptImage, CliError, nonEmptyPath, positiveInt, readRunConfig, runWeights } from './common.js';

export function registerPredict(program: Command): Command {
  return program
    .command('predict <images...>')
    .description('classify images: top-k classes with probabilities')
    .option('--model <name>', 'zoo model (ImageNet models use torchvision preprocessing)', 'resnet18')
    .option('--weights <file>', 'weights (.safetensors); default with --run: its model.safetensors', nonEmptyPath('--weights'))
    .option('--run <dir>', 'a `tatami train` output folder (uses its config.json and model.safetensors)', nonEmptyPath('--run'))
    .option('--topk <k>', 'classes shown', positiveInt('--topk'), 5)
    .action(async (images: string[], opts: { model: string; weights?: string; run?: string; topk: number }) => {
      const missing = images.filter((p) => !existsSync(p));
      if (missing.length) throw new CliError(`no such image file: ${missing.join(', ')}`);
      let labels: readonly string[] = IMAGENET_CLASSES;
      let name = opts.model;
      let weights = opts.weights;
      let prepare = (img: Tensor): Tensor => imagenetPreprocess(img);
      if (opts.run) {
        const cfg = readRunConfig(opts.run);
        name = cfg.model;
        labels = cfg.classes;
        weights ??= runWeights(opts.run);
        prepare = (img) => adaptImage(img, cfg.inputShape, cfg.normalize);
      }
      if (!weights) throw new CliError('--weights <file.safetensors> is required (export torchvision weights with tools/export_torchvision.py), or --run <dir>');
      if (!existsSync(weights)) throw new CliError(`--weights ${weights}: no such file`);
      const model = getModel(name, { numClasses: labels.length }) as Module<[Tensor], Tensor>;
      model.loadStateDict(await loadSafetensors(weights));
      for (const path of images) {
        const x = prepare(readImage(path, { mode: 'rgb' }));
        console.log(path);
        for (const p of predict(model, x, { topk: Math.min(opts.topk, labels.length), labels })) console.log(`  ${(p.probability * 100).toFixed(2).padStart(6)}%  ${p.label}`);
      }
      console.log(`(${name} with ${weights}; printed only, nothing written)`);
    });
}
