/**
 * Padding modules (torch.nn.ReflectionPad2d, ReplicationPad2d, ZeroPad2d, ConstantPad2d) around F.pad. They hold
 * no parameters but take a slot in a Sequential, so state-dict indices match PyTorch models that use them (the
 * CycleGAN ResNet generator pads with ReflectionPad2d before its 7×7 and 3×3 convolutions).
 */
import { pad, type PadMode } from '../ops/pad.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

/** An int (all four sides) or [left, right, top, bottom], PyTorch's order. */
export type Padding2d = number | readonly [number, number, number, number];

function quad(op: string, p: Padding2d): [number, number, number, number] {
  const q = typeof p === 'number' ? [p, p, p, p] : [...p];
  if (q.length !== 4 || !q.every((v) => Number.isInteger(v))) {
    throw new Error(
      `${op}: padding must be an integer or [left, right, top, bottom] integers, got ${JSON.stringify(p)}`,
    );
  }
  return q as [number, number, number, number];
}

abstract class Pad2dBase extends Module {
  readonly padding: [number, number, number, number];

  constructor(
    padding: Padding2d,
    private readonly mode: PadMode,
    private readonly value = 0,
  ) {
    super();
    this.padding = quad(this.constructor.name, padding);
  }

  forward(x: Tensor): Tensor {
    if (x.shape.length !== 3 && x.shape.length !== 4) {
      throw new Error(
        `${this.constructor.name}: expected a 3D [C, H, W] or 4D [N, C, H, W] input, got shape [${x.shape.join(', ')}]`,
      );
    }
    return pad(x, this.padding, { mode: this.mode, value: this.value });
  }

  override extraRepr(): string {
    return `(${this.padding.join(', ')})`;
  }
}

/** Mirror padding of the last two dims, the edge not repeated (torch.nn.ReflectionPad2d). */
export class ReflectionPad2d extends Pad2dBase {
  constructor(padding: Padding2d) {
    super(padding, 'reflect');
  }
}

/** Edge-replicating padding of the last two dims (torch.nn.ReplicationPad2d). */
export class ReplicationPad2d extends Pad2dBase {
  constructor(padding: Padding2d) {
    super(padding, 'replicate');
  }
}

/** Constant `value` padding of the last two dims (torch.nn.ConstantPad2d); negative amounts crop. */
export class ConstantPad2d extends Pad2dBase {
  constructor(padding: Padding2d, value: number) {
    super(padding, 'constant', value);
  }
}

/** Zero padding of the last two dims (torch.nn.ZeroPad2d). */
export class ZeroPad2d extends Pad2dBase {
  constructor(padding: Padding2d) {
    super(padding, 'constant', 0);
  }
}
