/** Activation modules: thin wrappers over the functional ops, with PyTorch's reprs; plus FReLU. */
import {
  celu,
  elu,
  gelu,
  hardsigmoid,
  hardswish,
  hardtanh,
  leakyRelu,
  logSigmoid,
  mish,
  prelu,
  relu,
  relu6,
  selu,
  sigmoid,
  silu,
  softplus,
  softsign,
  tanh,
} from '../ops/activation.js';
import { maximum } from '../ops/elementwise.js';
import { logSoftmax, softmax } from '../ops/softmax.js';
import { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { Conv2d } from './conv.js';
import { constant_ } from './init.js';
import { Module } from './module.js';
import { BatchNorm2d } from './normalization.js';
import { Parameter } from './parameter.js';
import { pyFloat, pyStr } from './repr.js';

/** max(x, 0). */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** min(max(x, 0), 6). */
export class ReLU6 extends Module {
  forward(x: Tensor): Tensor {
    return relu6(x);
  }
}

/** x for x ≥ 0, negativeSlope·x otherwise. */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }

  forward(x: Tensor): Tensor {
    return leakyRelu(x, { negativeSlope: this.negativeSlope });
  }

  override extraRepr(): string {
    return `negative_slope=${pyFloat(this.negativeSlope)}`;
  }
}

/** x for x > 0, alpha·(eˣ − 1) otherwise. */
export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
  }

  forward(x: Tensor): Tensor {
    return elu(x, { alpha: this.alpha });
  }

  override extraRepr(): string {
    return `alpha=${pyFloat(this.alpha)}`;
  }
}

/** CELU: max(0, x) + min(0, α(exp(x/α) − 1)). */
export class CELU extends Module {
  constructor(readonly alpha = 1) {
    super();
  }

  forward(x: Tensor): Tensor {
    return celu(x, { alpha: this.alpha });
  }

  override extraRepr(): string {
    return `alpha=${pyFloat(this.alpha)}`;
  }
}

export class SELU extends Module {
  forward(x: Tensor): Tensor {
    return selu(x);
  }
}

/** x·Φ(x), or its tanh approximation with `approximate: 'tanh'`. */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';

  constructor(opts: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    this.approximate = opts.approximate ?? 'none';
  }

  forward(x: Tensor): Tensor {
    return gelu(x, { approximate: this.approximate });
  }

  override extraRepr(): string {
    return `approximate=${pyStr(this.approximate)}`;
  }
}

/** x·σ(x) (swish). */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return silu(x);
  }
}

/** x·relu6(x + 3)/6 (MobileNetV3). */
export class Hardswish extends Module {
  forward(x: Tensor): Tensor {
    return hardswish(x);
  }
}

/** relu6(x + 3)/6. */
export class Hardsigmoid extends Module {
  forward(x: Tensor): Tensor {
    return hardsigmoid(x);
  }
}

/** clamp(x, minVal, maxVal). */
export class Hardtanh extends Module {
  constructor(
    readonly minVal = -1,
    readonly maxVal = 1,
  ) {
    super();
    if (!(maxVal > minVal)) throw new Error(`Hardtanh: maxVal (${maxVal}) must be greater than minVal (${minVal})`);
  }

  forward(x: Tensor): Tensor {
    return hardtanh(x, { minVal: this.minVal, maxVal: this.maxVal });
  }

  override extraRepr(): string {
    return `min_val=${pyFloat(this.minVal)}, max_val=${pyFloat(this.maxVal)}`;
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

export class LogSigmoid extends Module {
  forward(x: Tensor): Tensor {
    return logSigmoid(x);
  }
}

export class Softsign extends Module {
  forward(x: Tensor): Tensor {
    return softsign(x);
  }
}

/** log(1 + exp(βx))/β, linear above `threshold`. */
export class Softplus extends Module {
  constructor(
    readonly beta = 1,
    readonly threshold = 20,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return softplus(x, { beta: this.beta, threshold: this.threshold });
  }

  override extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

/** x·tanh(softplus(x)). */
export class Mish extends Module {
  forward(x: Tensor): Tensor {
    return mish(x);
  }
}

/** Leaky ReLU with a learned slope: one shared (numParameters = 1) or one per channel. */
export class PReLU extends Module {
  declare weight: Parameter;

  /** PyTorch's num_parameters (renamed: `numParameters()` is Module's parameter count). */
  readonly numSlopes: number;

  constructor(numParameters = 1, init = 0.25, opts: { dtype?: DType } = {}) {
    super();
    this.numSlopes = numParameters;
    this.registerParameter(
      'weight',
      constant_(new Parameter(Tensor.empty([numParameters], opts.dtype ?? 'float32')), init) as Parameter,
    );
  }

  forward(x: Tensor): Tensor {
    return prelu(x, this.weight);
  }

  override extraRepr(): string {
    return `num_parameters=${this.numSlopes}`;
  }
}

/** Softmax along `dim` (required: PyTorch's implicit-dim choice is deprecated). */
export class Softmax extends Module {
  constructor(readonly dim: number) {
    super();
  }

  forward(x: Tensor): Tensor {
    return softmax(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

export class LogSoftmax extends Module {
  constructor(readonly dim: number) {
    super();
  }

  forward(x: Tensor): Tensor {
    return logSoftmax(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/**
 * Funnel activation (Ma et al., ECCV 2020): y = max(x, T(x)) with the spatial condition T = BN(depthwise 3×3 conv).
 * Submodule names follow the authors' code (conv_frelu, bn_frelu; camelCase accessors convFrelu, bnFrelu).
 */
export class FReLU extends Module {
  declare convFrelu: Conv2d;
  declare bnFrelu: BatchNorm2d;

  constructor(
    readonly channels: number,
    opts: { dtype?: DType } = {},
  ) {
    super();
    this.registerModule(
      'conv_frelu',
      new Conv2d(channels, channels, 3, { padding: 1, groups: channels, dtype: opts.dtype }),
    );
    this.registerModule('bn_frelu', new BatchNorm2d(channels, { dtype: opts.dtype }));
  }

  forward(x: Tensor): Tensor {
    return maximum(x, this.bnFrelu.forward(this.convFrelu.forward(x)));
  }
}
