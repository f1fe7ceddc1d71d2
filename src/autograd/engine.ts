/**
 * Reverse-mode autodiff over the recorded graph: a topological order from the root, gradients summed per node
 * before the node runs (so hooks see the total), leaves accumulated into `.grad`.
 */
import { Tensor, installBackward, type BackwardOptions } from '../tensor/tensor.js';
import { allocate, allocatedSince, allocationMark, type TypedArray } from '../tensor/dtype.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { isAnomalyEnabled, setGradEnabled, setInBackward } from './grad-mode.js';
import { checkFinite } from './graph.js';
import type { Node } from './node.js';

/** Sum of two same-shape gradients as a fresh contiguous tensor (the backend's add kernel; grad mode is off). */
function addGrads(a: Tensor, b: Tensor): Tensor {
  return a.add(b);
}

/** A contiguous copy that owns its storage, so in-place edits of `.grad` (clipping) cannot alias graph tensors. */
function ownedCopy(t: Tensor): Tensor {
  const data = allocate(t.dtype, t.numel());
  data.set(t.dataView());
  return new Tensor(data, t.shape, t.dtype);
}

/**
 * `g` itself when it can become a `.grad` as is: its storage was allocated during this backward pass (so no
 * forward tensor, user gradient or saved tensor shares it), it spans the whole storage, and no other `.grad`
 * received it (an op may return one tensor for two inputs). Otherwise an owned copy.
 */
function claimGradient(g: Tensor, mark: number, claimed: Set<TypedArray>): Tensor {
  const whole = g.offset === 0 && g.storage.length === g.numel() && g.isContiguous();
  if (whole && allocatedSince(g.storage, mark) && !claimed.has(g.storage)) {
    claimed.add(g.storage);
    return g;
  }
  return ownedCopy(g);
}

function topologicalOrder(root: Node): Node[] {
  const order: Node[] = [];
  const visited = new Set<Node>([root]);
  const stack: { node: Node; next: number }[] = [{ node: root, next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const inputs = top.node.inputs;
    let pushed = false;
    while (top.next < inputs.length) {
      const child = inputs[top.next++]?.gradFn;
      if (child && !visited.has(child)) {
        visited.add(child);
        stack.push({ node: child, next: 0 });
        pushed = true;
        break;
      }
    }
    if (!pushed && top.next >= inputs.length) {
      order.push(top.node);
      stack.pop();
    }
  }
  return order.reverse();
}

function runBackward(root: Tensor, gradient: Tensor | null, opts: BackwardOptions): void {
  if (!root.requiresGrad) {
    throw new Error('backward: tensor does not require grad and has no gradFn (did you forget requiresGrad, or call it inside noGrad?)');
  }
  let seed: Tensor;
  if (gradient === null) {
    if (root.numel() !== 1) {
      throw new Error(`backward: grad can be implicitly created only for scalar outputs, got shape ${formatShape(root.shape)}; pass a gradient`);
    }
    seed = Tensor.empty(root.shape, root.dtype);
    seed.storage.fill(1);
  } else {
    if (!shapesEqual(gradient.shape, root.shape)) {
      throw new Error(`backward: gradient shape ${formatShape(gradient.shape)} does not match tensor shape ${formatShape(root.shape)}`);
    }
    seed = gradient.detach();
  }
  const mark = allocationMark();
  const prev = setGradEnabled(false);
  const prevInBackward = setInBackward(true);
  try {
    const leafGrads = new Map<Tensor, Tensor>();
    const addLeaf = (leaf: Tensor, g: Tensor) => {
      const had = leafGrads.get(leaf);
      leafGrads.set(leaf, had ? addGrads(had, g) : g);
    };
    if (root.gradFn === null) {
      addLeaf(root, seed);
    } else {
      const pending = new Map<Node, Tensor>([[root.gradFn, seed]]);
      const owners = new Map<Node, Tensor>([[root.gradFn, root]]);
      for (const node of topologicalOrder(root.gradFn)) {
        let g = pending.get(node);
        pending.delete(node);
        if (g === undefined) continue;
        const owner = owners.get(node);
        if (owner) {
          g = owner.runHooks(g);
          if (owner.retainsGradient) owner.grad = owner.grad ? addGrads(owner.grad, g) : ownedCopy(g);
        }
        const inputs = node.inputs;
        const grads = node.apply(g);
        for (let i = 0; i < inputs.length; i++) {
          const input = inputs[i];
          const gi = grads[i];
          if (!input || !gi) continue;
          if (!shapesEqual(gi.shape, input.shape)) {
            throw new Error(`backward: ${node.name} returned a gradient of shape ${formatShape(gi.shape)} for an input of shape ${formatShape(input.shape)}`);
          }
          if (isAnomalyEnabled()) checkFinite(`${node.name} (backward)`, `gradient for input ${i}`, gi);
          if (input.gradFn) {
            const had = pending.get(input.gradFn);
            pending.set(input.gradFn, had ? addGrads(had, gi) : gi);
            if (input.retainsGradient || input.hasHooks()) owners.set(input.gradFn, input);
          } else {
            addLeaf(input, gi);
          }
        }
        if (!opts.retainGraph) node.release();
      }
    }
    const claimed = new Set<TypedArray>();
    for (const [leaf, g0] of leafGrads) {
      const g = leaf.runHooks(g0);
      // a tensor a hook returned may still be held by the hook's owner: copy it
      leaf.grad = leaf.grad ? addGrads(leaf.grad, g) : g === g0 ? claimGradient(g, mark, claimed) : ownedCopy(g);
    }
  } finally {
    setGradEnabled(prev);
    setInBackward(prevInBackward);
  }
}

installBackward(runBackward);
