/**
 * Convolution weights transformed once for inference. A backend's forward may first transform the weights into the
 * layout its algorithm reads (Winograd's G·g·Gᵀ filters, in GEMM panels); in training the weights change every step,
 * so that is paid per call, but in inference the same weights meet a new input every call. ONNX Runtime and
 * oneDNN prepack at load; Tatami keeps no separate inference model, so the forward ops ask here instead: with grad
 * mode off, a leaf weight's transform is made on first use and kept beside the tensor (a WeakMap entry, gone with
 * the tensor) until the weights change.
 *
 * A change is seen by the tensor's `version`, which every in-place op, optimizer step, `loadStateDict` and `nn.init`
 * function increments — on any view of the weights too, as the counter belongs to the buffer — and by a sample of
 * the values (FINGERPRINT of them, evenly spread), which catches weights rewritten through `tensor.storage` without
 * a version bump. A write to single elements of `storage` that misses every sampled one is not seen: write weights
 * through tensor ops (`copy_`, `fill_`, indexing assignment), or call `tensor.version++` after writing `storage`
 * directly.
 */
import { isGradEnabled } from '../autograd/grad-mode.js';
import { backend } from '../backend/index.js';
import type { Backend, Conv2dGeometry, PackedConv2dWeights } from '../backend/types.js';
import type { FloatArray } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { floatData } from './util.js';

/** Values sampled per weight tensor to notice a rewrite that did not bump `version`. */
const FINGERPRINT = 32;

interface PackEntry {
  backend: Backend;
  plan: string;
  version: number;
  sample: Float64Array;
  packed: PackedConv2dWeights;
}

/** Per weight tensor, one entry per backend and algorithm (a weight may meet geometries planned differently). */
const packs = new WeakMap<Tensor, PackEntry[]>();

/** Entries kept per weight tensor at most: one per algorithm that packs, on two backends. */
const MAX_ENTRIES = 4;

/**
 * FINGERPRINT values of w, evenly spread (its first and last included), with their indices: [i0, w[i0], i1, w[i1],
 * …]. With a tensor's `version`, what a cache of something computed from the values compares to see that they
 * changed (here, and the folded batch norms of nn/fusion.ts). The indices are stored so the check does no division
 * (a floor of a quotient per sampled value was most of the check's 0.14 ms a MobileNetV3 forward).
 */
export function sampleOf(w: FloatArray): Float64Array {
  const n = Math.min(FINGERPRINT, w.length);
  const s = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const at = Math.floor((i * (w.length - 1)) / Math.max(1, n - 1));
    s[2 * i] = at;
    s[2 * i + 1] = w[at];
  }
  return s;
}

/** Whether a value read back is the one read before: equal, or both NaN (the same bits sampled). */
export function sameValue(v: number, then: number): boolean {
  return v === then || (v !== v && then !== then);
}

/** Whether w still holds the values `sampleOf` took from it (NaN matching NaN). */
export function sameSample(w: FloatArray, s: Float64Array): boolean {
  for (let i = 0; i < s.length; i += 2) if (!sameValue(w[s[i]], s[i + 1])) return false;
  return true;
}

/**
 * Whether something derived from `weight` may be kept between calls: grad mode off (training changes the weights
 * every step) and a contiguous float32 leaf (a computed or viewed weight is a new tensor every call).
 */
function keepable(weight: Tensor): boolean {
  return !isGradEnabled() && weight.gradFn === null && weight.dtype === 'float32' && weight.isContiguous();
}

/**
 * The transformed weights for a 2-D convolution of geometry `g` with `weight`, or null where none apply: grad mode
 * on (training: the weights change every step), a weight that is not a contiguous float32 leaf (a computed or
 * viewed weight is new every call), or a backend or geometry that gains nothing from them. Made once per weight
 * tensor and backend, remade after the weights change.
 */
export function packedConv2dWeights(weight: Tensor, g: Conv2dGeometry): PackedConv2dWeights | null {
  if (!keepable(weight)) return null;
  const b = backend();
  if (b.packConv2dWeights === undefined || b.packedConv2dPlan === undefined) return null;
  const plan = b.packedConv2dPlan(g);
  if (plan === null) return null; // g's forward reads no transformed weights (a direct plan)
  const w = floatData(weight) as Float32Array;
  const entries = packs.get(weight) ?? [];
  const at = entries.findIndex((e) => e.backend === b && e.plan === plan);
  const hit = at >= 0 ? entries[at] : undefined;
  if (
    hit !== undefined &&
    hit.version === weight.version &&
    hit.packed.oc === g.oc &&
    hit.packed.c === g.c &&
    sameSample(w, hit.sample)
  )
    return hit.packed;
  const packed = b.packConv2dWeights(w, g);
  if (packed === null) return null;
  const entry = { backend: b, plan: packed.plan, version: weight.version, sample: sampleOf(w), packed };
  if (at >= 0) entries[at] = entry;
  else {
    if (entries.length >= MAX_ENTRIES) entries.shift();
    entries.push(entry);
  }
  packs.set(weight, entries);
  return packed;
}

interface DerivedEntry {
  version: number;
  sample: Float64Array;
  value: unknown;
}

/** Per weight tensor and purpose, the last value derived from it. */
const derived = new WeakMap<Tensor, Map<string, DerivedEntry>>();

/**
 * A value computed from a float32 leaf weight for grad-free forwards (a fusion rule's slice or product of the
 * weights), made on first use under `key` and remade when the weights change — seen as the packed transforms above
 * see it, by `version` and a sample of the values. Null when grad mode is on or the weight is not a contiguous
 * float32 leaf (then nothing stays valid from one call to the next).
 */
export function derivedFromWeight<T>(weight: Tensor, key: string, make: () => T): T | null {
  if (!keepable(weight)) return null;
  const w = weight.dataView() as Float32Array;
  let byKey = derived.get(weight);
  const hit = byKey?.get(key);
  if (hit !== undefined && hit.version === weight.version && sameSample(w, hit.sample)) return hit.value as T;
  const value = make();
  if (!byKey) derived.set(weight, (byKey = new Map()));
  byKey.set(key, { version: weight.version, sample: sampleOf(w), value });
  return value;
}
