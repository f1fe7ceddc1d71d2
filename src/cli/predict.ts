/** `tatami predict`: top-k classes of image files, for a trained run (`--run`) or a zoo model with weights. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { getModel, predict, IMAGENET_CLASSES, imagenetPreprocess } from '../models/index.js';
import { loadSafetensors } from '../io/safetensors.js';
import { readImage } from '../io/image.js';
import { adaptImage, CliError, nonEmptyPath, positiveInt, readRunConfig, runWeights, unitInterval } from './common.js';
import { listSegmentationModels, type TtaMode } from '../models/segmentation/index.js';
import { isSegmentRun, runSegmentPredict, ttaOption } from './segment.js';
import { isDetectRun, isDetector, runDetectPredict } from './detect.js';

export function registerPredict(program: Command): Command {
  return program
    .command('predict <images...>')
    .description(
      'classify images: top-k classes with probabilities (segmentation: mask PNG + overlay; detection: boxes, labels, scores and masks drawn into a PNG, JSON printed)',
    )
    .option('--model <name>', 'zoo model (ImageNet models use torchvision preprocessing)', 'resnet18')
    .option(
      '--weights <file>',
      'weights (.safetensors); default with --run: its model.safetensors',
      nonEmptyPath('--weights'),
    )
    .option(
      '--run <dir>',
      'a `tatami train` output folder (uses its config.json and model.safetensors)',
      nonEmptyPath('--run'),
    )
    .option('--topk <k>', 'classes shown', positiveInt('--topk'), 5)
    .option(
      '--out <file>',
      'segmentation: mask PNG of a single image (default <image name>-mask.png here); the colour overlay goes beside it as *-overlay.png',
      nonEmptyPath('--out'),
    )
    .option(
      '--num-classes <n>',
      'segmentation / detection --model: classes of the weights (default 21; detectors 91)',
      positiveInt('--num-classes'),
    )
    .addOption(ttaOption())
    .option(
      '--score-threshold <x>',
      'detection: draw and print detections scoring at least this',
      unitInterval('--score-threshold'),
      0.5,
    )
    .action(
      async (
        images: string[],
        opts: {
          model: string;
          weights?: string;
          run?: string;
          topk: number;
          out?: string;
          numClasses?: number;
          scoreThreshold: number;
          tta?: TtaMode;
        },
      ) => {
        const missing = images.filter((p) => !existsSync(p));
        if (missing.length) throw new CliError(`no such image file: ${missing.join(', ')}`);
        const segmentation = opts.run
          ? isSegmentRun(opts.run)
          : listSegmentationModels().some((m) => m.name === opts.model);
        if (opts.tta && !segmentation) throw new CliError('--tta applies to segmentation runs and models only');
        // Detection runs and detectors: boxes, labels, scores and masks drawn into a PNG; JSON printed.
        if (opts.run ? isDetectRun(opts.run) : isDetector(opts.model)) {
          if (opts.out && images.length > 1)
            throw new CliError(
              `--out names one PNG but ${images.length} images were given; drop --out to write <image name>-detections.png for each`,
            );
          for (const path of images)
            await runDetectPredict(path, {
              run: opts.run,
              model: opts.run ? undefined : opts.model,
              weights: opts.weights,
              numClasses: opts.numClasses ?? 91,
              scoreThreshold: opts.scoreThreshold,
              out: opts.out ?? `${basename(path).replace(/\.[^.]+$/, '')}-detections.png`,
            });
          return;
        }
        // Segmentation runs and models: a palette mask PNG and a colour overlay per image.
        if (segmentation) {
          if (opts.out && images.length > 1)
            throw new CliError(
              `--out names one mask file but ${images.length} images were given; drop --out to write <image name>-mask.png for each`,
            );
          for (const path of images) {
            const out = opts.out ?? `${basename(path).replace(/\.[^.]+$/, '')}-mask.png`;
            await runSegmentPredict(path, {
              run: opts.run,
              model: opts.run ? undefined : opts.model,
              weights: opts.weights,
              numClasses: opts.numClasses ?? 21,
              out,
              tta: opts.tta,
            });
          }
          return;
        }
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
        if (!weights)
          throw new CliError(
            '--weights <file.safetensors> is required (export torchvision weights with tools/export_torchvision.py), or --run <dir>',
          );
        if (!existsSync(weights)) throw new CliError(`--weights ${weights}: no such file`);
        const model = getModel(name, { numClasses: labels.length }) as Module<[Tensor], Tensor>;
        model.loadStateDict(await loadSafetensors(weights));
        for (const path of images) {
          const x = prepare(readImage(path, { mode: 'rgb' }));
          console.log(path);
          for (const p of predict(model, x, { topk: Math.min(opts.topk, labels.length), labels }))
            console.log(`  ${(p.probability * 100).toFixed(2).padStart(6)}%  ${p.label}`);
        }
        console.log(`(${name} with ${weights}; printed only, nothing written)`);
      },
    );
}
