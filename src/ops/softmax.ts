/** Softmax and log-softmax along any dim, numerically stable (max subtracted). */
import { record } from '../autograd/graph.js';
import { isCreatingGraph } from '../autograd/grad-mode.js';
import { backend } from '../backend/index.js';
import { normalizeDim } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { exp, mul, sub } from './elementwise.js';
import { splitAt, sum } from './reduce.js';
import { floatData, requireFloat } from './util.js';

function softmaxImpl(name: string, x: Tensor, dim: number, log: boolean): Tensor {
  requireFloat(name, x);
  const d = normalizeDim(name, dim, x.shape.length);
  const { outer, size, inner } = splitAt(x.shape, d);
  const out = Tensor.unfilled(x.shape, x.dtype);
  backend().softmax(floatData(x), floatData(out), outer, size, inner, log);
  return record(name, out, [x], () => (g) => {
    if (isCreatingGraph()) {
      // differentiable forms through the saved output: softmax y·(g − Σ g·y), log-softmax g − exp(y)·Σ g
      return [log ? sub(g, mul(exp(out), sum(g, d, true))) : mul(out, sub(g, sum(mul(g, out), d, true)))];
    }
    const gx = Tensor.unfilled(x.shape, g.dtype);
    backend().softmaxGrad(floatData(out), floatData(g), floatData(gx), outer, size, inner, log);
    return [gx];
  });
}

/** exp(x) / sum(exp(x)) along `dim`. */
export function softmax(x: Tensor, dim: number): Tensor {
  return softmaxImpl('softmax', x, dim, false);
}

/** log(softmax(x)) along `dim`, without forming the softmax. */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return softmaxImpl('logSoftmax', x, dim, true);
}
