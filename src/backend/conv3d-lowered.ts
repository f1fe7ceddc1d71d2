/**
 * 3-D convolution lowered onto a backend's 2-D convolution kernels, for the accelerated backends until they have a
 * dedicated 3-D kernel.
 *
 * Depth unrolling: every (sample, output depth) pair becomes one 2-D image whose channels are the kd input depth
 * slices its taps read, in (channel, tap) order — X2[n·OD + z, c·KD + a] = x[n, c, z·sD − pD + a·dD] (zero where the
 * tap reads padding). Weight [OC, C/g, KD, KH, KW] is then, unchanged in memory, a 2-D weight
 * [OC, (C/g)·KD, KH, KW], group channels stay contiguous, and
 *   conv3d(x, w) = conv2d(X2, w) read back from [N·OD, OC, OH·OW] into [N, OC, OD, OH·OW].
 * One big conv2d per chunk keeps the GEMM's reduction dim at C·KD·KH·KW, where the 2-D kernels are efficient.
 * The backward passes are the adjoints of the same three steps: conv2dBackwardInput followed by a scatter-add of
 * X2's gradient back into the depth slices, and conv2dBackwardWeight on (X2, gy permuted), summed over chunks.
 * Chunks of (sample, depth) rows bound the unrolled buffer (KD/sD times the input) to about LOWERED_BYTES; the
 * chunk buffers are kept for the next call (see Scratch).
 */
import type { FloatArray } from '../tensor/dtype.js';
import type { Backend, Conv2dGeometry, Conv3dGeometry } from './types.js';

/**
 * Target size of one chunk's unrolled input, in bytes. Small enough that keeping the chunk buffers between calls
 * costs little memory, large enough (several depth rows of a 56×56, 64-channel layer) for the 2-D kernels' GEMMs.
 */
const LOWERED_BYTES = 16 << 20;

type Kernels2d = Pick<Backend, 'conv2d' | 'conv2dBackwardInput' | 'conv2dBackwardWeight' | 'axpy'>;

/**
 * Buffers kept from call to call and grown on demand. Why: a fresh typed array is untouched memory, and on the
 * virtual machines this project runs on each first-touched 4 KiB page costs ~17 µs (bench/README.md) — for W9's
 * ~90 MB of chunk buffers that was ~60 % of a forward pass. Calls are synchronous and never nest, so one set of
 * buffers per lowering and dtype suffices; every use overwrites what it reads.
 */
class Scratch {
  private readonly bufs = new Map<string, FloatArray>();

  get(slot: string, like: FloatArray, size: number): FloatArray {
    const key = `${slot}:${like instanceof Float64Array ? 64 : 32}`;
    let b = this.bufs.get(key);
    if (!b || b.length < size) {
      b = like instanceof Float64Array ? new Float64Array(size) : new Float32Array(size);
      this.bufs.set(key, b);
    }
    return b.subarray(0, size);
  }
}

/** Rows (n·OD + z) per chunk and the 2-D geometry of a chunk of `rows` rows. */
function plan(g: Conv3dGeometry, bytesPerElem: number, chunkBytes: number) {
  const rowElems = g.c * g.kd * g.h * g.w;
  const total = g.n * g.od;
  const rows = Math.max(1, Math.min(total, Math.floor(chunkBytes / (rowElems * bytesPerElem))));
  const geom = (r: number): Conv2dGeometry => ({
    n: r,
    c: g.c * g.kd,
    h: g.h,
    w: g.w,
    oc: g.oc,
    kh: g.kh,
    kw: g.kw,
    oh: g.oh,
    ow: g.ow,
    strideH: g.strideH,
    strideW: g.strideW,
    padH: g.padH,
    padW: g.padW,
    dilationH: g.dilationH,
    dilationW: g.dilationW,
    groups: g.groups,
  });
  return { rowElems, total, rows, geom };
}

/**
 * Copies (or, with `adjoint`, scatter-adds back) rows [r0, r0+r) of the unrolled input X2 from (into) x.
 * Padding taps are written as zeros (and receive nothing).
 */
function unroll(x: FloatArray, x2: FloatArray, g: Conv3dGeometry, r0: number, r: number, adjoint: boolean): void {
  const plane = g.h * g.w;
  const vol = g.d * plane;
  let dst = 0;
  for (let row = r0; row < r0 + r; row++) {
    const b = Math.floor(row / g.od);
    const z = row - b * g.od;
    for (let c = 0; c < g.c; c++) {
      const src = (b * g.c + c) * vol;
      for (let a = 0; a < g.kd; a++, dst += plane) {
        const iz = z * g.strideD - g.padD + a * g.dilationD;
        if (iz < 0 || iz >= g.d) {
          if (!adjoint) x2.fill(0, dst, dst + plane);
          continue;
        }
        const at = src + iz * plane;
        if (adjoint) {
          for (let i = 0; i < plane; i++) x[at + i] += x2[dst + i];
        } else {
          x2.set(x.subarray(at, at + plane), dst);
        }
      }
    }
  }
}

/** Moves rows [r0, r0+r) between y [N, OC, OD, OH·OW] and the chunk y2 [r, OC, OH·OW] (toY2: y → y2). */
function permuteRows(y: FloatArray, y2: FloatArray, g: Conv3dGeometry, r0: number, r: number, toY2: boolean): void {
  const plane = g.oh * g.ow;
  for (let i = 0; i < r; i++) {
    const row = r0 + i;
    const b = Math.floor(row / g.od);
    const z = row - b * g.od;
    for (let o = 0; o < g.oc; o++) {
      const at = ((b * g.oc + o) * g.od + z) * plane;
      const at2 = (i * g.oc + o) * plane;
      if (toY2) y2.set(y.subarray(at, at + plane), at2);
      else y.set(y2.subarray(at2, at2 + plane), at);
    }
  }
}

/** Chunk buffers and the 2-D geometry of a chunk; `each` visits the chunks of rows [r0, r0 + r). */
function chunks(g: Conv3dGeometry, like: FloatArray, chunkBytes: number, scratch: Scratch) {
  const { rowElems, total, rows, geom } = plan(g, like.BYTES_PER_ELEMENT, chunkBytes);
  const outElems = g.oc * g.oh * g.ow;
  const x2 = scratch.get('x2', like, rows * rowElems);
  const y2 = scratch.get('y2', like, rows * outElems);
  return {
    /** More than one chunk (so per-chunk weight gradients must be summed). */
    split: rows < total,
    each(body: (r0: number, r: number, x2: FloatArray, y2: FloatArray, geom: Conv2dGeometry) => void): void {
      for (let r0 = 0; r0 < total; r0 += rows) {
        const r = Math.min(rows, total - r0);
        body(r0, r, x2.subarray(0, r * rowElems), y2.subarray(0, r * outElems), geom(r));
      }
    },
  };
}

/**
 * conv3d, conv3dBackwardInput and conv3dBackwardWeight on top of `k`'s 2-D kernels; `chunkBytes` bounds the
 * unrolled input of one chunk (tests make it small to exercise chunking).
 */
export function loweredConv3d(
  k: Kernels2d,
  chunkBytes = LOWERED_BYTES,
): Pick<Backend, 'conv3d' | 'conv3dBackwardInput' | 'conv3dBackwardWeight'> {
  const scratch = new Scratch();
  return {
    conv3d(x: FloatArray, w: FloatArray, bias: FloatArray | null, out: FloatArray, g: Conv3dGeometry): void {
      if (out.length === 0) return;
      chunks(g, x, chunkBytes, scratch).each((r0, r, x2, y2, geom) => {
        unroll(x, x2, g, r0, r, false);
        k.conv2d(x2, w, bias, y2, geom, 'none');
        permuteRows(out, y2, g, r0, r, false);
      });
    },

    conv3dBackwardInput(gy: FloatArray, w: FloatArray, gx: FloatArray, g: Conv3dGeometry): void {
      gx.fill(0);
      if (gy.length === 0) return;
      chunks(g, gy, chunkBytes, scratch).each((r0, r, x2, y2, geom) => {
        permuteRows(gy, y2, g, r0, r, true);
        k.conv2dBackwardInput(y2, w, x2, geom);
        unroll(gx, x2, g, r0, r, true);
      });
    },

    conv3dBackwardWeight(x: FloatArray, gy: FloatArray, gw: FloatArray, g: Conv3dGeometry): void {
      gw.fill(0);
      if (gy.length === 0) return;
      const c = chunks(g, x, chunkBytes, scratch);
      const part = c.split ? scratch.get('gw', x, gw.length) : gw;
      c.each((r0, r, x2, y2, geom) => {
        unroll(x, x2, g, r0, r, false);
        permuteRows(gy, y2, g, r0, r, true);
        k.conv2dBackwardWeight(x2, y2, part, geom);
        if (part !== gw) k.axpy(1, part, gw);
      });
    },
  };
}
