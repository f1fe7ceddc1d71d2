/**
 * Optimizer base: parameter groups with their own options, per-parameter state, zeroGrad/step and state dicts for
 * exact resume (state keyed by parameter index, as PyTorch).
 *
 * Updates run on the raw storage of each parameter and its gradient in tight loops — no tensor is allocated per
 * step. State buffers (momentum, moments) are typed arrays of the parameter's dtype, so rounding matches PyTorch's
 * float32 state.
 */
import { enableGrad, noGrad } from '../autograd/grad-mode.js';
import { zero_ } from '../ops/inplace.js';
import { isFloating, type FloatArray } from '../tensor/dtype.js';
import { allocate } from '../tensor/storage.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** The options every optimizer has. */
export interface BaseOptions {
  lr: number;
}

/**
 * A parameter group: its parameters plus one value for every option of the optimizer. Schedulers read and write
 * `lr` (and `momentum`/`betas`), and keep `initialLr` here, as PyTorch keeps `initial_lr`.
 */
export type ParamGroup<O extends BaseOptions = BaseOptions> = O & {
  params: Tensor[];
  initialLr?: number;
  [key: string]: unknown;
};

/** A group as passed to a constructor: parameters and any options overriding the defaults. */
export type ParamGroupInput<O extends BaseOptions = BaseOptions> = Partial<O> & { params: Iterable<Tensor> } & Record<
    string,
    unknown
  >;

/** What optimizers accept: an iterable of tensors (one group) or a list of groups. */
export type ParamsArg<O extends BaseOptions = BaseOptions> = Iterable<Tensor> | readonly ParamGroupInput<O>[];

/** Per-parameter state: `step` counts and typed-array buffers (PyTorch's names: momentum_buffer, exp_avg …). */
export type ParamState = Record<string, FloatArray | number>;

/** Serialised optimizer: state by parameter index and the groups' options with parameter indices. */
export interface OptimizerStateDict {
  state: Record<number, Record<string, Tensor | number>>;
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

/** Loss returned by a closure: a number or a one-element tensor. */
export type Closure = () => number | Tensor;

export abstract class Optimizer<O extends BaseOptions = BaseOptions> {
  /** Options used for groups that don't set them. */
  readonly defaults: O;
  paramGroups: ParamGroup<O>[] = [];
  /** State of each parameter (created lazily on its first update). */
  state = new Map<Tensor, ParamState>();

  constructor(params: ParamsArg<O>, defaults: O) {
    this.defaults = { ...defaults };
    if (params instanceof Tensor) {
      throw new TypeError(
        'optimizer: params should be an iterable of Tensors or of param groups, but got a Tensor (wrap it in an array)',
      );
    }
    const list = [...(params as Iterable<Tensor | ParamGroupInput<O>>)];
    if (list.length === 0) throw new Error('optimizer got an empty parameter list');
    const groups: ParamGroupInput<O>[] =
      list[0] instanceof Tensor
        ? [{ params: list as Tensor[] } as unknown as ParamGroupInput<O>]
        : (list as ParamGroupInput<O>[]);
    for (const g of groups) this.addParamGroup(g);
  }

  /** Checks one group's options (subclasses override to validate lr, betas …). */
  protected validateGroup(group: ParamGroup<O>): void {
    if (!(group.lr >= 0)) throw new Error(`${this.constructor.name}: invalid learning rate ${group.lr} (must be ≥ 0)`);
  }

  /** Adds a group (e.g. unfreezing a backbone during fine-tuning); options it omits come from the defaults. */
  addParamGroup(group: ParamGroupInput<O>): void {
    if (group === null || typeof group !== 'object' || !('params' in group)) {
      throw new TypeError('addParamGroup: a param group must be an object with a "params" entry');
    }
    if (group.params instanceof Tensor) {
      throw new TypeError('addParamGroup: "params" must be an iterable of Tensors (wrap a single tensor in an array)');
    }
    const params = [...group.params];
    for (const p of params) {
      if (!(p instanceof Tensor))
        throw new TypeError(`${this.constructor.name}: can only optimize Tensors, got ${typeof p}`);
      if (!isFloating(p.dtype))
        throw new Error(`${this.constructor.name}: can only optimize floating-point tensors, got ${p.dtype}`);
      if (!p.isLeaf)
        throw new Error(`${this.constructor.name}: can't optimize a non-leaf Tensor (shape ${formatShape(p.shape)})`);
      if (!p.isContiguous())
        throw new Error(
          `${this.constructor.name}: parameters must be contiguous, got shape ${formatShape(p.shape)} with strides ${formatShape(p.strides)}`,
        );
    }
    if (new Set(params).size !== params.length) {
      throw new Error(`${this.constructor.name}: a parameter group contains the same parameter more than once`);
    }
    const existing = new Set(this.paramGroups.flatMap((g) => g.params));
    if (params.some((p) => existing.has(p)))
      throw new Error(`${this.constructor.name}: some parameters appear in more than one parameter group`);
    const full = { ...this.defaults, ...group, params } as ParamGroup<O>;
    this.validateGroup(full);
    this.paramGroups.push(full);
  }

  /** Clears gradients of every parameter: null (default, PyTorch 2's behaviour) or zero-filled. */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (!p.grad) continue;
        if (setToNone) p.grad = null;
        else noGrad(() => zero_(p.grad!));
      }
    }
  }

  /**
   * One update from the current gradients. With a `closure` (needed by e.g. SAM, LBFGS) it is called first, with
   * gradients enabled, to recompute the loss and gradients; its loss is returned.
   */
  step(closure?: Closure): number | undefined {
    let loss: number | undefined;
    if (closure) loss = lossValue(enableGrad(closure));
    noGrad(() => this.update());
    return loss;
  }

  /** Applies one update to every parameter that has a gradient. */
  protected abstract update(): void;

  /** The state of `p`, created empty on first use. */
  protected stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (!s) this.state.set(p, (s = {}));
    return s;
  }

  /** A zero buffer shaped like `p`'s storage, kept in its state under `key`. */
  protected buffer(state: ParamState, key: string, p: Tensor): FloatArray {
    let b = state[key];
    if (typeof b !== 'object') state[key] = b = allocate(p.dtype, p.numel()) as FloatArray;
    return b;
  }

  /** Serialises the state (buffers copied into tensors) and group options, with parameters as indices. */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups: OptimizerStateDict['paramGroups'] = [];
    for (const g of this.paramGroups) {
      const ids = g.params.map((p) => {
        index.set(p, index.size);
        return index.size - 1;
      });
      const { params: _omit, ...opts } = g;
      paramGroups.push({ ...cloneOptions(opts), params: ids });
    }
    const state: OptimizerStateDict['state'] = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      const entry: Record<string, Tensor | number> = {};
      for (const [k, v] of Object.entries(s)) {
        entry[k] = typeof v === 'number' ? v : new Tensor(v.slice(), p.shape, p.dtype);
      }
      state[i] = entry;
    }
    return { state, paramGroups };
  }

  /** Restores a `stateDict()` onto an optimizer built over the same parameters (same group sizes). */
  loadStateDict(sd: OptimizerStateDict): void {
    checkOptimizerState(sd, this.paramGroups);
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new Error(
        `loadStateDict: loaded state dict has ${sd.paramGroups.length} parameter groups, the optimizer has ${this.paramGroups.length}`,
      );
    }
    const byIndex = new Map<number, Tensor>();
    sd.paramGroups.forEach((lg, gi) => {
      const g = this.paramGroups[gi];
      if (lg.params.length !== g.params.length) {
        throw new Error(
          `loadStateDict: group ${gi} has ${lg.params.length} parameters in the state dict but ${g.params.length} in the optimizer`,
        );
      }
      lg.params.forEach((id, j) => byIndex.set(id, g.params[j]));
    });
    const state = new Map<Tensor, ParamState>();
    for (const [key, entry] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(key));
      if (!p) throw new Error(`loadStateDict: state for parameter index ${key} matches no parameter`);
      const s: ParamState = {};
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v === 'number') s[k] = v;
        else {
          if (v.numel() !== p.numel()) {
            throw new Error(
              `loadStateDict: state '${k}' of parameter ${key} has shape ${formatShape(v.shape)}, the parameter has ${formatShape(p.shape)}`,
            );
          }
          const buf = allocate(p.dtype, p.numel()) as FloatArray;
          buf.set(v.dataView());
          s[k] = buf;
        }
      }
      state.set(p, s);
    }
    this.state = state;
    sd.paramGroups.forEach((lg, gi) => {
      const { params: _omit, ...opts } = lg;
      Object.assign(this.paramGroups[gi], cloneOptions(opts));
    });
  }
}

/** A finite number, a boolean, null, a string where the live value is one, or an array of finite numbers. */
function checkOption(where: string, v: unknown, live: unknown): void {
  const kind = (x: unknown) => (Array.isArray(x) ? 'array' : x === null ? 'null' : typeof x);
  if (live !== undefined && live !== null && v !== null && kind(v) !== kind(live)) {
    throw new Error(
      `loadStateDict: ${where} must be ${kind(live) === 'array' ? 'an array' : `a ${kind(live)}`} like the optimizer's, got ${JSON.stringify(v)}`,
    );
  }
  if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`loadStateDict: ${where} must be finite, got ${v}`);
  if (Array.isArray(v) && !v.every((x) => typeof x === 'number' && Number.isFinite(x)))
    throw new Error(`loadStateDict: ${where} must hold finite numbers, got ${JSON.stringify(v)}`);
  if (typeof v === 'string' && typeof live !== 'string')
    throw new Error(`loadStateDict: ${where} must not be a string, got ${JSON.stringify(v)}`);
  if (typeof v === 'object' && v !== null && !Array.isArray(v))
    throw new Error(`loadStateDict: ${where} must be a number, boolean or array, got an object`);
}

/**
 * Validates a state dict before anything is changed (it usually comes from a checkpoint file): the structure,
 * hyper-parameters of the same types as the optimizer's and finite (a NaN or string learning rate used to turn
 * every parameter into NaN, and the loss check then blamed the learning rate), and state entries that are finite
 * numbers or tensors of finite values.
 */
function checkOptimizerState(sd: unknown, groups: readonly ParamGroup[]): asserts sd is OptimizerStateDict {
  const obj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
  if (!obj(sd) || !Array.isArray(sd.paramGroups) || !obj(sd.state)) {
    throw new Error('loadStateDict: expected { state: {...}, paramGroups: [...] } as produced by stateDict()');
  }
  sd.paramGroups.forEach((lg: unknown, gi: number) => {
    if (!obj(lg) || !Array.isArray(lg.params) || !lg.params.every((i) => Number.isSafeInteger(i) && i >= 0)) {
      throw new Error(`loadStateDict: parameter group ${gi} must be an object with params: [indices]`);
    }
    for (const [k, v] of Object.entries(lg))
      if (k !== 'params')
        checkOption(
          `group ${gi} option '${k}'`,
          v,
          (groups[gi] as unknown as Record<string, unknown> | undefined)?.[k],
        );
  });
  for (const [key, entry] of Object.entries(sd.state)) {
    if (!obj(entry))
      throw new Error(`loadStateDict: state of parameter ${key} must be an object, got ${JSON.stringify(entry)}`);
    for (const [k, v] of Object.entries(entry)) {
      if (typeof v === 'number') {
        if (!Number.isFinite(v))
          throw new Error(`loadStateDict: state '${k}' of parameter ${key} must be finite, got ${v}`);
      } else if (v instanceof Tensor) {
        const d = v.dataView();
        for (let i = 0; i < d.length; i++) {
          if (!Number.isFinite(d[i]))
            throw new Error(
              `loadStateDict: state '${k}' of parameter ${key} holds ${d[i]} at element ${i}; optimizer state must be finite`,
            );
        }
      } else
        throw new Error(
          `loadStateDict: state '${k}' of parameter ${key} must be a number or a Tensor, got ${JSON.stringify(v)}`,
        );
    }
  }
}

function cloneOptions(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = Array.isArray(v) ? v.slice() : v;
  return out;
}

/** The number held by a closure's loss. */
export function lossValue(loss: number | Tensor): number {
  return typeof loss === 'number' ? loss : loss.item();
}

/** The gradient of `p` as contiguous data, or null when it has none. */
export function gradData(p: Tensor): FloatArray | null {
  return p.grad ? (p.grad.dataView() as FloatArray) : null;
}

/** The storage of a (contiguous) parameter, for in-place updates. */
export function paramData(p: Tensor): FloatArray {
  return p.storage.subarray(p.offset, p.offset + p.numel()) as FloatArray;
}
