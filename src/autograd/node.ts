import type { Tensor } from '../tensor/tensor.js';

/** Computes the gradients of an op's inputs from the gradient of its output. Null where an input needs none. */
export type BackwardFn = (gradOutput: Tensor) => (Tensor | null)[];

/**
 * One recorded op in the autograd graph. It keeps the inputs that need gradients and a backward closure that
 * holds whatever the op saved; `release()` drops both after a backward pass so the memory can be collected.
 */
export class Node {
  /** Inputs in the op's argument order; null where the input does not require a gradient. */
  inputs: (Tensor | null)[];
  private backwardFn: BackwardFn | null;

  constructor(readonly name: string, inputs: (Tensor | null)[], backward: BackwardFn) {
    this.inputs = inputs;
    this.backwardFn = backward;
  }

  apply(gradOutput: Tensor): (Tensor | null)[] {
    if (this.backwardFn === null) {
      throw new Error(
        `backward: ${this.name} was already run backward and its saved tensors were freed; ` +
          'pass { retainGraph: true } to the first backward() to go through the graph twice',
      );
    }
    return this.backwardFn(gradOutput);
  }

  /** Whether a backward pass already freed this node (running it again throws). */
  get released(): boolean {
    return this.backwardFn === null;
  }

  release(): void {
    this.backwardFn = null;
    this.inputs = [];
  }
}
