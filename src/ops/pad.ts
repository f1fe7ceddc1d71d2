/** F.pad: constant padding of any rank (negative amounts crop) and reflect/replicate/circular borders on the last 1, 2 or 3 dims. */
import { linearBackward, record } from '../autograd/graph.js';
import { backend } from '../backend/index.js';
import type { PadGeometry, PadMode } from '../backend/types.js';
import { isFloating } from '../tensor/dtype.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { floatData } from './util.js';

export type { PadMode } from '../backend/types.js';

export interface PadOptions {
  /** Border handling (default 'constant'). */
  mode?: PadMode;
  /** Fill value of constant mode (default 0). */
  value?: number;
}

/**
 * Pads `x` by `pad` = [left, right, top, bottom, front, back …] — PyTorch's order, the last dim first, two
 * amounts per dim. Constant mode works on any rank and negative amounts crop; 'reflect' (mirror, edge not
 * repeated), 'replicate' (edge repeated) and 'circular' (wrap around) pad the last 1, 2 or 3 dims of an input
 * with one or two more dims (a channel and optionally a batch dim), like torch.nn.functional.pad.
 */
export function pad(x: Tensor, pad: readonly number[], opts: PadOptions = {}): Tensor {
  return padImpl('pad', x, pad, opts.mode ?? 'constant', opts.value);
}

/** pad with the caller's op name in error messages (conv2d's paddingMode pads through here). */
export function padImpl(
  op: string,
  x: Tensor,
  pad: readonly number[],
  mode: PadMode,
  value: number | undefined,
): Tensor {
  const rank = x.shape.length;
  if (!Array.isArray(pad) || pad.length % 2 !== 0 || !pad.every((p) => Number.isInteger(p))) {
    throw new Error(
      `${op}: padding must be an even-length list of integers ([left, right, top, bottom, …]), got ${JSON.stringify(pad)}`,
    );
  }
  const dims = pad.length / 2;
  if (dims > rank) {
    throw new Error(
      `${op}: padding ${JSON.stringify(pad)} pads ${dims} dims but the input ${formatShape(x.shape)} has only ${rank}`,
    );
  }
  if (!['constant', 'reflect', 'replicate', 'circular'].includes(mode)) {
    throw new Error(
      `${op}: mode must be 'constant', 'reflect', 'replicate' or 'circular', got ${JSON.stringify(mode)}`,
    );
  }
  if (mode !== 'constant') {
    if (value !== undefined && value !== 0)
      throw new Error(`${op}: mode '${mode}' does not take a fill value (got ${value})`);
    if (dims < 1 || dims > 3 || rank < dims + 1 || rank > dims + 2) {
      throw new Error(
        `${op}: mode '${mode}' pads the last 1 dim of a 2-D/3-D input, the last 2 dims of a 3-D/4-D input or the last 3 of a 4-D/5-D input; ` +
          `got ${pad.length} padding values for input ${formatShape(x.shape)}`,
      );
    }
  }
  const before = new Array<number>(rank).fill(0);
  const outShape = x.shape.slice();
  for (let k = 0; k < dims; k++) {
    const d = rank - 1 - k;
    const lo = pad[2 * k];
    const hi = pad[2 * k + 1];
    const size = x.shape[d];
    if (mode === 'reflect' && (lo >= size || hi >= size)) {
      throw new Error(
        `${op}: reflect padding (${lo}, ${hi}) must be less than the size ${size} of dim ${d} of input ${formatShape(x.shape)}`,
      );
    }
    if (mode === 'circular' && (lo > size || hi > size)) {
      throw new Error(
        `${op}: circular padding (${lo}, ${hi}) must not exceed the size ${size} of dim ${d} of input ${formatShape(x.shape)}`,
      );
    }
    if (mode === 'replicate' && size === 0)
      throw new Error(`${op}: cannot replicate-pad empty dim ${d} of input ${formatShape(x.shape)}`);
    before[d] = lo;
    outShape[d] = size + lo + hi;
    if (outShape[d] < 0 || (outShape[d] === 0 && size > 0 && mode !== 'constant')) {
      throw new Error(
        `${op}: padding (${lo}, ${hi}) of dim ${d} with size ${size} gives output size ${outShape[d]} (input ${formatShape(x.shape)})`,
      );
    }
  }
  const g: PadGeometry = { inShape: x.shape.slice(), outShape, before };
  const out = Tensor.empty(outShape, x.dtype);
  backend().pad(x.dataView(), out.storage, g, mode, value ?? 0);
  if (!isFloating(x.dtype)) return out;
  const backwardRaw = (t: Tensor) => {
    const gx = Tensor.empty(x.shape, t.dtype);
    backend().padBackward(floatData(t), floatData(gx), g, mode);
    return gx;
  };
  // the linear part of padding (the fill value is a constant): padBackward's adjoint is padding with zeros
  const forwardRaw = (t: Tensor) => {
    const o = Tensor.empty(outShape, t.dtype);
    backend().pad(t.dataView(), o.storage, g, mode, 0);
    return o;
  };
  return record('pad', out, [x], () => (gy) => [linearBackward('pad', gy, backwardRaw, forwardRaw)]);
}
