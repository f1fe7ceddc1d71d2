/**
 * Learning-rate schedulers with PyTorch 1.13's semantics: construction performs the initial step (epoch 0), each
 * `step()` advances one epoch (or iteration) and writes the new rate into every param group; the chainable
 * (recursive) forms are used so values match PyTorch's exactly, including when schedulers are combined.
 * Call `scheduler.step()` after `optimizer.step()`.
 */
import type { BaseOptions, Optimizer, ParamGroup } from './optimizer.js';

/** Any optimizer a scheduler can drive. */
export type AnyOptimizer = Optimizer<BaseOptions>;

/** Python's modulo (non-negative for a positive divisor). */
function pymod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

/** Plain-data snapshot of a scheduler (everything but the optimizer). */
export type SchedulerStateDict = Record<string, unknown>;

function snapshot(obj: object, skip: readonly string[]): SchedulerStateDict {
  const out: SchedulerStateDict = {};
  for (const [k, v] of Object.entries(obj)) if (!skip.includes(k)) out[k] = structuredClone(v);
  return out;
}

/** Base class: `getLr()` gives the chainable rule, `closedFormLr()` (when defined) the rate at an explicit epoch. */
export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  /** The groups' initial learning rates. */
  baseLrs: number[];
  /** Index of the last epoch stepped (−1 before the initial step). */
  lastEpoch: number;
  protected stepCount = 0;
  protected lastLr: number[] = [];

  constructor(optimizer: AnyOptimizer, lastEpoch = -1) {
    this.optimizer = optimizer;
    const groups = optimizer.paramGroups;
    if (lastEpoch === -1) {
      for (const g of groups) if (g.initialLr === undefined) g.initialLr = g.lr;
    } else {
      groups.forEach((g, i) => {
        if (g.initialLr === undefined)
          throw new Error(
            `${this.constructor.name}: param 'initialLr' is not specified in paramGroups[${i}] when resuming an optimizer`,
          );
      });
    }
    this.baseLrs = groups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
    Object.defineProperty(this, 'optimizer', { enumerable: false });
  }

  /** Subclasses call this at the end of their constructor (once their own fields exist): the epoch-0 step. */
  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** The chainable rule: new rates from the groups' current ones and `lastEpoch`. */
  protected abstract getLr(): number[];

  /** The rate at `lastEpoch` computed directly (used by `step(epoch)`), where a closed form exists. */
  protected closedFormLr(): number[] | null {
    return null;
  }

  /** Advances one epoch (or jumps to `epoch`, using the closed form when the scheduler has one). */
  step(epoch?: number): void {
    this.stepCount++;
    let values: number[];
    if (epoch === undefined) {
      this.lastEpoch++;
      values = this.getLr();
    } else {
      this.lastEpoch = epoch;
      values = this.closedFormLr() ?? this.getLr();
    }
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = values[i];
    });
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The rates set by the last step, one per param group. */
  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  protected get groups(): ParamGroup<BaseOptions>[] {
    return this.optimizer.paramGroups;
  }

  stateDict(): SchedulerStateDict {
    return snapshot(this, ['optimizer']);
  }

  loadStateDict(sd: SchedulerStateDict): void {
    Object.assign(this, structuredClone(sd));
  }
}

/**
 * The convention of every scheduler (and optimizer): PyTorch's required arguments are positional, the optional ones
 * come in one trailing options object — `new StepLR(opt, 30, { gamma: 0.1 })`. PyTorch's positional spelling of the
 * optional ones (`new StepLR(opt, 30, 0.1)`) is accepted too.
 */
function trailing<K extends string>(
  op: string,
  key: K,
  fallback: number,
  arg: number | ({ [k in K]?: number } & { lastEpoch?: number }) | undefined,
  lastEpoch: number | undefined,
): { value: number; lastEpoch: number } {
  if (arg !== undefined && arg !== null && typeof arg === 'object') {
    if (lastEpoch !== undefined) throw new Error(`${op}: pass lastEpoch inside the options object, not after it`);
    const value = (arg as Record<string, number | undefined>)[key] ?? fallback;
    if (typeof value !== 'number' || Number.isNaN(value))
      throw new Error(`${op}: ${key} must be a number, got ${String(value)}`);
    return { value, lastEpoch: arg.lastEpoch ?? -1 };
  }
  if (arg !== undefined && typeof arg !== 'number')
    throw new Error(`${op}: expected ${key} (a number) or an options object, got ${typeof arg}`);
  return { value: arg ?? fallback, lastEpoch: lastEpoch ?? -1 };
}

/** Options of StepLR and MultiStepLR. */
export interface StepLROptions {
  /** Multiplicative factor of each decay. Default 0.1. */
  gamma?: number;
  /** Index of the last epoch when resuming. Default −1. */
  lastEpoch?: number;
}

/** Multiplies the rate by `gamma` every `stepSize` epochs. `new StepLR(opt, 30, { gamma: 0.1 })`. */
export class StepLR extends LRScheduler {
  readonly gamma: number;

  constructor(
    optimizer: AnyOptimizer,
    readonly stepSize: number,
    opts?: number | StepLROptions,
    lastEpoch?: number,
  ) {
    const t = trailing('StepLR', 'gamma', 0.1, opts, lastEpoch);
    super(optimizer, t.lastEpoch);
    this.gamma = t.value;
    if (!(Number.isInteger(stepSize) && stepSize > 0))
      throw new Error(`StepLR: stepSize must be a positive integer, got ${stepSize}`);
    this.initialStep();
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/** Multiplies the rate by `gamma` at each milestone epoch (a milestone listed twice applies gamma twice). */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;

  constructor(
    optimizer: AnyOptimizer,
    milestones: readonly number[],
    opts?: number | StepLROptions,
    lastEpoch?: number,
  ) {
    const t = trailing('MultiStepLR', 'gamma', 0.1, opts, lastEpoch);
    super(optimizer, t.lastEpoch);
    this.gamma = t.value;
    this.milestones = [...milestones].sort((a, b) => a - b);
    this.initialStep();
  }

  protected getLr(): number[] {
    const count = this.milestones.filter((m) => m === this.lastEpoch).length;
    if (count === 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma ** count);
  }

  protected override closedFormLr(): number[] {
    const passed = this.milestones.filter((m) => m <= this.lastEpoch).length;
    return this.baseLrs.map((b) => b * this.gamma ** passed);
  }
}

/** Multiplies the rate by `gamma` every epoch. */
export class ExponentialLR extends LRScheduler {
  constructor(
    optimizer: AnyOptimizer,
    readonly gamma: number,
    opts?: number | { lastEpoch?: number },
  ) {
    super(optimizer, typeof opts === 'object' && opts !== null ? (opts.lastEpoch ?? -1) : (opts ?? -1));
    this.initialStep();
  }

  protected getLr(): number[] {
    if (this.lastEpoch === 0) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** this.lastEpoch);
  }
}

/** Options of CosineAnnealingLR. */
export interface CosineAnnealingLROptions {
  /** Minimum rate. Default 0. */
  etaMin?: number;
  /** Index of the last epoch when resuming. Default −1. */
  lastEpoch?: number;
}

/**
 * Cosine annealing from the initial rate to `etaMin` over `tMax` epochs (SGDR without restarts), in PyTorch's
 * recursive form: past tMax it climbs back up, as PyTorch's does.
 */
export class CosineAnnealingLR extends LRScheduler {
  /** Floor of the rate. */
  readonly etaMin: number;

  constructor(
    optimizer: AnyOptimizer,
    readonly tMax: number,
    opts?: number | CosineAnnealingLROptions,
    lastEpoch?: number,
  ) {
    const t = trailing('CosineAnnealingLR', 'etaMin', 0, opts, lastEpoch);
    super(optimizer, t.lastEpoch);
    this.etaMin = t.value;
    if (!(tMax > 0)) throw new Error(`CosineAnnealingLR: tMax must be positive, got ${tMax}`);
    this.initialStep();
  }

  protected getLr(): number[] {
    const { lastEpoch: e, tMax: T, etaMin } = this;
    if (e === 0) return this.groups.map((g) => g.lr);
    if (this.stepCount === 1 && e > 0) {
      return this.baseLrs.map((b) => etaMin + ((b - etaMin) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    }
    if (pymod(e - 1 - T, 2 * T) === 0) {
      return this.groups.map((g, i) => g.lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return this.groups.map(
      (g) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (g.lr - etaMin) + etaMin,
    );
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map(
      (b) => this.etaMin + ((b - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2,
    );
  }
}

/** Options of LinearLR. */
export interface LinearLROptions {
  /** Factor applied at epoch 0. Default 1/3. */
  startFactor?: number;
  /** Factor reached after totalIters epochs. Default 1. */
  endFactor?: number;
  /** Default 5. */
  totalIters?: number;
  lastEpoch?: number;
}

/** Linear warm-up (or decay): the factor moves linearly from startFactor to endFactor over totalIters epochs. */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;

  constructor(optimizer: AnyOptimizer, opts: LinearLROptions = {}) {
    super(optimizer, opts.lastEpoch ?? -1);
    this.startFactor = opts.startFactor ?? 1 / 3;
    this.endFactor = opts.endFactor ?? 1;
    this.totalIters = opts.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1))
      throw new Error(`LinearLR: startFactor must be in (0, 1], got ${this.startFactor}`);
    if (!(this.endFactor >= 0 && this.endFactor <= 1))
      throw new Error(`LinearLR: endFactor must be in [0, 1], got ${this.endFactor}`);
    this.initialStep();
  }

  protected getLr(): number[] {
    const { lastEpoch: e, startFactor: s, endFactor: f, totalIters: n } = this;
    if (e === 0) return this.groups.map((g) => g.lr * s);
    if (e > n) return this.groups.map((g) => g.lr);
    return this.groups.map((g) => g.lr * (1 + (f - s) / (n * s + (e - 1) * (f - s))));
  }

  protected override closedFormLr(): number[] {
    const { lastEpoch: e, startFactor: s, endFactor: f, totalIters: n } = this;
    return this.baseLrs.map((b) => b * (s + ((f - s) * Math.min(n, e)) / n));
  }
}

/** Options of OneCycleLR (PyTorch's keyword names in camelCase). */
export interface OneCycleLROptions {
  /** Total number of steps; or give epochs and stepsPerEpoch. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the rate. Default 0.3. */
  pctStart?: number;
  /** Default 'cos'. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD's momentum or Adam's β₁) inversely to the rate. Default true. */
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
  /** initial lr = maxLr / divFactor. Default 25. */
  divFactor?: number;
  /** min lr = initial lr / finalDivFactor. Default 1e4. */
  finalDivFactor?: number;
  /** Use the three-phase schedule (fast.ai's original). Default false. */
  threePhase?: boolean;
  lastEpoch?: number;
}

interface Phase {
  endStep: number;
  startLr: 'initialLr' | 'maxLr' | 'minLr';
  endLr: 'initialLr' | 'maxLr' | 'minLr';
  startMomentum: 'maxMomentum' | 'baseMomentum';
  endMomentum: 'maxMomentum' | 'baseMomentum';
}

/**
 * The 1cycle policy (Smith & Topin 2017): warm up from maxLr/divFactor to maxLr over pctStart of the steps, then
 * anneal to maxLr/(divFactor·finalDivFactor); momentum cycles the opposite way. Step it once per batch.
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly annealStrategy: 'cos' | 'linear';
  readonly cycleMomentum: boolean;
  private readonly useBeta1: boolean;
  private readonly phases: Phase[];

  constructor(optimizer: AnyOptimizer, maxLr: number | readonly number[], opts: OneCycleLROptions = {}) {
    const groups = optimizer.paramGroups;
    const lastEpoch = opts.lastEpoch ?? -1;
    let total: number;
    if (opts.totalSteps !== undefined) {
      if (!(Number.isInteger(opts.totalSteps) && opts.totalSteps > 0))
        throw new Error(`OneCycleLR: totalSteps must be a positive integer, got ${opts.totalSteps}`);
      total = opts.totalSteps;
    } else if (opts.epochs !== undefined && opts.stepsPerEpoch !== undefined) {
      if (!(opts.epochs > 0) || !(opts.stepsPerEpoch > 0))
        throw new Error('OneCycleLR: epochs and stepsPerEpoch must be positive integers');
      total = opts.epochs * opts.stepsPerEpoch;
    } else {
      throw new Error('OneCycleLR: you must define either totalSteps or both epochs and stepsPerEpoch');
    }
    const pct = opts.pctStart ?? 0.3;
    if (!(pct >= 0 && pct <= 1)) throw new Error(`OneCycleLR: pctStart must be in [0, 1], got ${pct}`);
    const maxLrs = typeof maxLr === 'number' ? groups.map(() => maxLr) : [...maxLr];
    if (maxLrs.length !== groups.length)
      throw new Error(`OneCycleLR: expected ${groups.length} values for maxLr, got ${maxLrs.length}`);
    const div = opts.divFactor ?? 25;
    const finalDiv = opts.finalDivFactor ?? 1e4;
    if (lastEpoch === -1) {
      groups.forEach((g, i) => {
        g.initialLr = maxLrs[i] / div;
        g.lr = g.initialLr;
        g.maxLr = maxLrs[i];
        g.minLr = g.initialLr / finalDiv;
      });
    }
    const cycle = opts.cycleMomentum ?? true;
    let useBeta1 = false;
    if (cycle) {
      const d = optimizer.defaults as unknown as Record<string, unknown>;
      if (!('momentum' in d) && !('betas' in d))
        throw new Error('OneCycleLR: optimizer must support momentum or betas with cycleMomentum enabled');
      useBeta1 = 'betas' in d;
      const baseM = opts.baseMomentum ?? 0.85;
      const maxM = opts.maxMomentum ?? 0.95;
      if (lastEpoch === -1) {
        for (const g of groups) {
          setMomentum(g, maxM, useBeta1);
          g.maxMomentum = maxM;
          g.baseMomentum = baseM;
        }
      }
    }
    super(optimizer, lastEpoch);
    this.totalSteps = total;
    this.annealStrategy = opts.annealStrategy ?? 'cos';
    if (this.annealStrategy !== 'cos' && this.annealStrategy !== 'linear')
      throw new Error(`OneCycleLR: annealStrategy must be 'cos' or 'linear', got '${String(this.annealStrategy)}'`);
    this.cycleMomentum = cycle;
    this.useBeta1 = useBeta1;
    this.phases = opts.threePhase
      ? [
          {
            endStep: pct * total - 1,
            startLr: 'initialLr',
            endLr: 'maxLr',
            startMomentum: 'maxMomentum',
            endMomentum: 'baseMomentum',
          },
          {
            endStep: 2 * pct * total - 2,
            startLr: 'maxLr',
            endLr: 'initialLr',
            startMomentum: 'baseMomentum',
            endMomentum: 'maxMomentum',
          },
          {
            endStep: total - 1,
            startLr: 'initialLr',
            endLr: 'minLr',
            startMomentum: 'maxMomentum',
            endMomentum: 'maxMomentum',
          },
        ]
      : [
          {
            endStep: pct * total - 1,
            startLr: 'initialLr',
            endLr: 'maxLr',
            startMomentum: 'maxMomentum',
            endMomentum: 'baseMomentum',
          },
          {
            endStep: total - 1,
            startLr: 'maxLr',
            endLr: 'minLr',
            startMomentum: 'baseMomentum',
            endMomentum: 'maxMomentum',
          },
        ];
    this.initialStep();
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'cos') return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
    return (end - start) * pct + start;
  }

  protected getLr(): number[] {
    const step = this.lastEpoch;
    if (step > this.totalSteps) {
      throw new Error(
        `OneCycleLR: tried to step ${step} times; the specified number of total steps is ${this.totalSteps}`,
      );
    }
    return this.groups.map((g) => {
      let start = 0;
      let lr = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const ph = this.phases[i];
        if (step <= ph.endStep || i === this.phases.length - 1) {
          const pct = (step - start) / (ph.endStep - start);
          lr = this.anneal(g[ph.startLr] as number, g[ph.endLr] as number, pct);
          if (this.cycleMomentum) {
            setMomentum(g, this.anneal(g[ph.startMomentum] as number, g[ph.endMomentum] as number, pct), this.useBeta1);
          }
          break;
        }
        start = ph.endStep;
      }
      return lr;
    });
  }
}

function setMomentum(g: ParamGroup<BaseOptions>, m: number, useBeta1: boolean): void {
  if (useBeta1) {
    const betas = g.betas as number[];
    g.betas = [m, ...betas.slice(1)];
  } else {
    g.momentum = m;
  }
}

/**
 * Runs schedulers one after another: `schedulers[i]` is active from `milestones[i−1]` on (a new one starts at its
 * epoch 0). E.g. a LinearLR warm-up for 5 epochs, then CosineAnnealingLR.
 */
export class SequentialLR extends LRScheduler {
  readonly schedulers: LRScheduler[];
  readonly milestones: number[];

  constructor(
    optimizer: AnyOptimizer,
    schedulers: LRScheduler[],
    milestones: readonly number[],
    opts?: number | { lastEpoch?: number },
  ) {
    const lastEpoch = typeof opts === 'object' && opts !== null ? (opts.lastEpoch ?? -1) : (opts ?? -1);
    super(optimizer, lastEpoch);
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer)
        throw new Error(`SequentialLR: scheduler at index ${i} belongs to a different optimizer`);
    });
    if (milestones.length !== schedulers.length - 1) {
      throw new Error(
        `SequentialLR: expects one milestone fewer than schedulers, got ${schedulers.length} schedulers and ${milestones.length} milestones`,
      );
    }
    this.schedulers = schedulers;
    this.milestones = [...milestones];
    this.lastEpoch = lastEpoch + 1;
    for (const g of optimizer.paramGroups) g.lr = g.initialLr as number;
    for (const s of schedulers) s.lastEpoch--;
    (schedulers[0] as unknown as { initialStep(): void }).initialStep();
    this.lastLr = schedulers[0].getLastLr();
  }

  protected getLr(): number[] {
    return this.lastLr;
  }

  override step(): void {
    this.lastEpoch++;
    let idx = 0;
    while (idx < this.milestones.length && this.milestones[idx] <= this.lastEpoch) idx++;
    const s = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s.step(0);
    else s.step();
    this.lastLr = s.getLastLr();
  }

  override stateDict(): SchedulerStateDict {
    const sd = snapshot(this, ['optimizer', 'schedulers']);
    sd.schedulers = this.schedulers.map((s) => s.stateDict());
    return sd;
  }

  override loadStateDict(sd: SchedulerStateDict): void {
    const { schedulers, ...rest } = sd;
    Object.assign(this, structuredClone(rest));
    (schedulers as SchedulerStateDict[]).forEach((s, i) => this.schedulers[i].loadStateDict(s));
  }
}

/** Options of ReduceLROnPlateau. */
export interface ReduceLROnPlateauOptions {
  /** 'min': the metric should decrease (a loss); 'max': increase (an accuracy). Default 'min'. */
  mode?: 'min' | 'max';
  /** New lr = lr·factor. Default 0.1. */
  factor?: number;
  /** Epochs without improvement tolerated before reducing. Default 10. */
  patience?: number;
  /** Minimum change that counts as an improvement. Default 1e-4. */
  threshold?: number;
  /** 'rel': relative to the best value; 'abs': absolute. Default 'rel'. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting again. Default 0. */
  cooldown?: number;
  /** Lower bound on each group's lr. Default 0. */
  minLr?: number | readonly number[];
  /** Reductions smaller than eps are skipped. Default 1e-8. */
  eps?: number;
}

/** Reduces the learning rate by `factor` when a metric has stopped improving for `patience` epochs. */
export class ReduceLROnPlateau {
  readonly optimizer: AnyOptimizer;
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: number[];
  readonly eps: number;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  private lastLr: number[];

  constructor(optimizer: AnyOptimizer, opts: ReduceLROnPlateauOptions = {}) {
    this.optimizer = optimizer;
    Object.defineProperty(this, 'optimizer', { enumerable: false });
    this.factor = opts.factor ?? 0.1;
    if (!(this.factor < 1)) throw new Error(`ReduceLROnPlateau: factor should be < 1.0, got ${this.factor}`);
    const n = optimizer.paramGroups.length;
    const minLr = opts.minLr ?? 0;
    if (typeof minLr === 'number') this.minLrs = new Array<number>(n).fill(minLr);
    else {
      if (minLr.length !== n) throw new Error(`ReduceLROnPlateau: expected ${n} minLr values, got ${minLr.length}`);
      this.minLrs = [...minLr];
    }
    this.mode = opts.mode ?? 'min';
    this.thresholdMode = opts.thresholdMode ?? 'rel';
    if (this.mode !== 'min' && this.mode !== 'max')
      throw new Error(`ReduceLROnPlateau: mode '${String(this.mode)}' is unknown`);
    if (this.thresholdMode !== 'rel' && this.thresholdMode !== 'abs')
      throw new Error(`ReduceLROnPlateau: thresholdMode '${String(this.thresholdMode)}' is unknown`);
    this.patience = opts.patience ?? 10;
    this.threshold = opts.threshold ?? 1e-4;
    this.cooldown = opts.cooldown ?? 0;
    this.eps = opts.eps ?? 1e-8;
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  private isBetter(a: number): boolean {
    const { best, threshold } = this;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - threshold) : a < best - threshold;
    return this.thresholdMode === 'rel' ? a > best * (threshold + 1) : a > best + threshold;
  }

  /** Records this epoch's metric and reduces the rates if it has plateaued. */
  step(metric: number): void {
    const current = Number(metric);
    this.lastEpoch++;
    if (this.isBetter(current)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs++;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const newLr = Math.max(g.lr * this.factor, this.minLrs[i]);
        if (g.lr - newLr > this.eps) g.lr = newLr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  stateDict(): SchedulerStateDict {
    return snapshot(this, ['optimizer']);
  }

  loadStateDict(sd: SchedulerStateDict): void {
    Object.assign(this, structuredClone(sd));
  }
}
