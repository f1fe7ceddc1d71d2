import type { GradNode, Tensor } from '../tensor/tensor.js';

/** Computes the gradients of an op's inputs from the gradient of its output. Null where an input needs none. */
export type BackwardFn = (gradOutput: Tensor) => (Tensor | null)[];

// The backward closure sits under a module-private symbol that Node's declared type omits, so that Node has exactly
// GradNode's shape (a tensor's `gradFn` is typed GradNode, and the engine uses it where a Node is expected).
const BACKWARD = Symbol('backward');
interface WithBackward {
  [BACKWARD]?: BackwardFn | null;
}

/**
 * One recorded op in the autograd graph. It keeps the inputs that need gradients and a backward closure that
 * holds whatever the op saved; `release()` drops both after a backward pass so the memory can be collected.
 */
export class Node implements GradNode {
  /** Inputs in the op's argument order; null where the input does not require a gradient. */
  inputs: (Tensor | null)[];

  constructor(
    readonly name: string,
    inputs: (Tensor | null)[],
    backward: BackwardFn,
  ) {
    this.inputs = inputs;
    (this as WithBackward)[BACKWARD] = backward;
  }

  apply(gradOutput: Tensor): (Tensor | null)[] {
    const backward = (this as WithBackward)[BACKWARD];
    if (!backward) {
      throw new Error(
        `backward: ${this.name} was already run backward and its saved tensors were freed; ` +
          'pass { retainGraph: true } to the first backward() to go through the graph twice',
      );
    }
    return backward(gradOutput);
  }

  /** Whether a backward pass already freed this node (running it again throws). */
  get released(): boolean {
    return !(this as WithBackward)[BACKWARD];
  }

  release(): void {
    (this as WithBackward)[BACKWARD] = null;
    this.inputs = [];
  }
}
