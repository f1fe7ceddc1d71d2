/** LeNet-5 (LeCun et al. 1998) for 1×28×28 images (padded first convolution, as the MNIST-28 adaptation). */
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/container.js';
import { Flatten, Linear } from '../nn/linear.js';
import { AvgPool2d, MaxPool2d } from '../nn/pooling.js';
import { ReLU, Tanh } from '../nn/activation.js';
import type { AnyModule } from '../nn/module.js';

/** Options of `lenet5`. */
export interface LeNetOptions {
  numClasses?: number;
  inChannels?: number;
  /** 'tanh' with average pooling (the paper, default) or 'relu' with max pooling (the modern variant). */
  activation?: 'tanh' | 'relu';
}

/**
 * LeNet-5: conv 5×5 (6, padding 2) → pool → conv 5×5 (16) → pool → 120 → 84 → classes, as a Sequential
 * (`features`-free flat names 0…). 61,706 parameters with 10 classes.
 */
export function lenet5(opts: LeNetOptions = {}): Sequential {
  const relu = opts.activation === 'relu';
  const act = (): AnyModule => (relu ? new ReLU() : new Tanh());
  const pool = (): AnyModule => (relu ? new MaxPool2d(2) : new AvgPool2d(2));
  return new Sequential(
    new Conv2d(opts.inChannels ?? 1, 6, 5, { padding: 2 }),
    act(),
    pool(),
    new Conv2d(6, 16, 5),
    act(),
    pool(),
    new Flatten(),
    new Linear(16 * 5 * 5, 120),
    act(),
    new Linear(120, 84),
    act(),
    new Linear(84, opts.numClasses ?? 10),
  );
}
