/**
 * A small ONNX graph builder used by the exporter: unique value names, nodes, initializers and constants.
 */
import type { Tensor } from '../tensor/tensor.js';
import {
  create,
  int64Proto,
  makeNode,
  tensorToProto,
  ModelProtoSchema,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto.js';
import { GraphProtoSchema, OperatorSetIdProtoSchema } from './gen/onnx_pb.js';

export type AttrMap = Record<string, number | string | readonly number[] | TensorProto | undefined>;

/** Collects the nodes and initializers of one graph. */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(readonly opset: number) {}

  /** A fresh value name based on `hint`. */
  fresh(hint: string): string {
    let name = hint;
    while (this.used.has(name)) name = `${hint}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  /** Reserves an exact name (graph inputs, parameters); throws if taken. */
  reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`onnx export: value name '${name}' is used twice`);
    this.used.add(name);
    return name;
  }

  /** Adds a node with one output and returns the output's name. */
  node(
    opType: string,
    inputs: string[],
    attrs: AttrMap = {},
    opts: { floats?: readonly string[]; out?: string; hint?: string } = {},
  ): string {
    const out = opts.out ?? this.fresh(opts.hint ?? opType.toLowerCase());
    this.nodes.push(makeNode(opType, inputs, [out], `${opType}_${this.nodes.length}`, attrs, opts.floats));
    return out;
  }

  /** Adds a tensor initializer under `name` (reserved here unless `reserved`). */
  initializer(name: string, t: Tensor, opts: { reserved?: boolean; int64?: boolean } = {}): string {
    if (!opts.reserved) name = this.fresh(name);
    this.initializers.push(tensorToProto(t, name, { int64: opts.int64 }));
    return name;
  }

  /**
   * A constant as a Constant node, not an initializer: importers (Tatami's, PyTorch's onnx2torch …) turn float
   * initializers into trainable parameters, and exporter-made scalars and shapes are not parameters.
   */
  constant(hint: string, t: Tensor, opts: { int64?: boolean } = {}): string {
    const out = this.fresh(hint);
    this.nodes.push(
      makeNode('Constant', [], [out], `Constant_${this.nodes.length}`, { value: tensorToProto(t, out, opts) }),
    );
    return out;
  }

  /** An int64 1-D constant (shapes, axes, pads). */
  ints(hint: string, values: readonly number[]): string {
    const out = this.fresh(hint);
    this.nodes.push(
      makeNode('Constant', [], [out], `Constant_${this.nodes.length}`, { value: int64Proto(out, values) }),
    );
    return out;
  }

  /** Builds the ModelProto. */
  model(inputs: ValueInfoProto[], outputs: ValueInfoProto[], name: string, producerVersion: string) {
    const graph = create(GraphProtoSchema, {
      name,
      node: this.nodes,
      initializer: this.initializers,
      input: inputs,
      output: outputs,
    });
    return create(ModelProtoSchema, {
      irVersion: 8n,
      producerName: 'tatami',
      producerVersion,
      graph,
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(this.opset) })],
    });
  }
}
