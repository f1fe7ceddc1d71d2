/** Global autograd switches: whether ops record a graph, and anomaly detection. */

let gradEnabled = true;
let anomalyEnabled = false;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Turns graph recording on or off; returns the previous setting. Prefer `noGrad(fn)`. */
export function setGradEnabled(enabled: boolean): boolean {
  const prev = gradEnabled;
  gradEnabled = enabled;
  return prev;
}

/**
 * Runs `fn` without recording a graph (PyTorch's `torch.no_grad()`): results have `requiresGrad` false and hold
 * no references to their inputs, which is what evaluation and optimizer updates want.
 */
export function noGrad<T>(fn: () => T): T {
  const prev = setGradEnabled(false);
  let result: T;
  try {
    result = fn();
  } finally {
    setGradEnabled(prev);
  }
  rejectAsync('noGrad', result);
  return result;
}

/**
 * Grad mode is one global switch (PyTorch's is per thread), so it cannot follow an `await`: everything after the
 * first await of an async function would run with recording back on, silently. Such a function is refused.
 */
function rejectAsync(name: string, result: unknown): void {
  if (result === null || typeof result !== 'object' || typeof (result as { then?: unknown }).then !== 'function')
    return;
  // The part before the first await has run; its promise must not surface later as an unhandled rejection.
  (result as Promise<unknown>).then(undefined, () => undefined);
  throw new Error(
    `${name}: the function returned a Promise (an async function?). Grad mode is a global switch and does not ` +
      `follow an await, so code after the first await would record a graph. Call ${name} on the synchronous part ` +
      `(e.g. const y = ${name}(() => model.forward(x)); await ...), or wrap setGradEnabled(false) / setGradEnabled(true) ` +
      'around the async code yourself if nothing else runs concurrently',
  );
}

/** Runs `fn` with graph recording on, even inside `noGrad` (PyTorch's `torch.enable_grad()`). */
export function enableGrad<T>(fn: () => T): T {
  const prev = setGradEnabled(true);
  let result: T;
  try {
    result = fn();
  } finally {
    setGradEnabled(prev);
  }
  rejectAsync('enableGrad', result);
  return result;
}

let inBackward = false;

export function isAnomalyEnabled(): boolean {
  return anomalyEnabled;
}

/** Whether ops should check their outputs: in anomaly mode, except inside backward, where the engine checks per node. */
export function shouldCheckForward(): boolean {
  return anomalyEnabled && !inBackward;
}

/**
 * Internal, for backward closures: true while a backward pass runs with createGraph, i.e. the closure must build its
 * gradient from differentiable ops rather than raw kernels (grad mode is on inside backward only then).
 */
export function isCreatingGraph(): boolean {
  return inBackward && gradEnabled;
}

/** Internal: the engine marks the span of a backward pass. Returns the previous flag. */
export function setInBackward(value: boolean): boolean {
  const prev = inBackward;
  inBackward = value;
  return prev;
}

/**
 * Anomaly mode (PyTorch's `torch.autograd.set_detect_anomaly`): every op checks its output, and every backward
 * step its gradients, for NaN/Inf and throws naming the op. Slow; for debugging.
 */
export function setDetectAnomaly(enabled: boolean): void {
  anomalyEnabled = enabled;
}

/** Runs `fn` with anomaly detection on. */
export function detectAnomaly<T>(fn: () => T): T {
  const prev = anomalyEnabled;
  anomalyEnabled = true;
  try {
    return fn();
  } finally {
    anomalyEnabled = prev;
  }
}
