/**
 * Packing nested state (optimizer and scheduler state dicts, which mix numbers, arrays and tensors) into JSON plus a
 * flat map of tensors, so a whole training checkpoint fits in one safetensors file.
 */
import { Tensor } from '../tensor/tensor.js';

/** JSON-compatible value with tensors replaced by references into a tensor map. */
export type Packed = null | boolean | number | string | Packed[] | { [key: string]: Packed };

const TENSOR_REF = '__tensor__';

/** Replaces every Tensor inside `value` by {"__tensor__": key}, storing it in `tensors` under `prefix`-based keys. */
export function packState(value: unknown, prefix: string, tensors: Record<string, Tensor>): Packed {
  if (value instanceof Tensor) {
    tensors[prefix] = value;
    return { [TENSOR_REF]: prefix };
  }
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') {
    // JSON has no Infinity/NaN; keep them as tagged strings.
    return Number.isFinite(value) ? value : { __number__: String(value) };
  }
  if (typeof value === 'boolean' || typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((v, i) => packState(v, `${prefix}.${i}`, tensors));
  if (ArrayBuffer.isView(value)) throw new Error(`packState: typed array at ${prefix} must be wrapped in a Tensor`);
  if (typeof value === 'object') {
    const out: { [key: string]: Packed } = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v === 'function') continue;
      out[k] = packState(v, `${prefix}.${k}`, tensors);
    }
    return out;
  }
  throw new Error(`packState: cannot store a ${typeof value} at ${prefix}`);
}

/** Inverse of packState. */
export function unpackState(value: Packed, tensors: Record<string, Tensor>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => unpackState(v, tensors));
  if (TENSOR_REF in value && typeof value[TENSOR_REF] === 'string') {
    const key = value[TENSOR_REF] as string;
    const t = Object.hasOwn(tensors, key) ? tensors[key] : undefined;
    if (!(t instanceof Tensor))
      throw new Error(`checkpoint: tensor '${key}' referenced by the state is missing from the file`);
    return t;
  }
  if ('__number__' in value && typeof value.__number__ === 'string') return Number(value.__number__);
  const out: Record<string, unknown> = {};
  // defineProperty: a "__proto__" key in a file stays an ordinary key instead of replacing the prototype.
  for (const [k, v] of Object.entries(value))
    Object.defineProperty(out, k, {
      value: unpackState(v, tensors),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return out;
}
