import { Tensor } from '../tensor/tensor.js';
import { isCreatingGraph, isGradEnabled, setGradEnabled, shouldCheckForward } from './grad-mode.js';
import { Node, type BackwardFn } from './node.js';

/** Sees every op as it finishes, with all its inputs (ONNX export traces a forward pass through this). */
export type RecordObserver = (name: string, out: Tensor, inputs: readonly (Tensor | null | undefined)[]) => void;
let observer: RecordObserver | null = null;

/** Installs (or with null removes) the op observer; returns the previous one so tracers can nest and restore. */
export function setRecordObserver(o: RecordObserver | null): RecordObserver | null {
  const prev = observer;
  observer = o;
  return prev;
}

/** True when an op over these inputs must record a graph node. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  if (!isGradEnabled()) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

/**
 * True when `record` would do nothing for an op over these inputs — no graph node, no observer (ONNX tracing), no
 * anomaly check — so the op may take a path that does not call it (linear's inference path).
 */
export function untracked(...inputs: (Tensor | null | undefined)[]): boolean {
  return observer === null && !shouldCheckForward() && !needsGrad(...inputs);
}

/**
 * Finishes an op: checks for NaN/Inf in anomaly mode, and when any input requires a gradient attaches a graph
 * node whose backward closure is built lazily by `makeBackward` (so no closure is created under noGrad).
 */
export function record(
  name: string,
  out: Tensor,
  inputs: readonly (Tensor | null | undefined)[],
  makeBackward: () => BackwardFn,
): Tensor {
  if (shouldCheckForward()) checkFinite(name, 'output', out);
  if (observer !== null) observer(name, out, inputs);
  if (needsGrad(...inputs)) {
    out.setGradFn(
      new Node(
        name,
        inputs.map((t) => (t && t.requiresGrad ? t : null)),
        makeBackward(),
      ),
    );
  }
  return out;
}

/** Throws naming the op if `t` holds NaN or Inf. */
export function checkFinite(op: string, what: string, t: Tensor): void {
  if (t.dtype !== 'float32' && t.dtype !== 'float64') return;
  const data = t.dataView();
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new Error(
        `anomaly: ${op} produced ${Number.isNaN(data[i]) ? 'NaN' : 'Inf'} in its ${what} (element ${i} of shape [${t.shape.join(', ')}])`,
      );
    }
  }
}

/**
 * A linear map computed by raw kernels as a differentiable op: `apply` maps x to the result and `adjoint` is its
 * transpose. The backward of the result is the adjoint applied as the same kind of op, so the pair is closed under
 * differentiation to any order. Ops use it for the createGraph form of backward passes that are linear in the
 * output gradient (pooling, padding, interpolation, gather/scatter).
 */
export function linearOp(
  name: string,
  x: Tensor,
  apply: (x: Tensor) => Tensor,
  adjoint: (g: Tensor) => Tensor,
): Tensor {
  const out = noGradRun(() => apply(x));
  return record(name, out, [x], () => (g) => [linearOp(`${name}Adjoint`, g, adjoint, apply)]);
}

function noGradRun<T>(fn: () => T): T {
  const prev = setGradEnabled(false);
  try {
    return fn();
  } finally {
    setGradEnabled(prev);
  }
}

/**
 * The gradient of a linear op from its raw backward kernel; under createGraph recorded as a linear op whose adjoint
 * is the op's raw forward, so it is differentiable again. Without createGraph it is the raw kernel, as fast as before.
 */
export function linearBackward(
  name: string,
  gy: Tensor,
  backwardRaw: (gy: Tensor) => Tensor,
  forwardRaw: (x: Tensor) => Tensor,
): Tensor {
  return isCreatingGraph() ? linearOp(`${name}Backward`, gy, backwardRaw, forwardRaw) : backwardRaw(gy);
}
