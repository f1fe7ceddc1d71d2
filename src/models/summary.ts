/**
 * `summary(model, inputShape)`: a Keras-style table of a model — one row per layer call (path, type, output shape,
 * parameters, trainable), parameter totals and the multiply-accumulate count of one forward pass. It runs one
 * forward pass on zeros (in eval mode, without recording a graph) with forward hooks on every submodule.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { zeros } from '../tensor/creation.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import type { AnyModule, Module, RemovableHandle } from '../nn/module.js';

/** One layer call of the summary. */
export interface SummaryRow {
  /** Dotted path of the module ('' for the model itself), e.g. 'layer1.0.conv1'. */
  path: string;
  /** Class name, e.g. 'Conv2d'. */
  type: string;
  /** Shape of the output (the first tensor of an array output); null when the output is not a tensor. */
  outputShape: number[] | null;
  /** Own parameters (not those of submodules), counted at the first call of a shared module only. */
  params: number;
  /** Own parameters that require gradients. */
  trainableParams: number;
  /** Multiply-accumulates of this call (conv, linear, attention matmuls; 0 for other layers). */
  macs: number;
  /** Depth in the module tree (0 = the model). */
  depth: number;
}

/** Result of `summary`: the rows, totals and a printable table (`toString()`). */
export interface ModelSummary {
  rows: SummaryRow[];
  inputShape: number[];
  outputShape: number[] | null;
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  /** Multiply-accumulates of one forward pass over the whole input batch. */
  macs: number;
  /** Bytes of the parameters (float32: 4 per parameter) plus buffers. */
  stateBytes: number;
  toString(): string;
}

/** Options of `summary`. */
export interface SummaryOptions {
  /** Maximum tree depth of the rows shown (default: every leaf layer). Totals always cover the whole model. */
  depth?: number;
}

function firstTensor(v: unknown): Tensor | null {
  if (v instanceof Tensor) return v;
  if (Array.isArray(v))
    for (const x of v) {
      const t = firstTensor(x);
      if (t) return t;
    }
  return null;
}

function ownParams(m: AnyModule): { n: number; trainable: number } {
  let n = 0,
    trainable = 0;
  for (const [, p] of m.namedParameters('', false)) {
    n += p.numel();
    if (p.requiresGrad) trainable += p.numel();
  }
  return { n, trainable };
}

function isAttention(m: AnyModule): m is AnyModule & { embedDim: number; numHeads: number } {
  const r = m as unknown as Record<string, unknown>;
  return m.constructor.name === 'MultiheadAttention' && typeof r.embedDim === 'number';
}

/**
 * Multiply-accumulates of one call: conv k_h·k_w·(c_in/groups)·c_out·o_h·o_w per sample, linear in·out per row,
 * transposed conv the same count as the conv it transposes, multi-head attention its projections and the two
 * attention matmuls (L·S·E each).
 */
function macsOf(m: AnyModule, inputs: unknown[], out: Tensor | null): number {
  const r = m as unknown as Record<string, unknown>;
  const name = m.constructor.name;
  const w = r.weight instanceof Tensor ? r.weight : null;
  if (!out) return 0;
  if ((name === 'Conv2d' || name === 'ConvTranspose2d') && w) {
    const x = firstTensor(inputs);
    if (name === 'Conv2d') {
      // weight [cout, cin/groups, kh, kw]; one MAC per weight element per output position.
      return (w.numel() * out.numel()) / out.shape[out.shape.length - 3];
    }
    // Transposed: every input position scatters through all weights: weight [cin, cout/groups, kh, kw].
    return x ? (w.numel() * x.numel()) / x.shape[x.shape.length - 3] : 0;
  }
  if (name === 'Linear' && w) return w.shape[0] * w.shape[1] * (out.numel() / w.shape[0]);
  if (isAttention(m)) {
    const [q, k] = inputs as Tensor[];
    const E = m.embedDim;
    // Shapes [L, N, E] or [N, L, E]: only the product of the two leading dims matters for the projections.
    const qRows = q.numel() / E,
      kRows = k.numel() / E;
    const batchFirst = Boolean((m as unknown as Record<string, unknown>).batchFirst);
    const L = batchFirst ? q.shape[1] : q.shape[0];
    const S = batchFirst ? k.shape[1] : k.shape[0];
    const N = qRows / L;
    return qRows * E * E + 2 * kRows * E * E + 2 * N * L * S * E + qRows * E * E;
  }
  return 0;
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function fmtMacs(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} K`;
  return String(n);
}

/**
 * Summarises `model` for an input of `inputShape` ([C, H, W] — a batch of 1 is added — or [N, C, H, W]).
 * Leaves the model's training mode and parameters as they were.
 */
export function summary(
  model: Module<[Tensor], unknown>,
  inputShape: readonly number[],
  opts: SummaryOptions = {},
): ModelSummary {
  const shape = inputShape.length === 3 ? [1, ...inputShape] : [...inputShape];
  const named = model.namedModules();
  const rows: SummaryRow[] = [];
  const counted = new Set<AnyModule>();
  const stack: AnyModule[] = [];
  const pending: SummaryRow[] = [];
  const handles: RemovableHandle[] = [];
  for (const [path, m] of named) {
    handles.push(
      m.registerForwardPreHook(() => {
        const { n, trainable } = counted.has(m) ? { n: 0, trainable: 0 } : ownParams(m);
        counted.add(m);
        // Rows are listed in call order (pre-order), the output filled in when the call returns.
        const row: SummaryRow = {
          path,
          type: m.constructor.name,
          outputShape: null,
          params: n,
          trainableParams: trainable,
          macs: 0,
          depth: path === '' ? 0 : path.split('.').length,
        };
        rows.push(row);
        pending.push(row);
        stack.push(m);
      }),
    );
    handles.push(
      m.registerForwardHook((_mod, inputs, output) => {
        stack.pop();
        const row = pending.pop()!;
        const out = firstTensor(output);
        row.outputShape = out ? [...out.shape] : null;
        // Inside an attention layer its own formula already counts the projections.
        row.macs = stack.some(isAttention) ? 0 : macsOf(m, inputs, out);
      }),
    );
  }
  const wasTraining = model.training;
  const trainingFlags = model.modules().map((m) => m.training);
  let output: unknown;
  try {
    model.eval();
    output = noGrad(() => model.forward(zeros(shape)));
  } finally {
    for (const h of handles) h.remove();
    model.modules().forEach((m, i) => {
      m.training = trainingFlags[i];
    });
    model.training = wasTraining;
  }
  const totalParams = model.numParameters();
  const trainableParams = model.numParameters(true);
  let stateBytes = 0;
  for (const t of Object.values(model.stateDict())) stateBytes += t.numel() * t.storage.BYTES_PER_ELEMENT;
  const macs = rows.reduce((s, r) => s + r.macs, 0);
  const out = firstTensor(output);
  const hasChildren = new Set(named.filter(([, m]) => m.children().length > 0).map(([, m]) => m));
  const maxDepth = opts.depth ?? Infinity;
  const shown = rows.filter((r) => {
    if (r.depth > maxDepth) return false;
    const m = model.getSubmodule(r.path);
    const leaf = !hasChildren.has(m) || r.depth === maxDepth;
    return leaf || r.params > 0;
  });
  const result: ModelSummary = {
    rows,
    inputShape: shape,
    outputShape: out ? [...out.shape] : null,
    totalParams,
    trainableParams,
    nonTrainableParams: totalParams - trainableParams,
    macs,
    stateBytes,
    toString() {
      const head = ['Layer (path)', 'Type', 'Output shape', 'Param #', 'Trainable'];
      const body = shown.map((r) => [
        r.path === '' ? '(model)' : r.path,
        r.type,
        r.outputShape ? formatShape(r.outputShape) : '-',
        fmtInt(r.params),
        r.params === 0 ? '' : r.trainableParams === r.params ? 'yes' : r.trainableParams === 0 ? 'no' : 'partly',
      ]);
      const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
      const line = (cells: string[]): string =>
        cells
          .map((c, i) => (i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
          .join('  ')
          .trimEnd();
      const total = widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
      const rule = (ch: string): string => ch.repeat(total);
      return [
        `Model: ${model.constructor.name}   input ${formatShape(shape)}`,
        rule('='),
        line(head),
        rule('='),
        ...body.map(line),
        rule('='),
        `Total params: ${fmtInt(totalParams)}`,
        `Trainable params: ${fmtInt(trainableParams)}`,
        `Non-trainable params: ${fmtInt(totalParams - trainableParams)}`,
        `Multiply-accumulates: ${fmtMacs(macs)} (${fmtInt(macs)})`,
        `Parameters + buffers size: ${(stateBytes / 2 ** 20).toFixed(2)} MiB`,
        rule('-'),
      ].join('\n');
    },
  };
  return result;
}
