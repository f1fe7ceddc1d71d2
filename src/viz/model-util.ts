/**
 * Shared plumbing of the viz tools: calling a model given as a Module or a function, finding layers by their
 * dotted names, and capturing layer outputs with forward hooks.
 */
import { Tensor } from '../tensor/tensor.js';
import { Module, type AnyModule } from '../nn/module.js';
import { formatShape } from '../tensor/shape.js';

/** A classifier: an nn.Module mapping [N, C, H, W] images to [N, K] logits, or a plain function doing so. */
export type ModelLike = Module<[Tensor], Tensor> | AnyModule | ((x: Tensor) => Tensor);

/** Runs a model given as a Module (its `forward`, so hooks fire) or as a function. */
export function callModel(model: ModelLike, x: Tensor): Tensor {
  const out = model instanceof Module ? (model as AnyModule).forward(x) : (model as (x: Tensor) => Tensor)(x);
  if (!(out instanceof Tensor))
    throw new Error('viz: the model must return a Tensor of logits (got a non-tensor output)');
  return out;
}

/** The submodule at a dotted name, with an error listing the available names when it does not exist. */
export function findLayer(model: AnyModule, name: string, op: string): AnyModule {
  const named = model.namedModules();
  const hit = named.find(([n]) => n === name);
  if (hit) return hit[1];
  const names = named.map(([n, m]) => `${n || '(root)'} (${m.constructor.name})`);
  const shown = names.length > 40 ? [...names.slice(0, 40), `… ${names.length - 40} more`] : names;
  throw new Error(`${op}: the model has no layer '${name}'; layers are: ${shown.join(', ')}`);
}

/** The last Conv2d-like layer (a module with a 4-d `weight`) — the usual Grad-CAM target. */
export function lastConvLayer(model: AnyModule, op: string): string {
  let last: string | null = null;
  for (const [name, m] of model.namedModules()) {
    const w = (m as unknown as { weight?: unknown }).weight;
    if (w instanceof Tensor && w.shape.length === 4) last = name;
  }
  if (last === null)
    throw new Error(
      `${op}: the model has no convolutional layer (no module with a 4-d weight); pass the layer name explicitly`,
    );
  return last;
}

/** Adds a batch dimension to a single image [C, H, W]; checks the rank. */
export function asBatch(x: Tensor, op: string): Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${op}: expected a Tensor input`);
  if (x.shape.length === 3) return x.reshape([1, ...x.shape]);
  if (x.shape.length !== 4)
    throw new Error(`${op}: expected an image [C, H, W] or a batch [N, C, H, W], got ${formatShape(x.shape)}`);
  return x;
}

/** A float32 leaf copy of `x` that requires grad. */
export function gradLeaf(x: Tensor): Tensor {
  const data = Float32Array.from(x.dataView() as ArrayLike<number>);
  return new Tensor(data, x.shape, 'float32').requiresGrad_(true);
}

/**
 * Runs `fn` with forward hooks on the named layers that record their outputs; hooks are removed afterwards even
 * when `fn` throws. Outputs that are not tensors (tuples) record their first tensor.
 */
export function withCapturedOutputs<R>(
  model: AnyModule,
  layers: readonly string[],
  op: string,
  fn: (captured: Map<string, Tensor>) => R,
): R {
  const captured = new Map<string, Tensor>();
  const handles = layers.map((name) =>
    findLayer(model, name, op).registerForwardHook((_m, _inp, out) => {
      const t = out instanceof Tensor ? out : Array.isArray(out) ? out.find((o) => o instanceof Tensor) : undefined;
      if (!(t instanceof Tensor)) throw new Error(`${op}: layer '${name}' did not return a tensor`);
      captured.set(name, t);
    }),
  );
  try {
    return fn(captured);
  } finally {
    for (const h of handles) h.remove();
  }
}

/** The class index of each row's highest logit. */
export function argmaxRows(logits: Tensor): number[] {
  const [N, K] = logits.shape;
  const d = logits.dataView();
  const out: number[] = [];
  for (let n = 0; n < N; n++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (d[n * K + k] > d[n * K + best]) best = k;
    out.push(best);
  }
  return out;
}
