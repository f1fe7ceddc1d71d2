/** Sharpness-Aware Minimization (Foret et al., ICLR 2021), following the reference implementation by davda54. */
import { enableGrad, noGrad } from '../autograd/grad-mode.js';
import {
  Optimizer,
  gradData,
  lossValue,
  paramData,
  type BaseOptions,
  type Closure,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamsArg,
} from './optimizer.js';

/** SAM's own options. */
export interface SAMOptions {
  /** Radius of the neighbourhood searched for the worst case. Default 0.05. */
  rho?: number;
  /** Adaptive SAM (Kwon et al. 2021): scale the perturbation by |w|. Default false. */
  adaptive?: boolean;
}

/** An optimizer class SAM can wrap (SGD, Adam …): constructor options C, group options O. */
export type OptimizerClass<C, O extends BaseOptions> = new (params: ParamsArg<O>, opts: C) => Optimizer<O>;

/**
 * SAM wraps a base optimizer: `firstStep()` moves each weight to w + e(w), with e = ρ·g/‖g‖ (one global 2-norm over
 * all parameters); the caller recomputes the loss and gradients there; `secondStep()` restores w and lets the base
 * optimizer step with those gradients. `step(closure)` does both, calling the closure (forward + backward) in
 * between — the gradients at w must already be computed when it is called.
 *
 * `new optim.SAM(model.parameters(), optim.SGD, { rho: 0.05, lr: 0.1, momentum: 0.9 })`. SAM shares its
 * parameter groups with the base optimizer, so LR schedulers on SAM drive the base optimizer.
 */
export class SAM<C, O extends BaseOptions> extends Optimizer<O & Required<SAMOptions>> {
  readonly baseOptimizer: Optimizer<O>;

  constructor(params: ParamsArg<O & Required<SAMOptions>>, BaseOptimizer: OptimizerClass<C, O>, opts: C & SAMOptions) {
    const rho = opts.rho ?? 0.05;
    if (!(rho >= 0)) throw new Error(`SAM: invalid rho ${rho} (must be ≥ 0)`);
    // The base optimizer fills in its own defaults when it copies these groups; SAM then adopts its groups.
    super(params, { ...opts, rho, adaptive: opts.adaptive ?? false } as unknown as O & Required<SAMOptions>);
    const { rho: _r, adaptive: _a, ...baseOpts } = opts;
    this.baseOptimizer = new BaseOptimizer(this.paramGroups as unknown as ParamsArg<O>, baseOpts as C);
    this.paramGroups = this.baseOptimizer.paramGroups as unknown as ParamGroup<O & Required<SAMOptions>>[];
  }

  /** The base optimizer validates its own options (and may supply a default lr); SAM checks rho. */
  protected override validateGroup(g: ParamGroup<O & Required<SAMOptions>>): void {
    if (!(g.rho >= 0)) throw new Error(`SAM: invalid rho ${g.rho} (must be ≥ 0)`);
  }

  /** Joint 2-norm of the (|w|-scaled when adaptive) gradients. */
  private gradNorm(): number {
    let total = 0;
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        const g = gradData(p);
        if (!g) continue;
        const w = group.adaptive ? paramData(p) : null;
        let s = 0;
        for (let i = 0; i < g.length; i++) {
          const v = w ? Math.abs(w[i]) * g[i] : g[i];
          s += v * v;
        }
        total += s;
      }
    }
    return Math.sqrt(total);
  }

  /** Ascent to w + e(w); keeps w to restore. Optionally clears the gradients afterwards. */
  firstStep(zeroGrad = false): void {
    noGrad(() => {
      const norm = this.gradNorm();
      for (const group of this.paramGroups) {
        const scale = group.rho / (norm + 1e-12);
        for (const p of group.params) {
          const g = gradData(p);
          if (!g) continue;
          const w = paramData(p);
          const state = this.stateOf(p);
          state.old_p = w.slice();
          for (let i = 0; i < w.length; i++) w[i] += (group.adaptive ? w[i] * w[i] : 1) * g[i] * scale;
          p.version++;
        }
      }
    });
    if (zeroGrad) this.zeroGrad();
  }

  /** Restores w and applies the base optimizer with the gradients computed at w + e(w). */
  secondStep(zeroGrad = false): void {
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          const old = this.state.get(p)?.old_p;
          if (!p.grad || typeof old !== 'object') continue;
          paramData(p).set(old);
          p.version++;
        }
      }
    });
    this.baseOptimizer.step();
    if (zeroGrad) this.zeroGrad();
  }

  /** firstStep (clearing gradients), closure() at w + e(w), secondStep. Returns the closure's loss. */
  override step(closure?: Closure): number | undefined {
    if (!closure)
      throw new Error(
        'SAM.step requires a closure that recomputes the loss and calls backward(); or call firstStep()/secondStep()',
      );
    this.firstStep(true);
    const loss = lossValue(enableGrad(closure));
    this.secondStep();
    return loss;
  }

  protected update(): void {
    throw new Error('SAM: use step(closure) or firstStep()/secondStep()');
  }

  /** The base optimizer's state (SAM's saved weights are transient between its two steps). */
  override stateDict(): OptimizerStateDict {
    return this.baseOptimizer.stateDict();
  }

  override loadStateDict(sd: OptimizerStateDict): void {
    this.baseOptimizer.loadStateDict(sd);
  }
}
