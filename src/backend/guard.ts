/**
 * Bounds assertions at the accelerated-kernel boundary. Native and WebAssembly kernels index raw memory: given a
 * geometry that promises more elements than a typed array holds, they read or write past it (a segfault, or
 * silently wrong numbers). Every call from `accel.ts` into a C kernel first checks, in O(1) (O(rank) for strided
 * copies), that each array holds at least as many elements as the geometry makes the kernel touch, and that every
 * geometry field is an integer in the range the C side reads it as (int32). Ops built on the public API never
 * trip these checks — the op layer validates shapes first — so an error here means a caller handed the backend
 * inconsistent buffers, and it names the kernel, the array, its length and what was needed.
 */
import type { Backend, Conv2dGeometry, Pool2dGeometry } from './types.js';

type Arr = ArrayLike<number> | null;

const INT32_MAX = 2 ** 31 - 1;

/** Throws unless `v` is an integer in [min, 2³¹ − 1] (the C kernels read geometry as int32). */
export function int(kernel: string, name: string, v: number, min = 0): void {
  if (!Number.isInteger(v) || v < min || v > INT32_MAX) {
    throw new Error(`${kernel}: ${name} must be an integer in [${min}, ${INT32_MAX}], got ${v}`);
  }
}

/** Throws unless `a` (when non-null) holds at least `need` elements. */
export function len(kernel: string, name: string, a: Arr, need: number): void {
  if (a !== null && a.length < need) {
    throw new Error(
      `${kernel}: ${name} has ${a.length} elements but the kernel's geometry needs ${need}; refusing to run out of bounds`,
    );
  }
}

/** Geometry of a convolution: sizes ≥ 0, steps ≥ 1, groups dividing both channel counts. Returns c/groups. */
export function convGeometry(kernel: string, g: Conv2dGeometry): number {
  for (const k of ['n', 'c', 'h', 'w', 'oc', 'kh', 'kw', 'oh', 'ow', 'padH', 'padW'] as const) int(kernel, k, g[k]);
  for (const k of ['strideH', 'strideW', 'dilationH', 'dilationW', 'groups'] as const) int(kernel, k, g[k], 1);
  if (g.c % g.groups !== 0 || g.oc % g.groups !== 0) {
    throw new Error(`${kernel}: groups=${g.groups} must divide both c=${g.c} and oc=${g.oc}`);
  }
  return g.c / g.groups;
}

/** Element counts of a convolution's operands: input, weight, output. */
export function convSizes(kernel: string, g: Conv2dGeometry): { x: number; w: number; y: number } {
  const cg = convGeometry(kernel, g);
  return { x: g.n * g.c * g.h * g.w, w: g.oc * cg * g.kh * g.kw, y: g.n * g.oc * g.oh * g.ow };
}

/** Element counts of a pooling's planes in and out; checks the geometry fields. */
export function poolSizes(kernel: string, g: Pool2dGeometry): { x: number; y: number } {
  for (const k of ['n', 'c', 'h', 'w', 'oh', 'ow', 'kh', 'kw', 'padH', 'padW'] as const) int(kernel, k, g[k]);
  for (const k of ['strideH', 'strideW', 'dilationH', 'dilationW'] as const) int(kernel, k, g[k], 1);
  return { x: g.n * g.c * g.h * g.w, y: g.n * g.c * g.oh * g.ow };
}

/** Checks [outer, size, inner] and returns their product. */
export function osi(kernel: string, outer: number, size: number, inner: number): number {
  int(kernel, 'outer', outer);
  int(kernel, 'size', size);
  int(kernel, 'inner', inner);
  return outer * size * inner;
}

/**
 * Scatter indices must address [0, inPlane) of their plane (max-pool backward writes gx[p·inPlane + index]).
 * O(planes·outPlane) integer compares — far less than the scatter itself — because these come from a caller.
 */
export function indicesInPlane(kernel: string, indices: Int32Array, count: number, inPlane: number): void {
  for (let i = 0; i < count; i++) {
    const v = indices[i];
    if (v < 0 || v >= inPlane)
      throw new Error(`${kernel}: index ${v} at position ${i} is outside its plane of ${inPlane} elements`);
  }
}

/** For a strided gather: the highest element `src` must hold (from `srcOffset`); −1 when nothing is read. */
export function stridedReach(
  kernel: string,
  srcOffset: number,
  strides: readonly number[],
  shape: readonly number[],
): number {
  int(kernel, 'srcOffset', srcOffset);
  if (strides.length !== shape.length) throw new Error(`${kernel}: ${strides.length} strides for ${shape.length} dims`);
  let hi = srcOffset;
  for (let i = 0; i < shape.length; i++) {
    int(kernel, `shape[${i}]`, shape[i]);
    if (shape[i] === 0) return -1;
    // The native gather reads strides as int32 and walks forward only.
    int(kernel, `stride[${i}]`, strides[i]);
    hi += (shape[i] - 1) * strides[i];
  }
  return hi;
}

/**
 * The reference backend as the registry hands it out: the same geometry and length checks as the accelerated
 * kernels for the hand-written kernels whose loop counts come from a geometry (convolution, pooling, GEMM); the
 * table's kernels get theirs from `guardedTableKernels` (accel.gen.ts). TypeScript loops
 * cannot leave their arrays, but given an absurd geometry through `tt.backend()` they would run for hours (the
 * fuzzer found groups = 2³¹). The accelerated backends' own reference fallbacks use the raw object.
 */
export function guardReference(ref: Backend): Backend {
  return {
    ...ref,
    conv2d(x, w, bias, out, g, epilogue, scale = null, packed = null, residual = null) {
      const s = convSizes('conv2d', g);
      len('conv2d', 'x', x, s.x);
      len('conv2d', 'weight', w, s.w);
      len('conv2d', 'out', out, s.y);
      len('conv2d', 'bias', bias, g.oc);
      len('conv2d', 'scale', scale, g.oc);
      len('conv2d', 'residual', residual, s.y);
      ref.conv2d(x, w, bias, out, g, epilogue, scale, packed, residual);
    },
    conv2dBackwardInput(gy, w, gx, g) {
      const s = convSizes('conv2dBackwardInput', g);
      len('conv2dBackwardInput', 'gy', gy, s.y);
      len('conv2dBackwardInput', 'weight', w, s.w);
      len('conv2dBackwardInput', 'gx', gx, s.x);
      ref.conv2dBackwardInput(gy, w, gx, g);
    },
    conv2dBackwardWeight(x, gy, gw, g) {
      const s = convSizes('conv2dBackwardWeight', g);
      len('conv2dBackwardWeight', 'x', x, s.x);
      len('conv2dBackwardWeight', 'gy', gy, s.y);
      len('conv2dBackwardWeight', 'gw', gw, s.w);
      ref.conv2dBackwardWeight(x, gy, gw, g);
    },
    avgPool2d(x, out, g, cip, div) {
      const s = poolSizes('avgPool2d', g);
      len('avgPool2d', 'x', x, s.x);
      len('avgPool2d', 'out', out, s.y);
      ref.avgPool2d(x, out, g, cip, div);
    },
    avgPool2dBackward(gy, gx, g, cip, div) {
      const s = poolSizes('avgPool2dBackward', g);
      len('avgPool2dBackward', 'gy', gy, s.y);
      len('avgPool2dBackward', 'gx', gx, s.x);
      ref.avgPool2dBackward(gy, gx, g, cip, div);
    },
    gemm(transA, transB, m, n, k, a, strideA, b, strideB, c, strideC, batch, accumulate) {
      for (const [name, v] of [
        ['m', m],
        ['n', n],
        ['k', k],
        ['batch', batch],
        ['strideA', strideA],
        ['strideB', strideB],
        ['strideC', strideC],
      ] as const)
        int('gemm', name, v);
      if (batch > 0 && m > 0 && n > 0) {
        len('gemm', 'A', a, (batch - 1) * strideA + m * k);
        len('gemm', 'B', b, (batch - 1) * strideB + k * n);
        len('gemm', 'C', c, (batch - 1) * strideC + m * n);
      }
      ref.gemm(transA, transB, m, n, k, a, strideA, b, strideB, c, strideC, batch, accumulate);
    },
  };
}
