/**
 * What the ONNX operator implementations share: the op signature, attribute access with ONNX's defaults, and
 * the error that marks an attribute combination Tatami does not implement (the conformance runner counts those
 * as unsupported rather than failed).
 */
import { Tensor } from '../tensor/tensor.js';
import type { AttrValue, NodeProto } from './proto.js';
import { attrValue, OnnxUnsupportedError } from './proto.js';

export { OnnxUnsupportedError };

/** A node's attributes, read with defaults. */
export class Attrs {
  private readonly map = new Map<string, AttrValue>();

  constructor(readonly node: NodeProto) {
    for (const a of node.attribute) this.map.set(a.name, attrValue(a));
  }

  has(name: string): boolean {
    return this.map.has(name);
  }

  int(name: string, def: number): number {
    const v = this.map.get(name);
    return typeof v === 'number' ? v : def;
  }

  float(name: string, def: number): number {
    const v = this.map.get(name);
    return typeof v === 'number' ? v : def;
  }

  str(name: string, def: string): string {
    const v = this.map.get(name);
    return typeof v === 'string' ? v : def;
  }

  ints(name: string): number[] | undefined;
  ints(name: string, def: number[]): number[];
  ints(name: string, def?: number[]): number[] | undefined {
    const v = this.map.get(name);
    return Array.isArray(v) ? (v as number[]) : def;
  }

  floats(name: string): number[] | undefined {
    const v = this.map.get(name);
    return Array.isArray(v) ? (v as number[]) : undefined;
  }

  tensor(name: string): Tensor | undefined {
    const v = this.map.get(name);
    return v instanceof Tensor ? v : undefined;
  }

  raw(name: string): AttrValue | undefined {
    return this.map.get(name);
  }
}

/** Everything an operator sees besides its inputs. */
export interface OpContext {
  attrs: Attrs;
  opType: string;
  /** The default-domain opset the model imports (some operators changed their signature across opsets). */
  opset: number;
  /** The module's training flag: BatchNormalization uses batch statistics and Dropout drops when true. */
  training: boolean;
  /** Number of outputs the node names (optional outputs may be omitted). */
  numOutputs: number;
}

/** An operator: inputs (null where an optional input is omitted) → outputs. */
export type OpFn = (inputs: (Tensor | null)[], ctx: OpContext) => Tensor | (Tensor | null)[];

/** Plain numbers from an integer (or float) tensor: shapes, axes, pads. */
export function numbers(t: Tensor | null | undefined): number[] {
  return t ? Array.from(t.toTypedArray()) : [];
}

/** Normalises a possibly negative axis. */
export function axis(op: string, a: number, rank: number): number {
  const r = a < 0 ? a + rank : a;
  if (r < 0 || r >= rank) throw new Error(`onnx import: ${op}: axis ${a} is out of range for rank ${rank}`);
  return r;
}

/** Input `i`, which the operator requires. */
export function need(op: string, inputs: (Tensor | null)[], i: number, what: string): Tensor {
  const t = inputs[i];
  if (!t) throw new Error(`onnx import: ${op}: input ${i} (${what}) is required`);
  return t;
}
