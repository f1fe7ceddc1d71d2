/**
 * The default small CNN (the benchmark's W4/W5 model): two 3×3 conv blocks with max pooling, then two linear
 * layers — 421,642 parameters for 1×28×28 inputs and 10 classes. Layer names match the equivalent PyTorch
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
