/**
 * The transform protocol shared by datasets and the transforms module.
 *
 * A transform is either a plain function or an instance of `Transform` (whose `apply` does the work). Built-in
 * transform classes also describe themselves as plain data (`spec()`), so a DataLoader worker thread can rebuild
 * the same pipeline; a plain function or a `Lambda` cannot cross threads.
 */
/** A serialisable description of a built-in transform: its class name and constructor arguments. */
export interface TransformSpec {
  __transform: string;
  args: unknown[];
}

/** Base class of the built-in transforms. */
export abstract class Transform<I = unknown, O = I> {
  /** Applies the transform. Random transforms draw their parameters once per call. */
  abstract apply(x: I): O;

  /** Constructor arguments from which `transformFromSpec` can rebuild this transform, or null if impossible. */
  spec(): TransformSpec | null {
    return null;
  }

  /** Short description, e.g. `RandomCrop(size=[28,28], padding=4)`. */
  toString(): string {
    const s = this.spec();
    return `${this.constructor.name}(${s ? s.args.map((a) => JSON.stringify(a)).join(', ') : ''})`;
  }
}

/** A transform instance or a plain function. */
export type TransformLike<I, O = I> = Transform<I, O> | ((x: I) => O);

/** Applies a TransformLike. */
export function applyTransform<I, O>(t: TransformLike<I, O>, x: I): O {
  return t instanceof Transform ? t.apply(x) : (t as (x: I) => O)(x);
}

/** A Transform class that registerTransform can rebuild from a spec (in DataLoader workers). */
export type TransformCtor = new (...args: never[]) => Transform<unknown, unknown>;
const registry = new Map<string, TransformCtor>();

/** Registers a transform class so specs naming it can be rebuilt (the built-ins register themselves). */
export function registerTransform(name: string, ctor: TransformCtor): void {
  registry.set(name, ctor);
}

/** The spec of a transform, or null when it cannot be described as data (a function, a Lambda). */
export function transformSpec(t: TransformLike<never, unknown> | null | undefined): TransformSpec | null | undefined {
  if (t === undefined || t === null) return undefined;
  return t instanceof Transform ? t.spec() : null;
}

/** Applies a classification dataset's image and label transforms to one sample. */
export function transformPair<X, Y>(
  x: X,
  y: Y,
  transform?: TransformLike<X, X>,
  targetTransform?: TransformLike<Y, Y>,
): [X, Y] {
  return [transform ? applyTransform(transform, x) : x, targetTransform ? applyTransform(targetTransform, y) : y];
}

/**
 * The serialisable transform options of a dataset for worker threads: `{ transform?, targetTransform? }`, or null
 * when either transform is not a built-in Transform (then the dataset cannot be rebuilt in a worker).
 */
export function transformOptions(
  transform: TransformLike<never, unknown> | undefined,
  targetTransform: TransformLike<never, unknown> | undefined,
): { transform?: TransformSpec; targetTransform?: TransformSpec } | null {
  const t = transformSpec(transform);
  const tt = transformSpec(targetTransform);
  if (t === null || tt === null) return null;
  return { ...(t ? { transform: t } : {}), ...(tt ? { targetTransform: tt } : {}) };
}

/** True for a TransformSpec value. */
export function isTransformSpec(v: unknown): v is TransformSpec {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as TransformSpec).__transform === 'string' &&
    Array.isArray((v as TransformSpec).args)
  );
}

/** Rebuilds a transform from its spec (nested specs inside the arguments, e.g. Compose's list, are rebuilt too). */
export function transformFromSpec(spec: TransformSpec): Transform<unknown, unknown> {
  const ctor = registry.get(spec.__transform);
  if (!ctor)
    throw new Error(
      `transformFromSpec: unknown transform '${spec.__transform}' (import the module that defines it and call registerTransform)`,
    );
  const revive = (v: unknown): unknown => {
    if (isTransformSpec(v)) return transformFromSpec(v);
    if (Array.isArray(v)) return v.map(revive);
    return v;
  };
  return new (ctor as unknown as new (...a: unknown[]) => Transform<unknown, unknown>)(...spec.args.map(revive));
}

/** Accepts a transform, a function or a spec (as a worker receives it) and returns something applyable. */
export function reviveTransform<I, O>(
  t: TransformLike<I, O> | TransformSpec | undefined | null,
): TransformLike<I, O> | undefined {
  if (t === undefined || t === null) return undefined;
  if (isTransformSpec(t)) return transformFromSpec(t) as unknown as Transform<I, O>;
  return t;
}
