/**
 * ONNX import: an .onnx file becomes an `OnnxModel`, a Tatami module that interprets the graph with Tatami ops.
 * Float initializers become parameters (requiresGrad, so the model fine-tunes with any optimizer), except the
 * running statistics of BatchNormalization, which become buffers (train() makes those nodes use batch statistics
 * and update them, as a PyTorch BatchNorm does). Parameter names are the initializer names, nested at their dots
 * (`layer1.0.conv1.weight`), so a Tatami or torchvision state dict loads into an imported model by name.
 */
import { readFile } from 'node:fs/promises';
import { Module } from '../nn/module.js';
import { Parameter } from '../nn/parameter.js';
import { Tensor } from '../tensor/tensor.js';
import { isFloating } from '../tensor/dtype.js';
import { formatShape } from '../tensor/shape.js';
import { decodeModel, dtypeOfOnnx, tensorFromProto, type ModelProto, type NodeProto } from './proto.js';
import { Attrs, OnnxUnsupportedError, type OpFn } from './ops-common.js';
import { NN_OPS } from './ops-nn.js';
import { TENSOR_OPS } from './ops-tensor.js';

/** Every operator the importer implements (default ONNX domain), by op_type. */
export const SUPPORTED_OPS: Readonly<Record<string, OpFn>> = { ...TENSOR_OPS, ...NN_OPS };

/** Names the importer's operators (sorted). */
export function supportedOps(): string[] {
  return Object.keys(SUPPORTED_OPS).sort();
}

/** A holder module for parameters under a dotted prefix (never called). */
class Scope extends Module {
  forward(): never {
    throw new Error('onnx import: a parameter scope of an OnnxModel is not callable');
  }
}

/** Options of importModel. */
export interface ImportOptions {
  /** Float initializers require gradients (default true; running statistics never do). */
  requiresGrad?: boolean;
}

/**
 * An imported ONNX graph as a module. `forward(...inputs)` takes the graph inputs in order and returns the first
 * output; `run({name: tensor})` returns every output by name.
 */
export class OnnxModel extends Module<Tensor[], Tensor> {
  /** Graph input names (initializers excluded), in order. */
  readonly inputNames: string[];
  /** Graph output names, in order. */
  readonly outputNames: string[];
  /** The default-domain opset the model was written for. */
  readonly opset: number;
  private readonly nodes: NodeProto[];
  private readonly attrs: Attrs[];
  /** Initializer name → its parameter or buffer (or a non-float constant). */
  private readonly values = new Map<string, Tensor>();

  constructor(model: ModelProto, opts: ImportOptions = {}) {
    super();
    const graph = model.graph;
    if (!graph) throw new Error('onnx import: the model has no graph');
    this.opset = Number(model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 1n);
    const foreign = model.opsetImport.filter((o) => o.domain !== '' && o.domain !== 'ai.onnx').map((o) => o.domain);
    this.nodes = graph.node;
    // Every operator is checked up front: one error lists all that are missing.
    const missing = new Set<string>();
    for (const n of graph.node) {
      if ((n.domain !== '' && n.domain !== 'ai.onnx') || !(n.opType in SUPPORTED_OPS))
        missing.add(n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType);
    }
    if (missing.size > 0) {
      throw new OnnxUnsupportedError(
        'model',
        `operator${missing.size > 1 ? 's' : ''} ${[...missing].sort().join(', ')}` +
          `${foreign.length ? ` (custom domains: ${foreign.join(', ')})` : ''}; supported: ${supportedOps().join(', ')}`,
      );
    }
    // Graph inputs and outputs must be tensors of an element type Tatami holds (not sequences, optionals, float16).
    for (const vi of [...graph.input, ...graph.output]) {
      const tv = vi.type?.value;
      if (!tv) continue;
      if (tv.case !== 'tensorType')
        throw new OnnxUnsupportedError('model', `graph value '${vi.name}' of type ${tv.case ?? 'unknown'}`);
      dtypeOfOnnx(tv.value.elemType, `graph value '${vi.name}'`);
    }
    this.attrs = graph.node.map((n) => new Attrs(n));
    const statsInputs = new Set<string>();
    for (const n of graph.node)
      if (n.opType === 'BatchNormalization') for (const i of [3, 4]) if (n.input[i]) statsInputs.add(n.input[i]);
    const inits = new Set<string>();
    const requiresGrad = opts.requiresGrad ?? true;
    for (const tp of graph.initializer) {
      inits.add(tp.name);
      const t = tensorFromProto(tp);
      if (!isFloating(t.dtype)) {
        this.values.set(tp.name, t);
        continue;
      }
      const stat = statsInputs.has(tp.name);
      const v = stat ? t : new Parameter(t, requiresGrad);
      this.values.set(tp.name, v);
      this.place(tp.name, v, stat);
    }
    this.inputNames = graph.input.map((i) => i.name).filter((n) => !inits.has(n));
    this.outputNames = graph.output.map((o) => o.name);
  }

  /** Registers a parameter or buffer under its dotted name, creating scopes for the prefixes. */
  private place(name: string, t: Tensor, buffer: boolean): void {
    const parts = name.split('.');
    if (parts.some((p) => p.length === 0)) parts.splice(0, parts.length, name.replace(/\./g, '_'));
    let scope: Module<unknown[], unknown> = this as unknown as Module<unknown[], unknown>;
    for (const p of parts.slice(0, -1)) {
      const key = safeKey(scope, p, 'module');
      let child = (scope as unknown as { _modules: Map<string, Module<unknown[], unknown> | null> })._modules.get(key);
      if (!child) child = scope.registerModule(key, new Scope() as unknown as Module<unknown[], unknown>);
      scope = child;
    }
    const leaf = safeKey(scope, parts[parts.length - 1], buffer ? 'buffer' : 'parameter');
    if (buffer) scope.registerBuffer(leaf, t);
    else scope.registerParameter(leaf, t as Parameter);
  }

  /** Runs the graph; returns every output by name. */
  run(feeds: Record<string, Tensor>): Record<string, Tensor> {
    const env = new Map<string, Tensor>(this.values);
    for (const name of this.inputNames) {
      const t = feeds[name];
      if (!(t instanceof Tensor))
        throw new Error(`onnx import: input '${name}' is missing (inputs: ${this.inputNames.join(', ')})`);
      env.set(name, t);
    }
    for (let k = 0; k < this.nodes.length; k++) {
      const n = this.nodes[k];
      const ins = n.input.map((name) => {
        if (name === '') return null;
        const t = env.get(name);
        if (!t)
          throw new Error(`onnx import: node ${n.name || k} (${n.opType}) reads '${name}', which nothing produced`);
        return t;
      });
      let out: Tensor | (Tensor | null)[];
      try {
        out = SUPPORTED_OPS[n.opType](ins, {
          attrs: this.attrs[k],
          opType: n.opType,
          opset: this.opset,
          training: this.training,
          numOutputs: n.output.filter((o) => o !== '').length,
        });
      } catch (e) {
        if (e instanceof OnnxUnsupportedError) throw e;
        const shapes = ins.map((t) => (t ? formatShape(t.shape) : '∅')).join(', ');
        throw new Error(
          `onnx import: node '${n.name || k}' (${n.opType}) on inputs ${shapes} failed: ${(e as Error).message}`,
        );
      }
      const outs = Array.isArray(out) ? out : [out];
      n.output.forEach((name, i) => {
        if (name !== '' && outs[i]) env.set(name, outs[i]!);
      });
    }
    const result: Record<string, Tensor> = {};
    for (const name of this.outputNames) {
      const t = env.get(name);
      if (!t) throw new Error(`onnx import: graph output '${name}' was not produced`);
      result[name] = t;
    }
    return result;
  }

  forward(...inputs: Tensor[]): Tensor {
    if (inputs.length !== this.inputNames.length) {
      throw new Error(
        `OnnxModel: expected ${this.inputNames.length} input(s) (${this.inputNames.join(', ')}), got ${inputs.length}`,
      );
    }
    const feeds: Record<string, Tensor> = {};
    this.inputNames.forEach((n, i) => (feeds[n] = inputs[i]));
    return this.run(feeds)[this.outputNames[0]];
  }
}

/** A registration key that does not clash with a module's own properties or other registrations. */
function safeKey(scope: Module<unknown[], unknown>, name: string, kind: string): string {
  let key = name;
  const taken = (k: string) => {
    const s = scope as unknown as {
      _modules: Map<string, unknown>;
      _parameters: Map<string, unknown>;
      _buffers: Map<string, unknown>;
    };
    if (kind === 'module' && s._modules.has(k)) return false;
    return s._modules.has(k) || s._parameters.has(k) || s._buffers.has(k) || (k in scope && !s._modules.has(k));
  };
  while (taken(key)) key = `${key}_`;
  return key;
}

/** Builds a module from .onnx bytes. */
export function importModelBytes(bytes: Uint8Array, opts: ImportOptions = {}): OnnxModel {
  return new OnnxModel(decodeModel(bytes), opts);
}

/** Loads an .onnx file as a runnable, trainable module: `const m = await tt.onnx.importModel('net.onnx')`. */
export async function importModel(path: string, opts: ImportOptions = {}): Promise<OnnxModel> {
  return importModelBytes(new Uint8Array(await readFile(path)), opts);
}
