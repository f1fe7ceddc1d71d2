/**
 * Reverse-mode autodiff over the recorded graph. The chain rule, node by node in reverse topological order: the
 * gradient of a node's output is the sum of what its consumers sent it (summed before the node runs, so tensor
 * hooks see the total); the node's backward turns it into the gradients of its inputs; those go to the inputs'
 * nodes, or accumulate into leaves' `.grad`. `backward()` and `autograd.grad` are two settings of one pass.
 * Which intermediate gradients are dead, and whose storage can be reused, is the business of GradientStorage
 * (recycler.ts).
 */
import { Tensor, installBackward, type BackwardOptions } from '../tensor/tensor.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { isAnomalyEnabled, setGradEnabled, setInBackward } from './grad-mode.js';
import { checkFinite } from './graph.js';
import type { Node } from './node.js';
import { GradientStorage, ownedCopy } from './recycler.js';

/** Sum of two same-shape gradients as a fresh contiguous tensor (the backend's add kernel; grad mode is off). */
function addGrads(a: Tensor, b: Tensor): Tensor {
  return a.add(b);
}

/** Reverse post-order of a depth-first walk from every root: a node comes before every node it feeds from. */
function topologicalOrder(roots: readonly Node[]): Node[] {
  const order: Node[] = [];
  const visited = new Set<Node>();
  for (const root of roots) {
    if (visited.has(root)) continue;
    visited.add(root);
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
  }
  return order.reverse();
}

/** What one pass of the engine does; `backward()` and `autograd.grad` are two settings of it. */
interface PassOptions {
  retainGraph: boolean;
  createGraph: boolean;
  /** grad(): the tensors whose gradients are returned instead of accumulated into leaves' `.grad`. */
  capture: readonly Tensor[] | null;
  /**
   * Internal (compositeGrad): treat captured tensors as independent variables — gradient does not flow through
   * a captured non-leaf into what produced it.
   */
  cutAtCapture: boolean;
  /** Which function is asking, for error messages. */
  caller: string;
}

/**
 * Under createGraph every gradient flowing through the graph must itself require grad (the seeds are made to), so
 * a gradient that comes back without it was computed by a raw kernel: the op has no double backward. Failing here
 * names the op instead of handing back a gradient that silently differentiates to zero.
 */
function checkDifferentiable(node: Node, gi: Tensor, i: number): void {
  if (!gi.requiresGrad) {
    throw new Error(
      `autograd: ${node.name} does not support double backward (createGraph): its backward for input ${i} is not ` +
        'made of differentiable ops. Compute this part of the model without createGraph, or detach its input.',
    );
  }
}

/** What a node's backward returned for input i must fit the input (and be differentiable under createGraph). */
function checkInputGradient(node: Node, input: Tensor, gi: Tensor, i: number, createGraph: boolean): void {
  if (!shapesEqual(gi.shape, input.shape)) {
    throw new Error(
      `backward: ${node.name} returned a gradient of shape ${formatShape(gi.shape)} for an input of shape ${formatShape(input.shape)}`,
    );
  }
  if (createGraph) checkDifferentiable(node, gi, i);
  if (isAnomalyEnabled()) checkFinite(`${node.name} (backward)`, `gradient for input ${i}`, gi);
}

/** ∂L/∂root for each root: the given gradients, or 1 for scalar roots; requiring grad under createGraph. */
function seedGradients(roots: readonly Tensor[], gradients: readonly (Tensor | null)[], opts: PassOptions): Tensor[] {
  return roots.map((root, k) => {
    const gradient = gradients[k];
    if (!root.requiresGrad) {
      throw new Error(
        `${opts.caller}: ${roots.length > 1 ? `output ${k} ` : ''}tensor does not require grad and has no gradFn ` +
          '(did you forget requiresGrad, or call it inside noGrad?)',
      );
    }
    let seed: Tensor;
    if (gradient === null) {
      if (root.numel() !== 1) {
        throw new Error(
          `${opts.caller}: grad can be implicitly created only for scalar outputs, got shape ${formatShape(root.shape)}; pass a gradient`,
        );
      }
      seed = Tensor.empty(root.shape, root.dtype);
      seed.storage.fill(1);
    } else {
      if (!shapesEqual(gradient.shape, root.shape)) {
        throw new Error(
          `${opts.caller}: gradient shape ${formatShape(gradient.shape)} does not match tensor shape ${formatShape(root.shape)}`,
        );
      }
      seed = opts.createGraph && gradient.requiresGrad ? gradient : gradient.detach();
    }
    // see checkDifferentiable: a seed that requires grad makes every differentiable backward's result require it
    if (opts.createGraph && !seed.requiresGrad) seed.requiresGrad_(true);
    return seed;
  });
}

/**
 * grad(): the nodes from which a captured tensor can be reached (inputs come later in `order`); the others need
 * not run. A released node is kept so that running it reports the freed graph instead of "input not used".
 */
function nodesLeadingTo(
  order: readonly Node[],
  captured: ReadonlyMap<Tensor, number>,
  cutAt: ReadonlyMap<Node, Tensor> | null,
): Set<Node> {
  const needed = new Set<Node>();
  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k];
    if (cutAt?.has(node)) continue;
    if (node.released || node.inputs.some((t) => t && (captured.has(t) || (t.gradFn !== null && needed.has(t.gradFn)))))
      needed.add(node);
  }
  return needed;
}

/** ∂L/∂(output of node), summed over the node's consumers as they run; and the tensor that is that output. */
class PendingGradients {
  private readonly sums = new Map<Node, Tensor>();
  /** Output tensors that must see their gradient (retainGrad, hooks, roots, captured). */
  readonly owners = new Map<Node, Tensor>();

  constructor(private readonly storage: GradientStorage) {}

  add(node: Node, g: Tensor): void {
    const had = this.sums.get(node);
    this.storage.hold(g);
    if (!had) {
      this.sums.set(node, g);
      return;
    }
    const total = addGrads(had, g);
    this.storage.hold(total);
    this.storage.release(had);
    this.storage.release(g);
    this.sums.set(node, total);
  }

  /** The total for `node`, removed (undefined when nothing reached it). */
  take(node: Node): Tensor | undefined {
    const g = this.sums.get(node);
    this.sums.delete(node);
    return g;
  }
}

/** Each leaf's total gradient, through its hooks, into `.grad` (summed with what `.grad` already holds). */
function accumulateIntoLeaves(
  leafGrads: ReadonlyMap<Tensor, Tensor>,
  storage: GradientStorage,
  createGraph: boolean,
): void {
  for (const [leaf, g0] of leafGrads) {
    const g = leaf.runHooks(g0);
    if (createGraph) {
      // the gradient stays in the graph, so it can be differentiated again (PyTorch's create_graph)
      leaf.grad = leaf.grad ? addGrads(leaf.grad, g) : g;
      continue;
    }
    // a tensor a hook returned may still be held by the hook's owner: copy it
    leaf.grad = leaf.grad ? addGrads(leaf.grad, g) : g === g0 ? storage.claim(g) : ownedCopy(g);
  }
}

function runEngine(
  roots: readonly Tensor[],
  gradients: readonly (Tensor | null)[],
  opts: PassOptions,
): (Tensor | null)[] {
  const { createGraph, capture } = opts;
  const seeds = seedGradients(roots, gradients, opts);
  const storage = new GradientStorage(!createGraph);
  const pending = new PendingGradients(storage);
  // grad(): gradients of these tensors are returned (results[i]) instead of accumulated into .grad
  const captured = capture ? new Map<Tensor, number>(capture.map((t, i) => [t, i])) : null;
  const capturedNodes = new Map<Node, Tensor>();
  if (capture) for (const t of capture) if (t.gradFn) capturedNodes.set(t.gradFn, t);
  const results: (Tensor | null)[] = capture ? capture.map(() => null) : [];
  const collect = (t: Tensor, g: Tensor) => {
    const i = captured!.get(t)!;
    const total = results[i] ? addGrads(results[i]!, g) : g;
    storage.keep(g);
    storage.keep(total);
    results[i] = total;
  };
  const leafGrads = new Map<Tensor, Tensor>();
  const reachLeaf = (leaf: Tensor, g: Tensor) => {
    if (captured) {
      if (captured.has(leaf)) collect(leaf, g);
      return;
    }
    const had = leafGrads.get(leaf);
    const total = had ? addGrads(had, g) : g;
    storage.keep(total);
    leafGrads.set(leaf, total);
  };

  const prev = setGradEnabled(createGraph);
  const prevInBackward = setInBackward(true);
  try {
    const rootNodes: Node[] = [];
    roots.forEach((root, k) => {
      if (root.gradFn === null) return reachLeaf(root, seeds[k]);
      pending.add(root.gradFn, seeds[k]);
      pending.owners.set(root.gradFn, root);
      rootNodes.push(root.gradFn);
    });
    const order = topologicalOrder(rootNodes);
    const needed = captured ? nodesLeadingTo(order, captured, opts.cutAtCapture ? capturedNodes : null) : null;
    for (const node of order) {
      const received = pending.take(node);
      if (received === undefined) continue;
      // the output's own view of its gradient: tensor hooks, retainGrad, autograd.grad's captured tensors
      let g = received;
      const owner = pending.owners.get(node) ?? capturedNodes.get(node);
      if (owner) {
        if (owner.hasHooks()) storage.keep(received); // a hook may keep the gradient it was shown
        g = owner.runHooks(g);
        if (captured) {
          if (captured.has(owner)) collect(owner, g);
        } else if (owner.retainsGradient) {
          owner.grad = owner.grad ? addGrads(owner.grad, g) : createGraph ? g : ownedCopy(g);
        }
      }
      if (!needed || needed.has(node)) {
        // the chain rule: ∂L/∂input_i = (∂output/∂input_i)ᵀ · ∂L/∂output, for each input
        const grads = node.apply(g);
        node.inputs.forEach((input, i) => {
          const gi = grads[i];
          if (!input || !gi) return;
          checkInputGradient(node, input, gi, i, createGraph);
          if (input.gradFn === null) return reachLeaf(input, gi);
          pending.add(input.gradFn, gi);
          if (input.retainsGradient || input.hasHooks()) pending.owners.set(input.gradFn, input);
        });
        if (!opts.retainGraph) node.release();
      }
      storage.release(received);
    }
    if (!captured) accumulateIntoLeaves(leafGrads, storage, createGraph);
    return results;
  } finally {
    setGradEnabled(prev);
    setInBackward(prevInBackward);
    storage.close();
  }
}

function runBackward(root: Tensor, gradient: Tensor | null, opts: BackwardOptions): void {
  const createGraph = opts.createGraph ?? false;
  runEngine([root], [gradient], {
    retainGraph: opts.retainGraph ?? createGraph,
    createGraph,
    capture: null,
    cutAtCapture: false,
    caller: 'backward',
  });
}

installBackward(runBackward);

/** Options of `autograd.grad`. */
export interface GradOptions {
  /**
   * Gradients of some scalar with respect to each output (PyTorch's grad_outputs); null or omitted entries are
   * only allowed for one-element outputs, which get 1.
   */
  gradOutputs?: Tensor | readonly (Tensor | null)[] | null;
  /** Keep the graph's saved tensors for another pass (default: createGraph). */
  retainGraph?: boolean;
  /** Record the gradient computation so the results can be differentiated again (default false). */
  createGraph?: boolean;
  /** Return null for inputs the outputs do not depend on instead of throwing (default false). */
  allowUnused?: boolean;
}

/**
 * Gradients of `outputs` with respect to `inputs` (PyTorch's torch.autograd.grad), returned rather than
 * accumulated into `.grad`: Σ_k gradOutputs[k]·∂outputs[k]/∂inputs[i] for each input. With `createGraph` the
 * results are part of the graph, so a penalty on them (WGAN-GP, R1) can be backpropagated. Unlike PyTorch, a
 * createGraph result always requires grad, even where it is constant in the inputs (the gradient of a linear
 * function): differentiating it again then leaves the inputs' gradients untouched rather than throwing.
 */
export function grad(
  outputs: Tensor | readonly Tensor[],
  inputs: Tensor | readonly Tensor[],
  opts: GradOptions = {},
): (Tensor | null)[] {
  const outs = outputs instanceof Tensor ? [outputs] : outputs.slice();
  const ins = inputs instanceof Tensor ? [inputs] : inputs.slice();
  if (outs.length === 0) throw new Error('autograd.grad: outputs is empty');
  if (ins.length === 0) throw new Error('autograd.grad: inputs is empty');
  ins.forEach((t, i) => {
    if (!t.requiresGrad)
      throw new Error(`autograd.grad: input ${i} (shape ${formatShape(t.shape)}) does not require grad`);
  });
  const go = opts.gradOutputs ?? null;
  const gradOutputs = go === null ? outs.map(() => null) : go instanceof Tensor ? [go] : go.slice();
  if (gradOutputs.length !== outs.length) {
    throw new Error(
      `autograd.grad: got ${gradOutputs.length} gradOutputs for ${outs.length} outputs; pass one per output`,
    );
  }
  const createGraph = opts.createGraph ?? false;
  const results = runEngine(outs, gradOutputs, {
    retainGraph: opts.retainGraph ?? createGraph,
    createGraph,
    capture: ins,
    cutAtCapture: false,
    caller: 'autograd.grad',
  });
  return results.map((r, i) => {
    if (r === null && !opts.allowUnused) {
      throw new Error(
        `autograd.grad: input ${i} (shape ${formatShape(ins[i].shape)}) was not used to compute the outputs; ` +
          'pass allowUnused: true to get null for it',
      );
    }
    return r;
  });
}

/**
 * Internal helper for ops whose fast backward is a raw kernel: under createGraph it recomputes the op as a
 * composition of differentiable ops (`compose`) and differentiates that, so the gradient is differentiable again.
 * Inputs are treated as independent variables (no flow past them). Entries that are null or need no gradient stay
 * null. Must be called inside a backward closure (grad mode is on there exactly when createGraph is).
 */
export function compositeGrad(
  inputs: readonly (Tensor | null)[],
  gradOutput: Tensor,
  compose: () => Tensor,
): (Tensor | null)[] {
  const wanted = inputs.filter((t): t is Tensor => t !== null && t.requiresGrad);
  if (wanted.length === 0) return inputs.map(() => null);
  const out = compose();
  const got = runEngine([out], [gradOutput], {
    retainGraph: true,
    createGraph: true,
    capture: wanted,
    cutAtCapture: true,
    caller: 'compositeGrad',
  });
  return inputs.map((t) => {
    if (t === null || !t.requiresGrad) return null;
    const gi = got[wanted.indexOf(t)];
    return gi ?? mulZero(t);
  });
}

/** A zero gradient for `t` that is still in the graph (so checkDifferentiable sees a differentiable result). */
function mulZero(t: Tensor): Tensor {
  return t.mul(0);
}
