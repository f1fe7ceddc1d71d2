/**
 * What the `tatami` subcommands share: typed option parsers whose errors name the option, the value and what was
 * expected; reading a `tatami train` run folder (config.json + weights) with errors that name the path; and the
 * preprocessing that turns any image into the input a run's model was trained on.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { Tensor } from '../tensor/tensor.js';
import * as T from '../data/transforms.js';
import type { TransformLike } from '../data/transform-base.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../data/transforms.js';
import { CosineAnnealingLR, OneCycleLR, type AnyOptimizer, type LRScheduler } from '../optim/lr-scheduler.js';

/** An error meant for the command line: printed as `tatami <command>: <message>`, without a stack trace. */
export class CliError extends Error {
  override name = 'CliError';
}

/** `tatami <command>: <message>`, without repeating a prefix the message already has. */
export function formatError(command: string, err: unknown): string {
  let msg = err instanceof Error ? err.message : String(err);
  const prefixes = command ? [`tatami ${command}: `, 'tatami: ', `${command}: `] : ['tatami: '];
  for (const prefix of prefixes) if (msg.startsWith(prefix)) msg = msg.slice(prefix.length);
  return command ? `tatami ${command}: ${msg}` : `tatami: ${msg}`;
}

/** `--name <n>`: an integer ≥ 1. */
export function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a positive integer, got '${v}'`);
    return n;
  };
}

/** `--name <n>`: an integer ≥ 0. */
export function nonNegativeInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative integer, got '${v}'`);
    return n;
  };
}

/** `--name <x>`: a finite number ≥ 0. */
export function nonNegativeNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative number, got '${v}'`);
    return n;
  };
}

/** `--name <x>`: a fraction in [0, 1) — a held-out share must leave something to train on. */
export function fraction(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) {
      throw new InvalidArgumentError(
        `${name} must be a fraction in [0, 1) (the share held out; 1 would leave no training images), got '${v}'`,
      );
    }
    return n;
  };
}

/** `--name <x>`: a number in [0, 1] (PyTorch's range for label smoothing). */
export function unitInterval(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
      throw new InvalidArgumentError(`${name} must be a number in [0, 1], got '${v}'`);
    return n;
  };
}

/** `--name <n>`: any integer (seeds). */
export function integer(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isSafeInteger(n))
      throw new InvalidArgumentError(`${name} must be an integer, got '${v}'`);
    return n;
  };
}

/** `--name <x>`: a finite number > 0 (learning rates). */
export function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a positive number, got '${v}'`);
    return n;
  };
}

/** `--name <a|b|…>`: one of `values` (an enum option). */
export function choice<T extends string>(name: string, values: readonly T[]) {
  return (v: string): T => {
    if (!(values as readonly string[]).includes(v))
      throw new InvalidArgumentError(`${name} must be one of ${values.join(', ')}, got '${v}'`);
    return v as T;
  };
}

/** `--name <list>`: comma-separated non-negative integers (channel or class lists). */
export function intList(name: string) {
  return (v: string): number[] => {
    const parts = v.split(',').map((t) => t.trim());
    const bad = parts.filter((t) => !/^\d+$/.test(t) || !Number.isSafeInteger(Number(t)));
    if (bad.length)
      throw new InvalidArgumentError(
        `${name} must be comma-separated non-negative integers, got '${v}' (not non-negative integers: ${bad.map((b) => `'${b}'`).join(', ')})`,
      );
    return parts.map(Number);
  };
}

/** `--name <list>`: comma-separated finite numbers in [min, max] (ε lists). */
export function numberList(name: string, min = -Infinity, max = Infinity) {
  return (v: string): number[] => {
    const parts = v.split(',').map((t) => t.trim());
    const bad = parts.filter((t) => t === '' || !Number.isFinite(Number(t)) || Number(t) < min || Number(t) > max);
    const range = Number.isFinite(min) || Number.isFinite(max) ? ` in [${min}, ${max}]` : '';
    if (bad.length)
      throw new InvalidArgumentError(
        `${name} must be comma-separated numbers${range}, got '${v}' (bad: ${bad.map((b) => `'${b}'`).join(', ')})`,
      );
    return parts.map(Number);
  };
}

/** `--name <c,h,w>`: a shape of `dims` positive integers (parseShape as an option parser). */
export function shapeOption(name: string, dims: number[] = [3]) {
  return (v: string): number[] => {
    try {
      return parseShape(name, v, dims);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}

/** `--name <path>`: a non-empty path. */
export function nonEmptyPath(name: string) {
  return (v: string): string => {
    if (v.trim() === '') throw new InvalidArgumentError(`${name} must be a non-empty path, got ''`);
    return v;
  };
}

/** Parses `C,H,W` (or `H,W` when `dims` is 2): positive integers, else an error naming the option and the bad entries. */
export function parseShape(name: string, v: string, dims: number[] = [3]): number[] {
  const parts = v.split(',').map((s) => s.trim());
  const bad = parts.filter((s) => !/^\d+$/.test(s) || Number(s) <= 0);
  if (bad.length || !dims.includes(parts.length)) {
    const what = dims.map((d) => (d === 3 ? 'C,H,W' : d === 2 ? 'H,W' : `${d} sizes`)).join(' or ');
    throw new CliError(
      `${name} expects ${what} as positive integers separated by commas, got '${v}'${bad.length ? ` (not positive integers: ${bad.map((b) => `'${b}'`).join(', ')})` : ''}`,
    );
  }
  return parts.map(Number);
}

/** Mean/std normalisation a run applies after scaling pixels to [0, 1]. */
export interface Normalization {
  mean: number[];
  std: number[];
}

/** config.json of a `tatami train` run: what eval, predict and the viz commands need to rebuild the model and its input. */
export interface RunConfig {
  model: string;
  classes: string[];
  /** [C, H, W] the model was trained on. */
  inputShape: [number, number, number];
  /** Applied after scaling to [0, 1]; null (runs before this field existed too) for none. */
  normalize: Normalization | null;
  dataset?: string;
  data?: string;
  [key: string]: unknown;
}

/** The normalisation `tatami train` uses: ImageNet's statistics for RGB inputs, none for grayscale. */
export function defaultNormalization(channels: number): Normalization | null {
  return channels === 3 ? { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] } : null;
}

/** Reads `<dir>/config.json` of a `tatami train` run; every failure names the path and what was expected. */
export function readRunConfig(dir: string, option = '--run'): RunConfig {
  if (!existsSync(dir))
    throw new CliError(`${option} ${dir}: no such folder (expected the output folder of \`tatami train\`)`);
  if (!statSync(dir).isDirectory())
    throw new CliError(
      `${option} ${dir}: not a folder (expected the output folder of \`tatami train\`, holding config.json and model.safetensors)`,
    );
  const path = join(dir, 'config.json');
  if (!existsSync(path))
    throw new CliError(`${option} ${dir}: ${path} is missing (expected the output folder of \`tatami train\`)`);
  if (!statSync(path).isFile())
    throw new CliError(
      `${option} ${dir}: ${path} is not a file (expected the config.json written by \`tatami train\`)`,
    );
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliError(
      `${option} ${dir}: ${path} is not valid JSON (${(e as Error).message}); it should be the config.json written by \`tatami train\``,
    );
  }
  const cfg = raw as Partial<RunConfig> | null;
  const problems: string[] = [];
  if (!cfg || typeof cfg !== 'object' || Array.isArray(cfg)) problems.push('expected a JSON object');
  else {
    if (typeof cfg.model !== 'string' || !cfg.model)
      problems.push(`"model" must be a model name, got ${JSON.stringify(cfg.model)}`);
    if (!Array.isArray(cfg.classes) || cfg.classes.length < 1 || !cfg.classes.every((c) => typeof c === 'string'))
      problems.push(`"classes" must be a non-empty array of class names, got ${JSON.stringify(cfg.classes)}`);
    const s = cfg.inputShape;
    if (s !== undefined && !(Array.isArray(s) && s.length === 3 && s.every((d) => Number.isInteger(d) && d > 0)))
      problems.push(`"inputShape" must be [C, H, W] positive integers, got ${JSON.stringify(s)}`);
    const n = cfg.normalize;
    if (n !== undefined && n !== null) {
      const ok =
        typeof n === 'object' &&
        Array.isArray(n.mean) &&
        Array.isArray(n.std) &&
        n.mean.length === n.std.length &&
        n.std.every((v) => typeof v === 'number' && v > 0) &&
        n.mean.every((v) => typeof v === 'number');
      if (!ok)
        problems.push(
          `"normalize" must be null or { mean: number[], std: positive number[] } of equal length, got ${JSON.stringify(n)}`,
        );
    }
  }
  if (problems.length) throw new CliError(`${option} ${dir}: ${path}: ${problems.join('; ')}`);
  const c = cfg as RunConfig;
  return {
    ...c,
    inputShape: (c.inputShape ?? [1, 28, 28]) as [number, number, number],
    normalize: c.normalize ?? null,
  };
}

/** `<run>/model.safetensors`, or an error naming it. */
export function runWeights(dir: string, option = '--run'): string {
  const path = join(dir, 'model.safetensors');
  if (!existsSync(path))
    throw new CliError(
      `${option} ${dir}: ${path} is missing (the run did not finish; its checkpoints are last.safetensors / best.safetensors — resume it with \`tatami train --resume --out ${dir}\`)`,
    );
  return path;
}

/** Converts channels: gray → RGB by repetition, RGB → gray with ITU-R 601-2 luma weights (PIL's convert('L')), alpha dropped. */
export function convertChannels(x: Tensor, channels: number): Tensor {
  let img = x.dtype === 'float32' ? x.contiguous() : x.to('float32').contiguous();
  let [c] = img.shape;
  const [, h, w] = img.shape;
  if (c === 4 || c === 2) {
    img = img.narrow(0, 0, c - 1).contiguous();
    c -= 1;
  }
  if (c === channels) return img;
  const d = img.dataView() as Float32Array,
    plane = h * w;
  if (c === 1 && channels === 3) {
    const out = new Float32Array(3 * plane);
    for (let k = 0; k < 3; k++) out.set(d.subarray(0, plane), k * plane);
    return new Tensor(out, [3, h, w], 'float32');
  }
  if (c === 3 && channels === 1) {
    const out = new Float32Array(plane);
    for (let p = 0; p < plane; p++) out[p] = 0.299 * d[p] + 0.587 * d[plane + p] + 0.114 * d[2 * plane + p];
    return new Tensor(out, [1, h, w], 'float32');
  }
  throw new CliError(`cannot convert a ${c}-channel image to the ${channels} channels the model takes`);
}

/**
 * The transforms from a dataset image ([c, h, w], values in [0, 1]) to a model input [C, H, W]: channel conversion
 * (only when c ≠ C), a bilinear Resize (only when the size differs), with `augment` a random crop (padding 2 at
 * 28 px, H/8 above, as the usual CIFAR recipe's 4 at 32) and a horizontal flip, then Normalize. Built-in transform
 * classes where possible, so DataLoader workers can rebuild the dataset.
 */
export function inputTransforms(
  channelsIn: number,
  shape: readonly [number, number, number],
  normalize: Normalization | null,
  opts: { augment?: boolean; sizeIn?: readonly [number, number] } = {},
): T.Compose {
  const [C, H, W] = shape;
  const list: TransformLike<never, unknown>[] = [];
  if (channelsIn !== C) list.push(new T.Lambda((x: Tensor) => convertChannels(x, C)));
  if (!opts.sizeIn || opts.sizeIn[0] !== H || opts.sizeIn[1] !== W) list.push(new T.Resize([H, W]));
  if (opts.augment)
    list.push(new T.RandomCrop([H, W], { padding: H <= 28 ? 2 : Math.round(H / 8) }), new T.RandomHorizontalFlip());
  if (normalize) list.push(new T.Normalize(normalize.mean, normalize.std));
  return new T.Compose(list);
}

/** One image [c, h, w] in [0, 1] (or uint8) → the model input a run expects. */
export function adaptImage(
  x: Tensor,
  shape: readonly [number, number, number],
  normalize: Normalization | null,
): Tensor {
  if (x.shape.length !== 3) throw new CliError(`expected an image [C, H, W], got [${x.shape.join(', ')}]`);
  const f = x.dtype === 'uint8' ? x.to('float32').div(255) : x;
  return inputTransforms(shape[0], shape, normalize, { sizeIn: [x.shape[1], x.shape[2]] }).apply(
    convertChannels(f, shape[0]),
  ) as Tensor;
}

/** Inverse of adaptImage's normalisation, for display. */
export function denormalize(x: Tensor, normalize: Normalization | null): Tensor {
  if (!normalize) return x;
  const [C, H, W] = x.shape;
  const d = Float32Array.from(x.contiguous().dataView() as Float32Array),
    plane = H * W;
  for (let k = 0; k < C; k++) {
    const m = normalize.mean[k % normalize.mean.length],
      s = normalize.std[k % normalize.std.length];
    for (let p = 0; p < plane; p++) d[k * plane + p] = d[k * plane + p] * s + m;
  }
  return new Tensor(d, [C, H, W], 'float32');
}

/** The `--schedule` choices of the task commands (`segment`, `train --task detect`). */
export type TaskSchedule = 'none' | 'cosine' | 'onecycle';

/**
 * The learning-rate schedule of the task commands, as `fit` takes it: cosine annealing over the epochs (stepped per
 * epoch), or one-cycle peaking at the base `lr` over every batch of the run (stepped per batch); `none`: constant.
 */
export function taskScheduler(
  schedule: TaskSchedule,
  optimizer: AnyOptimizer,
  lr: number,
  epochs: number,
  stepsPerEpoch: number,
): { scheduler?: LRScheduler; schedulerPerBatch: boolean } {
  if (schedule === 'onecycle')
    return {
      scheduler: new OneCycleLR(optimizer, lr, { totalSteps: epochs * stepsPerEpoch }),
      schedulerPerBatch: true,
    };
  if (schedule === 'cosine') return { scheduler: new CosineAnnealingLR(optimizer, epochs), schedulerPerBatch: false };
  return { schedulerPerBatch: false };
}
