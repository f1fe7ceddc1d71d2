/** `Parameter`: a tensor that a Module owns and an optimizer updates. */
import { Tensor } from '../tensor/tensor.js';
import { formatTensor } from '../tensor/format.js';

/**
 * A leaf tensor registered as a learnable weight of a Module (PyTorch's `nn.Parameter`). It is a `Tensor`
 * subclass, so `p instanceof Parameter` and every tensor method work. It shares storage with `data` when `data` is
 * contiguous (a non-contiguous view is copied, so optimizers can always update the storage in place), and it
 * requires grad unless `requiresGrad` is false.
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    const src = data.isContiguous() ? data : new Tensor(data.toTypedArray(), data.shape, data.dtype);
    super(src.storage, src.shape, src.dtype, src.strides, src.offset);
    if (requiresGrad) this.requiresGrad_(true);
  }

  override toString(): string {
    return `Parameter containing:\n${formatTensor(this)}`;
  }
}
