/**
 * `Module`: the base class of every layer and model (PyTorch's `nn.Module`).
 *
 * ## Registration
 * A module owns parameters, buffers and submodules, each under a name. There are two ways to register them, and
 * both give PyTorch's dotted names (`features.0.weight`, `layer1.0.bn1.running_mean`):
 *
 * - **By assignment** (the PyTorch ergonomics): any own field holding a `Parameter` or a `Module`, e.g.
 *   `this.conv1 = new nn.Conv2d(3, 8, 3)`, is discovered under its field name the first time the module is
 *   inspected (parameters(), stateDict(), toString() …), in field order. Plain tensors are never discovered —
 *   a buffer needs `registerBuffer` (a cached tensor is not state). Modules or parameters inside arrays or
 *   objects are not discovered either: use `ModuleList`/`ModuleDict`, exactly as in PyTorch.
 * - **Explicitly**: `registerParameter(name, p)`, `registerBuffer(name, t, persistent)`, `registerModule(name, m)`.
 *   Use these for names that are not camelCase identifiers — PyTorch's snake_case (`running_mean`,
 *   `in_proj_weight`, `out_proj`) so torchvision state dicts load without renaming. Registration defines an
 *   accessor under the name and, for a snake_case name, also under its camelCase spelling
 *   (`running_mean` → `runningMean`), so `bn.runningMean` reads and writes the registered buffer.
 *
 * Explicitly registered entries come first, then discovered ones. Once registered, assigning to the field goes
 * through the registry (with type checks), so `model.fc = new nn.Linear(512, 10)` replaces the head.
 *
 * ## Calling and hooks
 * Call a module with `forward(...)` (or its alias `call(...)`). The constructor wraps the subclass's `forward`
 * so that every call — including `model.forward(x)` and a parent's `this.child.forward(x)` — runs the forward
 * pre-hooks, the subclass's forward, then the forward hooks. `super.forward(...)` inside a subclass calls the
 * parent implementation directly (no second round of hooks).
 */
import { noGrad } from '../autograd/grad-mode.js';
import { copy_, zero_ } from '../ops/inplace.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { Parameter } from './parameter.js';

/** A module with any forward signature (the element type of containers and of `children()`). */
export type AnyModule = Module<unknown[], unknown>;

type StoredPreHook = (module: AnyModule, inputs: unknown[]) => unknown;
type StoredHook = (module: AnyModule, inputs: unknown[], output: unknown) => unknown;

/** Runs before forward with the module and its arguments; returning an array replaces the arguments. */
// Declared through a method so hook types are bivariant, which lets every Module<In, Out> widen to AnyModule.
export type ForwardPreHook<In extends unknown[] = unknown[]> = {
  hook(module: AnyModule, inputs: In): In | void;
}['hook'];
/** Runs after forward with the module, its arguments and its output; returning a value replaces the output. */
export type ForwardHook<In extends unknown[] = unknown[], Out = unknown> = {
  hook(module: AnyModule, inputs: In, output: Out): Out | void;
}['hook'];

/** Removes a hook; calling it twice is harmless. Also callable as `handle.remove()` (PyTorch's handle). */
export interface RemovableHandle {
  (): void;
  remove(): void;
}

/** Result of `loadStateDict`. */
export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

let nextHookId = 0;

function snakeToCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function makeHandle(remove: () => void): RemovableHandle {
  const h = (() => remove()) as RemovableHandle;
  h.remove = remove;
  return h;
}

/** A computation that `setForwardPlan` runs in place of a module's class forward. */
export type ForwardPlan = (...args: unknown[]) => unknown;

/**
 * Makes every call of `module.forward` run `plan` in place of the class's forward — still inside the module's
 * pre-hooks and hooks, so they observe the call as before — or, with null, the class's forward again. This is the
 * one hook the fusion pass (`nn.fuse`, nn/fusion.ts) needs: the module tree, parameters and hooks stay as they
 * are; only how the module computes its (identical) output changes.
 */
export function setForwardPlan(module: AnyModule, plan: ForwardPlan | null): void {
  module['_plannedForward'] = plan;
}

/**
 * Bumped with every module's `structureVersion`, every `training` change, every hook added or removed and every
 * `forward` replaced, on any module: while it stays the same, no cached plan of any module tree can be stale in
 * those respects (`structureEpoch`).
 */
let epoch = 0;

/**
 * A counter of structural changes anywhere: see `Module.structureVersion`. A cache of a module tree that saw the
 * same epoch at its last check need not walk the tree again (models/fusion-nhwc.ts: a MobileNetV2 has 150 modules;
 * walking them cost 0.12 ms of a 4.5 ms forward).
 */
export function structureEpoch(): number {
  return epoch;
}

/** The plan `setForwardPlan` installed on `module`, or null when it runs its class's forward. */
export function forwardPlanOf(module: AnyModule): ForwardPlan | null {
  return module['_plannedForward'];
}

/** Indents every line after the first by `n` spaces (PyTorch's `_addindent`). */
function addIndent(s: string, n: number): string {
  const lines = s.split('\n');
  if (lines.length === 1) return s;
  const pad = ' '.repeat(n);
  return [lines[0], ...lines.slice(1).map((l) => pad + l)].join('\n');
}

/**
 * Base class of layers and models. Subclasses implement `forward`; see the file comment for how parameters,
 * buffers and submodules are registered and how hooks run.
 *
 * Type parameters: `In` is the tuple of forward's arguments and `Out` its result (a tensor by default).
 */
export abstract class Module<In extends unknown[] = [Tensor], Out = Tensor> {
  private _training = true;
  private readonly _parameters = new Map<string, Parameter | null>();
  private readonly _buffers = new Map<string, Tensor | null>();
  private readonly _nonPersistent = new Set<string>();
  private readonly _modules = new Map<string, AnyModule | null>();
  private readonly _preHooks = new Map<number, StoredPreHook>();
  private readonly _hooks = new Map<number, StoredHook>();
  /** See `structureVersion`. */
  private _structureVersion = 0;

  /** The computation. The constructor wraps the subclass's implementation so that hooks run on every call. */
  abstract forward(...args: In): Out;

  constructor() {
    for (const key of [
      '_training',
      '_parameters',
      '_buffers',
      '_nonPersistent',
      '_modules',
      '_preHooks',
      '_hooks',
      '_plannedForward',
      '_structureVersion',
    ]) {
      // Field initialisers have run; hide bookkeeping from discovery and from console.log.
      const d = Object.getOwnPropertyDescriptor(this, key);
      if (d) Object.defineProperty(this, key, { ...d, enumerable: false });
    }
    const impl = this.forward as (...a: unknown[]) => unknown;
    const wrapped = (...args: In): Out => this._callWithHooks(this._plannedForward ?? impl, args) as Out;
    // an accessor, so that replacing forward on the instance counts as a structural change (structureEpoch)
    let current: (...args: In) => Out = wrapped;
    Object.defineProperty(this, 'forward', {
      get: () => current,
      set: (f: (...args: In) => Out) => {
        current = f;
        epoch++;
      },
      configurable: true,
      enumerable: false,
    });
    Object.defineProperty(this, '_wrappedForward', { value: wrapped, enumerable: false });
  }

  /** Whether the module is in training mode (`train()`/`eval()` set it recursively). */
  get training(): boolean {
    return this._training;
  }

  set training(mode: boolean) {
    if (mode !== this._training) epoch++;
    this._training = mode;
  }

  /** A part of this module was registered, assigned or removed. */
  private structureChanged(): void {
    this._structureVersion++;
    epoch++;
  }

  private readonly _wrappedForward!: unknown;
  /** What `setForwardPlan` installed; runs in place of the class's forward, inside the hooks. */
  private _plannedForward: ((...args: unknown[]) => unknown) | null = null;

  /**
   * Whether calling `forward` runs exactly the class's computation: no hooks, and `forward` not replaced on the
   * instance. The fusion pass (nn/fusion.ts) may then fuse the module with its neighbours.
   */
  isPlainForward(): boolean {
    return this._preHooks.size === 0 && this._hooks.size === 0 && this.forward === this._wrappedForward;
  }

  /**
   * A counter that changes whenever one of this module's own parameters, buffers or children is registered,
   * assigned or removed — not when their values change, nor for changes further down the tree. With
   * `isPlainForward` and `training` it lets a cached plan of a module tree (models/fusion-nhwc.ts) see that a part
   * was swapped without walking and checking the tree again.
   */
  structureVersion(): number {
    return this._structureVersion;
  }

  /** Alias of `forward` (PyTorch's `module(x)`). */
  call(...args: In): Out {
    return this.forward(...args);
  }

  private _callWithHooks(impl: (...args: unknown[]) => unknown, args: unknown[]): unknown {
    if (this._preHooks.size > 0) {
      for (const hook of [...this._preHooks.values()]) {
        const r = hook(this as unknown as AnyModule, args);
        if (r !== undefined) args = r as unknown[];
      }
    }
    let out = impl.apply(this, args);
    if (this._hooks.size > 0) {
      for (const hook of [...this._hooks.values()]) {
        const r = hook(this as unknown as AnyModule, args, out);
        if (r !== undefined) out = r;
      }
    }
    return out;
  }

  /**
   * Registers `hook(module, inputs)` to run before every forward; returning an array replaces the arguments.
   * Returns a function that removes the hook.
   */
  registerForwardPreHook(hook: ForwardPreHook<In>): RemovableHandle {
    const id = nextHookId++;
    this._preHooks.set(id, hook as StoredPreHook);
    epoch++;
    return makeHandle(() => {
      if (this._preHooks.delete(id)) epoch++;
    });
  }

  /**
   * Registers `hook(module, inputs, output)` to run after every forward (feature maps, Grad-CAM); returning a
   * value replaces the output. Returns a function that removes the hook.
   */
  registerForwardHook(hook: ForwardHook<In, Out>): RemovableHandle {
    const id = nextHookId++;
    this._hooks.set(id, hook as StoredHook);
    epoch++;
    return makeHandle(() => {
      if (this._hooks.delete(id)) epoch++;
    });
  }

  // ---------------------------------------------------------------- registration

  private checkName(kind: string, name: string, own: Map<string, unknown>): void {
    if (typeof name !== 'string' || name.length === 0) throw new Error(`${kind}: name must be a non-empty string`);
    if (name.includes('.')) throw new Error(`${kind}: name can't contain ".", got '${name}'`);
    const maps: [string, Map<string, unknown>][] = [
      ['parameter', this._parameters],
      ['buffer', this._buffers],
      ['module', this._modules],
    ];
    for (const [what, m] of maps) {
      if (m !== own && m.has(name))
        throw new Error(`${kind}: '${name}' is already registered as a ${what} of ${this.getName()}`);
    }
  }

  /** Defines `name` (and its camelCase alias) as an accessor into the registry `map`. */
  private defineSlot<T>(name: string, map: Map<string, T | null>, accept: (v: unknown) => T | null): void {
    const desc: PropertyDescriptor = {
      get: () => map.get(name) ?? null,
      set: (v: unknown) => {
        map.set(name, accept(v));
        this.structureChanged();
      },
      enumerable: false,
      configurable: true,
    };
    Object.defineProperty(this, name, desc);
    const camel = snakeToCamel(name);
    if (camel !== name) Object.defineProperty(this, camel, desc);
  }

  /** Registers (or replaces) a parameter under `name`; null keeps the slot (e.g. `bias` when bias=false). */
  registerParameter(name: string, param: Parameter | null): Parameter | null {
    this.checkName('registerParameter', name, this._parameters);
    const accept = (v: unknown): Parameter | null => {
      if (v === null || v === undefined) return null;
      if (v instanceof Parameter) return v;
      throw new TypeError(
        `cannot assign ${describe(v)} as parameter '${name}' of ${this.getName()} (nn.Parameter or null expected)`,
      );
    };
    this._parameters.set(name, accept(param));
    this.structureChanged();
    this.defineSlot(name, this._parameters, accept);
    return param;
  }

  /**
   * Registers a buffer: state that is not learned (running statistics). Persistent buffers are part of
   * `stateDict()`; non-persistent ones are not. Returns the tensor.
   */
  registerBuffer<T extends Tensor | null>(name: string, tensor: T, persistent = true): T {
    this.checkName('registerBuffer', name, this._buffers);
    const accept = (v: unknown): Tensor | null => {
      if (v === null || v === undefined) return null;
      if (v instanceof Tensor) return v;
      throw new TypeError(
        `cannot assign ${describe(v)} as buffer '${name}' of ${this.getName()} (Tensor or null expected)`,
      );
    };
    this._buffers.set(name, accept(tensor));
    this.structureChanged();
    if (persistent) this._nonPersistent.delete(name);
    else this._nonPersistent.add(name);
    this.defineSlot(name, this._buffers, accept);
    return tensor;
  }

  /** Registers (or replaces) a submodule under `name` (PyTorch's `add_module`/`register_module`). Returns it. */
  registerModule<M extends AnyModule | null>(name: string, module: M): M {
    this.checkName('registerModule', name, this._modules);
    const accept = (v: unknown): AnyModule | null => {
      if (v === null || v === undefined) return null;
      if (v instanceof Module) return v;
      throw new TypeError(
        `cannot assign ${describe(v)} as child module '${name}' of ${this.getName()} (nn.Module or null expected)`,
      );
    };
    this._modules.set(name, accept(module));
    this.structureChanged();
    this.defineSlot(name, this._modules, accept);
    return module;
  }

  /** Alias of `registerModule` (PyTorch's `add_module`). */
  addModule<M extends AnyModule | null>(name: string, module: M): M {
    return this.registerModule(name, module);
  }

  /** Removes a child and its accessor (containers use it when they shrink). */
  protected unregisterModule(name: string): void {
    this._modules.delete(name);
    this.structureChanged();
    delete (this as unknown as Record<string, unknown>)[name];
    const camel = snakeToCamel(name);
    if (camel !== name) delete (this as unknown as Record<string, unknown>)[camel];
  }

  /** Registers parameters and modules assigned to plain fields since the last inspection. */
  private discover(): void {
    for (const key of Object.keys(this)) {
      const d = Object.getOwnPropertyDescriptor(this, key);
      if (!d || !('value' in d)) continue;
      const v: unknown = d.value;
      if (v instanceof Parameter) this.registerParameter(key, v);
      else if (v instanceof Module) this.registerModule(key, v);
    }
  }

  // ---------------------------------------------------------------- traversal

  /** Own parameters (name → parameter or null), after discovery. */
  protected ownParameters(): Map<string, Parameter | null> {
    this.discover();
    return this._parameters;
  }

  /** Direct submodules, named (null slots skipped). */
  namedChildren(): [string, AnyModule][] {
    this.discover();
    const out: [string, AnyModule][] = [];
    const seen = new Set<AnyModule>();
    for (const [k, m] of this._modules) {
      if (m && !seen.has(m)) {
        seen.add(m);
        out.push([k, m]);
      }
    }
    return out;
  }

  children(): AnyModule[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and every descendant, pre-order, with dotted names ('' for this one). Shared modules appear once. */
  namedModules(prefix = '', memo: Set<AnyModule> = new Set()): [string, AnyModule][] {
    if (memo.has(this)) return [];
    memo.add(this);
    this.discover();
    const out: [string, AnyModule][] = [[prefix, this]];
    for (const [k, m] of this._modules) {
      if (m) out.push(...m.namedModules(prefix ? `${prefix}.${k}` : k, memo));
    }
    return out;
  }

  modules(): AnyModule[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Parameters with dotted names, in registration order (own first, then each child's), each once. */
  namedParameters(prefix = '', recurse = true): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, AnyModule][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [mp, m] of mods) {
      for (const [k, p] of m.ownParameters()) {
        if (p && !seen.has(p)) {
          seen.add(p);
          out.push([mp ? `${mp}.${k}` : k, p]);
        }
      }
    }
    return out;
  }

  /** The parameters (what an optimizer takes). */
  parameters(recurse = true): Parameter[] {
    return this.namedParameters('', recurse).map(([, p]) => p);
  }

  /** Buffers with dotted names (persistent and not). */
  namedBuffers(prefix = '', recurse = true): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, AnyModule][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [mp, m] of mods) {
      for (const [k, b] of m._buffers) {
        if (b && !seen.has(b)) {
          seen.add(b);
          out.push([mp ? `${mp}.${k}` : k, b]);
        }
      }
    }
    return out;
  }

  buffers(recurse = true): Tensor[] {
    return this.namedBuffers('', recurse).map(([, b]) => b);
  }

  /** The submodule at a dotted path ('layer4.1.conv2'); throws naming the missing part. */
  getSubmodule(target: string): AnyModule {
    if (target === '') return this;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the walk starts at this module
    let mod: AnyModule = this;
    for (const part of target.split('.')) {
      mod.discover();
      const next = mod._modules.get(part);
      if (!next) throw new Error(`getSubmodule: ${mod.getName()} has no submodule '${part}' (path '${target}')`);
      mod = next;
    }
    return mod;
  }

  /** The parameter at a dotted path ('fc.weight'). */
  getParameter(target: string): Parameter {
    const i = target.lastIndexOf('.');
    const mod = this.getSubmodule(i < 0 ? '' : target.slice(0, i));
    const p = mod.ownParameters().get(target.slice(i + 1));
    if (!p) throw new Error(`getParameter: ${mod.getName()} has no parameter '${target.slice(i + 1)}'`);
    return p;
  }

  // ---------------------------------------------------------------- modes and gradients

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode (dropout off, batch norm uses running statistics). */
  eval(): this {
    return this.train(false);
  }

  /** Turns gradient tracking of every parameter on or off (freezing). */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /** Clears parameter gradients: sets them to null (default, like PyTorch 2) or fills them with zeros. */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) {
      if (!p.grad) continue;
      if (setToNone) p.grad = null;
      else noGrad(() => zero_(p.grad!));
    }
  }

  /** Calls `fn` on every descendant (children first) and then on this module — used for custom initialisation. */
  apply(fn: (module: AnyModule) => void): this {
    for (const m of this.children()) m.apply(fn);
    fn(this);
    return this;
  }

  /** Number of parameter elements (only trainable ones when `trainableOnly`). */
  numParameters(trainableOnly = false): number {
    let n = 0;
    for (const p of this.parameters()) if (!trainableOnly || p.requiresGrad) n += p.numel();
    return n;
  }

  // ---------------------------------------------------------------- state

  /**
   * Parameters and persistent buffers by dotted name, in PyTorch's order (each module's parameters, then its
   * buffers, then its children). Values are detached tensors sharing storage with the module (clone to snapshot).
   */
  stateDict(prefix = ''): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.saveTo(out, prefix);
    return out;
  }

  private saveTo(out: Record<string, Tensor>, prefix: string): void {
    for (const [k, p] of this.ownParameters()) if (p) out[prefix + k] = p.detach();
    for (const [k, b] of this._buffers) if (b && !this._nonPersistent.has(k)) out[prefix + k] = b.detach();
    for (const [k, m] of this._modules) if (m) m.saveTo(out, `${prefix}${k}.`);
  }

  /**
   * Copies values from `stateDict` into this module's parameters and persistent buffers (converting dtype).
   * With `strict` (default) missing or unexpected keys throw; a shape mismatch always throws, naming the key and
   * both shapes. Returns the missing and unexpected keys.
   */
  loadStateDict(stateDict: Record<string, Tensor>, strict = true): LoadResult {
    const expected: [string, Tensor][] = [];
    const collect = (m: AnyModule, prefix: string, seen: Set<AnyModule>): void => {
      if (seen.has(m)) return;
      seen.add(m);
      for (const [k, p] of m.ownParameters()) if (p) expected.push([prefix + k, p]);
      for (const [k, b] of m._buffers) if (b && !m._nonPersistent.has(k)) expected.push([prefix + k, b]);
      for (const [k, c] of m._modules) if (c) collect(c, `${prefix}${k}.`, seen);
    };
    collect(this, '', new Set());
    const expectedKeys = new Set(expected.map(([k]) => k));
    const missingKeys: string[] = [];
    const mismatches: string[] = [];
    for (const [k, t] of expected) {
      const src = stateDict[k];
      if (src === undefined) {
        missingKeys.push(k);
        continue;
      }
      if (!(src instanceof Tensor)) {
        mismatches.push(`value for ${k} is not a Tensor (got ${describe(src)})`);
        continue;
      }
      if (!shapesEqual(src.shape, t.shape)) {
        mismatches.push(
          `size mismatch for ${k}: copying a param with shape ${formatShape(src.shape)} from checkpoint, the shape in current model is ${formatShape(t.shape)}.`,
        );
      }
    }
    const unexpectedKeys = Object.keys(stateDict).filter((k) => !expectedKeys.has(k));
    const errors: string[] = [];
    if (strict && unexpectedKeys.length > 0)
      errors.push(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}.`);
    if (strict && missingKeys.length > 0)
      errors.push(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}.`);
    errors.push(...mismatches);
    if (errors.length > 0) {
      throw new Error(`Error(s) in loading state_dict for ${this.getName()}:\n\t${errors.join('\n\t')}`);
    }
    noGrad(() => {
      for (const [k, t] of expected) {
        const src = stateDict[k];
        if (src !== undefined && src !== t) copy_(t, src);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---------------------------------------------------------------- printing

  /** The class name shown by toString(). */
  protected getName(): string {
    return this.constructor.name;
  }

  /** The text inside the parentheses of toString() (PyTorch's `extra_repr`), e.g. `1, 32, kernel_size=(3, 3)`. */
  extraRepr(): string {
    return '';
  }

  /** PyTorch's module repr: the class, its extraRepr and each child indented. */
  toString(): string {
    const extra = this.extraRepr();
    const extraLines = extra ? extra.split('\n') : [];
    const childLines = this.namedChildrenWithDuplicates().map(([k, m]) => `(${k}): ${addIndent(m.toString(), 2)}`);
    const lines = [...extraLines, ...childLines];
    let s = `${this.getName()}(`;
    if (lines.length > 0) {
      if (extraLines.length === 1 && childLines.length === 0) s += extraLines[0];
      else s += `\n  ${lines.join('\n  ')}\n`;
    }
    return `${s})`;
  }

  private namedChildrenWithDuplicates(): [string, AnyModule][] {
    this.discover();
    return [...this._modules].filter((e): e is [string, AnyModule] => e[1] !== null);
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return `'${(v as object).constructor?.name ?? 'object'}'`;
  return `'${typeof v}'`;
}

/** Formats a PyTorch tuple: `(3, 3)`. */
export function tuple(v: readonly (number | boolean | string)[]): string {
  return `(${v.join(', ')}${v.length === 1 ? ',' : ''})`;
}
