/** RMSprop (Tieleman & Hinton 2012, as torch.optim.RMSprop cites it; centered variant of Graves 2013), as PyTorch 1.13. */
import { Optimizer, gradData, paramData, type ParamGroup, type ParamsArg } from './optimizer.js';

export interface RMSpropOptions {
  lr?: number;
  /** Smoothing constant of the squared-gradient average. Default 0.99. */
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  /** Normalise by the estimated variance (E[g²] − E[g]²) instead of E[g²]. */
  centered?: boolean;
  maximize?: boolean;
}

export type RMSpropGroupOptions = Required<RMSpropOptions>;

/**
 * v ← αv + (1−α)g²; with `centered` also ḡ ← αḡ + (1−α)g and v̂ = v − ḡ²; d = √v̂ + ε; then with momentum
 * b ← μb + g/d, p ← p − lr·b, else p ← p − lr·g/d.
 */
export class RMSprop extends Optimizer<RMSpropGroupOptions> {
  constructor(params: ParamsArg<RMSpropGroupOptions>, opts: RMSpropOptions = {}) {
    super(params, {
      lr: 1e-2,
      alpha: 0.99,
      eps: 1e-8,
      weightDecay: 0,
      momentum: 0,
      centered: false,
      maximize: false,
      ...opts,
    });
  }

  protected override validateGroup(g: ParamGroup<RMSpropGroupOptions>): void {
    super.validateGroup(g);
    if (!(g.eps >= 0)) throw new Error(`RMSprop: invalid epsilon value ${g.eps}`);
    if (!(g.momentum >= 0)) throw new Error(`RMSprop: invalid momentum value ${g.momentum}`);
    if (!(g.weightDecay >= 0)) throw new Error(`RMSprop: invalid weightDecay value ${g.weightDecay}`);
    if (!(g.alpha >= 0)) throw new Error(`RMSprop: invalid alpha value ${g.alpha}`);
  }

  protected update(): void {
    for (const group of this.paramGroups) {
      const { lr, alpha, eps, weightDecay: wd, momentum, centered, maximize } = group;
      for (const p of group.params) {
        const g = gradData(p);
        if (!g) continue;
        const w = paramData(p);
        const state = this.stateOf(p);
        state.step = ((state.step as number | undefined) ?? 0) + 1;
        const sq = this.buffer(state, 'square_avg', p);
        const ga = centered ? this.buffer(state, 'grad_avg', p) : null;
        const buf = momentum > 0 ? this.buffer(state, 'momentum_buffer', p) : null;
        const sign = maximize ? -1 : 1;
        for (let i = 0; i < w.length; i++) {
          const gi = sign * g[i] + wd * w[i];
          sq[i] = alpha * sq[i] + (1 - alpha) * gi * gi;
          let avg: number;
          if (ga) {
            ga[i] = alpha * ga[i] + (1 - alpha) * gi;
            avg = Math.sqrt(sq[i] - ga[i] * ga[i]) + eps;
          } else {
            avg = Math.sqrt(sq[i]) + eps;
          }
          if (buf) {
            buf[i] = momentum * buf[i] + gi / avg;
            w[i] -= lr * buf[i];
          } else {
            w[i] -= (lr * gi) / avg;
          }
        }
        p.version++;
      }
    }
  }
}
