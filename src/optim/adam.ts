/** Adam and AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019), with amsgrad and maximize, as PyTorch 1.13. */
import { backend } from '../backend/index.js';
import { Optimizer, gradData, paramData, type ParamGroup, type ParamsArg } from './optimizer.js';

export interface AdamOptions {
  lr?: number;
  /** Decay rates of the first and second moment estimates. Default [0.9, 0.999]. */
  betas?: [number, number];
  eps?: number;
  /** Adam: L2 penalty added to the gradient; AdamW: decoupled decay p ← p·(1 − lr·wd). */
  weightDecay?: number;
  /** Use the maximum of past second moments (Reddi et al. 2018). */
  amsgrad?: boolean;
  maximize?: boolean;
}

export type AdamGroupOptions = Required<AdamOptions>;

function validate(name: string, g: ParamGroup<AdamGroupOptions>): void {
  if (!(g.eps >= 0)) throw new Error(`${name}: invalid epsilon value ${g.eps}`);
  const [b1, b2] = g.betas;
  if (!(b1 >= 0 && b1 < 1)) throw new Error(`${name}: invalid beta parameter at index 0: ${b1} (must be in [0, 1))`);
  if (!(b2 >= 0 && b2 < 1)) throw new Error(`${name}: invalid beta parameter at index 1: ${b2} (must be in [0, 1))`);
  if (!(g.weightDecay >= 0)) throw new Error(`${name}: invalid weightDecay value ${g.weightDecay}`);
}

/** Shared Adam update; `decoupled` selects AdamW's weight decay. */
abstract class AdamBase extends Optimizer<AdamGroupOptions> {
  protected abstract readonly decoupled: boolean;

  protected override validateGroup(g: ParamGroup<AdamGroupOptions>): void {
    super.validateGroup(g);
    validate(this.constructor.name, g);
  }

  protected update(): void {
    const kernels = backend();
    for (const group of this.paramGroups) {
      const [beta1, beta2] = group.betas;
      for (const p of group.params) {
        const g = gradData(p);
        if (!g) continue;
        const state = this.stateOf(p);
        const step = ((state.step as number | undefined) ?? 0) + 1;
        state.step = step;
        const m = this.buffer(state, 'exp_avg', p);
        const v = this.buffer(state, 'exp_avg_sq', p);
        const vmax = group.amsgrad ? this.buffer(state, 'max_exp_avg_sq', p) : null;
        kernels.adamStep(paramData(p), g, m, v, vmax, {
          lr: group.lr,
          beta1,
          beta2,
          eps: group.eps,
          weightDecay: group.weightDecay,
          decoupled: this.decoupled,
          maximize: group.maximize,
          step,
        });
        p.version++;
      }
    }
  }
}

/** Adam: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε); wd is an L2 term in g. */
export class Adam extends AdamBase {
  protected readonly decoupled = false;

  constructor(params: ParamsArg<AdamGroupOptions>, opts: AdamOptions = {}) {
    super(params, {
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0,
      amsgrad: false,
      maximize: false,
      ...opts,
    });
  }
}

/** AdamW: Adam with decoupled weight decay (default 0.01), p ← p·(1 − lr·wd) before the Adam step. */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;

  constructor(params: ParamsArg<AdamGroupOptions>, opts: AdamOptions = {}) {
    super(params, {
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 1e-2,
      amsgrad: false,
      maximize: false,
      ...opts,
    });
  }
}
