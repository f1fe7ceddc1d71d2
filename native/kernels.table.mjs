/**
 * The kernel table: the one description of Tatami's C kernel boundary. `node scripts/gen-kernels.mjs` turns it into
 *   native/src/kernels.gen.h      the geometry enums and structs, the `tt_ops` struct of entry points, its initialiser
 *   native/src/addon.gen.c        the Node-API functions that unpack JavaScript arguments (included by addon.c)
 *   native/src/wasm_exports.gen.c the WebAssembly exports (included by wasm_api.c)
 *   src/backend/kernels.gen.ts    `RawKernels` (the TypeScript signatures), the geometry packers, and the wasm calls
 *                                 with each operand's copy role (the base class of src/backend/wasm.ts's kernels)
 * The generated files are committed (a fresh clone and the browser build need no generator); test/kernel-table.test.ts
 * fails when they differ from what this table generates.
 *
 * Argument kinds:
 *   f32 / i32      Float32Array / Int32Array operand; `role` in | out | inout says what the wasm side copies in and
 *                  back (native works in place); `nullable` lets JavaScript pass null (C gets NULL, wasm address 0)
 *   any4           any 4-byte typed array (native only)
 *   conv / pool    a geometry (`geometries` below), passed as its packed Int32Array
 *   sgd / adam     a hyper-parameter struct (`hypers` below), passed as its packed Float64Array
 *   bool int long float   scalars (float: a JavaScript number rounded to float32)
 * `ret`: void, bool (C int ≠ 0) or int. `native`/`wasm`: false leaves the kernel out of that side (then optional in
 * RawKernels). `wasmInoutWhen`: a TypeScript condition under which an `out` operand is also copied in on wasm.
 */

/** Geometry structs: [C field, TypeScript field of the Conv2dGeometry / Pool2dGeometry, comment]. Order = layout. */
export const geometries = {
  conv: {
    enumPrefix: 'CG', cType: 'cgeom', parse: 'parse_cg', tsType: 'Conv2dGeometry', pack: 'packConvGeometry',
    doc: 'a 2-D convolution: input [n, c, h, w], weight [oc, c/groups, kh, kw], output [n, oc, oh, ow]',
    fields: [
      ['n', 'n'], ['c', 'c'], ['h', 'h'], ['w', 'w'], ['oc', 'oc'], ['kh', 'kh'], ['kw', 'kw'], ['oh', 'oh'], ['ow', 'ow'],
      ['sH', 'strideH'], ['sW', 'strideW'], ['pH', 'padH'], ['pW', 'padW'], ['dH', 'dilationH'], ['dW', 'dilationW'],
      ['groups', 'groups'],
    ],
  },
  pool: {
    enumPrefix: 'PG', cType: 'pgeom', parse: 'parse_pg', tsType: 'Pool2dGeometry', pack: 'packPoolGeometry',
    doc: 'a 2-D pooling window over n·c planes h×w → oh×ow',
    fields: [
      ['n', 'n'], ['c', 'c'], ['h', 'h'], ['w', 'w'], ['oh', 'oh'], ['ow', 'ow'], ['kh', 'kh'], ['kw', 'kw'],
      ['sH', 'strideH'], ['sW', 'strideW'], ['pH', 'padH'], ['pW', 'padW'], ['dH', 'dilationH'], ['dW', 'dilationW'],
    ],
  },
};

/**
 * Hyper-parameter structs: [C field, kind (float | bool), TypeScript expression of the source object `h`]. Passed as
 * one Float64Array (exact JavaScript numbers; bools 0/1) and read by the kernel through the generated parser, so a
 * learning rate goes from `h.lr` to the C struct in one step instead of a positional float among eight.
 */
export const hypers = {
  sgd: {
    cType: 'sgd_hyper', parse: 'parse_sgd_hyper', tsType: 'SgdHyper', pack: 'packSgdHyper',
    doc: 'one SGD update (torch.optim.SGD): buf is the momentum buffer, first_step makes it take d as is',
    fields: [
      ['lr', 'float', 'h.lr'], ['momentum', 'float', 'h.momentum'], ['dampening', 'float', 'h.dampening'],
      ['weight_decay', 'float', 'h.weightDecay'], ['nesterov', 'bool', 'h.nesterov'], ['maximize', 'bool', 'h.maximize'],
      ['first_step', 'bool', 'h.firstStep'],
    ],
  },
  adam: {
    cType: 'adam_hyper', parse: 'parse_adam_hyper', tsType: 'AdamHyper', pack: 'packAdamHyper',
    doc: 'one Adam/AdamW update (torch.optim.Adam/AdamW), with the step-dependent scalars computed in double',
    fields: [
      ['beta1', 'float', 'h.beta1'], ['beta2', 'float', 'h.beta2'], ['eps', 'float', 'h.eps'],
      // AdamW decays the weight by 1 − lr·wd; Adam adds wd·w to the gradient instead
      ['decay', 'float', 'h.decoupled ? 1 - h.lr * h.weightDecay : 1'], ['l2', 'float', 'h.decoupled ? 0 : h.weightDecay'],
      // lr / (1 − β₁ᵗ) and √(1 − β₂ᵗ): the bias corrections
      ['step_size', 'float', 'h.lr / (1 - h.beta1 ** h.step)'], ['bc2_sqrt', 'float', 'Math.sqrt(1 - h.beta2 ** h.step)'],
      ['sign', 'float', 'h.maximize ? -1 : 1'],
    ],
  },
};

const f32 = (name, role, opts = {}) => ({ name, kind: 'f32', role, ...opts });
const i32 = (name, role, opts = {}) => ({ name, kind: 'i32', role, ...opts });
const s = (kind, name, opts = {}) => ({ name, kind, ...opts });

/** Kernels, in `tt_ops` order. `c`: the C field (entry point op_<c>); `name`: the JavaScript/wasm name. */
export const kernels = [
  {
    name: 'gemm', c: 'gemm', doc: 'C[b] (+)= op(A[b])·op(B[b]) for b < batch; op transposes when ta/tb; stride 0 shares an operand',
    args: [s('bool', 'ta'), s('bool', 'tb'), s('int', 'm'), s('int', 'n'), s('int', 'k'), f32('a', 'in'), s('long', 'sa'),
      f32('b', 'in'), s('long', 'sb'), f32('c', 'out'), s('long', 'sc'), s('int', 'batch'), s('bool', 'acc')],
    wasmInoutWhen: { c: 'acc || c.length !== (batch - 1) * sc + m * n' },
  },
  {
    name: 'conv2d', c: 'conv2d', doc: 'out = act(scale[oc]·(w ⊛ x) + bias[oc]); scale and bias may be null (1 and 0); act: ACT_* of simd.inc.c (0 none, 1 relu, 2 relu6, 3 hardswish)',
    args: [f32('x', 'in'), f32('w', 'in'), f32('bias', 'in', { nullable: true }), f32('scale', 'in', { nullable: true }),
      f32('out', 'out'), s('conv', 'g'), s('int', 'act')],
  },
  { name: 'conv2dBackwardInput', c: 'conv2d_bwd_input', doc: 'gx = the input gradient of conv2d (overwritten)',
    args: [f32('gy', 'in'), f32('w', 'in'), f32('gx', 'out'), s('conv', 'g')] },
  { name: 'conv2dBackwardWeight', c: 'conv2d_bwd_weight', doc: 'gw = the weight gradient of conv2d (overwritten)',
    args: [f32('x', 'in'), f32('gy', 'in'), f32('gw', 'out'), s('conv', 'g')] },
  { name: 'maxPool2d', c: 'max_pool2d', doc: 'max pooling; indices (flat per input plane) may be null',
    args: [f32('x', 'in'), f32('out', 'out'), i32('indices', 'out', { nullable: true }), s('pool', 'g')] },
  { name: 'maxPool2dBackward', c: 'max_pool2d_bwd', doc: 'gx (overwritten) = gy scattered to the recorded maxima',
    args: [f32('gy', 'in'), i32('indices', 'in'), f32('gx', 'out'), s('long', 'planes'), s('long', 'inPlane'), s('long', 'outPlane')] },
  { name: 'avgPool2d', c: 'avg_pool2d', doc: 'average pooling; divisor > 0 overrides the window count',
    args: [f32('x', 'in'), f32('out', 'out'), s('pool', 'g'), s('bool', 'countIncludePad'), s('int', 'divisor')] },
  { name: 'avgPool2dBackward', c: 'avg_pool2d_bwd', doc: 'gradient of avgPool2d (gx overwritten)',
    args: [f32('gy', 'in'), f32('gx', 'out'), s('pool', 'g'), s('bool', 'countIncludePad'), s('int', 'divisor')] },
  { name: 'channelStats', c: 'channel_stats', doc: 'per-channel mean and biased variance of [n, c, hw]',
    args: [f32('x', 'in'), f32('mean', 'out'), f32('variance', 'out'), s('long', 'n'), s('long', 'c'), s('long', 'hw')] },
  { name: 'channelAffine', c: 'channel_affine', doc: 'out = act(scale[c]·x + shift[c]) over [n, c, hw]',
    args: [f32('x', 'in'), f32('scale', 'in'), f32('shift', 'in'), f32('out', 'out'), s('long', 'n'), s('long', 'c'), s('long', 'hw'),
      s('bool', 'relu')] },
  { name: 'batchNormBackward', c: 'bn_bwd', doc: 'batch-norm gradients from saved mean and 1/std; weight and outputs may be null',
    args: [f32('x', 'in'), f32('gy', 'in'), f32('mean', 'in'), f32('invStd', 'in'), f32('weight', 'in', { nullable: true }),
      f32('gx', 'out', { nullable: true }), f32('gw', 'out', { nullable: true }), f32('gb', 'out', { nullable: true }),
      s('long', 'n'), s('long', 'c'), s('long', 'hw')] },
  { name: 'softmax', c: 'softmax', doc: '(log-)softmax over the middle axis of [outer, size, inner]',
    args: [f32('x', 'in'), f32('out', 'out'), s('long', 'outer'), s('long', 'size'), s('long', 'inner'), s('bool', 'log')] },
  { name: 'softmaxGrad', c: 'softmax_grad', doc: 'gradient of (log-)softmax from its output y',
    args: [f32('y', 'in'), f32('gy', 'in'), f32('gx', 'out'), s('long', 'outer'), s('long', 'size'), s('long', 'inner'), s('bool', 'log')] },
  { name: 'unary', c: 'unary', ret: 'bool', doc: 'out = op(x) (U_* codes of tt.h, parameters a, b); false when op is not implemented',
    args: [s('int', 'op'), f32('x', 'in'), f32('out', 'out'), s('long', 'n'), s('float', 'a'), s('float', 'b')] },
  { name: 'unaryGrad', c: 'unary_grad', ret: 'bool', doc: 'gx = gy·op′(input); false when op is not implemented',
    args: [s('int', 'op'), f32('input', 'in'), f32('gy', 'in'), f32('gx', 'out'), s('long', 'n'), s('float', 'a'), s('float', 'b')] },
  { name: 'binary', c: 'binary', ret: 'bool', doc: 'out = a op b with broadcast mode BM_* over [outer, mid, inner]; false when not implemented',
    args: [s('int', 'op'), s('int', 'mode'), f32('a', 'in'), f32('b', 'in'), f32('out', 'out'), s('long', 'outer'), s('long', 'mid'),
      s('long', 'inner')] },
  { name: 'reduceSum', c: 'reduce_sum', doc: 'out[o, i] = Σ_s x[o, s, i]',
    args: [f32('x', 'in'), f32('out', 'out'), s('long', 'outer'), s('long', 'size'), s('long', 'inner')] },
  { name: 'axpy', c: 'axpy', doc: 'y += alpha·x',
    args: [s('long', 'n'), s('float', 'alpha'), f32('x', 'in'), f32('y', 'inout')] },
  { name: 'copyStrided', c: 'copy_strided', wasm: false,
    doc: 'out (contiguous, shape) = the strided view of src at offset; 4-byte elements, rank ≤ 8 (native only: wasm would first copy all of src)',
    args: [s('any4', 'src', { role: 'in' }), s('long', 'offset'), i32('strides', 'in'), s('any4', 'out', { role: 'out' }), i32('shape', 'in'),
      s('int', 'rank')] },
  { name: 'sgdStep', c: 'sgd_step',
    doc: 'SGD update of w (and the momentum buffer, null without momentum) in place',
    args: [s('long', 'n'), f32('w', 'inout'), f32('g', 'in'), f32('buf', 'inout', { nullable: true }), s('sgd', 'h')] },
  { name: 'adamStep', c: 'adam_step',
    doc: 'Adam(W) update of w and its moments (vmax: AMSGrad, else null) in place',
    args: [s('long', 'n'), f32('w', 'inout'), f32('g', 'in'), f32('m', 'inout'), f32('v', 'inout'), f32('vmax', 'inout', { nullable: true }),
      s('adam', 'h')] },
  { name: 'convPlan', c: 'conv_plan', ret: 'int', doc: 'the algorithm (TT_PLAN_*) the conv kernels would use for g in direction TT_CONV_*',
    args: [s('conv', 'g'), s('int', 'direction')] },
];
