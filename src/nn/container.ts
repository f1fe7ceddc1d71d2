/** Containers: Sequential, ModuleList, ModuleDict (PyTorch's names, indices as child names '0', '1', …). */
import type { Tensor } from '../tensor/tensor.js';
import { Module, type AnyModule } from './module.js';

function normIndex(op: string, i: number, n: number): number {
  if (!Number.isInteger(i) || i < -n || i >= n)
    throw new Error(`${op}: index ${i} is out of range for a container of ${n} modules`);
  return i < 0 ? i + n : i;
}

/** A list of modules registered as children '0', '1', …; base of Sequential and ModuleList. */
abstract class IndexedContainer<In extends unknown[], Out> extends Module<In, Out> {
  /** Children by position; also reachable as `container[i]`. */
  readonly [index: number]: AnyModule;
  protected items: AnyModule[] = [];

  protected reindex(): void {
    for (const [k] of this.namedChildren()) this.unregisterModule(k);
    this.items.forEach((m, i) => this.registerModule(String(i), m));
  }

  get length(): number {
    return this.items.length;
  }

  /** The module at `i` (negative counts from the end). */
  at(i: number): AnyModule {
    return this.items[normIndex('at', i, this.items.length)];
  }

  /** Replaces the module at `i`. */
  set(i: number, module: AnyModule): this {
    const k = normIndex('set', i, this.items.length);
    this.items[k] = module;
    this.registerModule(String(k), module);
    return this;
  }

  append(module: AnyModule): this {
    if (!(module instanceof Module)) throw new TypeError(`append: expected an nn.Module, got ${typeof module}`);
    this.registerModule(String(this.items.length), module);
    this.items.push(module);
    return this;
  }

  extend(modules: Iterable<AnyModule>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  insert(index: number, module: AnyModule): this {
    const n = this.items.length;
    const k = index < 0 ? Math.max(0, index + n) : Math.min(index, n);
    this.items.splice(k, 0, module);
    this.reindex();
    return this;
  }

  /** Removes and returns the module at `i` (default: the last). */
  pop(i = -1): AnyModule {
    const k = normIndex('pop', i, this.items.length);
    const [m] = this.items.splice(k, 1);
    this.reindex();
    return m;
  }

  [Symbol.iterator](): Iterator<AnyModule> {
    return this.items[Symbol.iterator]();
  }
}

/**
 * Chains modules: `forward(x)` feeds x through each in order. Children are named '0', '1', … — or by the keys of
 * an ordered record: `new nn.Sequential({conv: ..., relu: ...})`. Indexable (`seq[0]`, `seq.at(-1)`), iterable,
 * `append`/`insert`/`extend`/`pop`, and `slice(start, end)` returns a Sequential sharing the modules.
 */
export class Sequential extends IndexedContainer<[Tensor], Tensor> {
  constructor(...modules: AnyModule[] | [Record<string, AnyModule>]) {
    super();
    if (modules.length === 1 && !(modules[0] instanceof Module) && typeof modules[0] === 'object') {
      for (const [k, m] of Object.entries(modules[0] as Record<string, AnyModule>)) {
        this.registerModule(k, m);
        this.items.push(m);
      }
    } else {
      for (const m of modules as AnyModule[]) this.append(m);
    }
  }

  protected override reindex(): void {
    const named = this.namedChildren();
    if (named.some(([k], i) => k !== String(i))) {
      throw new Error('Sequential: insert/pop are only supported when children are named by index');
    }
    super.reindex();
  }

  forward(x: Tensor): Tensor {
    let y: unknown = x;
    for (const m of this.items) y = m.forward(y);
    return y as Tensor;
  }

  /** A Sequential of the modules in [start, end) (shared, not copied), keeping their names. */
  slice(start = 0, end = this.items.length): Sequential {
    const entries = this.namedChildren().slice(start, end);
    const byIndex = entries.every(([k], i) => k === String(i + (start < 0 ? start + this.items.length : start)));
    return byIndex ? new Sequential(...entries.map(([, m]) => m)) : new Sequential(Object.fromEntries(entries));
  }
}

/** A list of submodules, registered so their parameters are found (PyTorch's ModuleList). Has no forward. */
export class ModuleList extends IndexedContainer<never[], never> {
  constructor(modules: Iterable<AnyModule> = []) {
    super();
    this.extend(modules);
  }

  forward(): never {
    throw new Error('ModuleList has no forward: iterate over it and call each module');
  }
}

/** A string-keyed dict of submodules (PyTorch's ModuleDict). Has no forward. */
export class ModuleDict extends Module<never[], never> {
  private readonly entriesMap = new Map<string, AnyModule>();

  constructor(modules: Record<string, AnyModule> | Iterable<[string, AnyModule]> = {}) {
    super();
    this.update(modules);
  }

  get(key: string): AnyModule {
    const m = this.entriesMap.get(key);
    if (!m)
      throw new Error(
        `ModuleDict: no module named '${key}' (have ${[...this.entriesMap.keys()].join(', ') || 'none'})`,
      );
    return m;
  }

  set(key: string, module: AnyModule): this {
    this.registerModule(key, module);
    this.entriesMap.set(key, module);
    return this;
  }

  has(key: string): boolean {
    return this.entriesMap.has(key);
  }

  /** Removes `key` and returns its module. */
  pop(key: string): AnyModule {
    const m = this.get(key);
    this.entriesMap.delete(key);
    this.unregisterModule(key);
    return m;
  }

  update(modules: Record<string, AnyModule> | Iterable<[string, AnyModule]>): this {
    const entries =
      Symbol.iterator in modules ? [...(modules as Iterable<[string, AnyModule]>)] : Object.entries(modules);
    for (const [k, m] of entries) this.set(k, m);
    return this;
  }

  keys(): string[] {
    return [...this.entriesMap.keys()];
  }

  values(): AnyModule[] {
    return [...this.entriesMap.values()];
  }

  entries(): [string, AnyModule][] {
    return [...this.entriesMap.entries()];
  }

  get size(): number {
    return this.entriesMap.size;
  }

  forward(): never {
    throw new Error('ModuleDict has no forward: look modules up by key and call them');
  }
}
