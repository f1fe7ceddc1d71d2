/**
 * The kernel interface. Every numeric loop in Tatami runs behind it, so a backend (reference TypeScript, native
 * SIMD addon, WebAssembly) can be swapped without touching op code. Kernels work on contiguous row-major buffers
 * (the op layer makes inputs contiguous and allocates outputs); floating kernels accept float32 and float64 —
 * accelerated backends handle float32 and defer float64 (used by gradient checks) to the reference code.
 *
 * Conventions: `out` buffers are fully overwritten unless a kernel says it accumulates; sizes are element counts.
 */
import type { FloatArray, TypedArray } from '../tensor/dtype.js';
import type { Conv2dGeometry, Conv3dGeometry, Pool2dGeometry, TableKernels } from './kernels.gen.js';

// Generated from native/kernels.table.mjs with the kernels that take them; re-exported as part of the interface.
export type {
  AdamHyper,
  Conv2dGeometry,
  Conv3dGeometry,
  Pool2dGeometry,
  RoiAlignGeometry,
  SgdHyper,
  TableKernels,
} from './kernels.gen.js';

export type UnaryOp =
  | 'neg'
  | 'abs'
  | 'sign'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'square'
  | 'reciprocal'
  | 'sin'
  | 'cos'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'relu6'
  | 'floor'
  | 'ceil'
  | 'round'
  | 'erf'
  | 'gelu'
  | 'geluTanh'
  | 'silu'
  | 'mish'
  | 'softplus'
  | 'hardswish'
  | 'hardsigmoid'
  | 'hardtanh'
  | 'leakyRelu'
  | 'elu'
  | 'powScalar'
  | 'clamp'
  | 'addScalar'
  | 'mulScalar'
  | 'rsubScalar'
  | 'rdivScalar'
  | 'log1p'
  | 'expm1';

/** Scalar parameters of a unary op (slope of leaky ReLU, alpha of ELU, exponent, clamp bounds, beta/threshold of softplus, scalar operand). */
export interface UnaryParams {
  a?: number;
  b?: number;
}

export type BinaryOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'pow'
  | 'maximum'
  | 'minimum'
  | 'eq'
  | 'ne'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge'
  | 'atan2'
  | 'remainder';

/** Gradient kernels of activation-type unary ops: gx = gy * f'(x) (for relu/sigmoid/tanh the output `y` may stand in). */
export type UnaryGradOp =
  | 'relu'
  | 'relu6'
  | 'leakyRelu'
  | 'elu'
  | 'sigmoid'
  | 'tanh'
  | 'gelu'
  | 'geluTanh'
  | 'silu'
  | 'mish'
  | 'softplus'
  | 'hardswish'
  | 'hardsigmoid'
  | 'hardtanh'
  | 'clamp';

export type ReduceOp = 'sum' | 'prod' | 'max' | 'min' | 'amax' | 'amin';

/** Geometry of a 3-D pooling window over planes of n*c volumes. */
export interface Pool3dGeometry {
  n: number;
  c: number;
  d: number;
  h: number;
  w: number;
  od: number;
  oh: number;
  ow: number;
  kd: number;
  kh: number;
  kw: number;
  strideD: number;
  strideH: number;
  strideW: number;
  padD: number;
  padH: number;
  padW: number;
  dilationD: number;
  dilationH: number;
  dilationW: number;
}

/** Geometry of 3-D adaptive pooling over `planes` = n*c volumes (windows as AdaptivePool2dGeometry, per dim). */
export interface AdaptivePool3dGeometry {
  planes: number;
  d: number;
  h: number;
  w: number;
  od: number;
  oh: number;
  ow: number;
}

/** Geometry of adaptive pooling over `planes` = n*c images: output cell i covers [floor(i*h/oh), ceil((i+1)*h/oh)). */
export interface AdaptivePool2dGeometry {
  planes: number;
  h: number;
  w: number;
  oh: number;
  ow: number;
}

/** Border handling of pad: constant fill, mirror without repeating the edge, repeat the edge, wrap around. */
export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/** Geometry of an N-d pad: `before[d]` elements are added in front of dim d (negative crops); outShape = inShape + before + after. */
export interface PadGeometry {
  inShape: readonly number[];
  outShape: readonly number[];
  before: readonly number[];
}

export type InterpolateMode = 'nearest' | 'bilinear';

/**
 * Geometry of resampling `planes` images h×w → oh×ow. `scaleH`/`scaleW` are the user's scale factors exactly as
 * PyTorch passes them to its kernels (null when the output size was given), because PyTorch then derives the
 * source step from 1/scale rather than from h/oh.
 */
export interface Interpolate2dGeometry {
  planes: number;
  h: number;
  w: number;
  oh: number;
  ow: number;
  scaleH: number | null;
  scaleW: number | null;
  alignCorners: boolean;
}

/** Fused activation applied by conv/linear epilogues where a backend supports it. */
export type Epilogue = 'none' | 'relu';

/**
 * The activations a convolution's epilogue applies: ReLU, and for the inference fusion pass (nn/fusion.ts) also
 * ReLU6 (MobileNetV2) and hardswish (MobileNetV3), with the reference unary kernels' formulas.
 */
export type ConvEpilogue = Epilogue | 'relu6' | 'hardswish';

/**
 * A squeeze-excitation gate inside a channels-last block (`Backend.invertedResidualNhwc`): per image,
 * s = hardsigmoid(fc2 · act(fc1 · mean over pixels + b1) + b2), which multiplies the depthwise output's channels.
 */
export interface NhwcGate {
  /** [squeeze, c] and its bias (or null). */
  fc1: FloatArray;
  fc1Bias: FloatArray | null;
  /** [c, squeeze] and its bias (or null). */
  fc2: FloatArray;
  fc2Bias: FloatArray | null;
  /** After fc1: ReLU, ReLU6 or none (the scale is always hardsigmoid, MobileNetV3's). */
  activation: 'relu' | 'relu6' | 'none';
}

/** One folded convolution of a channels-last block (`Backend.invertedResidualNhwc`). */
export interface NhwcStage {
  /** From the backend's `packConv2dNhwc` for this stage's convolution. */
  packed: PackedConv2dWeights;
  /** Per-output-channel factor (a folded batch norm), or null. */
  scale: FloatArray | null;
  /** Per-output-channel bias, or null. */
  bias: FloatArray | null;
  epilogue: ConvEpilogue;
}

/** A stem or a convolution of a channels-last program (`Backend.nhwcProgram`): its geometry and folded stage. */
export interface NhwcProgramConv {
  kind: 'conv';
  g: Conv2dGeometry;
  stage: NhwcStage;
}

/** An inverted-residual block of a channels-last program: what `Backend.invertedResidualNhwc` takes, projected. */
export interface NhwcProgramBlock {
  kind: 'block';
  /** The depthwise layer's geometry (g.c = g.oc = g.groups, the expanded channels). */
  g: Conv2dGeometry;
  expand: NhwcStage | null;
  depthwise: NhwcStage;
  gate: NhwcGate | null;
  project: NhwcStage;
  residual: boolean;
}

/** A max pooling of a channels-last program (as `Backend.maxPool2dNhwc`). */
export interface NhwcProgramPool {
  kind: 'maxPool';
  g: Pool2dGeometry;
}

/**
 * A residual block of a channels-last program, as a ResNet's BasicBlock or Bottleneck computes it: `convs` one after
 * another from the block's input, the last one's output plus the shortcut — the block's input, or the `downsample`
 * convolution's output on it — through the last one's epilogue (as `Backend.conv2dNhwc` with a residual; the last
 * convolution has one group).
 */
export interface NhwcProgramResidual {
  kind: 'residual';
  convs: readonly NhwcProgramConv[];
  downsample: NhwcProgramConv | null;
}

/**
 * A layer of a channels-last program's head: a classifier's Linear (weight [outFeatures, inFeatures] as the module
 * holds it) and the activation module after it, computed as the modules compute them (the same GEMM, the bias added
 * in float32, Hardswish's reference formula).
 */
export interface NhwcProgramLinear {
  weight: FloatArray;
  bias: FloatArray | null;
  inFeatures: number;
  outFeatures: number;
  activation: 'none' | 'hardswish';
}

/**
 * A MobileNet's or a ResNet's features as one channels-last program (`Backend.nhwcProgram`): the stem on the NCHW
 * image, then each step on the map the one before made, the last map average-pooled, then the head's layers if any.
 * The object is the backend's key for what it derived from it (checks, the flattened operands): a changed step is a
 * new program object.
 */
export interface NhwcProgram {
  /** The first convolution, from the NCHW image [n, c, h, w] (as `conv2dNchwToNhwc`). */
  stem: NhwcProgramConv;
  /**
   * Inverted-residual blocks (as `invertedResidualNhwc`), convolutions (as `conv2dNhwc`, no residual), max poolings
   * and residual blocks, in order.
   */
  steps: readonly (NhwcProgramBlock | NhwcProgramConv | NhwcProgramPool | NhwcProgramResidual)[];
  /** The classifier's layers on the pooled [n, c] map (the output is then the last one's [n, outFeatures]). */
  head?: readonly NhwcProgramLinear[];
}

/**
 * A kernel implementation. The methods of `TableKernels` (max pooling and its scatter, batch-norm statistics and
 * backward, softmax, axpy, the optimiser steps …) are generated from native/kernels.table.mjs with their accelerated
 * overrides; the rest — kernels with op codes, broadcasting, planners or no C body — are written here by hand.
 */
export interface Backend extends TableKernels {
  /** Short name reported to users: 'reference', 'native-avx2', 'wasm-simd' … */
  readonly name: string;

  // ---- elementwise ----
  unary(op: UnaryOp, x: FloatArray, out: FloatArray, params: UnaryParams): void;
  /** gx = gy * f'(input); `input` is x, or the saved output y for relu/sigmoid/tanh. */
  unaryGrad(op: UnaryGradOp, input: FloatArray, gy: FloatArray, gx: FloatArray, params: UnaryParams): void;
  /**
   * out[i] = a[ia] op b[ib] over `shape`, with per-dim strides (0 broadcasts). Comparison ops write 0/1.
   * `out` is contiguous of `shape`.
   */
  binary(
    op: BinaryOp,
    a: TypedArray,
    aStrides: readonly number[],
    b: TypedArray,
    bStrides: readonly number[],
    out: TypedArray,
    shape: readonly number[],
  ): void;
  /** out = cond ? a : b with broadcasting strides as `binary`. */
  where(
    cond: TypedArray,
    cStrides: readonly number[],
    a: TypedArray,
    aStrides: readonly number[],
    b: TypedArray,
    bStrides: readonly number[],
    out: TypedArray,
    shape: readonly number[],
  ): void;
  /** Copies a strided view into a contiguous `out` (also converts dtype). */
  copyStrided(
    src: TypedArray,
    srcOffset: number,
    srcStrides: readonly number[],
    out: TypedArray,
    shape: readonly number[],
  ): void;

  // ---- reductions: x viewed as [outer, size, inner], reduced over the middle ----
  reduce(op: ReduceOp, x: TypedArray, out: TypedArray, outer: number, size: number, inner: number): void;
  /** Max/min with the index of the first extreme along the middle axis. */
  argReduce(
    op: 'max' | 'min',
    x: TypedArray,
    values: TypedArray,
    indices: Int32Array,
    outer: number,
    size: number,
    inner: number,
  ): void;
  /** Numerically stable log(sum(exp(x))) along the middle axis. */
  logsumexp(x: FloatArray, out: FloatArray, outer: number, size: number, inner: number): void;

  // ---- linear algebra ----
  /**
   * C[b] = op(A[b]) · op(B[b]) (+ C[b] when accumulate) for b < batch, row-major; op transposes when the flag is set.
   * A[b] starts at b*strideA (0 broadcasts one matrix over the batch), likewise B and C.
   * Shapes: op(A) is m×k, op(B) is k×n, C is m×n.
   */
  gemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    a: FloatArray,
    strideA: number,
    b: FloatArray,
    strideB: number,
    c: FloatArray,
    strideC: number,
    batch: number,
    accumulate: boolean,
  ): void;

  // ---- convolution (NCHW, weight [oc, c/groups, kh, kw]) ----
  /**
   * out = epilogue(scale[oc]·(w ⊛ x) + bias[oc] + residual); `scale` null means 1 (a per-channel scale folds batch
   * norm's evaluation-mode affine into the convolution), `residual` null means none (else shaped as out and not
   * out itself: a residual block's shortcut, added before the activation, as relu(bn(conv(x)) + identity)).
   */
  conv2d(
    x: FloatArray,
    w: FloatArray,
    bias: FloatArray | null,
    out: FloatArray,
    g: Conv2dGeometry,
    epilogue: ConvEpilogue,
    scale?: FloatArray | null,
    packed?: PackedConv2dWeights | null,
    residual?: FloatArray | null,
  ): void;
  /**
   * The weights `w` of a convolution of geometry `g` transformed into the layout this backend's forward would
   * otherwise build on every call (Winograd's transformed filters), or null when g's forward would not use them.
   * Pass the result back as conv2d's `packed` with the same `w`: an inference forward then skips the transform
   * (ops/conv-pack.ts keeps one per weight tensor). Optional: a backend without it transforms per call.
   */
  packConv2dWeights?(w: FloatArray, g: Conv2dGeometry): PackedConv2dWeights | null;
  /**
   * The algorithm whose packed weights the forward of g would read ('winograd', 'tapwise'), or null when it reads
   * none: what `packConv2dWeights` would pack for g, without packing (callers keep one transform per algorithm).
   */
  packedConv2dPlan?(g: Conv2dGeometry): string | null;
  /**
   * The weights `w` [oc, c/groups, kh, kw] of a one-group or depthwise convolution packed for `conv2dNhwc` and
   * (one group) `conv2dNchwToNhwc` (plan 'nhwc'), or null when this backend's channels-last kernels do not serve g.
   * Optional: a backend without channels-last kernels leaves inference in NCHW.
   */
  packConv2dNhwc?(w: FloatArray, g: Conv2dGeometry): PackedConv2dWeights | null;
  /**
   * Channels-last inference convolution: out [n, oh, ow, oc] = act(scale[oc]·(w ⊛ x) + bias[oc] + residual) for
   * x [n, h, w, c], with `packed` from this backend's `packConv2dNhwc` for the same geometry: a one-group
   * convolution of any kernel, stride, padding and dilation, or a depthwise one. The residual (one-group geometries
   * only; shaped as out) may be null, as may scale and bias. It may be out itself — the sum is then written in place,
   * each element read before it is overwritten, which spares a map's worth of memory traffic where the residual is
   * dead afterwards (the ResNet programs) — but must not otherwise overlap it.
   */
  conv2dNhwc?(
    x: FloatArray,
    packed: PackedConv2dWeights,
    bias: FloatArray | null,
    scale: FloatArray | null,
    residual: FloatArray | null,
    out: FloatArray,
    g: Conv2dGeometry,
    epilogue: ConvEpilogue,
  ): void;
  /**
   * A one-group convolution from an NCHW input x [n, c, h, w] to a channels-last output out [n, oh, ow, oc] =
   * act(scale[oc]·(w ⊛ x) + bias[oc]), with `packed` from this backend's `packConv2dNhwc` for g: the stem that
   * feeds the channels-last MobileNet and ResNet programs.
   */
  conv2dNchwToNhwc?(
    x: FloatArray,
    packed: PackedConv2dWeights,
    bias: FloatArray | null,
    scale: FloatArray | null,
    out: FloatArray,
    g: Conv2dGeometry,
    epilogue: ConvEpilogue,
  ): void;
  /**
   * Max pooling channels last (inference: no indices): out [n, oh, ow, c] from x [n, h, w, c], NaN propagating as in
   * `maxPool2d`. Optional, with the channels-last convolutions: the ResNet program's pooling after its stem.
   */
  maxPool2dNhwc?(x: FloatArray, out: FloatArray, g: Pool2dGeometry): void;
  /**
   * A MobileNet inverted-residual block in one channels-last pass (inference): for x [n, h, w, cin],
   * e = expand(x) — the pointwise convolution to g.c channels with its scale, bias and epilogue — or x itself when
   * `expand` is null; d = depthwise(e) on g, the depthwise geometry (g.c = g.oc = g.groups); out [n, oh, ow, cout] =
   * project(d) plus x when `residual` (which needs oh = h, ow = w and cout = cin), or out = d when `project` is null
   * (no gate then). With `gate`, d is multiplied per image by its squeeze-excitation gate before the projection.
   * Each stage's weights come from this backend's `packConv2dNhwc`. The expanded map never exists whole: the
   * backend may run the stages over row bands.
   */
  invertedResidualNhwc?(
    x: FloatArray,
    expand: NhwcStage | null,
    depthwise: NhwcStage,
    gate: NhwcGate | null,
    project: NhwcStage | null,
    residual: boolean,
    out: FloatArray,
    g: Conv2dGeometry,
  ): void;
  /**
   * A whole channels-last program in one call (inference): its stem on the NCHW image x, every step on the map the
   * one before made, and out [n, c] = the global average pool of the last map — what the same stem, blocks and
   * convolutions compute call by call, followed by the mean over pixels. Optional: backends without it run the
   * program call by call.
   */
  nhwcProgram?(x: FloatArray, program: NhwcProgram, out: FloatArray): void;
  /** gx = ∂L/∂x from gy = ∂L/∂y (overwrites gx). The forward of conv_transpose2d. */
  conv2dBackwardInput(gy: FloatArray, w: FloatArray, gx: FloatArray, g: Conv2dGeometry): void;
  /** gw = ∂L/∂w (overwrites gw). */
  conv2dBackwardWeight(x: FloatArray, gy: FloatArray, gw: FloatArray, g: Conv2dGeometry): void;

  // ---- 3-D convolution (NCDHW, weight [oc, c/groups, kd, kh, kw]) ----
  /** out = w ⊛ x + bias[oc] (overwrites out). */
  conv3d(x: FloatArray, w: FloatArray, bias: FloatArray | null, out: FloatArray, g: Conv3dGeometry): void;
  /** gx = ∂L/∂x from gy (overwrites gx). The forward of conv_transpose3d. */
  conv3dBackwardInput(gy: FloatArray, w: FloatArray, gx: FloatArray, g: Conv3dGeometry): void;
  /** gw = ∂L/∂w (overwrites gw). */
  conv3dBackwardWeight(x: FloatArray, gy: FloatArray, gw: FloatArray, g: Conv3dGeometry): void;

  // ---- pooling ----
  /** Average pooling as PyTorch: windows clipped to input+padding; `divisorOverride` 0 means none. */
  avgPool2d(x: FloatArray, out: FloatArray, g: Pool2dGeometry, countIncludePad: boolean, divisorOverride: number): void;
  avgPool2dBackward(
    gy: FloatArray,
    gx: FloatArray,
    g: Pool2dGeometry,
    countIncludePad: boolean,
    divisorOverride: number,
  ): void;
  /**
   * max_unpool2d: `out` (planes × outPlane) is zeroed, then out[p, indices[p, k]] = x[p, k] (assignment, as PyTorch).
   * Returns the flat position in `indices` of the first index outside [0, outPlane), or -1 when all are valid.
   */
  maxUnpool2d(
    x: FloatArray,
    indices: Int32Array,
    out: FloatArray,
    planes: number,
    inPlane: number,
    outPlane: number,
  ): number;
  /** gx[p, k] = gy[p, indices[p, k]] (overwrites gx); indices already validated by maxUnpool2d. */
  maxUnpool2dBackward(
    gy: FloatArray,
    indices: Int32Array,
    gx: FloatArray,
    planes: number,
    inPlane: number,
    outPlane: number,
  ): void;
  adaptiveAvgPool2d(x: FloatArray, out: FloatArray, g: AdaptivePool2dGeometry): void;
  /** Overwrites gx. */
  adaptiveAvgPool2dBackward(gy: FloatArray, gx: FloatArray, g: AdaptivePool2dGeometry): void;
  /** Adaptive max pooling with flat h*w indices of the maxima (backward is maxPool2dBackward). */
  adaptiveMaxPool2d(x: FloatArray, out: FloatArray, indices: Int32Array, g: AdaptivePool2dGeometry): void;

  /**
   * 3-D max pooling; `indices` receives the flat d*h*w position of each max within its volume (backward and
   * max_unpool3d reuse maxPool2dBackward / maxUnpool2d, which only see flat positions).
   */
  maxPool3d(x: FloatArray, out: FloatArray, indices: Int32Array | null, g: Pool3dGeometry): void;
  avgPool3d(x: FloatArray, out: FloatArray, g: Pool3dGeometry, countIncludePad: boolean, divisorOverride: number): void;
  avgPool3dBackward(
    gy: FloatArray,
    gx: FloatArray,
    g: Pool3dGeometry,
    countIncludePad: boolean,
    divisorOverride: number,
  ): void;
  adaptiveAvgPool3d(x: FloatArray, out: FloatArray, g: AdaptivePool3dGeometry): void;
  /** Overwrites gx. */
  adaptiveAvgPool3dBackward(gy: FloatArray, gx: FloatArray, g: AdaptivePool3dGeometry): void;
  /** Adaptive max pooling with flat d*h*w indices (backward is maxPool2dBackward). */
  adaptiveMaxPool3d(x: FloatArray, out: FloatArray, indices: Int32Array, g: AdaptivePool3dGeometry): void;

  // ---- padding and resampling ----
  /** Pads (or crops) a contiguous N-d tensor of any dtype (integer masks too); `value` fills in constant mode. */
  pad(x: TypedArray, out: TypedArray, g: PadGeometry, mode: PadMode, value: number): void;
  /** gx = sum of gy over every output position that read each input element (overwrites gx). */
  padBackward(gy: FloatArray, gx: FloatArray, g: PadGeometry, mode: PadMode): void;
  /** Nearest or bilinear resampling of each plane with PyTorch's source-index rules. */
  interpolate2d(mode: InterpolateMode, x: FloatArray, out: FloatArray, g: Interpolate2dGeometry): void;
  /** Adjoint of interpolate2d (overwrites gx). */
  interpolate2dBackward(mode: InterpolateMode, gy: FloatArray, gx: FloatArray, g: Interpolate2dGeometry): void;

  // ---- normalisation over [n, c, hw] ----
  /** out = x * scale[c] + shift[c] (batch norm in evaluation, or after statistics are known). */
  channelAffine(
    x: FloatArray,
    scale: FloatArray,
    shift: FloatArray,
    out: FloatArray,
    n: number,
    c: number,
    hw: number,
    epilogue: Epilogue,
  ): void;
}

/**
 * Convolution weights transformed by `Backend.packConv2dWeights`: opaque data in one backend's layout for
 * [oc, c, kh, kw] weights and one algorithm (the layout depends on the build's GEMM tile, so `owner` names the
 * backend that made it; another backend, another algorithm or weights of other sizes ignore it and compute from the
 * plain weights).
 */
export interface PackedConv2dWeights {
  readonly owner: object;
  /** The algorithm whose layout `data` is in ('winograd', 'tapwise'): used only for geometries planned the same. */
  readonly plan: string;
  readonly oc: number;
  readonly c: number;
  readonly data: Float32Array;
}
