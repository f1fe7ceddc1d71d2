/**
 * Small CNNs for 28×28 images. `smallCnn` is the default (the benchmark's W4/W5 model): two 3×3 conv blocks with
 * max pooling, then two linear layers — 421,642 parameters for 1×28×28 inputs and 10 classes. `smallVgg` is the
 * stronger, VGG-style net of the Fashion-MNIST recipe in the README. Layer names match the equivalent PyTorch
 * `nn.Sequential`, so weights move between the two unchanged.
 */
import * as nn from '../nn/index.js';

/** What both small nets take about their input and output. */
export interface SmallNetOptions {
  /** Input channels (1 for Fashion-MNIST, 3 for colour images). */
  inChannels?: number;
  /** Input height = width (must be divisible by 4). */
  imageSize?: number;
  numClasses?: number;
}

export interface SmallCnnOptions extends SmallNetOptions {
  /** Insert BatchNorm2d after each convolution (the stronger recipe). */
  batchNorm?: boolean;
  /** Dropout probability before the classifier (0 = none). */
  dropout?: number;
  /** Channels of the two conv blocks (default [32, 64]; narrower nets keep experiments and tests fast). */
  widths?: readonly [number, number];
  /** Units of the hidden linear layer (default 128). */
  hidden?: number;
}

/** Input channels, image size and classes with their defaults; the size must survive two 2×2 poolings. */
function netShape(name: string, opts: SmallNetOptions): { inC: number; size: number; numClasses: number } {
  const size = opts.imageSize ?? 28;
  if (size % 4 !== 0) throw new Error(`${name}: imageSize must be divisible by 4 (two 2×2 poolings), got ${size}`);
  return { inC: opts.inChannels ?? 1, size, numClasses: opts.numClasses ?? 10 };
}

/** 3×3 conv (no bias: the BatchNorm that follows would cancel it) → BatchNorm → ReLU. */
const convBnRelu = (cin: number, cout: number): nn.Module[] => [
  new nn.Conv2d(cin, cout, 3, { padding: 1, bias: false }),
  new nn.BatchNorm2d(cout),
  new nn.ReLU(),
];

/** Flatten → Linear(features, hidden) → ReLU → [Dropout] → Linear(hidden, classes). */
function classifier(features: number, hidden: number, numClasses: number, dropout: number): nn.Module[] {
  const head: nn.Module[] = [new nn.Flatten(), new nn.Linear(features, hidden), new nn.ReLU()];
  if (dropout) head.push(new nn.Dropout(dropout)); // 0 (or unset) = none; anything else goes to Dropout to check
  head.push(new nn.Linear(hidden, numClasses));
  return head;
}

/** Builds the small CNN as an nn.Sequential. */
export function smallCnn(opts: SmallCnnOptions = {}): nn.Sequential {
  const { inC, size, numClasses } = netShape('smallCnn', opts);
  const block = (cin: number, cout: number): nn.Module[] =>
    opts.batchNorm
      ? [...convBnRelu(cin, cout), new nn.MaxPool2d(2)]
      : [new nn.Conv2d(cin, cout, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2)];
  const [w1, w2] = opts.widths ?? [32, 64];
  const hidden = opts.hidden ?? 128;
  for (const [name, v] of [
    ['widths[0]', w1],
    ['widths[1]', w2],
    ['hidden', hidden],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`smallCnn: ${name} must be a positive integer, got ${v}`);
  }
  return new nn.Sequential(
    ...block(inC, w1),
    ...block(w1, w2),
    ...classifier(w2 * (size / 4) * (size / 4), hidden, numClasses, opts.dropout ?? 0),
  );
}

/** Options of smallVgg. */
export interface SmallVggOptions extends SmallNetOptions {
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
  const { inC, size, numClasses } = netShape('smallVgg', opts);
  const [w1, w2] = opts.widths ?? [32, 64];
  const hidden = opts.hidden ?? 256;
  const dropout = opts.dropout ?? 0.3;
  for (const [name, v] of [
    ['widths[0]', w1],
    ['widths[1]', w2],
    ['hidden', hidden],
    ['numClasses', numClasses],
    ['inChannels', inC],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`smallVgg: ${name} must be a positive integer, got ${v}`);
  }
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`smallVgg: dropout must be in [0, 1), got ${dropout}`);
  return new nn.Sequential(
    ...convBnRelu(inC, w1),
    ...convBnRelu(w1, w1),
    new nn.MaxPool2d(2),
    ...convBnRelu(w1, w2),
    ...convBnRelu(w2, w2),
    new nn.MaxPool2d(2),
    ...classifier(w2 * (size / 4) * (size / 4), hidden, numClasses, dropout),
  );
}
