/**
 * Small CNNs for 28×28 images. `smallCnn` is the default (the benchmark's W4/W5 model): two 3×3 conv blocks with
 * max pooling, then two linear layers — 421,642 parameters for 1×28×28 inputs and 10 classes. `smallVgg` is the
 * stronger, VGG-style net of the Fashion-MNIST recipe in the README. Layer names match the equivalent PyTorch
 * `nn.Sequential`, so weights move between the two unchanged.
 */
import * as nn from '../nn/index.js';

export interface SmallCnnOptions {
  /** Input channels (1 for Fashion-MNIST, 3 for colour images). */
  inChannels?: number;
  /** Input height = width (must be divisible by 4). */
  imageSize?: number;
  numClasses?: number;
  /** Insert BatchNorm2d after each convolution (the stronger recipe). */
  batchNorm?: boolean;
  /** Dropout probability before the classifier (0 = none). */
  dropout?: number;
}

/** Builds the small CNN as an nn.Sequential. */
export function smallCnn(opts: SmallCnnOptions = {}): nn.Sequential {
  const inC = opts.inChannels ?? 1;
  const size = opts.imageSize ?? 28;
  const numClasses = opts.numClasses ?? 10;
  if (size % 4 !== 0) throw new Error(`smallCnn: imageSize must be divisible by 4 (two 2×2 poolings), got ${size}`);
  const block = (cin: number, cout: number): nn.Module[] =>
    opts.batchNorm
      ? [new nn.Conv2d(cin, cout, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(cout), new nn.ReLU(), new nn.MaxPool2d(2)]
      : [new nn.Conv2d(cin, cout, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2)];
  const head: nn.Module[] = [new nn.Flatten(), new nn.Linear(64 * (size / 4) * (size / 4), 128), new nn.ReLU()];
  if (opts.dropout) head.push(new nn.Dropout(opts.dropout));
  head.push(new nn.Linear(128, numClasses));
  return new nn.Sequential(...block(inC, 32), ...block(32, 64), ...head);
}

/** Options of smallVgg. */
export interface SmallVggOptions {
  /** Input channels (1 for Fashion-MNIST, 3 for colour images). */
  inChannels?: number;
  /** Input height = width (must be divisible by 4). */
  imageSize?: number;
  numClasses?: number;
  /** Channels of the two blocks (default [32, 64]). */
  widths?: readonly [number, number];
  /** Units of the hidden linear layer (default 256). */
  hidden?: number;
  /** Dropout probability before the classifier (default 0.3; 0 = none). */
  dropout?: number;
}

/**
 * A VGG-style small CNN: two blocks of (3×3 conv → BatchNorm → ReLU) × 2 followed by 2×2 max pooling, then
 * Linear → ReLU → Dropout → Linear. With the defaults it has 870,826 parameters for 1×28×28 inputs and 10 classes.
 * Two convolutions per resolution give each block a 5×5 receptive field before pooling, which is what the
 * one-conv-per-block `smallCnn` lacks to separate shirts, T-shirts, pullovers and coats on Fashion-MNIST.
 */
export function smallVgg(opts: SmallVggOptions = {}): nn.Sequential {
  const inC = opts.inChannels ?? 1;
  const size = opts.imageSize ?? 28;
  const numClasses = opts.numClasses ?? 10;
  const [w1, w2] = opts.widths ?? [32, 64];
  const hidden = opts.hidden ?? 256;
  const dropout = opts.dropout ?? 0.3;
  if (size % 4 !== 0) throw new Error(`smallVgg: imageSize must be divisible by 4 (two 2×2 poolings), got ${size}`);
  for (const [name, v] of [['widths[0]', w1], ['widths[1]', w2], ['hidden', hidden], ['numClasses', numClasses], ['inChannels', inC]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`smallVgg: ${name} must be a positive integer, got ${v}`);
  }
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`smallVgg: dropout must be in [0, 1), got ${dropout}`);
  // No conv bias: the BatchNorm that follows would cancel it.
  const convBnRelu = (cin: number, cout: number): nn.Module[] =>
    [new nn.Conv2d(cin, cout, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(cout), new nn.ReLU()];
  const head: nn.Module[] = [new nn.Flatten(), new nn.Linear(w2 * (size / 4) * (size / 4), hidden), new nn.ReLU()];
  if (dropout > 0) head.push(new nn.Dropout(dropout));
  head.push(new nn.Linear(hidden, numClasses));
  return new nn.Sequential(
    ...convBnRelu(inC, w1), ...convBnRelu(w1, w1), new nn.MaxPool2d(2),
    ...convBnRelu(w1, w2), ...convBnRelu(w2, w2), new nn.MaxPool2d(2),
    ...head,
  );
}
