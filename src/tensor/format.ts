import type { DType, TypedArray } from './dtype.js';

/** What formatTensor reads of a tensor (structural, so this file does not import tensor.ts, which imports it). */
export interface FormattableTensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly requiresGrad: boolean;
  readonly gradFn: { readonly name: string } | null;
  dataView(): TypedArray;
}

const EDGE_ITEMS = 3;
const SUMMARIZE_THRESHOLD = 1000;

/** Formats like PyTorch: `tensor([[1.0000, 2.0000], ...], shape=[2, 2])`, eliding the middle of large tensors. */
export function formatTensor(t: FormattableTensor): string {
  const data = t.dataView();
  const floating = t.dtype === 'float32' || t.dtype === 'float64';
  const summarize = data.length > SUMMARIZE_THRESHOLD;
  let useSci = false;
  if (floating) {
    let maxAbs = 0;
    let minAbs = Infinity;
    for (let i = 0; i < data.length; i++) {
      const a = Math.abs(data[i]);
      if (!Number.isFinite(a)) continue;
      if (a > maxAbs) maxAbs = a;
      if (a > 0 && a < minAbs) minAbs = a;
    }
    useSci = maxAbs >= 1e8 || (minAbs < 1e-4 && minAbs !== Infinity) || (minAbs !== Infinity && maxAbs / minAbs > 1e3);
  }
  const fmt = (v: number): string => {
    if (!floating) return String(t.dtype === 'bool' ? v !== 0 : v);
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    return useSci ? v.toExponential(4) : v.toFixed(4);
  };
  const prefix = 'tensor(';
  let body: string;
  if (t.shape.length === 0) {
    body = fmt(data[0]);
  } else {
    const strides: number[] = [];
    let s = 1;
    for (let i = t.shape.length - 1; i >= 0; i--) {
      strides[i] = s;
      s *= t.shape[i];
    }
    const width = Math.max(...Array.from(summarize ? [] : data, fmt).map((x) => x.length), 1);
    const render = (d: number, base: number, indent: number): string => {
      const n = t.shape[d];
      const indices: (number | null)[] = [];
      if (summarize && n > 2 * EDGE_ITEMS) {
        for (let i = 0; i < EDGE_ITEMS; i++) indices.push(i);
        indices.push(null);
        for (let i = n - EDGE_ITEMS; i < n; i++) indices.push(i);
      } else for (let i = 0; i < n; i++) indices.push(i);
      if (d === t.shape.length - 1) {
        return (
          '[' +
          indices.map((i) => (i === null ? '...' : fmt(data[base + i]).padStart(summarize ? 0 : width))).join(', ') +
          ']'
        );
      }
      const sep = ',' + '\n'.repeat(t.shape.length - 1 - d) + ' '.repeat(indent + 1);
      return (
        '[' +
        indices.map((i) => (i === null ? '...' : render(d + 1, base + i * strides[d], indent + 1))).join(sep) +
        ']'
      );
    };
    body = render(0, 0, prefix.length);
  }
  const extras = [`shape=[${t.shape.join(', ')}]`];
  if (t.dtype !== 'float32') extras.push(`dtype=${t.dtype}`);
  if (t.gradFn) extras.push(`gradFn=<${t.gradFn.name}Backward>`);
  else if (t.requiresGrad) extras.push('requiresGrad=true');
  return `${prefix}${body}, ${extras.join(', ')})`;
}
