/**
 * Reverse-mode autodiff over the recorded graph: a topological order from the root, gradients summed per node
 * before the node runs (so hooks see the total), leaves accumulated into `.grad`. An intermediate gradient is
 * dead once its node has run and no other pending gradient shares its storage: the engine hands such storage back
 * for reuse (recycleStorage), so a training step reuses the buffers of the last one while they are in cache.
 */
import { Tensor, installBackward, type BackwardOptions } from '../tensor/tensor.js';
import { allocate, allocatedSince, allocationMark, recycleStorage, type TypedArray } from '../tensor/dtype.js';
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
    // Storage of pending gradients → how many of them use it (an op may return views of one buffer, or one tensor
    // for two inputs); storage that a leaf's gradient or a hook may keep is never handed back.
    const users = new Map<TypedArray, number>();
    const kept = new Set<TypedArray>();
    const hold = (g: Tensor) => users.set(g.storage, (users.get(g.storage) ?? 0) + 1);
    const drop = (g: Tensor) => {
      const left = (users.get(g.storage) ?? 1) - 1;
      if (left > 0) {
        users.set(g.storage, left);
        return;
      }
      users.delete(g.storage);
      // allocated during this backward: no forward tensor, saved tensor or user gradient can share it
      if (!kept.has(g.storage) && allocatedSince(g.storage, mark)) recycleStorage(g.storage);
    };
    const leafGrads = new Map<Tensor, Tensor>();
    const addLeaf = (leaf: Tensor, g: Tensor) => {
      const had = leafGrads.get(leaf);
      const total = had ? addGrads(had, g) : g;
      kept.add(total.storage);
      leafGrads.set(leaf, total);
    };
    if (root.gradFn === null) {
      addLeaf(root, seed);
    } else {
      const pending = new Map<Node, Tensor>([[root.gradFn, seed]]);
      hold(seed);
      const owners = new Map<Node, Tensor>([[root.gradFn, root]]);
      for (const node of topologicalOrder(root.gradFn)) {
        const received = pending.get(node);
        pending.delete(node);
        if (received === undefined) continue;
        let g = received;
        const owner = owners.get(node);
        if (owner) {
          if (owner.hasHooks()) kept.add(received.storage); // a hook may keep the gradient it was shown
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
            hold(gi);
            if (had) {
              const total = addGrads(had, gi);
              hold(total);
              drop(had);
              drop(gi);
              pending.set(input.gradFn, total);
            } else {
              pending.set(input.gradFn, gi);
            }
            if (input.retainsGradient || input.hasHooks()) owners.set(input.gradFn, input);
          } else {
            addLeaf(input, gi);
          }
        }
        drop(received);
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
