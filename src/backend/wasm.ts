/**
 * The WebAssembly backend: the C kernels of native/src compiled with clang to wasm32 + SIMD128 (build/wasm/,
 * produced by scripts/build-wasm.mjs at install). Single-threaded. The module owns one linear memory; each call
 * copies its operands into an I/O region there (grown on demand, never shrunk), runs, and copies results back.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Backend } from './types.js';
import { makeAcceleratedBackend, type RawKernels } from './accel.js';

type Arr = Float32Array | Int32Array;
/** i: copied in, o: copied out, b: both, n: may be null (then passed as 0). */
type Role = 'i' | 'o' | 'b';

type WasmFn = (...args: number[]) => number;

export const WASM_PATH = fileURLToPath(new URL('../../build-wasm/tatami.wasm', import.meta.url));

class WasmKernels implements RawKernels {
  private readonly memory: WebAssembly.Memory;
  private readonly fn: Record<string, WasmFn>;

  constructor(instance: WebAssembly.Instance) {
    this.memory = instance.exports.memory as WebAssembly.Memory;
    this.fn = instance.exports as unknown as Record<string, WasmFn>;
  }

  /** Lays the arrays out in the I/O region, runs `body` with their addresses, copies outputs back. */
  private run(arrays: (Arr | null)[], roles: Role[], body: (p: number[]) => number): number {
    let total = 0;
    for (const a of arrays) if (a) total += (a.byteLength + 63) & ~63;
    const base = this.fn.tt_io(total) >>> 0;
    const ptrs: number[] = [];
    let off = base;
    let mem = new Uint8Array(this.memory.buffer);
    arrays.forEach((a, i) => {
      if (!a) { ptrs.push(0); return; }
      ptrs.push(off);
      if (roles[i] !== 'o') mem.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
      off += (a.byteLength + 63) & ~63;
    });
    const r = body(ptrs);
    mem = new Uint8Array(this.memory.buffer); // the kernel may have grown (and so replaced) the buffer
    arrays.forEach((a, i) => {
      if (a && roles[i] !== 'i') new Uint8Array(a.buffer, a.byteOffset, a.byteLength).set(mem.subarray(ptrs[i], ptrs[i] + a.byteLength));
    });
    return r;
  }

  gemm(ta: boolean, tb: boolean, m: number, n: number, k: number, a: Float32Array, sa: number, b: Float32Array, sb: number, c: Float32Array, sc: number, batch: number, acc: boolean): void {
    const exact = c.length === (batch - 1) * sc + m * n;
    this.run([a, b, c], ['i', 'i', acc || !exact ? 'b' : 'o'], ([pa, pb, pc]) =>
      this.fn.gemm(+ta, +tb, m, n, k, pa, sa, pb, sb, pc, sc, batch, +acc));
  }
  conv2d(x: Float32Array, w: Float32Array, bias: Float32Array | null, scale: Float32Array | null, out: Float32Array, g: Int32Array, relu: boolean): void {
    this.run([x, w, bias, scale, out, g], ['i', 'i', 'i', 'i', 'o', 'i'], ([px, pw, pb, ps, po, pg]) => this.fn.conv2d(px, pw, pb, ps, po, pg, +relu));
  }
  conv2dBackwardInput(gy: Float32Array, w: Float32Array, gx: Float32Array, g: Int32Array): void {
    this.run([gy, w, gx, g], ['i', 'i', 'o', 'i'], ([a, b, c, d]) => this.fn.conv2dBackwardInput(a, b, c, d));
  }
  conv2dBackwardWeight(x: Float32Array, gy: Float32Array, gw: Float32Array, g: Int32Array): void {
    this.run([x, gy, gw, g], ['i', 'i', 'o', 'i'], ([a, b, c, d]) => this.fn.conv2dBackwardWeight(a, b, c, d));
  }
  maxPool2d(x: Float32Array, out: Float32Array, indices: Int32Array | null, g: Int32Array): void {
    this.run([x, out, indices, g], ['i', 'o', 'o', 'i'], ([a, b, c, d]) => this.fn.maxPool2d(a, b, c, d));
  }
  maxPool2dBackward(gy: Float32Array, indices: Int32Array, gx: Float32Array, planes: number, inPlane: number, outPlane: number): void {
    this.run([gy, indices, gx], ['i', 'i', 'o'], ([a, b, c]) => this.fn.maxPool2dBackward(a, b, c, planes, inPlane, outPlane));
  }
  avgPool2d(x: Float32Array, out: Float32Array, g: Int32Array, cip: boolean, div: number): void {
    this.run([x, out, g], ['i', 'o', 'i'], ([a, b, c]) => this.fn.avgPool2d(a, b, c, +cip, div));
  }
  avgPool2dBackward(gy: Float32Array, gx: Float32Array, g: Int32Array, cip: boolean, div: number): void {
    this.run([gy, gx, g], ['i', 'o', 'i'], ([a, b, c]) => this.fn.avgPool2dBackward(a, b, c, +cip, div));
  }
  channelStats(x: Float32Array, mean: Float32Array, variance: Float32Array, n: number, c: number, hw: number): void {
    this.run([x, mean, variance], ['i', 'o', 'o'], ([a, b, d]) => this.fn.channelStats(a, b, d, n, c, hw));
  }
  channelAffine(x: Float32Array, scale: Float32Array, shift: Float32Array, out: Float32Array, n: number, c: number, hw: number, relu: boolean): void {
    this.run([x, scale, shift, out], ['i', 'i', 'i', 'o'], ([a, b, d, e]) => this.fn.channelAffine(a, b, d, e, n, c, hw, +relu));
  }
  batchNormBackward(x: Float32Array, gy: Float32Array, mean: Float32Array, invStd: Float32Array, weight: Float32Array | null, gx: Float32Array | null, gw: Float32Array | null, gb: Float32Array | null, n: number, c: number, hw: number): void {
    this.run([x, gy, mean, invStd, weight, gx, gw, gb], ['i', 'i', 'i', 'i', 'i', 'o', 'o', 'o'],
      ([a, b, d, e, f, g, h, i]) => this.fn.batchNormBackward(a, b, d, e, f, g, h, i, n, c, hw));
  }
  softmax(x: Float32Array, out: Float32Array, outer: number, size: number, inner: number, log: boolean): void {
    this.run([x, out], ['i', 'o'], ([a, b]) => this.fn.softmax(a, b, outer, size, inner, +log));
  }
  softmaxGrad(y: Float32Array, gy: Float32Array, gx: Float32Array, outer: number, size: number, inner: number, log: boolean): void {
    this.run([y, gy, gx], ['i', 'i', 'o'], ([a, b, c]) => this.fn.softmaxGrad(a, b, c, outer, size, inner, +log));
  }
  unary(op: number, x: Float32Array, out: Float32Array, n: number, a: number, b: number): boolean {
    return this.run([x, out], ['i', 'o'], ([px, po]) => this.fn.unary(op, px, po, n, a, b)) !== 0;
  }
  unaryGrad(op: number, input: Float32Array, gy: Float32Array, gx: Float32Array, n: number, a: number, b: number): boolean {
    return this.run([input, gy, gx], ['i', 'i', 'o'], ([p, q, r]) => this.fn.unaryGrad(op, p, q, r, n, a, b)) !== 0;
  }
  binary(op: number, mode: number, a: Float32Array, b: Float32Array, out: Float32Array, outer: number, mid: number, inner: number): boolean {
    return this.run([a, b, out], ['i', 'i', 'o'], ([pa, pb, po]) => this.fn.binary(op, mode, pa, pb, po, outer, mid, inner)) !== 0;
  }
  reduceSum(x: Float32Array, out: Float32Array, outer: number, size: number, inner: number): void {
    this.run([x, out], ['i', 'o'], ([a, b]) => this.fn.reduceSum(a, b, outer, size, inner));
  }
  axpy(n: number, alpha: number, x: Float32Array, y: Float32Array): void {
    this.run([x, y], ['i', 'b'], ([a, b]) => this.fn.axpy(n, alpha, a, b));
  }
  sgdStep(n: number, w: Float32Array, g: Float32Array, buf: Float32Array | null, lr: number, momentum: number, dampening: number, weightDecay: number, flags: number): void {
    this.run([w, g, buf], ['b', 'i', 'b'], ([pw, pg, pb]) => this.fn.sgdStep(n, pw, pg, pb, lr, momentum, dampening, weightDecay, flags));
  }
  adamStep(n: number, w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array | null, beta1: number, beta2: number,
    eps: number, decay: number, l2: number, stepSize: number, bc2Sqrt: number, sign: number): void {
    this.run([w, g, m, v, vmax], ['b', 'i', 'b', 'b', 'b'],
      ([pw, pg, pm, pv, px]) => this.fn.adamStep(n, pw, pg, pm, pv, px, beta1, beta2, eps, decay, l2, stepSize, bc2Sqrt, sign));
  }
}

let cached: Backend | null = null;

/** Compiles and instantiates the wasm kernels synchronously; throws saying why when unavailable. */
export function loadWasmBackend(): Backend {
  if (cached) return cached;
  if (typeof WebAssembly === 'undefined') throw new Error('WebAssembly is not available');
  if (!existsSync(WASM_PATH)) throw new Error(`wasm kernels not built (${WASM_PATH} missing; run npm run build:wasm)`);
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(readFileSync(WASM_PATH));
  } catch (err) {
    throw new Error(`wasm kernels do not compile here (SIMD128 unsupported?): ${err instanceof Error ? err.message : String(err)}`);
  }
  const instance = new WebAssembly.Instance(module, {});
  cached = makeAcceleratedBackend('wasm-simd', new WasmKernels(instance));
  return cached;
}
