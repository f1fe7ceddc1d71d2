/**
 * An exponential moving average of a model's weights, evaluated in place of the last weights — what YOLOX (decay
 * 0.9998 with a warm-up), EfficientNet and most detectors ship, and what the `torch_ema` package and timm's
 * `ModelEmaV2` give PyTorch users. Shadow copies of the parameters (and, optionally, of the floating-point buffers
 * such as batch-norm running statistics) are kept beside the model, so no model has to be cloned:
 *
 * ```ts
 * const ema = new tt.optim.ExponentialMovingAverage(model, { decay: 0.9998, warmup: 2000 });
 * // after every optimizer step:
 * ema.update();
 * // evaluate with the averaged weights, then go back to training:
 * ema.store();
 * ema.copyTo();
 * evaluate(model, …);
 * ema.restore();
 * ```
 *
 * Update rule (per tensor): shadow ← d·shadow + (1 − d)·weight, with d = decay, or with a warm-up of `warmup`
 * updates d_t = decay·(1 − exp(−t / warmup)) as YOLOX's ModelEMA (so early weights, far from the end, are forgotten
 * quickly). Integer buffers (BN's `num_batches_tracked`) are copied, not averaged, as timm does.
 */
import { noGrad } from '../autograd/grad-mode.js';
import type { AnyModule } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { isFloating } from '../tensor/dtype.js';
import { copy_ } from '../ops/inplace.js';

/** Options of `ExponentialMovingAverage`. */
export interface ExponentialMovingAverageOptions {
  /** The decay d in shadow ← d·shadow + (1 − d)·weight (default 0.9999; YOLOX uses 0.9998). */
  decay?: number;
  /** Warm-up length in updates: d_t = decay·(1 − exp(−t / warmup)); 0 (default) uses `decay` from the start. */
  warmup?: number;
  /** Average the floating-point buffers too (BN running statistics; default true, as YOLOX and timm). */
  buffers?: boolean;
}

/** What `stateDict` returns: the shadow tensors by state-dict key, and the number of updates. */
export interface EmaStateDict {
  shadow: Record<string, Tensor>;
  updates: number;
}

/** An exponential moving average of a module's parameters (and buffers), kept as shadow tensors. */
export class ExponentialMovingAverage {
  readonly decay: number;
  readonly warmup: number;
  /** How many times `update` has run. */
  updates = 0;
  private readonly tracked: [string, Tensor][];
  private readonly shadow = new Map<string, Tensor>();
  private stored: Map<string, Tensor> | null = null;

  constructor(
    readonly model: AnyModule,
    opts: ExponentialMovingAverageOptions = {},
  ) {
    const decay = opts.decay ?? 0.9999;
    const warmup = opts.warmup ?? 0;
    if (!(decay >= 0 && decay <= 1)) throw new Error(`ExponentialMovingAverage: decay must be in [0, 1], got ${decay}`);
    if (!(warmup >= 0) || !Number.isFinite(warmup))
      throw new Error(`ExponentialMovingAverage: warmup must be a finite number ≥ 0, got ${warmup}`);
    this.decay = decay;
    this.warmup = warmup;
    // The state-dict keys (parameters and persistent buffers) name what is tracked; buffers unless told not to.
    const params = new Set(model.namedParameters().map(([k]) => k));
    this.tracked = Object.entries(model.stateDict()).filter(([k]) => params.has(k) || (opts.buffers ?? true));
    noGrad(() => {
      for (const [k, t] of this.tracked) this.shadow.set(k, t.detach().clone());
    });
  }

  /** The model's current tensors under the tracked keys (a `loadStateDict` may have replaced them). */
  private live(): [string, Tensor][] {
    const sd = this.model.stateDict();
    return this.tracked.map(([k]) => {
      const t = sd[k];
      if (!t) throw new Error(`ExponentialMovingAverage: the model no longer has '${k}'`);
      return [k, t];
    });
  }

  /** The decay the next update uses (with the warm-up, smaller early on). */
  currentDecay(): number {
    return this.warmup > 0 ? this.decay * (1 - Math.exp(-(this.updates + 1) / this.warmup)) : this.decay;
  }

  /** Folds the model's current weights into the average; call after each optimizer step. */
  update(): void {
    const d = this.currentDecay();
    noGrad(() => {
      for (const [k, t] of this.live()) {
        const s = this.shadow.get(k)!.dataView();
        const w = t.detach().contiguous().dataView();
        if (!isFloating(t.dtype)) {
          s.set(w);
          continue;
        }
        for (let i = 0; i < s.length; i++) s[i] = d * s[i] + (1 - d) * w[i];
      }
    });
    this.updates++;
  }

  /** Writes the averaged weights into the model (in place, so optimizers and hooks keep their tensors). */
  copyTo(): void {
    noGrad(() => {
      for (const [k, t] of this.live()) copy_(t, this.shadow.get(k)!);
    });
  }

  /** Saves the model's current weights, for `restore` after evaluating with `copyTo`. */
  store(): void {
    this.stored = new Map(this.live().map(([k, t]) => [k, t.detach().clone()]));
  }

  /** Puts back the weights saved by `store`. */
  restore(): void {
    if (!this.stored) throw new Error('ExponentialMovingAverage: restore() without a store() before it');
    const stored = this.stored;
    noGrad(() => {
      for (const [k, t] of this.live()) copy_(t, stored.get(k)!);
    });
    this.stored = null;
  }

  /** The averaged weights as a state dict (the model's keys): save it, or load it into a fresh model. */
  averagedStateDict(): Record<string, Tensor> {
    return Object.fromEntries([...this.shadow].map(([k, s]) => [k, s.clone()]));
  }

  /** The shadow weights and the update count, for checkpoints. */
  stateDict(): EmaStateDict {
    return { shadow: this.averagedStateDict(), updates: this.updates };
  }

  /** Restores `stateDict()`'s output (the same model keys and shapes). */
  loadStateDict(sd: EmaStateDict): void {
    for (const [k, s] of this.shadow) {
      const src = sd.shadow[k];
      if (!src) throw new Error(`ExponentialMovingAverage.loadStateDict: missing '${k}'`);
      if (src.numel() !== s.numel())
        throw new Error(
          `ExponentialMovingAverage.loadStateDict: '${k}' has ${src.numel()} elements, expected ${s.numel()}`,
        );
      s.dataView().set(src.contiguous().dataView());
    }
    this.updates = sd.updates;
  }
}
