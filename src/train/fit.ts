/**
 * The fit loop: epochs of forward/backward/step with a progress bar, validation each epoch, metrics, history as
 * JSONL, early stopping, best/last checkpoints and exact resume. Deterministic for a given seed: the default
 * generator's state is checkpointed, and loaders are told the epoch so their shuffles are reproducible.
 *
 * Beyond classification ([N, C] logits): spatial logits [N, C, H, W] against [N, H, W] targets (accuracy is then
 * pixel accuracy, honouring `ignoreIndex`), dict outputs `{out, aux}` (the default loss adds 0.5·aux, torchvision's
 * segmentation recipe), pluggable `Metric`s (reported as `valMIoU` …), a custom `trainingStep` (Lightning's
 * training_step) and closure optimisers (SAM gets its two forward/backward passes; `closure: true` for LBFGS-style).
 *
 * Detection (torchvision's detector contract): a batch `{images, targets}` (`data.detectionListCollate`) trains the
 * model as `model.forward(images, targets)`, which returns a dict of losses; their sum is minimised and each term is
 * reported (`loss_classifier` in the progress bar, `trainLossClassifier` in history.jsonl). Validation runs the model
 * in eval mode on the images alone and feeds its detections to the metrics (`MeanAveragePrecision` → `valAP`).
 */
import { mkdir, appendFile, writeFile, access, join, writeFileAtomic } from '../io/fs.js';
import { noGrad } from '../autograd/grad-mode.js';
import { fuseTemporarily } from '../nn/fusion.js';
import { Module, type AnyModule } from '../nn/module.js';
import { deepSupervisionLoss, type AuxOutput } from '../nn/seg-loss.js';
import { crossEntropy } from '../ops/loss.js';
import { Tensor } from '../tensor/tensor.js';
import { ReduceLROnPlateau } from '../optim/lr-scheduler.js';
import { SAM } from '../optim/sam.js';
import { ConfusionMatrix, topKCorrect } from './metrics.js';
import { mainOutput, type Metric } from './seg-metrics.js';
import type { DetectionTargetLike } from './det-metric.js';
import { ProgressBar, formatValue, type ProgressStream } from './progress.js';
import { loadCheckpoint, saveCheckpoint, type Stateful, type StatefulModel } from './checkpoint.js';

/** What a model may return: logits, or a segmentation dict `{out, aux?}`. */
export type ModelOutput = Tensor | AuxOutput;

/**
 * A loss of (model output, target). It receives exactly what the model returned: logits for classifiers, the
 * `{out, aux}` dict for segmentation models, so those need a loss that accepts the dict (the default does;
 * `nn.deepSupervisionLoss` builds one). The parameter is typed Tensor so classification lambdas keep their types;
 * the method form makes losses over `ModelOutput` assignable as well.
 */
export type LossFunction = { loss(output: Tensor, target: Tensor): Tensor }['loss'];

/** What fit() needs from a model (nn.Module satisfies it). */
export interface TrainableModel extends StatefulModel {
  forward(x: Tensor): ModelOutput;
  train(mode?: boolean): unknown;
  eval(): unknown;
}

/**
 * A detector as fit() drives it (torchvision's contract): in training mode `forward(images, targets)` returns a dict
 * of scalar losses, in eval mode `forward(images)` returns detections per image.
 */
export interface DetectionModel extends StatefulModel {
  forward(images: readonly Tensor[], targets?: readonly DetectionTargetLike[]): unknown;
  train(mode?: boolean): unknown;
  eval(): unknown;
}

/**
 * A detection batch (`data.detectionListCollate`'s output): images (a list, sizes may differ, or one [N, C, H, W]
 * tensor) and one target per image. Targets may name their instance masks `mask` (Tatami's sample key) or
 * `masks` (torchvision's); the model receives `{boxes, labels, masks?}`.
 */
export interface DetectionListBatch {
  images: readonly Tensor[] | Tensor;
  targets: readonly (DetectionTargetLike & { mask?: Tensor })[];
}

/** What a loader yields: `[input, target, …]` tensors, or a detection batch. */
export type Batch = readonly Tensor[] | DetectionListBatch;

/** Whether a batch is a detection batch `{images, targets}`. */
export function isDetectionBatch(batch: unknown): batch is DetectionListBatch {
  return (
    batch !== null &&
    typeof batch === 'object' &&
    !Array.isArray(batch) &&
    'images' in batch &&
    'targets' in batch &&
    Array.isArray((batch as DetectionListBatch).targets)
  );
}

/** The images of a detection batch as a list, and its targets with torchvision's keys. */
function detectionInputs(batch: DetectionListBatch): [Tensor[], DetectionTargetLike[]] {
  const ims = batch.images;
  const images = ims instanceof Tensor ? Array.from({ length: ims.shape[0] }, (_, i) => ims.select(0, i)) : ims.slice();
  if (images.length !== batch.targets.length)
    throw new Error(`fit: a detection batch has ${images.length} images and ${batch.targets.length} targets`);
  const targets = batch.targets.map((t, i) => {
    if (!(t.boxes instanceof Tensor) || !(t.labels instanceof Tensor))
      throw new Error(`fit: detection target ${i} needs boxes and labels tensors`);
    const masks = t.masks ?? t.mask;
    const out: DetectionTargetLike = { boxes: t.boxes, labels: t.labels };
    if (masks) out.masks = masks;
    if (t.iscrowd) out.iscrowd = t.iscrowd;
    if (t.area) out.area = t.area;
    return out;
  });
  return [images, targets];
}

/** The loss dict of a detector in training mode, summed (torchvision's `sum(loss_dict.values())`), and its terms. */
function sumLossDict(out: unknown): { loss: Tensor; terms: Record<string, Tensor> } {
  if (out === null || typeof out !== 'object' || Array.isArray(out) || out instanceof Tensor)
    throw new Error('fit: a detector in training mode must return a dict of losses {name: scalar tensor}');
  const terms = out as Record<string, unknown>;
  let loss: Tensor | null = null;
  for (const [k, v] of Object.entries(terms)) {
    if (!(v instanceof Tensor) || v.numel() !== 1)
      throw new Error(`fit: the detector's loss '${k}' is not a scalar tensor`);
    loss = loss ? loss.add(v) : v;
  }
  if (!loss) throw new Error('fit: the detector returned an empty loss dict');
  return { loss, terms: terms as Record<string, Tensor> };
}

/** `loss_box_reg` → `lossBoxReg` (history keys are camelCase: `trainLossBoxReg`). */
function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** What fit() needs from an optimizer (every optim.Optimizer satisfies it). */
export interface OptimizerLike extends Stateful {
  zeroGrad(setToNone?: boolean): void;
  step(closure?: () => number | Tensor): unknown;
  paramGroups: { lr: number }[];
}

/** What fit() needs from a scheduler. ReduceLROnPlateau receives the monitored value. */
export interface SchedulerLike extends Stateful {
  step(metric?: number): void;
}

/** A batch source: an iterable or async iterable of [input, target] (or detection) batches with a batch count. */
export interface BatchSource {
  [Symbol.asyncIterator]?(): AsyncIterator<Batch>;
  [Symbol.iterator]?(): Iterator<Batch>;
  readonly length: number;
  /** Called before each epoch so shuffling depends on the epoch alone (exact resume). */
  setEpoch?(epoch: number): void;
}

/** One line of history.jsonl. */
export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  /** Classification / segmentation accuracy; absent from detection records (detectors predict nothing in training). */
  trainAccuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  valTop5?: number;
  /** Test-set metrics, when a callback adds them (`tatami train --eval-test`); never used to pick checkpoints. */
  testLoss?: number;
  testAccuracy?: number;
  seconds: number;
  imagesPerSecond: number;
  /** Metrics of `FitOptions.metrics`, as `train<Name>` / `val<Name>` (trainMIoU, valMIoU …). */
  [metric: string]: number | undefined;
}

export interface Callback {
  /** After each epoch's metrics, before the record goes to history.jsonl: fields added to `record` are saved. */
  onEpochEnd?(record: EpochRecord, history: EpochRecord[]): void | Promise<void>;
  /** After each training batch: `step` counts the epoch's batches from 1; `loss` is the batch's loss. */
  onBatchEnd?(step: number, loss: number): void;
}

/** What a custom training step sees. */
export interface StepContext {
  model: TrainableModel;
  optimizer: OptimizerLike;
  /** The loss fit would use (FitOptions.loss or its default). */
  loss: LossFunction;
  /** 0-based epoch and step within it. */
  epoch: number;
  step: number;
}

/** A training step's result: the loss to minimise and (for accuracy and metrics) the model output. */
export interface StepResult {
  loss: Tensor;
  output?: ModelOutput;
  /**
   * Terms of the loss to report beside it (a detector's `loss_classifier`, `loss_box_reg` …): shown in the progress
   * bar under their names and averaged over the epoch into history.jsonl as `train<Name>` (camelCase).
   */
  terms?: Record<string, Tensor | number>;
}

export interface FitOptions {
  epochs: number;
  optimizer: OptimizerLike;
  scheduler?: SchedulerLike;
  /** Step the scheduler after every batch instead of every epoch (OneCycleLR, warm-up). */
  schedulerPerBatch?: boolean;
  /**
   * Loss of (model output, target); default cross entropy (with `ignoreIndex`), plus 0.5× the cross entropy of
   * `aux` for dict outputs (`nn.deepSupervisionLoss` builds other weightings).
   */
  loss?: LossFunction;
  /** Target value the default loss and the accuracy skip (default -100, as crossEntropy; VOC masks use 255). */
  ignoreIndex?: number;
  /** Metrics accumulated over each epoch, on training and validation batches (`train<Name>` / `val<Name>`). */
  metrics?: Metric[];
  /**
   * Replaces the forward + loss of a training step (Lightning's training_step): receives the batch, returns the
   * loss (and optionally the output for accuracy/metrics, and `terms` to report). fit still zeroes gradients, runs
   * backward and steps. A detection batch `{images, targets}` is passed as it came from the loader (cast it).
   */
  trainingStep?(batch: readonly Tensor[], ctx: StepContext): Tensor | StepResult;
  /**
   * Step with a closure that re-runs forward + backward (`optimizer.step(closure)`, for LBFGS-style optimisers). SAM
   * is detected and always gets its closure after the first pass.
   */
  closure?: boolean;
  valLoader?: BatchSource;
  callbacks?: Callback[];
  /** Folder for history.jsonl, best.safetensors and last.safetensors. */
  outDir?: string;
  /** Metric that picks the best checkpoint and drives early stopping / ReduceLROnPlateau (default valAccuracy, or trainLoss without validation). */
  monitor?: string;
  /** Stop after `patience` epochs without improvement of `monitor` by more than minDelta. */
  earlyStopping?: { patience: number; minDelta?: number };
  /** Resume from outDir/last.safetensors (true) or from a given checkpoint path. */
  resume?: boolean | string;
  /** Draw a progress bar (default true) on the given stream (default stderr). */
  progress?: boolean | ProgressStream;
  /** Receives one summary line per epoch (default: written by the progress bar). */
  log?: (line: string) => void;
  /**
   * Run the model through the fusion pass (`nn.fuse`, docs/fusion.md) while fit runs — same values and gradients,
   * fewer kernels — and undo it when fit returns (default true; false runs every layer's own forward).
   */
  fuse?: boolean;
}

export interface EvaluateResult {
  /** Mean loss; NaN for detection batches (detectors compute no losses in eval mode). */
  loss: number;
  /** Classification: fraction of images; segmentation: fraction of counted pixels. */
  accuracy: number;
  top5: number;
  count: number;
  confusion: ConfusionMatrix | null;
  /** The values of the `metrics` passed in, by their names. */
  metrics: Record<string, number>;
}

/** Options of `evaluate`. */
export interface EvaluateOptions {
  loss?: LossFunction;
  numClasses?: number;
  ignoreIndex?: number;
  metrics?: Metric[];
  /** Evaluate through the fusion pass (`nn.fuse`, undone afterwards), as `FitOptions.fuse` (default true). */
  fuse?: boolean;
}

function defaultLoss(ignoreIndex: number): LossFunction {
  return deepSupervisionLoss((o, t) => crossEntropy(o, t, { ignoreIndex }), { auxWeights: 0.5 }) as LossFunction;
}

/**
 * [correct, counted] for accuracy: top-1 for [N, C] logits vs [N] targets; per pixel (targets = ignoreIndex
 * skipped) for [N, C, …] logits vs [N, …] targets; [0, 0] when the shapes are neither.
 */
function correctCount(out: Tensor, y: Tensor, ignoreIndex: number): [number, number] {
  if (out.shape.length === 2 && y.shape.length === 1) return [topKCorrect(out, y, 1), y.shape[0]];
  if (out.shape.length < 3 || y.shape.length !== out.shape.length - 1 || y.dtype === 'float32' || y.dtype === 'float64')
    return [0, 0];
  const [n, c] = out.shape;
  const hw = out.shape.slice(2).reduce((a, b) => a * b, 1);
  if (y.shape[0] !== n || y.numel() !== n * hw) return [0, 0];
  const d = out.contiguous().dataView(),
    t = y.contiguous().dataView();
  let correct = 0,
    counted = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < hw; i++) {
      const target = t[b * hw + i];
      if (target === ignoreIndex) continue;
      counted++;
      let best = 0,
        bv = d[b * c * hw + i];
      for (let j = 1; j < c; j++) {
        const v = d[(b * c + j) * hw + i];
        if (v > bv) {
          bv = v;
          best = j;
        }
      }
      if (best === target) correct++;
    }
  }
  return [correct, counted];
}

/** `mIoU` → `valMIoU`. */
function metricKey(prefix: string, name: string): string {
  return prefix + name.charAt(0).toUpperCase() + name.slice(1);
}

function computeMetrics(metrics: Metric[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of metrics) Object.assign(out, m.compute());
  return out;
}

async function* batches(source: BatchSource): AsyncGenerator<Batch> {
  if (source[Symbol.asyncIterator]) {
    yield* source as AsyncIterable<Batch>;
  } else if (source[Symbol.iterator]) {
    yield* source as Iterable<Batch>;
  } else {
    throw new Error('fit: the loader is neither iterable nor async iterable');
  }
}

function higherIsBetter(metric: string): boolean {
  // …and COCO's AP / AR numbers (valAP, valAP50, valAR100, valAPs …), which are upper case.
  return /accuracy|acc$|top5|f1|iou|dice/i.test(metric) || /A[PR](\d+|[sml])?$/.test(metric);
}

/**
 * Evaluates a model in eval mode without gradients: mean loss, accuracy (per image for classifiers, per pixel for
 * segmentation), top-5 and (with numClasses) a confusion matrix for classifiers, and the given `metrics`.
 */
export async function evaluate(
  model: TrainableModel | DetectionModel,
  loader: BatchSource,
  opts: EvaluateOptions = {},
): Promise<EvaluateResult> {
  const unfuse = opts.fuse !== false && model instanceof Module ? fuseTemporarily(model as AnyModule) : null;
  try {
    return await evaluateBatches(model, loader, opts);
  } finally {
    unfuse?.();
  }
}

async function evaluateBatches(
  model: TrainableModel | DetectionModel,
  loader: BatchSource,
  opts: EvaluateOptions,
): Promise<EvaluateResult> {
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const lossFn = opts.loss ?? defaultLoss(ignoreIndex);
  const metrics = opts.metrics ?? [];
  for (const m of metrics) m.reset();
  model.eval();
  let total = 0;
  let lossSum = 0;
  let correct = 0;
  let counted = 0;
  let correct5 = 0;
  let confusion: ConfusionMatrix | null = opts.numClasses ? new ConfusionMatrix(opts.numClasses) : null;
  let detection = false;
  for await (const batch of batches(loader)) {
    if (isDetectionBatch(batch)) {
      // Detectors give no losses in eval mode (torchvision): only the metrics see their detections.
      detection = true;
      const [images, targets] = detectionInputs(batch);
      noGrad(() => {
        const output = (model as DetectionModel).forward(images);
        total += images.length;
        for (const m of metrics) m.update(output, targets as unknown as Tensor);
      });
      continue;
    }
    const [x, y] = batch;
    noGrad(() => {
      const output = (model as TrainableModel).forward(x);
      const out = mainOutput(output);
      const n = x.shape[0];
      lossSum += lossFn(output as Tensor, y).item() * n;
      total += n;
      const [c, k] = correctCount(out, y, ignoreIndex);
      correct += c;
      counted += k;
      if (out.shape.length === 2 && y.shape.length === 1) {
        correct5 += topKCorrect(out, y, Math.min(5, out.shape[1]));
        confusion ??= new ConfusionMatrix(out.shape[1]);
        confusion.update(out, y);
      }
      for (const m of metrics) m.update(output, y);
    });
  }
  return {
    loss: detection ? Number.NaN : lossSum / Math.max(1, total),
    accuracy: detection ? Number.NaN : correct / Math.max(1, counted),
    top5: correct5 / Math.max(1, total),
    count: total,
    confusion,
    metrics: computeMetrics(metrics),
  };
}

/** Trains `model` on `trainLoader`; returns the per-epoch history (including epochs restored by resume). */
export async function fit(
  model: TrainableModel | DetectionModel,
  trainLoader: BatchSource,
  opts: FitOptions,
): Promise<EpochRecord[]> {
  const unfuse = opts.fuse !== false && model instanceof Module ? fuseTemporarily(model as AnyModule) : null;
  try {
    return await fitEpochs(model, trainLoader, opts);
  } finally {
    unfuse?.();
  }
}

async function fitEpochs(
  model: TrainableModel | DetectionModel,
  trainLoader: BatchSource,
  opts: FitOptions,
): Promise<EpochRecord[]> {
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const lossFn = opts.loss ?? defaultLoss(ignoreIndex);
  const metrics = opts.metrics ?? [];
  // Without a monitor: validation accuracy; detection (no accuracy) monitors its first metric, e.g. valAP.
  let monitor = opts.monitor ?? (opts.valLoader ? 'valAccuracy' : 'trainLoss');
  // SAM needs the gradients at w before its closure runs at w + e(w).
  const isSam = opts.optimizer instanceof SAM;
  const userStep = opts.trainingStep;
  let better = higherIsBetter(monitor);
  const stream: ProgressStream | undefined = typeof opts.progress === 'object' ? opts.progress : undefined;
  const showProgress = opts.progress !== false;
  // In a page there is no process: the epoch line goes to the console.
  const log =
    opts.log ??
    ((line: string) =>
      (
        stream ?? (typeof process !== 'undefined' ? process.stderr : { write: (l: string) => console.log(l.trimEnd()) })
      ).write(line + '\n'));
  let history: EpochRecord[] = [];
  let detectionSeen = false;
  let startEpoch = 0;
  let best = better ? -Infinity : Infinity;
  let sinceBest = 0;
  if (opts.outDir) await mkdir(opts.outDir, { recursive: true });
  const lastPath = opts.outDir ? join(opts.outDir, 'last.safetensors') : null;
  const bestPath = opts.outDir ? join(opts.outDir, 'best.safetensors') : null;
  const historyPath = opts.outDir ? join(opts.outDir, 'history.jsonl') : null;

  if (opts.resume) {
    const path = typeof opts.resume === 'string' ? opts.resume : lastPath;
    if (!path) throw new Error('fit: resume: true needs outDir (or pass the checkpoint path)');
    const exists = await access(path).then(
      () => true,
      () => false,
    );
    if (exists) {
      const ck = await loadCheckpoint(path, { model, optimizer: opts.optimizer, scheduler: opts.scheduler });
      const bad = (why: string): never => {
        throw new Error(`fit: resume: ${path}: ${why}`);
      };
      const h = ck.extra.history ?? [];
      if (
        !Array.isArray(h) ||
        !h.every((r) => r !== null && typeof r === 'object' && Number.isSafeInteger((r as EpochRecord).epoch))
      ) {
        bad(`extra.history must be an array of epoch records, got ${JSON.stringify(h).slice(0, 80)}`);
      }
      if ((h as EpochRecord[]).length > ck.epoch)
        bad(`extra.history has ${(h as EpochRecord[]).length} records for ${ck.epoch} epochs`);
      const b = ck.extra.best ?? best;
      if (typeof b !== 'number' || Number.isNaN(b)) bad(`extra.best must be a number, got ${JSON.stringify(b)}`);
      const sb = ck.extra.sinceBest ?? 0;
      if (!Number.isSafeInteger(sb) || (sb as number) < 0)
        bad(`extra.sinceBest must be a non-negative integer, got ${JSON.stringify(sb)}`);
      startEpoch = ck.epoch;
      history = h as EpochRecord[];
      best = b as number;
      sinceBest = sb as number;
      // history.jsonl is rewritten from the checkpoint: a kill after the checkpoint but before (or after) the
      // history line was appended can neither lose nor duplicate an epoch.
      if (historyPath) await writeFileAtomic(historyPath, history.map((r) => JSON.stringify(r) + '\n').join(''));
      log(`resumed from ${path} after epoch ${startEpoch}`);
    } else if (typeof opts.resume === 'string') {
      throw new Error(`fit: resume checkpoint ${path} does not exist`);
    }
  }
  if (historyPath && startEpoch === 0) await writeFile(historyPath, '');

  for (let epoch = startEpoch; epoch < opts.epochs; epoch++) {
    trainLoader.setEpoch?.(epoch);
    model.train();
    const bar = new ProgressBar(trainLoader.length, {
      label: `epoch ${epoch + 1}/${opts.epochs}`,
      stream,
      silent: !showProgress,
    });
    const t0 = performance.now();
    let seen = 0;
    let lossSum = 0;
    let correct = 0;
    let counted = 0;
    let step = 0;
    const termSums: Record<string, number> = {};
    for (const m of metrics) m.reset();
    for await (const batch of batches(trainLoader)) {
      const det = isDetectionBatch(batch) ? detectionInputs(batch) : null;
      if (det) detectionSeen = true;
      const [x, y] = det ? [undefined, undefined] : (batch as readonly Tensor[]);
      const ctx: StepContext = { model: model as TrainableModel, optimizer: opts.optimizer, loss: lossFn, epoch, step };
      const run = (): StepResult => {
        if (userStep) {
          const r = userStep(batch as readonly Tensor[], ctx);
          return r instanceof Tensor ? { loss: r } : r;
        }
        if (det) return sumLossDict((model as DetectionModel).forward(det[0], det[1]));
        const output = (model as TrainableModel).forward(x!);
        return { loss: lossFn(output as Tensor, y!), output };
      };
      opts.optimizer.zeroGrad();
      let res: StepResult;
      if (isSam) {
        res = run();
        res.loss.backward();
        opts.optimizer.step(() => {
          const again = run().loss;
          again.backward();
          return again;
        });
      } else if (opts.closure) {
        let last: StepResult | null = null;
        opts.optimizer.step(() => {
          opts.optimizer.zeroGrad();
          last = run();
          last.loss.backward();
          return last.loss;
        });
        if (!last)
          throw new Error(
            'fit: the optimizer never called the closure (closure: true needs an optimizer whose step(closure) calls it)',
          );
        res = last;
      } else {
        res = run();
        res.loss.backward();
        opts.optimizer.step();
      }
      if (opts.scheduler && opts.schedulerPerBatch) opts.scheduler.step();
      const n = det ? det[0].length : x!.shape[0];
      const l = res.loss.item();
      if (!Number.isFinite(l))
        throw new Error(
          `fit: loss became ${l} at epoch ${epoch + 1}, step ${step + 1}; lower the learning rate or check the data`,
        );
      lossSum += l * n;
      seen += n;
      const values: Record<string, number> = { loss: lossSum / seen };
      for (const [k, v] of Object.entries(res.terms ?? {})) {
        termSums[k] = (termSums[k] ?? 0) + (v instanceof Tensor ? v.item() : v) * n;
        values[k] = termSums[k] / seen;
      }
      if (res.output !== undefined && y) {
        const [c, k] = correctCount(mainOutput(res.output), y, ignoreIndex);
        correct += c;
        counted += k;
        values.acc = correct / Math.max(1, counted);
        if (metrics.length) {
          noGrad(() => {
            for (const m of metrics) m.update(res.output, y);
          });
          Object.assign(values, computeMetrics(metrics));
        }
      }
      values.lr = opts.optimizer.paramGroups[0].lr;
      step++;
      for (const cb of opts.callbacks ?? []) cb.onBatchEnd?.(step, l);
      bar.update(step, values, seen);
    }
    const seconds = (performance.now() - t0) / 1000;
    const record: EpochRecord = {
      epoch: epoch + 1,
      lr: opts.optimizer.paramGroups[0].lr,
      trainLoss: lossSum / Math.max(1, seen),
      trainAccuracy: correct / Math.max(1, counted),
      seconds,
      imagesPerSecond: seen / seconds,
    };
    for (const [k, v] of Object.entries(termSums)) record[metricKey('train', camel(k))] = v / Math.max(1, seen);
    // Detectors predict nothing in training mode: there is no training accuracy to report.
    if (detectionSeen && !counted) delete (record as Record<string, unknown>).trainAccuracy;
    const trainMetrics = metrics.length && counted ? computeMetrics(metrics) : {};
    for (const [k, v] of Object.entries(trainMetrics)) record[metricKey('train', k)] = v;
    let valMetrics: Record<string, number> = {};
    if (opts.valLoader) {
      const v = await evaluate(model, opts.valLoader, { loss: lossFn, ignoreIndex, metrics });
      if (!Number.isNaN(v.loss)) {
        record.valLoss = v.loss;
        record.valAccuracy = v.accuracy;
        record.valTop5 = v.top5;
      }
      valMetrics = v.metrics;
      for (const [k, val] of Object.entries(valMetrics)) record[metricKey('val', k)] = val;
    }
    const extraSummary = (prefix: string, m: Record<string, number>) =>
      Object.entries(m)
        .map(([k, v]) => ` · ${prefix}${k} ${formatValue(v)}`)
        .join('');
    const summary =
      `epoch ${record.epoch}/${opts.epochs} · loss ${formatValue(record.trainLoss)}` +
      ('trainAccuracy' in record ? ` · acc ${formatValue(record.trainAccuracy)}` : '') +
      extraSummary('', Object.fromEntries(Object.entries(termSums).map(([k, v]) => [k, v / Math.max(1, seen)]))) +
      extraSummary('', trainMetrics) +
      (record.valLoss !== undefined
        ? ` · val_loss ${formatValue(record.valLoss)} · val_acc ${formatValue(record.valAccuracy!)}`
        : '') +
      extraSummary('val_', valMetrics) +
      ` · lr ${formatValue(record.lr)} · ${record.imagesPerSecond.toFixed(0)} img/s · ${seconds.toFixed(1)}s`;
    if (showProgress) bar.finish(summary);
    else if (opts.log) log(summary);
    history.push(record);
    if (!opts.monitor && detectionSeen && monitor === 'valAccuracy') {
      monitor = Object.keys(valMetrics).length ? metricKey('val', Object.keys(valMetrics)[0]) : 'trainLoss';
      better = higherIsBetter(monitor);
      // A resumed run restored `best` for this same monitor; a new one starts from the worst value.
      if (epoch === 0) best = better ? -Infinity : Infinity;
    }
    const value = record[monitor];
    if (value === undefined) throw new Error(`fit: monitor '${String(monitor)}' is not recorded (valLoader missing?)`);
    if (opts.scheduler && !opts.schedulerPerBatch) {
      if (opts.scheduler instanceof ReduceLROnPlateau) opts.scheduler.step(value);
      else opts.scheduler.step();
    }
    const minDelta = opts.earlyStopping?.minDelta ?? 0;
    const improved = better ? value > best + minDelta : value < best - minDelta;
    if (improved) {
      best = value;
      sinceBest = 0;
    } else sinceBest++;
    // Callbacks run before the record is written so that they can add metrics to it (e.g. test accuracy).
    for (const cb of opts.callbacks ?? []) await cb.onEpochEnd?.(record, history);
    const extra = { history, best, sinceBest };
    if (improved && bestPath)
      await saveCheckpoint(bestPath, {
        epoch: epoch + 1,
        model,
        optimizer: opts.optimizer,
        scheduler: opts.scheduler,
        extra,
      });
    if (lastPath)
      await saveCheckpoint(lastPath, {
        epoch: epoch + 1,
        model,
        optimizer: opts.optimizer,
        scheduler: opts.scheduler,
        extra,
      });
    // After the checkpoint that describes it (a resume rewrites the file from the checkpoint's history).
    if (historyPath) await appendFile(historyPath, JSON.stringify(record) + '\n');
    if (opts.earlyStopping && sinceBest >= opts.earlyStopping.patience) {
      log(`early stopping: ${String(monitor)} has not improved for ${sinceBest} epochs (best ${formatValue(best)})`);
      break;
    }
  }
  return history;
}
