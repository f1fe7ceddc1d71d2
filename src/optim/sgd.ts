/** Stochastic gradient descent with momentum, dampening, Nesterov, weight decay and maximize (PyTorch's update). */
import { backend } from '../backend/index.js';
import type { FloatArray } from '../tensor/dtype.js';
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
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0))
      throw new Error('SGD: Nesterov momentum requires a momentum and zero dampening');
  }

  protected update(): void {
    const kernels = backend();
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        const g = gradData(p);
        if (!g) continue;
        let buf: FloatArray | null = null;
        let firstStep = false;
        if (group.momentum !== 0) {
          const state = this.stateOf(p);
          firstStep = state.momentum_buffer === undefined;
          buf = this.buffer(state, 'momentum_buffer', p);
        }
        kernels.sgdStep(paramData(p), g, buf, { ...group, firstStep });
        p.version++;
      }
    }
  }
}
