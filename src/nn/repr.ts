/** Python-style formatting for module reprs, so `toString()` reads like PyTorch's. */

/** Python's repr of a float: 1e-05, 0.1, 1.0. */
export function pyFloat(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e16)) {
    const [m, e] = v.toExponential().split('e');
    const sign = e.startsWith('-') ? '-' : '+';
    const digits = e.replace(/^[+-]/, '').padStart(2, '0');
    return `${m}e${sign}${digits}`;
  }
  const s = String(v);
  return Number.isInteger(v) ? `${s}.0` : s;
}

/** Python's repr of a bool. */
export function pyBool(v: boolean): string {
  return v ? 'True' : 'False';
}

/** An int or a tuple of ints as Python prints them: 2, (2, 2), (8,). */
export function pyInts(v: number | readonly number[]): string {
  if (typeof v === 'number') return String(v);
  return `(${v.join(', ')}${v.length === 1 ? ',' : ''})`;
}

/** Python's repr of a string. */
export function pyStr(s: string): string {
  return `'${s}'`;
}
