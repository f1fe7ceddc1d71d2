/**
 * Named intermediate feature maps of a model, with gradients — torchvision's `IntermediateLayerGetter`
 * (`torchvision.models._utils`) and `create_feature_extractor` (`torchvision.models.feature_extraction`).
 *
 * `IntermediateLayerGetter` is what torchvision's segmentation models wrap their backbones in: it keeps the
 * model's direct children up to the last requested one (so the state-dict names stay `conv1.weight`,
 * `layer1.0.bn1.running_mean` …) and runs them in registration order. `createFeatureExtractor` works for any
 * model and any submodule, at any depth: torchvision traces the forward with torch.fx; here forward hooks capture
 * the outputs of the named submodules during the model's own forward, which stops as soon as the last one has
 * been produced (the rest of the network is not computed).
 */
import { Module, type AnyModule, type RemovableHandle } from '../nn/module.js';
import { Tensor } from '../tensor/tensor.js';

/** Named feature maps, in the order the model produced them. */
export type FeatureMaps = Record<string, Tensor>;

/** Which outputs to return: names, or name → key of the result (torchvision's `return_layers`/`return_nodes`). */
export type ReturnSpec = readonly string[] | Readonly<Record<string, string>>;

function normaliseSpec(op: string, spec: ReturnSpec): Map<string, string> {
  const entries: [string, string][] = Array.isArray(spec)
    ? (spec as readonly string[]).map((n) => [n, n])
    : Object.entries(spec as Record<string, string>);
  if (entries.length === 0) throw new Error(`${op}: at least one return layer/node is required`);
  const out = new Map<string, string>();
  for (const [name, key] of entries) {
    if (typeof name !== 'string' || typeof key !== 'string' || name === '' || key === '') {
      throw new Error(`${op}: return names and keys must be non-empty strings, got ${JSON.stringify([name, key])}`);
    }
    out.set(name, key);
  }
  const keys = [...out.values()];
  const dup = keys.find((k, i) => keys.indexOf(k) !== i);
  if (dup !== undefined) throw new Error(`${op}: output key '${dup}' is used for more than one layer/node`);
  return out;
}

/**
 * Runs the direct children of `model` in registration order and returns the outputs of those named in
 * `returnLayers` (torchvision's `IntermediateLayerGetter`). The model's forward is NOT used: this only works for
 * models whose forward is their children applied in order (ResNet without `avgpool`/`fc`, `features` Sequentials).
 * Children after the last requested one are dropped, so `stateDict()` keys are the model's minus the head.
 *
 * `new IntermediateLayerGetter(resnet50(), { layer3: 'aux', layer4: 'out' }).forward(x)` → `{ aux, out }`.
 */
export class IntermediateLayerGetter extends Module<[Tensor], FeatureMaps> {
  /** Child name → key of the returned record. */
  readonly returnLayers: ReadonlyMap<string, string>;
  private readonly order: [string, AnyModule][];

  constructor(model: AnyModule, returnLayers: ReturnSpec) {
    super();
    const spec = normaliseSpec('IntermediateLayerGetter', returnLayers);
    const children = model.namedChildren();
    const names = new Set(children.map(([n]) => n));
    const missing = [...spec.keys()].filter((n) => !names.has(n));
    if (missing.length) {
      throw new Error(
        `IntermediateLayerGetter: return layers ${missing.map((m) => `'${m}'`).join(', ')} are not children of the model ` +
          `(children: ${[...names].join(', ')})`,
      );
    }
    this.returnLayers = spec;
    const remaining = new Set(spec.keys());
    this.order = [];
    for (const [name, child] of children) {
      this.registerModule(name, child);
      this.order.push([name, child]);
      remaining.delete(name);
      if (remaining.size === 0) break;
    }
  }

  forward(x: Tensor): FeatureMaps {
    const out: FeatureMaps = {};
    for (const [name, m] of this.order) {
      x = m.forward(x) as Tensor;
      const key = this.returnLayers.get(name);
      if (key !== undefined) out[key] = x;
    }
    return out;
  }
}

/** Thrown from a hook once every requested output exists, to skip the rest of the forward. */
class StopForward extends Error {}

/**
 * A model that returns the outputs of chosen submodules of `model` (torchvision's `create_feature_extractor`).
 * Node names are the submodules' qualified names (`layer2`, `layer3.5.relu`, `features.7`); a module called more
 * than once in one forward (the ReLU of a ResNet block) names its k-th call (k ≥ 1) `name_k`, as torch.fx does.
 * The parameters, buffers and training mode are the model's own (shared, not copied); `stateDict()` has the model's
 * keys. Outputs keep their autograd graph, so losses on them train the model.
 */
export class FeatureExtractor extends Module<[Tensor], FeatureMaps> {
  /** Node name → key of the returned record. */
  readonly returnNodes: ReadonlyMap<string, string>;
  declare private readonly model: AnyModule;
  private readonly targets: Map<AnyModule, { name: string; calls: Map<number, string> }>;

  constructor(model: AnyModule, returnNodes: ReturnSpec) {
    super();
    const spec = normaliseSpec('createFeatureExtractor', returnNodes);
    Object.defineProperty(this, 'model', { value: model, enumerable: false });
    // Register the model's children directly so the state-dict names are the model's (as torchvision's GraphModule).
    for (const [name, child] of model.namedChildren()) this.registerModule(name, child);
    const byName = new Map(model.namedModules());
    this.targets = new Map();
    for (const [node, key] of spec) {
      let name = node;
      let call = 0;
      let m = byName.get(name);
      const suffix = /^(.*)_(\d+)$/.exec(node);
      if (!m && suffix && byName.has(suffix[1])) {
        name = suffix[1];
        call = Number(suffix[2]);
        m = byName.get(name);
      }
      if (!m || name === '') {
        const known = [...byName.keys()].filter((k) => k !== '');
        throw new Error(
          `createFeatureExtractor: '${node}' is not a submodule of ${model.constructor.name} ` +
            `(known: ${known.slice(0, 20).join(', ')}${known.length > 20 ? `, … ${known.length - 20} more` : ''})`,
        );
      }
      const t = this.targets.get(m) ?? { name, calls: new Map<number, string>() };
      t.calls.set(call, key);
      this.targets.set(m, t);
    }
    this.returnNodes = spec;
  }

  override train(mode = true): this {
    this.model.train(mode);
    this.training = mode;
    return this;
  }

  forward(x: Tensor): FeatureMaps {
    const found = new Map<string, Tensor>();
    const want = this.returnNodes.size;
    const handles: RemovableHandle[] = [];
    for (const [m, t] of this.targets) {
      let calls = 0;
      handles.push(
        m.registerForwardHook((_mod, _inputs, output) => {
          const key = t.calls.get(calls++);
          if (key === undefined) return;
          if (!(output instanceof Tensor)) {
            throw new Error(`createFeatureExtractor: '${t.name}' returned ${typeof output}, expected a Tensor`);
          }
          found.set(key, output);
          if (found.size === want) throw new StopForward();
        }),
      );
    }
    try {
      this.model.forward(x);
    } catch (e) {
      if (!(e instanceof StopForward)) throw e;
    } finally {
      for (const h of handles) h.remove();
    }
    if (found.size !== want) {
      const missing = [...this.returnNodes.entries()].filter(([, k]) => !found.has(k)).map(([n]) => n);
      throw new Error(
        `createFeatureExtractor: the forward of ${this.model.constructor.name} never produced ${missing.map((n) => `'${n}'`).join(', ')}`,
      );
    }
    // In the order of returnNodes (torchvision returns them in the order given).
    const out: FeatureMaps = {};
    for (const key of this.returnNodes.values()) out[key] = found.get(key)!;
    return out;
  }
}

/** Options of `createFeatureExtractor`. */
export interface FeatureExtractorOptions {
  /** Submodule names (or name → output key) to return; see `FeatureExtractor` for the naming of repeated calls. */
  returnNodes: ReturnSpec;
}

/** torchvision's `create_feature_extractor(model, return_nodes)`: see `FeatureExtractor`. */
export function createFeatureExtractor(model: AnyModule, opts: FeatureExtractorOptions): FeatureExtractor {
  return new FeatureExtractor(model, opts.returnNodes);
}
