/** Stochastic gradient descent with momentum, dampening, Nesterov, weight decay and maximize (PyTorch's update). */
import { Optimizer, gradData, paramData, type ParamGroup, type ParamsArg } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  /** L2 penalty added to the gradient. */
  weightDecay?: number;
  nesterov?: boolean;
  /** Ascend instead of descend. */
  maximize?: boolean;
}

export type SGDGroupOptions = Required<SGDOptions>;

/**
 * SGD: g ← ∇ + wd·p; with momentum b ← μ·b + (1−dampening)·g (b = g on the first step), and g ← b, or
 * g ← g + μ·b with Nesterov; then p ← p − lr·g.
 */
export class SGD extends Optimizer<SGDGroupOptions> {
  constructor(params: ParamsArg<SGDGroupOptions>, opts: SGDOptions) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...opts });
  }

  protected override validateGroup(g: ParamGroup<SGDGroupOptions>): void {
    super.validateGroup(g);
    if (!(g.momentum >= 0)) throw new Error(`SGD: invalid momentum value ${g.momentum} (must be ≥ 0)`);
    if (!(g.weightDecay >= 0)) throw new Error(`SGD: invalid weightDecay value ${g.weightDecay} (must be ≥ 0)`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) throw new Error('SGD: Nesterov momentum requires a momentum and zero dampening');
  }

  protected update(): void {
    for (const group of this.paramGroups) {
      const { lr, momentum, dampening, weightDecay: wd, nesterov, maximize } = group;
      for (const p of group.params) {
        const g = gradData(p);
        if (!g) continue;
        const w = paramData(p);
        const n = w.length;
        const sign = maximize ? -1 : 1;
        if (momentum === 0) {
          for (let i = 0; i < n; i++) w[i] -= lr * (sign * g[i] + wd * w[i]);
        } else {
          const state = this.stateOf(p);
          const first = state.momentum_buffer === undefined;
          const buf = this.buffer(state, 'momentum_buffer', p);
          for (let i = 0; i < n; i++) {
            const d = sign * g[i] + wd * w[i];
            const b = first ? d : momentum * buf[i] + (1 - dampening) * d;
            buf[i] = b;
            w[i] -= lr * (nesterov ? d + momentum * buf[i] : buf[i]);
          }
        }
        p.version++;
      }
    }
  }
}
