/**
 * Shared glue of the accelerated backends (native addon, WebAssembly): both expose the same flat C kernel entry
 * points (`RawKernels`, generated with their C side from native/kernels.table.mjs); this module turns them into a
 * `Backend`. The overrides of the table's ordinary kernels are generated too (accel.gen.ts); those written here are
 * the special ones (op codes, broadcasting, the conv planner, strided copies, rounding of arguments). Every
 * override takes the fast path only for float32 buffers and the layouts the C kernels implement, and otherwise
 * defers to the reference kernel, so semantics never depend on the backend.
 */
import type { FloatArray, TypedArray } from '../tensor/dtype.js';
import type {
  AdaptivePool2dGeometry,
  Backend,
  BinaryOp,
  Conv2dGeometry,
  Conv3dGeometry,
  ConvEpilogue,
  Epilogue,
  Interpolate2dGeometry,
  InterpolateMode,
  NhwcGate,
  NhwcProgram,
  NhwcProgramConv,
  NhwcStage,
  PackedConv2dWeights,
  Pool2dGeometry,
  ReduceOp,
  UnaryGradOp,
  UnaryOp,
  UnaryParams,
} from './types.js';
import { referenceBackend as ref } from './reference/index.js';
import { linearTaps, nearestIndices } from './reference/interp.js';
import * as guard from './guard.js';
import { loweredConv3d } from './conv3d-lowered.js';
import { packConv3dGeometry, packConvGeometry, packPoolGeometry, type RawKernels } from './kernels.gen.js';
import { tableKernels } from './accel.gen.js';
import {
  CONV_DIRECTIONS,
  CONV_PLANS,
  convPlanLogger,
  convPlanLogging,
  describeConvGeometry,
  convPlanName,
  registerConvPlanner,
  type ConvPlanner,
} from './conv-plan.js';

type F32 = Float32Array;

export type { RawKernels } from './kernels.gen.js';

/**
 * A channels-last program as the nhwcProgram kernel takes it: one record of NP_REC int32 a step (the stem first; the
 * fields as NP_* in native/src/kernels/nhwc_program.inc.c) whose operands are entries of `arrays`.
 */
interface FlatProgram {
  /** The operands, never changed once made: the native side reads this array once and keeps what it read on it. */
  arrays: (F32 | null)[];
  /** Each operand's length when the program was checked (0 for null). */
  lengths: number[];
  code: Int32Array;
  /** The program step each record belongs to (a residual block is several records). */
  stepOf: number[];
  /** Floats of the NCHW input and of the pooled output. */
  xLen: number;
  outLen: number;
}
// Step kinds and record fields, mirrored from native/src/kernels/nhwc_program.inc.c.
const NP_STEM = 0,
  NP_BLOCK = 1,
  NP_CONV = 2,
  NP_LINEAR = 3,
  NP_MAXPOOL = 4;
/** A head layer's activation codes (NP_HEAD_* there). */
const NP_HEAD_ACT = { none: 0, hardswish: 1 } as const;
const NP_KIND = 0,
  NP_FIRST = 1,
  NP_CIN = 2,
  NP_COUT = 3,
  NP_SQ = 4,
  NP_ACTE = 5,
  NP_ACTD = 6,
  NP_ACT1 = 7,
  NP_ACTP = 8,
  NP_RESIDUAL = 9,
  NP_SRC = 10,
  NP_DST = 11,
  NP_RES = 12,
  NP_GEOM = 13,
  NP_REC = NP_GEOM + 16;

// Codes mirrored from native/src/tt.h.
const UNARY_CODES: Partial<Record<UnaryOp, number>> = {
  relu: 0,
  neg: 1,
  abs: 2,
  square: 3,
  exp: 4,
  sigmoid: 5,
  addScalar: 6,
  mulScalar: 7,
  leakyRelu: 8,
  relu6: 9,
  silu: 10,
  sqrt: 11,
};
/** The conv epilogue's activation codes (ACT_* of native/src/kernels/simd.inc.c). */
const CONV_ACT_CODES: Record<ConvEpilogue, number> = { none: 0, relu: 1, relu6: 2, hardswish: 3 };
const BINARY_CODES: Partial<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5 };
const BM_SAME = 0,
  BM_BSCALAR = 1,
  BM_ASCALAR = 2,
  BM_BMID = 3,
  BM_AMID = 4,
  BM_BROW = 5,
  BM_AROW = 6;

/** Below this many elements the call overhead outweighs the kernel; the reference loop runs instead. */
const SMALL = 64;

type ResampleTaps = [
  Int32Array,
  Int32Array | null,
  F32 | null,
  F32 | null,
  Int32Array,
  Int32Array | null,
  F32 | null,
  F32 | null,
];

/**
 * The source taps of a float32 resampling for the resample2d kernels (rows then columns: indices, second
 * indices, weights), or null to take the reference path (other dtypes, empty or tiny problems). `input` is the
 * [planes, h, w] side and `output` the [planes, oh, ow] side, checked against the geometry before any kernel runs.
 */
function resampleTaps(
  mode: InterpolateMode,
  g: Interpolate2dGeometry,
  input: FloatArray,
  output: FloatArray,
): ResampleTaps | null {
  const { planes, h, w, oh, ow } = g;
  if (!f32(input, output) || planes * oh * ow < SMALL || h < 1 || w < 1) return null;
  guard.len('interpolate2d', 'input', input, guard.osi('interpolate2d', planes, h, w));
  guard.len('interpolate2d', 'output', output, guard.osi('interpolate2d', planes, oh, ow));
  if (mode === 'nearest')
    return [nearestIndices(h, oh, g.scaleH), null, null, null, nearestIndices(w, ow, g.scaleW), null, null, null];
  const ty = linearTaps(h, oh, g.scaleH, g.alignCorners, Math.fround);
  const tx = linearTaps(w, ow, g.scaleW, g.alignCorners, Math.fround);
  return [
    ty.i0,
    ty.i1,
    Float32Array.from(ty.l0),
    Float32Array.from(ty.l1),
    tx.i0,
    tx.i1,
    Float32Array.from(tx.l0),
    Float32Array.from(tx.l1),
  ];
}

/** a and b share bytes of one buffer (a null a shares none). */
function overlaps(a: TypedArray | null, b: TypedArray): boolean {
  return (
    a !== null &&
    a.buffer === b.buffer &&
    a.byteOffset < b.byteOffset + b.byteLength &&
    b.byteOffset < a.byteOffset + a.byteLength
  );
}

/** Whether a and b are views of exactly the same elements (an operand its kernel may read and overwrite in place). */
function sameElements(a: TypedArray | null, b: TypedArray): boolean {
  return a !== null && a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.byteLength === b.byteLength;
}

function f32(...xs: (TypedArray | null)[]): boolean {
  for (const x of xs) if (x !== null && !(x instanceof Float32Array)) return false;
  return true;
}

/** Packs a conv geometry into the Int32Array layout of CG_* (generated from native/kernels.table.mjs). */
export const convGeom = packConvGeometry;
const poolGeom = packPoolGeometry;

function isDense(strides: readonly number[], shape: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/** The first dim from which `strides` lay the remaining dims out densely (size-1 dims ignored). */
function denseFrom(strides: readonly number[], shape: readonly number[]): number {
  let expected = 1,
    d = shape.length;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) break;
    expected *= shape[i];
    d = i;
  }
  return d;
}

/** Shortest contiguous run worth one kernel call of its own (shorter runs stay with the reference loop). */
const MIN_ROW = 256;

function isZero(strides: readonly number[], shape: readonly number[]): boolean {
  for (let i = 0; i < shape.length; i++) if (shape[i] !== 1 && strides[i] !== 0) return false;
  return true;
}

/**
 * When `s` (the broadcast operand) is dense over one run of dims [d0, d1] and zero elsewhere, returns
 * [outer, mid, inner] = products of the dims before, inside and after the run.
 */
function midRun(strides: readonly number[], shape: readonly number[]): [number, number, number] | null {
  let d0 = -1,
    d1 = -1;
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    if (strides[i] !== 0) {
      if (d0 < 0) d0 = i;
      d1 = i;
    }
  }
  if (d0 < 0) return null;
  let expected = 1;
  for (let i = d1; i >= d0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return null;
    expected *= shape[i];
  }
  let outer = 1,
    mid = 1,
    inner = 1;
  for (let i = 0; i < shape.length; i++) {
    if (i < d0) outer *= shape[i];
    else if (i <= d1) mid *= shape[i];
    else inner *= shape[i];
  }
  return [outer, mid, inner];
}

/**
 * out = a op b when both operands are dense over the same trailing dims (a run of ≥ MIN_ROW floats) and strided
 * (non-negative, possibly broadcast) above them: one dense kernel call per run. False when the layout does not fit.
 */
function rowwiseBinary(
  k: RawKernels,
  code: number,
  a: F32,
  aStrides: readonly number[],
  b: F32,
  bStrides: readonly number[],
  out: F32,
  shape: readonly number[],
): boolean {
  const from = Math.max(denseFrom(aStrides, shape), denseFrom(bStrides, shape));
  if (from === 0 || from >= shape.length) return false;
  let inner = 1;
  for (let i = from; i < shape.length; i++) inner *= shape[i];
  if (inner < MIN_ROW || out.length % inner !== 0) return false;
  const rows = out.length / inner;
  // the farthest run start of each operand, from its outer strides: every run must lie inside its array
  let aEnd = 0,
    bEnd = 0;
  for (let i = 0; i < from; i++) {
    if (aStrides[i] < 0 || bStrides[i] < 0) return false;
    aEnd += (shape[i] - 1) * aStrides[i];
    bEnd += (shape[i] - 1) * bStrides[i];
  }
  if (aEnd + inner > a.length || bEnd + inner > b.length) return false;
  const idx = new Array<number>(from).fill(0);
  let ao = 0,
    bo = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * inner;
    if (
      !k.binary(
        code,
        BM_SAME,
        a.subarray(ao, ao + inner),
        b.subarray(bo, bo + inner),
        out.subarray(o, o + inner),
        1,
        1,
        inner,
      )
    )
      return false;
    // odometer over the outer dims
    for (let d = from - 1; d >= 0; d--) {
      ao += aStrides[d];
      bo += bStrides[d];
      if (++idx[d] < shape[d]) break;
      ao -= shape[d] * aStrides[d];
      bo -= shape[d] * bStrides[d];
      idx[d] = 0;
    }
  }
  return true;
}

const copyStrides = new Int32Array(8);
const copyShape = new Int32Array(8);

/**
 * The geometry of the convolution that computes conv3d's input gradient for a 3×3×3, stride-1, undilated,
 * ungrouped geometry `g` (gy [n, oc, od, oh, ow] → gx [n, c, d, h, w] with padding 2 − p per dim), or null when `g` is
 * not of that kind or a padding above 2 would make the transposed padding negative.
 */
export function transposedConv3dGeometry(g: Conv3dGeometry): Conv3dGeometry | null {
  const ones = [g.strideD, g.strideH, g.strideW, g.dilationD, g.dilationH, g.dilationW, g.groups];
  if (g.kd !== 3 || g.kh !== 3 || g.kw !== 3 || !ones.every((v) => v === 1)) return null;
  if (g.padD > 2 || g.padH > 2 || g.padW > 2) return null;
  return {
    ...g,
    c: g.oc,
    d: g.od,
    h: g.oh,
    w: g.ow,
    oc: g.c,
    od: g.d,
    oh: g.h,
    ow: g.w,
    padD: 2 - g.padD,
    padH: 2 - g.padH,
    padW: 2 - g.padW,
  };
}

/** w [oc, c, 3, 3, 3] → [c, oc, 3, 3, 3] flipped in depth, height and width (the transposed convolution's filters). */
export function flipTransposeFilters3(w: Float32Array, oc: number, c: number): Float32Array {
  const out = new Float32Array(oc * c * 27);
  for (let o = 0; o < oc; o++)
    for (let i = 0; i < c; i++) {
      const src = (o * c + i) * 27,
        dst = (i * oc + o) * 27;
      for (let t = 0; t < 27; t++) out[dst + 26 - t] = w[src + t];
    }
  return out;
}

/**
 * Whether conv3d runs on the 3-D Winograd kernel (native/src/kernels/conv3d_winograd.inc.c): 3×3×3, stride 1,
 * undilated, one group, any zero padding, at least 8 input and output channels (fewer leave its GEMM panels,
 * NR = 32 output channels wide on AVX-512, mostly zero padding) and at most 128×128 channels, as the 2-D Winograd
 * (the per-call weight transform grows with c·oc while those layers' maps shrink; one thread, AVX-512, against the
 * lowering: 2×128×8×28² 2.5× faster, 2×256×4×14² even, 2×512×2×7² 2.8× slower). The fields must be int32 values:
 * the kernel sizes and indexes with them.
 */
export function winograd3dServes(g: Conv3dGeometry): boolean {
  const fields = [g.n, g.c, g.d, g.h, g.w, g.oc, g.od, g.oh, g.ow, g.padD, g.padH, g.padW];
  if (!fields.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 31)) return false;
  return (
    g.kd === 3 &&
    g.kh === 3 &&
    g.kw === 3 &&
    g.strideD === 1 &&
    g.strideH === 1 &&
    g.strideW === 1 &&
    g.dilationD === 1 &&
    g.dilationH === 1 &&
    g.dilationW === 1 &&
    g.groups === 1 &&
    g.c >= 8 &&
    g.oc >= 8 &&
    g.c * g.oc <= 128 * 128 &&
    g.n * g.od * g.oh * g.ow > 0 &&
    g.d * g.h * g.w > 0
  );
}

/** Builds a Backend named `name` whose kernels run through `k` where it applies. */
/** The pooling geometry of adaptive windows that tile the input evenly (kernel = stride = in/out), else null. */
function evenPoolOf(g: AdaptivePool2dGeometry): Pool2dGeometry | null {
  if (g.oh <= 0 || g.ow <= 0 || g.h % g.oh !== 0 || g.w % g.ow !== 0) return null;
  const kh = g.h / g.oh,
    kw = g.w / g.ow;
  return {
    n: 1,
    c: g.planes,
    h: g.h,
    w: g.w,
    oh: g.oh,
    ow: g.ow,
    kh,
    kw,
    strideH: kh,
    strideW: kw,
    padH: 0,
    padW: 0,
    dilationH: 1,
    dilationW: 1,
  };
}

export function makeAcceleratedBackend(name: string, k: RawKernels): Backend {
  const copy = k.copyStrided?.bind(k);
  const planner: ConvPlanner = (g, direction) =>
    convPlanName(name, k.convPlan(convGeom(g), CONV_DIRECTIONS.indexOf(direction)));
  // TATAMI_LOG_CONV_PLAN=1: each algorithm choice once per geometry on stderr; otherwise one null check per call.
  const logPlan = convPlanLogging() ? convPlanLogger(name, planner) : null;
  // names this backend as the maker of packed weights: another build's layout (another NR) must not be read here
  const packOwner = {};
  /** Weights transformed once by a build's (size, pack) kernel pair, tagged for the forward that reads them. */
  const packWeights = (
    op: string,
    w: FloatArray,
    g: Conv2dGeometry,
    sizeOf: (g: Int32Array) => number,
    pack: (w: F32, packed: F32, g: Int32Array) => void,
    plan: () => string,
  ): PackedConv2dWeights | null => {
    if (!f32(w)) return null;
    const s = guard.convSizes(op, g);
    guard.len(op, 'weight', w, s.w);
    if (s.x === 0 || s.w === 0 || s.y === 0) return null;
    const geom = convGeom(g);
    const size = sizeOf.call(k, geom);
    if (size <= 0) return null;
    const data = new Float32Array(size);
    pack.call(k, w as F32, data, geom);
    return { owner: packOwner, plan: plan(), oc: g.oc, c: g.c, data };
  };
  /** A 1×1, stride-1, unpadded convolution: what conv2dNhwc's pointwise kernel serves (conv_nhwc.inc.c's nhwc_kind). */
  const isPointwiseNhwc = (g: Conv2dGeometry) =>
    g.kh === 1 &&
    g.kw === 1 &&
    g.strideH === 1 &&
    g.strideW === 1 &&
    g.padH === 0 &&
    g.padW === 0 &&
    g.oh === g.h &&
    g.ow === g.w;
  /** A convolution conv2dNchwToNhwc serves (a channels-last program's stem): one group, not 1×1. */
  const isStemNhwc = (g: Conv2dGeometry) => g.groups === 1 && !isPointwiseNhwc(g);
  /**
   * The plan name of packConv2dNhwc's output for the packed geometry `geom`: 'nhwc-winograd' where the channels-last
   * forward runs Winograd (its weights transformed), else 'nhwc'.
   */
  const NHWC_DIRECTION = CONV_DIRECTIONS.indexOf('forward-nhwc');
  const nhwcPackedPlan = (geom: Int32Array) =>
    CONV_PLANS[k.convPlan(geom, NHWC_DIRECTION)] === 'winograd' ? 'nhwc-winograd' : 'nhwc';
  /** Throws unless `packed` is this backend's packConv2dNhwc output for g (packed as `geom`). */
  const checkNhwcPacked = (op: string, packed: PackedConv2dWeights, g: Conv2dGeometry, geom: Int32Array) => {
    const size = k.conv2dNhwcPackedSize(geom);
    if (
      packed.owner !== packOwner ||
      packed.plan !== nhwcPackedPlan(geom) ||
      packed.oc !== g.oc ||
      packed.c !== g.c ||
      size <= 0 ||
      packed.data.length !== size
    )
      throw new Error(
        `${op}: the packed weights were not made by this backend's packConv2dNhwc for ${describeConvGeometry(g)}`,
      );
  };
  /**
   * The checks conv2dNhwc and conv2dNchwToNhwc share: float32 operands of g's sizes, `packed` from packConv2dNhwc for
   * g, x and residual apart from out. Returns g packed for the kernel, or null when g is empty (nothing to do).
   */
  const checkNhwcConv = (
    op: string,
    x: FloatArray,
    packed: PackedConv2dWeights,
    bias: FloatArray | null,
    scale: FloatArray | null,
    residual: FloatArray | null,
    out: FloatArray,
    g: Conv2dGeometry,
  ): Int32Array | null => {
    if (!f32(x, bias, scale, residual, out)) throw new Error(`${op}: float32 operands only`);
    const s = guard.convSizes(op, g);
    guard.len(op, 'x', x, s.x);
    guard.len(op, 'out', out, s.y);
    guard.len(op, 'bias', bias, g.oc);
    guard.len(op, 'scale', scale, g.oc);
    guard.len(op, 'residual', residual, s.y);
    if (s.x === 0 || s.w === 0 || s.y === 0) return null;
    const geom = convGeom(g);
    checkNhwcPacked(op, packed, g, geom);
    if (overlaps(residual, out) && !sameElements(residual, out))
      throw new Error(`${op}: the residual must be the output itself or not overlap it`);
    if (overlaps(x, out)) throw new Error(`${op}: the input must not overlap the output`);
    return geom;
  };
  /**
   * The 1×1 convolution c → oc on n×h×w maps: a block's expansion or projection. A plain literal: this runs twice
   * per block of a MobileNet inference, where object spreads cost.
   */
  const pointwiseGeometry = (n: number, h: number, w: number, c: number, oc: number): Conv2dGeometry => ({
    n,
    c,
    h,
    w,
    oc,
    kh: 1,
    kw: 1,
    oh: h,
    ow: w,
    strideH: 1,
    strideW: 1,
    padH: 0,
    padW: 0,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
  });
  /** Throws unless `st` is a stage for g: its weights packed for g, g.oc scales and biases. */
  const checkStage = (op: string, st: NhwcStage, g: Conv2dGeometry) => {
    if (!f32(st.scale, st.bias)) throw new Error(`${op}: float32 operands only`);
    checkNhwcPacked(op, st.packed, g, convGeom(g));
    guard.len(op, 'scale', st.scale, g.oc);
    guard.len(op, 'bias', st.bias, g.oc);
  };
  /**
   * The checks of an inverted-residual block's stages, gate and residual on its depthwise geometry g (as
   * invertedResidualNhwc takes them); returns its input and output channels, the gate's width (0: none) and g's
   * operand sizes (guard.convSizes).
   */
  const checkBlock = (
    op: string,
    expand: NhwcStage | null,
    depthwise: NhwcStage,
    gate: NhwcGate | null,
    project: NhwcStage | null,
    residual: boolean,
    g: Conv2dGeometry,
  ): { cin: number; cout: number; sq: number; s: ReturnType<typeof guard.convSizes> } => {
    if (g.groups !== g.c || g.oc !== g.c || g.c < 2)
      throw new Error(`${op}: g must be a depthwise geometry (c = oc = groups), got ${describeConvGeometry(g)}`);
    const s = guard.convSizes(op, g);
    const cin = expand ? expand.packed.c : g.c,
      cout = project ? project.packed.oc : g.c;
    if (residual && (project === null || g.oh !== g.h || g.ow !== g.w || cout !== cin))
      throw new Error(
        `${op}: a residual needs a projection back to the ${cin} input channels at the input's size, got ${cout} channels for ${describeConvGeometry(g)}`,
      );
    if (expand) checkStage(`${op} (expand)`, expand, pointwiseGeometry(g.n, g.h, g.w, cin, g.c));
    checkStage(`${op} (depthwise)`, depthwise, g);
    if (project) checkStage(`${op} (project)`, project, pointwiseGeometry(g.n, g.oh, g.ow, g.c, cout));
    let sq = 0;
    if (gate) {
      if (!project) throw new Error(`${op}: a gate needs the projection it comes before`);
      if (!f32(gate.fc1, gate.fc1Bias, gate.fc2, gate.fc2Bias)) throw new Error(`${op}: float32 operands only`);
      sq = gate.fc1.length / g.c;
      if (!Number.isInteger(sq) || sq < 1 || gate.fc2.length !== g.c * sq)
        throw new Error(
          `${op}: the gate's fc1 (${gate.fc1.length} values) and fc2 (${gate.fc2.length}) are not [squeeze, ${g.c}] and [${g.c}, squeeze]`,
        );
      guard.len(op, 'gate fc1 bias', gate.fc1Bias, sq);
      guard.len(op, 'gate fc2 bias', gate.fc2Bias, g.c);
    }
    return { cin, cout, sq, s };
  };
  /** What nhwcProgram derived from a program object, once: its steps checked, their operands flattened (NP_*). */
  const flatPrograms = new WeakMap<NhwcProgram, FlatProgram>();
  const flattenProgram = (p: NhwcProgram): FlatProgram => {
    const op = 'nhwcProgram';
    const records: Int32Array[] = [];
    const stepOf: number[] = [];
    const arrays: (F32 | null)[] = [];
    const sg = p.stem.g;
    let map = [sg.n, sg.h, sg.w, sg.c];
    /** A record of step i reading slot src (-1: the image, or the pooled map), writing dst, adding res (-1: none). */
    const record = (i: number, kind: number, src: number, dst: number, res = -1) => {
      const r = new Int32Array(NP_REC);
      r[NP_KIND] = kind;
      r[NP_FIRST] = arrays.length;
      r[NP_SRC] = src;
      r[NP_DST] = dst;
      r[NP_RES] = res;
      records.push(r);
      stepOf.push(i);
      return r;
    };
    /** The first slot none of `busy` holds. */
    const free = (...busy: number[]) => {
      let s = 0;
      while (busy.includes(s)) s++;
      return s;
    };
    const reads = (where: string, g: { n: number; h: number; w: number; c: number }, c: number, extra = '') => {
      const [n, h, w, mc] = map;
      if (g.n !== n || g.h !== h || g.w !== w || c !== mc)
        throw new Error(
          `${op}: ${where} reads a ${n}×${h}×${w}×${mc} map, but its geometry is ${'oc' in g ? describeConvGeometry(g as Conv2dGeometry) : `a ${g.n}×${g.c}×${g.h}×${g.w} pooling`}${extra}`,
        );
    };
    /** Throws when g (with its operand sizes s) has nothing to compute. */
    const empty = (where: string, g: Conv2dGeometry, s = guard.convSizes(op, g)) => {
      if (s.x === 0 || s.w === 0 || s.y === 0) throw new Error(`${op}: ${where} is empty: ${describeConvGeometry(g)}`);
    };
    /** A convolution record (the stem's when src is -1) from `map`, which it moves on to its output. */
    const conv = (i: number, where: string, st: NhwcProgramConv, src: number, dst: number, res = -1) => {
      const g = st.g;
      reads(where, g, g.c);
      empty(where, g);
      if (src < 0 ? !isStemNhwc(g) : g.groups !== 1 && (res >= 0 || g.groups !== g.c || g.oc !== g.c))
        throw new Error(
          `${op}: ${where} is not a ${src < 0 ? 'stem (one group, not 1×1)' : res >= 0 ? 'one-group convolution (it adds a shortcut)' : 'one-group or depthwise convolution'}: ${describeConvGeometry(g)}`,
        );
      checkStage(`${op} (${where})`, st.stage, g);
      const r = record(i, src < 0 ? NP_STEM : NP_CONV, src, dst, res);
      r[NP_ACTD] = CONV_ACT_CODES[st.stage.epilogue];
      r.set(convGeom(g), NP_GEOM);
      arrays.push(st.stage.packed.data, st.stage.bias as F32 | null, st.stage.scale as F32 | null);
      map = [g.n, g.oh, g.ow, g.oc];
    };
    conv(0, 'step 0', p.stem, -1, 0);
    let cur = 0; // the slot holding `map`
    p.steps.forEach((st, j) => {
      const i = j + 1,
        where = `step ${i}`;
      if (st.kind === 'conv') {
        const dst = free(cur);
        conv(i, where, st, cur, dst);
        cur = dst;
      } else if (st.kind === 'maxPool') {
        const g = st.g;
        const s = guard.poolSizes(op, g);
        reads(where, g, g.c);
        if (s.y === 0) throw new Error(`${op}: ${where} (a max pooling) is empty: ${g.n}×${g.c}×${g.oh}×${g.ow}`);
        const dst = free(cur);
        record(i, NP_MAXPOOL, cur, dst).set(poolGeom(g), NP_GEOM);
        cur = dst;
        map = [g.n, g.oh, g.ow, g.c];
      } else if (st.kind === 'residual') {
        // the shortcut stays in its slot while the convolutions run through two others; the last adds it in place
        if (st.convs.length === 0) throw new Error(`${op}: ${where} is a residual block without convolutions`);
        const input = cur,
          inputMap = map;
        const shortcut = st.downsample ? free(input) : input;
        if (st.downsample) conv(i, `${where} (downsample)`, st.downsample, input, shortcut);
        const shortcutMap = map;
        map = inputMap;
        let src = input;
        st.convs.forEach((c, k) => {
          const last = k === st.convs.length - 1;
          const at = `${where} (convolution ${k + 1})`;
          if (!last) {
            const dst = free(src, shortcut);
            conv(i, at, c, src, dst);
            src = dst;
            return;
          }
          const g = c.g;
          if (g.n !== shortcutMap[0] || g.oh !== shortcutMap[1] || g.ow !== shortcutMap[2] || g.oc !== shortcutMap[3])
            throw new Error(
              `${op}: ${at} makes a ${g.n}×${g.oh}×${g.ow}×${g.oc} map, but its shortcut is ${shortcutMap.join('×')}`,
            );
          // in place over the shortcut, unless the shortcut is the map it reads
          const dst = src === shortcut ? free(src) : shortcut;
          conv(i, at, c, src, dst, shortcut);
          cur = dst;
        });
      } else {
        const g = st.g;
        const cin = st.expand ? st.expand.packed.c : g.c;
        reads(where, g, cin, ` (${cin} input channels)`);
        const { cout, sq, s } = checkBlock(
          `${op} (${where})`,
          st.expand,
          st.depthwise,
          st.gate,
          st.project,
          st.residual,
          g,
        );
        empty(where, g, s);
        const dst = free(cur);
        const r = record(i, NP_BLOCK, cur, dst);
        cur = dst;
        r[NP_CIN] = cin;
        r[NP_COUT] = cout;
        r[NP_SQ] = sq;
        r[NP_ACTE] = CONV_ACT_CODES[st.expand?.epilogue ?? 'none'];
        r[NP_ACTD] = CONV_ACT_CODES[st.depthwise.epilogue];
        r[NP_ACT1] = CONV_ACT_CODES[st.gate?.activation ?? 'none'];
        r[NP_ACTP] = CONV_ACT_CODES[st.project.epilogue];
        r[NP_RESIDUAL] = st.residual ? 1 : 0;
        r.set(convGeom(g), NP_GEOM);
        const e = st.expand,
          d = st.depthwise,
          gt = st.gate,
          pr = st.project;
        arrays.push(
          e && e.packed.data,
          (e && e.bias) as F32 | null,
          (e && e.scale) as F32 | null,
          d.packed.data,
          d.bias as F32 | null,
          d.scale as F32 | null,
          (gt && gt.fc1) as F32 | null,
          (gt && gt.fc1Bias) as F32 | null,
          (gt && gt.fc2) as F32 | null,
          (gt && gt.fc2Bias) as F32 | null,
          pr.packed.data,
          pr.bias as F32 | null,
          pr.scale as F32 | null,
        );
        map = [g.n, g.oh, g.ow, cout];
      }
    });
    // the head: Linear layers on the pooled [n, c] map
    (p.head ?? []).forEach((l, j) => {
      const i = p.steps.length + 1 + j;
      const [n, , , c] = map;
      guard.int(op, `step ${i} inFeatures`, l.inFeatures);
      guard.int(op, `step ${i} outFeatures`, l.outFeatures);
      if (l.inFeatures !== c || l.outFeatures < 1)
        throw new Error(
          `${op}: step ${i} (a head Linear ${l.inFeatures}→${l.outFeatures}) reads ${n}×${c} features; it needs ${c} input features and at least one output`,
        );
      if (!f32(l.weight, l.bias)) throw new Error(`${op}: step ${i} (a head Linear): float32 weight and bias only`);
      guard.len(`${op} (step ${i})`, 'weight', l.weight, l.outFeatures * l.inFeatures);
      if (l.bias) guard.len(`${op} (step ${i})`, 'bias', l.bias, l.outFeatures);
      if (!(l.activation in NP_HEAD_ACT))
        throw new Error(`${op}: step ${i} (a head Linear): activation '${l.activation}' is not none or hardswish`);
      const r = record(i, NP_LINEAR, -1, -1);
      r[NP_CIN] = l.inFeatures;
      r[NP_COUT] = l.outFeatures;
      r[NP_ACTD] = NP_HEAD_ACT[l.activation];
      arrays.push(l.weight as F32, l.bias as F32 | null);
      map = [n, 1, 1, l.outFeatures];
    });
    const code = new Int32Array(records.length * NP_REC);
    records.forEach((r, k) => code.set(r, k * NP_REC));
    return {
      arrays,
      lengths: arrays.map((a) => a?.length ?? 0),
      code,
      stepOf,
      xLen: sg.n * sg.c * sg.h * sg.w,
      outLen: map[0] * map[3],
    };
  };
  const be: Backend = {
    ...ref,
    // the kernels generated from native/kernels.table.mjs (accel.gen.ts); the special ones follow by hand
    ...tableKernels(k, ref, SMALL),
    name,

    copyStrided(
      src: TypedArray,
      srcOffset: number,
      srcStrides: readonly number[],
      out: TypedArray,
      shape: readonly number[],
    ): void {
      const rank = shape.length;
      const same =
        (src instanceof Float32Array && out instanceof Float32Array) ||
        (src instanceof Int32Array && out instanceof Int32Array);
      if (!copy || !same || rank > 8 || out.length < 4 * SMALL || srcStrides.some((s) => s < 0))
        return ref.copyStrided(src, srcOffset, srcStrides, out, shape);
      const hi = guard.stridedReach('copyStrided', srcOffset, srcStrides, shape);
      guard.len('copyStrided', 'src', src, hi + 1);
      guard.len(
        'copyStrided',
        'out',
        out,
        shape.reduce((a, d) => a * d, 1),
      );
      for (let i = 0; i < rank; i++) {
        copyStrides[i] = srcStrides[i];
        copyShape[i] = shape[i];
      }
      copy(src as F32 | Int32Array, srcOffset, copyStrides, out as F32 | Int32Array, copyShape, rank);
    },

    unary(op: UnaryOp, x: FloatArray, out: FloatArray, params: UnaryParams): void {
      const code = UNARY_CODES[op];
      if (code !== undefined && x.length >= SMALL) guard.len(`unary ${op}`, 'out', out, x.length);
      if (
        code === undefined ||
        x.length < SMALL ||
        !f32(x, out) ||
        !k.unary(code, x as F32, out as F32, x.length, params.a ?? 0, params.b ?? 0)
      ) {
        ref.unary(op, x, out, params);
      }
    },

    unaryGrad(op: UnaryGradOp, input: FloatArray, gy: FloatArray, gx: FloatArray, params: UnaryParams): void {
      // ReLU and SiLU have native gradients (SiLU's Math.exp per element in JS was ~18 % of a YOLOX training step).
      const code = op === 'relu' || op === 'silu' ? UNARY_CODES[op] : undefined;
      if (code !== undefined && input.length >= SMALL) {
        guard.len(`unaryGrad ${op}`, 'gy', gy, input.length);
        guard.len(`unaryGrad ${op}`, 'gx', gx, input.length);
      }
      if (
        code === undefined ||
        input.length < SMALL ||
        !f32(input, gy, gx) ||
        !k.unaryGrad(code, input as F32, gy as F32, gx as F32, input.length, params.a ?? 0, params.b ?? 0)
      ) {
        ref.unaryGrad(op, input, gy, gx, params);
      }
    },

    binary(
      op: BinaryOp,
      a: TypedArray,
      aStrides: readonly number[],
      b: TypedArray,
      bStrides: readonly number[],
      out: TypedArray,
      shape: readonly number[],
    ): void {
      const code = BINARY_CODES[op];
      const n = out.length;
      if (code !== undefined && n >= SMALL && f32(a, b, out)) {
        const A = a as F32,
          B = b as F32,
          O = out as F32;
        const aDense = isDense(aStrides, shape),
          bDense = isDense(bStrides, shape);
        // Each mode reads the dense operand over n elements and the broadcast one over its run: both checked.
        if (aDense && bDense && a.length >= n && b.length >= n) {
          if (k.binary(code, BM_SAME, A, B, O, 1, 1, n)) return;
        } else if (aDense && isZero(bStrides, shape) && a.length >= n && b.length >= 1) {
          if (k.binary(code, BM_BSCALAR, A, B, O, 1, 1, n)) return;
        } else if (bDense && isZero(aStrides, shape) && b.length >= n && a.length >= 1) {
          if (k.binary(code, BM_ASCALAR, A, B, O, 1, 1, n)) return;
        } else if (aDense || bDense) {
          const run = aDense ? midRun(bStrides, shape) : midRun(aStrides, shape);
          if (run && (aDense ? a : b).length >= n && (aDense ? b : a).length >= run[1]) {
            const [outer, mid, inner] = run;
            if (inner === 1) {
              if (k.binary(code, aDense ? BM_BROW : BM_AROW, A, B, O, outer, 1, mid)) return;
            } else if (inner >= 8) {
              if (k.binary(code, aDense ? BM_BMID : BM_AMID, A, B, O, outer, mid, inner)) return;
            }
          }
        }
        // Both operands dense over their last dims, strided above (a narrowed or sliced gradient, e.g. cat's
        // backward views summed in autograd): one dense kernel call per contiguous run.
        if (rowwiseBinary(k, code, A, aStrides, B, bStrides, O, shape)) return;
      }
      ref.binary(op, a, aStrides, b, bStrides, out, shape);
    },

    reduce(op: ReduceOp, x: TypedArray, out: TypedArray, outer: number, size: number, inner: number): void {
      if (op !== 'sum' || x.length < SMALL || !f32(x, out)) return ref.reduce(op, x, out, outer, size, inner);
      guard.len('reduce sum', 'x', x, guard.osi('reduce sum', outer, size, inner));
      guard.len('reduce sum', 'out', out, outer * inner);
      k.reduceSum(x as F32, out as F32, outer, size, inner);
    },

    gemm(transA, transB, m, n, kk, a, strideA, b, strideB, c, strideC, batch, accumulate): void {
      if (!f32(a, b, c))
        return ref.gemm(transA, transB, m, n, kk, a, strideA, b, strideB, c, strideC, batch, accumulate);
      if (batch <= 0 || m <= 0 || n <= 0) return;
      for (const [name, v] of [
        ['m', m],
        ['n', n],
        ['k', kk],
        ['batch', batch],
        ['strideA', strideA],
        ['strideB', strideB],
        ['strideC', strideC],
      ] as const)
        guard.int('gemm', name, v);
      guard.len('gemm', 'A', a, (batch - 1) * strideA + m * kk);
      guard.len('gemm', 'B', b, (batch - 1) * strideB + kk * n);
      guard.len('gemm', 'C', c, (batch - 1) * strideC + m * n);
      k.gemm(transA, transB, m, n, kk, a as F32, strideA, b as F32, strideB, c as F32, strideC, batch, accumulate);
    },

    packedConv2dPlan(g: Conv2dGeometry): string | null {
      // the algorithms with a weight transform (Winograd, tap-wise) take one group and more than one tap
      if (g.groups !== 1 || g.kh * g.kw < 2) return null;
      const s = guard.convSizes('packedConv2dPlan', g);
      if (s.x === 0 || s.w === 0 || s.y === 0) return null;
      return k.conv2dPackedSize(convGeom(g)) > 0 ? planner(g, 'forward-packed') : null;
    },

    packConv2dWeights(w: FloatArray, g: Conv2dGeometry): PackedConv2dWeights | null {
      return packWeights('packConv2dWeights', w, g, k.conv2dPackedSize, k.conv2dPack, () =>
        planner(g, 'forward-packed'),
      );
    },

    packConv2dNhwc(w: FloatArray, g: Conv2dGeometry): PackedConv2dWeights | null {
      return packWeights('packConv2dNhwc', w, g, k.conv2dNhwcPackedSize, k.conv2dNhwcPack, () =>
        nhwcPackedPlan(convGeom(g)),
      );
    },

    conv2dNhwc(
      x: FloatArray,
      packed: PackedConv2dWeights,
      bias: FloatArray | null,
      scale: FloatArray | null,
      residual: FloatArray | null,
      out: FloatArray,
      g: Conv2dGeometry,
      epilogue: ConvEpilogue,
    ): void {
      const op = 'conv2dNhwc';
      if (residual !== null && g.groups !== 1)
        throw new Error(`${op}: a residual is taken by one-group convolutions only, got ${describeConvGeometry(g)}`);
      const geom = checkNhwcConv(op, x, packed, bias, scale, residual, out, g);
      if (geom === null) return;
      k.conv2dNhwc(
        x as F32,
        packed.data,
        bias as F32 | null,
        scale as F32 | null,
        residual as F32 | null,
        out as F32,
        geom,
        CONV_ACT_CODES[epilogue],
      );
    },

    conv2dNchwToNhwc(
      x: FloatArray,
      packed: PackedConv2dWeights,
      bias: FloatArray | null,
      scale: FloatArray | null,
      out: FloatArray,
      g: Conv2dGeometry,
      epilogue: ConvEpilogue,
    ): void {
      const op = 'conv2dNchwToNhwc';
      if (!isStemNhwc(g))
        throw new Error(`${op}: serves one-group convolutions other than 1×1, got ${describeConvGeometry(g)}`);
      const geom = checkNhwcConv(op, x, packed, bias, scale, null, out, g);
      if (geom === null) return;
      k.conv2dNchwToNhwc(
        x as F32,
        packed.data,
        bias as F32 | null,
        scale as F32 | null,
        out as F32,
        geom,
        CONV_ACT_CODES[epilogue],
      );
    },

    maxPool2dNhwc(x: FloatArray, out: FloatArray, g: Pool2dGeometry): void {
      const op = 'maxPool2dNhwc';
      if (!f32(x, out)) throw new Error(`${op}: float32 operands only`);
      const s = guard.poolSizes(op, g);
      guard.len(op, 'x', x, s.x);
      guard.len(op, 'out', out, s.y);
      if (overlaps(x, out)) throw new Error(`${op}: the input must not overlap the output`);
      if (s.x === 0 || s.y === 0) return;
      k.maxPool2dNhwc(x as F32, out as F32, poolGeom(g));
    },

    invertedResidualNhwc(
      x: FloatArray,
      expand: NhwcStage | null,
      depthwise: NhwcStage,
      gate: NhwcGate | null,
      project: NhwcStage | null,
      residual: boolean,
      out: FloatArray,
      g: Conv2dGeometry,
    ): void {
      const op = 'invertedResidualNhwc';
      if (!f32(x, out)) throw new Error(`${op}: float32 operands only`);
      const { cin, cout, sq, s } = checkBlock(op, expand, depthwise, gate, project, residual, g);
      guard.len(op, 'x', x, g.n * g.h * g.w * cin);
      guard.len(op, 'out', out, g.n * g.oh * g.ow * cout);
      if (overlaps(x, out)) throw new Error(`${op}: the input must not overlap the output`);
      if (s.x === 0 || s.y === 0) return;
      k.conv2dNhwcBlock(
        x as F32,
        expand && expand.packed.data,
        (expand ? expand.bias : null) as F32 | null,
        (expand ? expand.scale : null) as F32 | null,
        depthwise.packed.data,
        depthwise.bias as F32 | null,
        depthwise.scale as F32 | null,
        (gate ? gate.fc1 : null) as F32 | null,
        (gate ? gate.fc1Bias : null) as F32 | null,
        (gate ? gate.fc2 : null) as F32 | null,
        (gate ? gate.fc2Bias : null) as F32 | null,
        project && project.packed.data,
        (project ? project.bias : null) as F32 | null,
        (project ? project.scale : null) as F32 | null,
        out as F32,
        convGeom(g), // packed last: convGeom fills one shared buffer, which the stage checks used
        cin,
        cout,
        sq,
        CONV_ACT_CODES[expand?.epilogue ?? 'none'],
        CONV_ACT_CODES[depthwise.epilogue],
        CONV_ACT_CODES[gate?.activation ?? 'none'],
        CONV_ACT_CODES[project?.epilogue ?? 'none'],
        residual,
      );
    },

    conv2d(
      x: FloatArray,
      w: FloatArray,
      bias: FloatArray | null,
      out: FloatArray,
      g: Conv2dGeometry,
      epilogue: ConvEpilogue,
      scale: FloatArray | null = null,
      packed: PackedConv2dWeights | null = null,
      residual: FloatArray | null = null,
    ): void {
      if (!f32(x, w, bias, out, scale, residual))
        return ref.conv2d(x, w, bias, out, g, epilogue, scale, null, residual);
      const s = guard.convSizes('conv2d', g);
      guard.len('conv2d', 'x', x, s.x);
      guard.len('conv2d', 'weight', w, s.w);
      guard.len('conv2d', 'out', out, s.y);
      guard.len('conv2d', 'bias', bias, g.oc);
      guard.len('conv2d', 'scale', scale, g.oc);
      guard.len('conv2d', 'residual', residual, s.y);
      // The kernels read the residual while they write out: memory shared with out would be read after being
      // overwritten.
      if (overlaps(residual, out)) throw new Error('conv2d: the residual must not overlap the output');
      // Empty operands: the C kernels divide by these sizes (SIGFPE found by test/fuzz), the reference loops do not.
      if (s.x === 0 || s.w === 0 || s.y === 0) return ref.conv2d(x, w, bias, out, g, epilogue, scale, null, residual);
      if (packed !== null && packed.owner === packOwner && packed.oc === g.oc && packed.c === g.c) {
        logPlan?.(g, 'forward-packed');
        const geom = convGeom(g);
        // the layout is the packed plan's, per (oc, c, kernel) and build; conv2dPacked falls back to w where g plans
        // no packed algorithm
        if (planner(g, 'forward-packed') === packed.plan && k.conv2dPackedSize(geom) === packed.data.length) {
          k.conv2dPacked(
            x as F32,
            w as F32,
            packed.data,
            bias as F32 | null,
            scale as F32 | null,
            residual as F32 | null,
            out as F32,
            geom,
            CONV_ACT_CODES[epilogue],
          );
          return;
        }
      }
      logPlan?.(g, 'forward');
      k.conv2d(
        x as F32,
        w as F32,
        bias as F32 | null,
        scale as F32 | null,
        residual as F32 | null,
        out as F32,
        convGeom(g),
        CONV_ACT_CODES[epilogue],
      );
    },

    conv2dBackwardInput(gy: FloatArray, w: FloatArray, gx: FloatArray, g: Conv2dGeometry): void {
      if (!f32(gy, w, gx)) return ref.conv2dBackwardInput(gy, w, gx, g);
      const s = guard.convSizes('conv2dBackwardInput', g);
      guard.len('conv2dBackwardInput', 'gy', gy, s.y);
      guard.len('conv2dBackwardInput', 'weight', w, s.w);
      guard.len('conv2dBackwardInput', 'gx', gx, s.x);
      if (s.x === 0 || s.w === 0 || s.y === 0) return ref.conv2dBackwardInput(gy, w, gx, g);
      logPlan?.(g, 'input');
      k.conv2dBackwardInput(gy as F32, w as F32, gx as F32, convGeom(g));
    },

    conv2dBackwardWeight(x: FloatArray, gy: FloatArray, gw: FloatArray, g: Conv2dGeometry): void {
      if (!f32(x, gy, gw)) return ref.conv2dBackwardWeight(x, gy, gw, g);
      const s = guard.convSizes('conv2dBackwardWeight', g);
      guard.len('conv2dBackwardWeight', 'x', x, s.x);
      guard.len('conv2dBackwardWeight', 'gy', gy, s.y);
      guard.len('conv2dBackwardWeight', 'gw', gw, s.w);
      if (s.x === 0 || s.w === 0 || s.y === 0) return ref.conv2dBackwardWeight(x, gy, gw, g);
      logPlan?.(g, 'weight');
      k.conv2dBackwardWeight(x as F32, gy as F32, gw as F32, convGeom(g));
    },

    avgPool2d(
      x: FloatArray,
      out: FloatArray,
      g: Pool2dGeometry,
      countIncludePad: boolean,
      divisorOverride: number,
    ): void {
      if (!f32(x, out) || g.dilationH !== 1 || g.dilationW !== 1)
        return ref.avgPool2d(x, out, g, countIncludePad, divisorOverride);
      const s = guard.poolSizes('avgPool2d', g);
      guard.len('avgPool2d', 'x', x, s.x);
      guard.len('avgPool2d', 'out', out, s.y);
      if (s.x === 0 || s.y === 0) return ref.avgPool2d(x, out, g, countIncludePad, divisorOverride);
      k.avgPool2d(x as F32, out as F32, poolGeom(g), countIncludePad, Math.round(divisorOverride));
    },

    avgPool2dBackward(
      gy: FloatArray,
      gx: FloatArray,
      g: Pool2dGeometry,
      countIncludePad: boolean,
      divisorOverride: number,
    ): void {
      if (!f32(gy, gx) || g.dilationH !== 1 || g.dilationW !== 1)
        return ref.avgPool2dBackward(gy, gx, g, countIncludePad, divisorOverride);
      const s = guard.poolSizes('avgPool2dBackward', g);
      guard.len('avgPool2dBackward', 'gy', gy, s.y);
      guard.len('avgPool2dBackward', 'gx', gx, s.x);
      if (s.x === 0 || s.y === 0) return ref.avgPool2dBackward(gy, gx, g, countIncludePad, divisorOverride);
      k.avgPool2dBackward(gy as F32, gx as F32, poolGeom(g), countIncludePad, Math.round(divisorOverride));
    },

    // Adaptive average pooling whose windows tile the input evenly (in divisible by out: global pooling, the
    // squeeze-excitation and classifier heads) is average pooling with kernel = stride = in/out, no padding: the
    // same windows [i·in/out, (i+1)·in/out) and divisors, on the pooling kernel instead of the reference loop.
    adaptiveAvgPool2d(x: FloatArray, out: FloatArray, g: AdaptivePool2dGeometry): void {
      const pg = evenPoolOf(g);
      if (pg === null) return ref.adaptiveAvgPool2d(x, out, g);
      be.avgPool2d(x, out, pg, false, 0);
    },

    adaptiveAvgPool2dBackward(gy: FloatArray, gx: FloatArray, g: AdaptivePool2dGeometry): void {
      const pg = evenPoolOf(g);
      if (pg === null) return ref.adaptiveAvgPool2dBackward(gy, gx, g);
      be.avgPool2dBackward(gy, gx, pg, false, 0);
    },

    // Resampling: the taps come from the reference's own PyTorch index rules (float32 arithmetic, as the tensor),
    // the per-pixel loops from the kernel.
    interpolate2d(mode: InterpolateMode, x: FloatArray, out: FloatArray, g: Interpolate2dGeometry): void {
      const t = resampleTaps(mode, g, x, out);
      if (!t) return ref.interpolate2d(mode, x, out, g);
      k.resample2d(mode === 'bilinear', x as F32, out as F32, g.planes, g.h, g.w, g.oh, g.ow, ...t);
    },

    interpolate2dBackward(mode: InterpolateMode, gy: FloatArray, gx: FloatArray, g: Interpolate2dGeometry): void {
      const t = resampleTaps(mode, g, gx, gy);
      if (!t) return ref.interpolate2dBackward(mode, gy, gx, g);
      k.resample2dBackward(mode === 'bilinear', gy as F32, gx as F32, g.planes, g.h, g.w, g.oh, g.ow, ...t);
    },

    channelAffine(
      x: FloatArray,
      scale: FloatArray,
      shift: FloatArray,
      out: FloatArray,
      n: number,
      c: number,
      hw: number,
      epilogue: Epilogue,
    ): void {
      if (!f32(x, scale, shift, out)) return ref.channelAffine(x, scale, shift, out, n, c, hw, epilogue);
      const total = guard.osi('channelAffine', n, c, hw);
      guard.len('channelAffine', 'x', x, total);
      guard.len('channelAffine', 'out', out, total);
      guard.len('channelAffine', 'scale', scale, c);
      guard.len('channelAffine', 'shift', shift, c);
      k.channelAffine(x as F32, scale as F32, shift as F32, out as F32, n, c, hw, epilogue === 'relu');
    },
  };
  const runProgram = k.nhwcProgram?.bind(k);
  if (runProgram)
    be.nhwcProgram = (x, p, out) => {
      const op = 'nhwcProgram';
      if (!f32(x, out)) throw new Error(`${op}: float32 operands only`);
      if (p.stem.g.n === 0) return;
      let f = flatPrograms.get(p);
      if (f === undefined) flatPrograms.set(p, (f = flattenProgram(p)));
      guard.len(op, 'x', x, f.xLen);
      guard.len(op, 'out', out, f.outLen);
      if (overlaps(x, out)) throw new Error(`${op}: the input must not overlap the output`);
      const changed = (step: number) =>
        new Error(
          `${op}: step ${step} no longer matches its operands (an array resized or detached since the program was checked)`,
        );
      // the kernel reads f.arrays' entries on its first call only (f32list in native/src/addon.c): an operand
      // detached (length 0) or resized since then is refused here
      const { arrays, lengths, code } = f;
      for (let a = 0; a < arrays.length; a++)
        if ((arrays[a]?.length ?? 0) !== lengths[a]) {
          // the step of the last record whose operands start at or before a
          let k = f.stepOf.length - 1;
          while (k > 0 && code[k * NP_REC + NP_FIRST] > a) k--;
          throw changed(f.stepOf[k]);
        }
      const records = f.stepOf.length;
      const bad = runProgram(x as F32, arrays, code, records, out as F32);
      if (bad > records) throw new Error(`${op}: could not allocate the maps between its steps`);
      if (bad !== 0) throw changed(f.stepOf[bad - 1]);
    };
  // 3-D convolution runs on this backend's 2-D kernels (depth unrolled, see conv3d-lowered.ts); float64 stays exact on the reference kernel.
  const lowered = loweredConv3d(be);
  be.conv3d = (x, w, bias, out, g) => {
    if (!f32(x, w, bias, out)) return ref.conv3d(x, w, bias, out, g);
    if (winograd3dServes(g)) {
      guard.len('conv3d', 'x', x, g.n * g.c * g.d * g.h * g.w);
      guard.len('conv3d', 'weight', w, g.oc * g.c * 27);
      guard.len('conv3d', 'out', out, g.n * g.oc * g.od * g.oh * g.ow);
      guard.len('conv3d', 'bias', bias, g.oc);
      if (k.conv3dWinograd(x as F32, w as F32, bias as F32 | null, out as F32, packConv3dGeometry(g))) return;
    }
    lowered.conv3d(x, w, bias, out, g);
  };
  be.conv3dBackwardInput = (gy, w, gx, g) => {
    if (!f32(gy, w, gx)) return ref.conv3dBackwardInput(gy, w, gx, g);
    // The input gradient of a stride-1 undilated 3×3×3 convolution is itself one: gy convolved with the filters
    // flipped in all three dims and with in/out channels swapped, padding 2 − p. So it runs on the Winograd kernel
    // whenever that transposed geometry is one the kernel serves.
    const t = transposedConv3dGeometry(g);
    if (t !== null && winograd3dServes(t)) {
      guard.len('conv3dBackwardInput', 'gy', gy, g.n * g.oc * g.od * g.oh * g.ow);
      guard.len('conv3dBackwardInput', 'weight', w, g.oc * g.c * 27);
      guard.len('conv3dBackwardInput', 'gx', gx, g.n * g.c * g.d * g.h * g.w);
      if (
        k.conv3dWinograd(gy as F32, flipTransposeFilters3(w as F32, g.oc, g.c), null, gx as F32, packConv3dGeometry(t))
      )
        return;
    }
    lowered.conv3dBackwardInput(gy, w, gx, g);
  };
  be.conv3dBackwardWeight = (x, gy, gw, g) =>
    f32(x, gy, gw) ? lowered.conv3dBackwardWeight(x, gy, gw, g) : ref.conv3dBackwardWeight(x, gy, gw, g);
  registerConvPlanner(be, planner);
  return be;
}
