/**
 * The fit loop: epochs of forward/backward/step with a progress bar, validation each epoch, metrics, history as
 * JSONL, early stopping, best/last checkpoints and exact resume. Deterministic for a given seed: the default
 * generator's state is checkpointed, and loaders are told the epoch so their shuffles are reproducible.
 */
import { mkdir, appendFile, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { noGrad } from '../autograd/grad-mode.js';
import { crossEntropy } from '../ops/loss.js';
import { Tensor } from '../tensor/tensor.js';
import { ReduceLROnPlateau } from '../optim/lr-scheduler.js';
import { ConfusionMatrix, topKCorrect } from './metrics.js';
import { ProgressBar, formatValue, type ProgressStream } from './progress.js';
import { loadCheckpoint, saveCheckpoint, type Stateful, type StatefulModel } from './checkpoint.js';
import { writeFileAtomic } from '../io/atomic.js';

/** What fit() needs from a model (nn.Module satisfies it). */
export interface TrainableModel extends StatefulModel {
  forward(x: Tensor): Tensor;
  train(mode?: boolean): unknown;
  eval(): unknown;
}

/** What fit() needs from an optimizer (every optim.Optimizer satisfies it). */
export interface OptimizerLike extends Stateful {
  zeroGrad(setToNone?: boolean): void;
  step(): unknown;
  paramGroups: { lr: number }[];
}

/** What fit() needs from a scheduler. ReduceLROnPlateau receives the monitored value. */
export interface SchedulerLike extends Stateful {
  step(metric?: number): void;
}

/** A batch source: an iterable or async iterable of [input, target] batches with a batch count. */
export interface BatchSource {
  [Symbol.asyncIterator]?(): AsyncIterator<readonly Tensor[]>;
  [Symbol.iterator]?(): Iterator<readonly Tensor[]>;
  readonly length: number;
  /** Called before each epoch so shuffling depends on the epoch alone (exact resume). */
  setEpoch?(epoch: number): void;
}

/** One line of history.jsonl. */
export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  valTop5?: number;
  /** Test-set metrics, when a callback adds them (`tatami train --eval-test`); never used to pick checkpoints. */
  testLoss?: number;
  testAccuracy?: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface Callback {
  /** After each epoch's metrics, before the record goes to history.jsonl: fields added to `record` are saved. */
  onEpochEnd?(record: EpochRecord, history: EpochRecord[]): void | Promise<void>;
  onBatchEnd?(step: number, loss: number): void;
}

export interface FitOptions {
  epochs: number;
  optimizer: OptimizerLike;
  scheduler?: SchedulerLike;
  /** Step the scheduler after every batch instead of every epoch (OneCycleLR, warm-up). */
  schedulerPerBatch?: boolean;
  /** Loss of (output, target); default cross entropy. */
  loss?: (output: Tensor, target: Tensor) => Tensor;
  valLoader?: BatchSource;
  callbacks?: Callback[];
  /** Folder for history.jsonl, best.safetensors and last.safetensors. */
  outDir?: string;
  /** Metric that picks the best checkpoint and drives early stopping / ReduceLROnPlateau (default valAccuracy, or trainLoss without validation). */
  monitor?: keyof EpochRecord;
  /** Stop after `patience` epochs without improvement of `monitor` by more than minDelta. */
  earlyStopping?: { patience: number; minDelta?: number };
  /** Resume from outDir/last.safetensors (true) or from a given checkpoint path. */
  resume?: boolean | string;
  /** Draw a progress bar (default true) on the given stream (default stderr). */
  progress?: boolean | ProgressStream;
  /** Receives one summary line per epoch (default: written by the progress bar). */
  log?: (line: string) => void;
}

export interface EvaluateResult {
  loss: number;
  accuracy: number;
  top5: number;
  count: number;
  confusion: ConfusionMatrix | null;
}

async function* batches(source: BatchSource): AsyncGenerator<readonly Tensor[]> {
  if (source[Symbol.asyncIterator]) {
    yield* source as AsyncIterable<readonly Tensor[]>;
  } else if (source[Symbol.iterator]) {
    yield* source as Iterable<readonly Tensor[]>;
  } else {
    throw new Error('fit: the loader is neither iterable nor async iterable');
  }
}

function higherIsBetter(metric: string): boolean {
  return /accuracy|top5|f1/i.test(metric);
}

/** Evaluates a classifier: mean loss, accuracy, top-5 and (with numClasses) a confusion matrix. */
export async function evaluate(
  model: TrainableModel, loader: BatchSource,
  opts: { loss?: (o: Tensor, t: Tensor) => Tensor; numClasses?: number } = {},
): Promise<EvaluateResult> {
  const lossFn = opts.loss ?? ((o: Tensor, t: Tensor) => crossEntropy(o, t));
  model.eval();
  let total = 0;
  let lossSum = 0;
  let correct = 0;
  let correct5 = 0;
  let confusion: ConfusionMatrix | null = opts.numClasses ? new ConfusionMatrix(opts.numClasses) : null;
  for await (const [x, y] of batches(loader)) {
    noGrad(() => {
      const out = model.forward(x);
      const n = x.shape[0];
      lossSum += lossFn(out, y).item() * n;
      total += n;
      if (out.shape.length === 2 && y.shape.length === 1) {
        correct += topKCorrect(out, y, 1);
        correct5 += topKCorrect(out, y, Math.min(5, out.shape[1]));
        confusion ??= new ConfusionMatrix(out.shape[1]);
        confusion.update(out, y);
      }
    });
  }
  return { loss: lossSum / Math.max(1, total), accuracy: correct / Math.max(1, total), top5: correct5 / Math.max(1, total), count: total, confusion };
}

/** Trains `model` on `trainLoader`; returns the per-epoch history (including epochs restored by resume). */
export async function fit(model: TrainableModel, trainLoader: BatchSource, opts: FitOptions): Promise<EpochRecord[]> {
  const lossFn = opts.loss ?? ((o: Tensor, t: Tensor) => crossEntropy(o, t));
  const monitor = opts.monitor ?? (opts.valLoader ? 'valAccuracy' : 'trainLoss');
  const better = higherIsBetter(monitor);
  const stream: ProgressStream | undefined = typeof opts.progress === 'object' ? opts.progress : undefined;
  const showProgress = opts.progress !== false;
  const log = opts.log ?? ((line: string) => (stream ?? process.stderr).write(line + '\n'));
  let history: EpochRecord[] = [];
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
    const exists = await access(path).then(() => true, () => false);
    if (exists) {
      const ck = await loadCheckpoint(path, { model, optimizer: opts.optimizer, scheduler: opts.scheduler });
      const bad = (why: string): never => { throw new Error(`fit: resume: ${path}: ${why}`); };
      const h = ck.extra.history ?? [];
      if (!Array.isArray(h) || !h.every((r) => r !== null && typeof r === 'object' && Number.isSafeInteger((r as EpochRecord).epoch))) {
        bad(`extra.history must be an array of epoch records, got ${JSON.stringify(h).slice(0, 80)}`);
      }
      if ((h as EpochRecord[]).length > ck.epoch) bad(`extra.history has ${(h as EpochRecord[]).length} records for ${ck.epoch} epochs`);
      const b = ck.extra.best ?? best;
      if (typeof b !== 'number' || Number.isNaN(b)) bad(`extra.best must be a number, got ${JSON.stringify(b)}`);
      const sb = ck.extra.sinceBest ?? 0;
      if (!Number.isSafeInteger(sb) || (sb as number) < 0) bad(`extra.sinceBest must be a non-negative integer, got ${JSON.stringify(sb)}`);
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
    let step = 0;
    for await (const [x, y] of batches(trainLoader)) {
      opts.optimizer.zeroGrad();
      const out = model.forward(x);
      const loss = lossFn(out, y);
      loss.backward();
      opts.optimizer.step();
      if (opts.scheduler && opts.schedulerPerBatch) opts.scheduler.step();
      const n = x.shape[0];
      const l = loss.item();
      if (!Number.isFinite(l)) throw new Error(`fit: loss became ${l} at epoch ${epoch + 1}, step ${step + 1}; lower the learning rate or check the data`);
      lossSum += l * n;
      seen += n;
      if (out.shape.length === 2 && y.shape.length === 1) correct += topKCorrect(out, y, 1);
      step++;
      for (const cb of opts.callbacks ?? []) cb.onBatchEnd?.(step, l);
      bar.update(step, { loss: lossSum / seen, acc: correct / seen, lr: opts.optimizer.paramGroups[0].lr }, seen);
    }
    const seconds = (performance.now() - t0) / 1000;
    const record: EpochRecord = {
      epoch: epoch + 1,
      lr: opts.optimizer.paramGroups[0].lr,
      trainLoss: lossSum / Math.max(1, seen),
      trainAccuracy: correct / Math.max(1, seen),
      seconds,
      imagesPerSecond: seen / seconds,
    };
    if (opts.valLoader) {
      const v = await evaluate(model, opts.valLoader, { loss: lossFn });
      record.valLoss = v.loss;
      record.valAccuracy = v.accuracy;
      record.valTop5 = v.top5;
    }
    const summary = `epoch ${record.epoch}/${opts.epochs} · loss ${formatValue(record.trainLoss)} · acc ${formatValue(record.trainAccuracy)}` +
      (record.valLoss !== undefined ? ` · val_loss ${formatValue(record.valLoss)} · val_acc ${formatValue(record.valAccuracy!)}` : '') +
      ` · lr ${formatValue(record.lr)} · ${record.imagesPerSecond.toFixed(0)} img/s · ${seconds.toFixed(1)}s`;
    if (showProgress) bar.finish(summary);
    else if (opts.log) log(summary);
    history.push(record);
    const value = record[monitor] as number | undefined;
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
    if (improved && bestPath) await saveCheckpoint(bestPath, { epoch: epoch + 1, model, optimizer: opts.optimizer, scheduler: opts.scheduler, extra });
    if (lastPath) await saveCheckpoint(lastPath, { epoch: epoch + 1, model, optimizer: opts.optimizer, scheduler: opts.scheduler, extra });
    // After the checkpoint that describes it (a resume rewrites the file from the checkpoint's history).
    if (historyPath) await appendFile(historyPath, JSON.stringify(record) + '\n');
    if (opts.earlyStopping && sinceBest >= opts.earlyStopping.patience) {
      log(`early stopping: ${String(monitor)} has not improved for ${sinceBest} epochs (best ${formatValue(best)})`);
      break;
    }
  }
  return history;
}
