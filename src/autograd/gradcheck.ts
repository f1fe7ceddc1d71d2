/**
 * Numerical gradient checking: central differences against autograd, as torch.autograd.gradcheck.
 * Use float64 inputs for tight tolerances; float32 works with a larger eps and looser tolerances.
 */
import { Tensor } from '../tensor/tensor.js';
import { Generator } from '../tensor/random.js';
import { formatShape } from '../tensor/shape.js';
import { grad } from './engine.js';
import { enableGrad, noGrad } from './grad-mode.js';

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6 for float64, 1e-2 for float32). */
  eps?: number;
  /** Absolute tolerance (default 1e-5 for float64, 2e-2 for float32). */
  atol?: number;
  /** Relative tolerance (default 1e-3 for float64, 2e-2 for float32). */
  rtol?: number;
  /** Throw with a description of the worst mismatch instead of returning false (default true). */
  raiseException?: boolean;
  /** Seed of the random projection of the outputs. */
  seed?: number;
}

/**
 * Checks autograd's gradients of `fn` at `inputs` (those with requiresGrad) against finite differences of
 * L = Σ w·fn(inputs) for a fixed random w. Returns true when every element agrees within atol + rtol·|numeric|.
 */
export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor | Tensor[],
  inputs: Tensor[],
  opts: GradcheckOptions = {},
): boolean {
  const isF64 = inputs.every((t) => !t.requiresGrad || t.dtype === 'float64');
  const eps = opts.eps ?? (isF64 ? 1e-6 : 1e-2);
  const atol = opts.atol ?? (isF64 ? 1e-5 : 2e-2);
  const rtol = opts.rtol ?? (isF64 ? 1e-3 : 2e-2);
  const raise = opts.raiseException ?? true;
  for (const t of inputs) {
    if (t.requiresGrad && (!t.isLeaf || !t.isContiguous())) {
      throw new Error(
        `gradcheck: inputs that require grad must be contiguous leaves (got shape ${formatShape(t.shape)})`,
      );
    }
  }
  const gen = new Generator(opts.seed ?? 1234);
  const outputs = () => {
    const r = fn(...inputs);
    return Array.isArray(r) ? r : [r];
  };
  let weights: Float64Array[] | null = null;
  const objective = (outs: Tensor[]): number => {
    weights ??= outs.map((o) => Float64Array.from({ length: o.numel() }, () => gen.random() * 2 - 1));
    let total = 0;
    outs.forEach((o, k) => {
      const v = o.dataView();
      for (let i = 0; i < v.length; i++) total += v[i] * weights![k][i];
    });
    return total;
  };
  // Analytic gradients.
  for (const t of inputs) t.grad = null;
  const outs = outputs();
  objective(outs.map((o) => o.detach()));
  let first = true;
  for (let k = 0; k < outs.length; k++) {
    const o = outs[k];
    if (!o.requiresGrad) continue;
    const seed = new Tensor(
      o.dtype === 'float64' ? Float64Array.from(weights![k]) : Float32Array.from(weights![k]),
      o.shape,
      o.dtype,
    );
    o.backward(seed, { retainGraph: k < outs.length - 1 });
    first = false;
  }
  if (first) throw new Error('gradcheck: no output requires grad; mark at least one input with requiresGrad');
  // Numeric gradients, one element at a time.
  for (let idx = 0; idx < inputs.length; idx++) {
    const t = inputs[idx];
    if (!t.requiresGrad) continue;
    const analytic = t.grad ? t.grad.dataView() : new Float64Array(t.numel());
    const data = t.storage;
    for (let i = 0; i < t.numel(); i++) {
      const p = t.offset + i;
      const orig = data[p];
      data[p] = orig + eps;
      const plus = noGrad(() => objective(outputs()));
      data[p] = orig - eps;
      const minus = noGrad(() => objective(outputs()));
      data[p] = orig;
      const numeric = (plus - minus) / (2 * eps);
      const a = analytic[i];
      if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
        if (!raise) return false;
        throw new Error(
          `gradcheck: gradient mismatch for input ${idx} (shape ${formatShape(t.shape)}) at element ${i}: ` +
            `autograd ${a}, numerical ${numeric} (atol ${atol}, rtol ${rtol}, eps ${eps})`,
        );
      }
    }
  }
  return true;
}

/**
 * Second-order gradient check (PyTorch's gradgradcheck): checks, by gradcheck, the gradients of the map
 * (inputs, v) ↦ Σ v·∂fn/∂inputs computed with `grad(..., { createGraph: true })`, where v are random gradients of
 * the outputs (`gradOutputs`, or drawn from `seed`). So the double backward of every op in `fn` is compared with
 * finite differences of its first backward. Float64 inputs are recommended.
 */
export function gradgradcheck(
  fn: (...inputs: Tensor[]) => Tensor | Tensor[],
  inputs: Tensor[],
  opts: GradcheckOptions & { gradOutputs?: Tensor[] } = {},
): boolean {
  const diff = inputs.filter((t) => t.requiresGrad);
  if (diff.length === 0)
    throw new Error('gradgradcheck: no input requires grad; mark at least one input with requiresGrad');
  const first = enableGrad(() => fn(...inputs));
  const outs = Array.isArray(first) ? first : [first];
  const gen = new Generator((opts.seed ?? 1234) + 1);
  const gradOutputs =
    opts.gradOutputs ??
    outs.map((o) => {
      const v = Tensor.empty(o.shape, o.dtype);
      for (let i = 0; i < v.storage.length; i++) v.storage[i] = gen.random() * 2 - 1;
      return v.requiresGrad_(true);
    });
  if (gradOutputs.length !== outs.length) {
    throw new Error(`gradgradcheck: got ${gradOutputs.length} gradOutputs for ${outs.length} outputs`);
  }
  const firstOrder = (...all: Tensor[]): Tensor[] =>
    enableGrad(() => {
      const xs = all.slice(0, inputs.length);
      const vs = all.slice(inputs.length);
      const r = fn(...xs);
      const os = Array.isArray(r) ? r : [r];
      const used = os.map((o, k) => ({ o, v: vs[k] })).filter(({ o }) => o.requiresGrad);
      const wrt = xs.filter((t) => t.requiresGrad);
      const gs = grad(
        used.map((u) => u.o),
        wrt,
        { gradOutputs: used.map((u) => u.v), createGraph: true, allowUnused: true },
      );
      // an input the outputs do not use has gradient zero, a constant
      return gs.map((g, i) => g ?? Tensor.empty(wrt[i].shape, wrt[i].dtype));
    });
  return gradcheck(firstOrder, [...inputs, ...gradOutputs], opts);
}
