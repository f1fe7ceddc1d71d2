/**
 * `models`: the model zoo (torchvision-exact architectures and parameter names, plus CPU-sized models), a registry
 * by name for the CLI, `summary`, ImageNet class names/preprocessing and `predict`.
 */
import { noGrad } from '../autograd/grad-mode.js';
import type { Module } from '../nn/module.js';
import { softmax } from '../ops/softmax.js';
import { unsqueeze } from '../ops/shape.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import * as resnetFamily from './resnet.js';

export * from './resnet.js';
export { summary, type ModelSummary, type SummaryRow, type SummaryOptions } from './summary.js';
export { IMAGENET_CLASSES, IMAGENET_MEAN, IMAGENET_STD, imagenetPreprocess, type ImagenetPreprocessOptions } from './imagenet.js';

/** A classification model: image batch [N, C, H, W] → logits [N, numClasses]. */
export type ClassifierModule = Module<[Tensor], Tensor>;

/** Options every registered builder understands (each builder also takes its own, see its docs). */
export interface ModelOptions {
  numClasses?: number;
  [option: string]: unknown;
}

/** A registry entry. */
export interface ModelInfo {
  /** Registry name (torchvision's where it exists: 'resnet18', 'vgg16_bn', 'mobilenet_v3_small'). */
  name: string;
  /** One line for `tatami models` / `--help`. */
  description: string;
  /** The input the model is meant for, [C, H, W] (ImageNet models: [3, 224, 224]). */
  inputShape: [number, number, number];
  /** Classes of the default head. */
  numClasses: number;
  /** Whether the architecture and parameter names are torchvision 0.14's (its state dicts load unchanged). */
  torchvision: boolean;
  build(opts?: ModelOptions): ClassifierModule;
}

const registry = new Map<string, ModelInfo>();

/** Adds (or replaces) a model in the registry (how the CLI's own models and user models join the zoo). */
export function registerModel(info: ModelInfo): void {
  if (!/^[a-z0-9_]+$/.test(info.name)) throw new Error(`registerModel: name must be lower_snake_case, got '${info.name}'`);
  registry.set(info.name, info);
}

/** The registered models, sorted by name. */
export function listModels(): ModelInfo[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The registry entry of `name` (throws listing the known names). */
export function getModelInfo(name: string): ModelInfo {
  const info = registry.get(name);
  if (!info) throw new Error(`models: unknown model '${name}'. Known models: ${listModels().map((m) => m.name).join(', ')}`);
  return info;
}

/** Builds the registered model `name` with its builder options (`{ numClasses }` …). */
export function getModel(name: string, opts: ModelOptions = {}): ClassifierModule {
  return getModelInfo(name).build(opts);
}

const IMAGENET: [number, number, number] = [3, 224, 224];
type Builder = (opts?: ModelOptions) => ClassifierModule;
function tv(name: string, description: string, build: Builder, inputShape = IMAGENET): void {
  registerModel({ name, description, inputShape, numClasses: 1000, torchvision: true, build });
}

tv('resnet18', 'ResNet-18 (11.7 M params)', resnetFamily.resnet18);
tv('resnet34', 'ResNet-34 (21.8 M params)', resnetFamily.resnet34);
tv('resnet50', 'ResNet-50 (25.6 M params)', resnetFamily.resnet50);
tv('resnet101', 'ResNet-101 (44.5 M params)', resnetFamily.resnet101);
tv('resnet152', 'ResNet-152 (60.2 M params)', resnetFamily.resnet152);
tv('resnext50_32x4d', 'ResNeXt-50 32×4d (25.0 M params)', resnetFamily.resnext50_32x4d);
tv('resnext101_32x8d', 'ResNeXt-101 32×8d (88.8 M params)', resnetFamily.resnext101_32x8d);
tv('wide_resnet50_2', 'Wide ResNet-50-2 (68.9 M params)', resnetFamily.wide_resnet50_2);
tv('wide_resnet101_2', 'Wide ResNet-101-2 (126.9 M params)', resnetFamily.wide_resnet101_2);

// The default small CNN (src/models/small-cnn.ts, the lead's) is registered by the lead as 'small_cnn' with
// registerModel({ name: 'small_cnn', inputShape: [1, 28, 28], numClasses: 10, torchvision: false, ... }).

/** One prediction of `predict`. */
export interface Prediction {
  /** Class index. */
  index: number;
  /** Class name from `labels` (or the index as a string). */
  label: string;
  /** Softmax probability. */
  probability: number;
}

/** Options of `predict`. */
export interface PredictOptions {
  /** How many classes to return, best first (default 5). */
  topk?: number;
  /** Class names by index (ImageNet: IMAGENET_CLASSES). */
  labels?: readonly string[];
}

/**
 * Classifies one preprocessed image ([C, H, W] or [1, C, H, W], e.g. from `imagenetPreprocess`): runs the model in
 * eval mode without a graph and returns the `topk` classes by softmax probability, best first. The model's training
 * mode is restored afterwards.
 */
export function predict(model: ClassifierModule, image: Tensor, opts: PredictOptions = {}): Prediction[] {
  const x = image.shape.length === 3 ? unsqueeze(image, 0) : image;
  if (x.shape.length !== 4 || x.shape[0] !== 1) throw new Error(`predict: expected one image [C, H, W] or [1, C, H, W], got ${formatShape(image.shape)}`);
  const flags = model.modules().map((m) => m.training);
  let probs: Float32Array | Float64Array;
  try {
    model.eval();
    const logits = noGrad(() => model.forward(x));
    if (logits.shape.length !== 2) throw new Error(`predict: the model returned ${formatShape(logits.shape)}, expected logits [1, numClasses]`);
    probs = Float64Array.from(softmax(logits, 1).dataView());
  } finally {
    model.modules().forEach((m, i) => { m.training = flags[i]; });
  }
  const k = Math.min(opts.topk ?? 5, probs.length);
  if (!Number.isInteger(k) || k < 1) throw new Error(`predict: topk must be a positive integer, got ${opts.topk}`);
  if (opts.labels && opts.labels.length !== probs.length) {
    throw new Error(`predict: ${opts.labels.length} labels for a model with ${probs.length} outputs`);
  }
  const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a] || a - b);
  return order.slice(0, k).map((index) => ({ index, label: opts.labels ? opts.labels[index] : String(index), probability: probs[index] }));
}

/** Freezes a module for transfer learning: its parameters stop requiring gradients. Returns the module. */
export function freeze<M extends Module<never[], unknown>>(module: M): M {
  for (const p of module.parameters()) p.requiresGrad_(false);
  return module;
}

/** Undoes `freeze`: every parameter requires gradients again. Returns the module. */
export function unfreeze<M extends Module<never[], unknown>>(module: M): M {
  for (const p of module.parameters()) p.requiresGrad_(true);
  return module;
}
