/**
 * The kernel table: the one description of Tatami's C kernel boundary. `node scripts/gen-kernels.mjs` turns it into
 *   native/src/kernels.gen.h         the geometry enums and structs, the `tt_ops` struct of entry points, its initialiser
 *   native/src/kernels_list.gen.inc  the #includes of the kernel families (`sources` below), for kernels.inc.c
 *   native/src/addon.gen.c           the Node-API functions that unpack JavaScript arguments (included by addon.c)
 *   native/src/wasm_exports.gen.c    the WebAssembly exports (included by wasm_api.c)
 *   src/backend/kernels.gen.ts       the geometry and hyper-parameter interfaces and packers, `RawKernels` (the flat
 *                                    TypeScript signatures), `TableKernels` (the `Backend` methods of kernels with a
 *                                    `backend` entry) and the wasm calls with each operand's copy role
 *   src/backend/accel.gen.ts         the accelerated overrides of `TableKernels` and the guarded reference ones
 *   src/backend/reference/kernels.gen.ts  the reference bodies of `TableKernels`, gathered from their modules
 * The generated files are committed (a fresh clone and the browser build need no generator); test/kernel-table.test.ts
 * fails when they differ from what this table generates.
 *
 * Argument kinds:
 *   f32 / i32      Float32Array / Int32Array operand; `role` in | out | inout says what the wasm side copies in and
 *                  back (native works in place); `nullable` lets JavaScript pass null (C gets NULL, wasm address 0)
 *   any4           any 4-byte typed array (native only)
 *   f32list        an array of Float32Arrays or nulls (native only, hand-written override): C gets a tt_f32list of
 *                  their data and lengths, read on the array's first call and kept on it (native/src/addon.c): the
 *                  caller never changes the array afterwards and checks its entries' lengths before each call
 *   conv / pool …  a geometry (`geometries` below), passed as its packed Int32Array
 *   sgd / adam     a hyper-parameter struct (`hypers` below), passed as its packed Float64Array
 *   bool int long float   scalars (float: a JavaScript number rounded to float32)
 * `ret`: void, bool (C int ≠ 0) or int. `native`/`wasm`: false leaves the kernel out of that side (then optional in
 * RawKernels). `wasmInoutWhen`: a TypeScript condition under which an `out` operand is also copied in on wasm.
 *
 * `backend`: present on kernels whose `Backend` method is the kernel itself (same name, the arguments in table order
 * without those given `from`; f32 operands are FloatArray, so float64 reaches the reference body). Its method
 * signature, its accelerated override and its registration in the reference backend are generated:
 *   reference   the module of src/backend/reference/ that exports the reference body under the kernel's name
 *   doc         the Backend method's documentation (default: the kernel's `doc`)
 *   small       a TypeScript expression: below `SMALL` elements the reference body runs (call overhead)
 *   fallback    a TypeScript condition under which the reference body runs (a case the C body does not implement)
 *   checks      extra TypeScript statements run before the kernel (e.g. index validation), `kernel` names it
 * and on the arguments:
 *   size        (operands) a TypeScript expression of the elements the kernel touches; the override checks the
 *               operand holds at least that many (guard.len) and runs the reference body when it is 0
 *   from        (scalars) not a Backend parameter: the override passes this TypeScript expression
 *   min         (int / long scalars) the least value accepted (long scalars default to 0: they are sizes)
 * Geometry arguments are checked field by field (each an int32 ≥ its `min`). Every override first checks all that,
 * then takes the C kernel only for float32 operands. Kernels without `backend` (GEMM, convolution, broadcasting
 * binary ops, strided copies …) have a hand-written method in src/backend/types.ts and override in accel.ts.
 */

/**
 * Geometry structs: [C field, TypeScript field, { min, doc }] in layout order. The TypeScript interface (`tsType`) is
 * generated from them too; `min` (default 0) is the least value the accelerated override accepts for the field.
 */
export const geometries = {
  conv: {
    enumPrefix: 'CG',
    cType: 'cgeom',
    parse: 'parse_cg',
    tsType: 'Conv2dGeometry',
    pack: 'packConvGeometry',
    doc: 'a 2-D convolution: input [n, c, h, w], weight [oc, c/groups, kh, kw], output [n, oc, oh, ow]',
    tsDoc: [
      'Geometry of a 2-D convolution (also describes its transposed form, whose forward is conv2dBackwardInput).',
      "oh/ow are authoritative: for conv_transpose2d with outputPadding ≥ stride (allowed when < dilation) or 'same'",
      'padding with an even kernel they are not the symmetric floor formula, and taps landing outside [0, h)×[0, w)',
      'read (or receive) zero.',
    ],
    fields: [
      ['n', 'n', { doc: 'batch' }],
      ['c', 'c', { doc: 'input channels' }],
      ['h', 'h'],
      ['w', 'w'],
      ['oc', 'oc', { doc: 'output channels; weight [oc, c/groups, kh, kw]' }],
      ['kh', 'kh'],
      ['kw', 'kw'],
      ['oh', 'oh'],
      ['ow', 'ow'],
      ['sH', 'strideH', { min: 1 }],
      ['sW', 'strideW', { min: 1 }],
      ['pH', 'padH', { doc: 'zero padding at the top (the bottom is implied by oh)' }],
      ['pW', 'padW', { doc: 'zero padding at the left (the right is implied by ow)' }],
      ['dH', 'dilationH', { min: 1 }],
      ['dW', 'dilationW', { min: 1 }],
      ['groups', 'groups', { min: 1 }],
    ],
  },
  pool: {
    enumPrefix: 'PG',
    cType: 'pgeom',
    parse: 'parse_pg',
    tsType: 'Pool2dGeometry',
    pack: 'packPoolGeometry',
    doc: 'a 2-D pooling window over n·c planes h×w → oh×ow',
    tsDoc: ['Geometry of a 2-D pooling window over planes of n*c images.'],
    fields: [
      ['n', 'n'],
      ['c', 'c'],
      ['h', 'h'],
      ['w', 'w'],
      ['oh', 'oh'],
      ['ow', 'ow'],
      ['kh', 'kh'],
      ['kw', 'kw'],
      ['sH', 'strideH', { min: 1 }],
      ['sW', 'strideW', { min: 1 }],
      ['pH', 'padH'],
      ['pW', 'padW'],
      ['dH', 'dilationH', { min: 1 }],
      ['dW', 'dilationW', { min: 1 }],
    ],
  },
  conv3d: {
    enumPrefix: 'C3G',
    cType: 'c3geom',
    parse: 'parse_c3g',
    tsType: 'Conv3dGeometry',
    pack: 'packConv3dGeometry',
    doc: 'a 3-D convolution: input [n, c, d, h, w], weight [oc, c/groups, kd, kh, kw], output [n, oc, od, oh, ow]',
    tsDoc: [
      'Geometry of a 3-D convolution over [n, c, d, h, w] (weight [oc, c/groups, kd, kh, kw]); as Conv2dGeometry, the',
      'output sizes are authoritative and taps outside the input read (or receive) zero. Also describes the transposed',
      'form, whose forward is conv3dBackwardInput. padD/padH/padW: zero padding in front/top/left.',
    ],
    fields: [
      ['n', 'n'],
      ['c', 'c'],
      ['d', 'd'],
      ['h', 'h'],
      ['w', 'w'],
      ['oc', 'oc'],
      ['kd', 'kd'],
      ['kh', 'kh'],
      ['kw', 'kw'],
      ['od', 'od'],
      ['oh', 'oh'],
      ['ow', 'ow'],
      ['sD', 'strideD', { min: 1 }],
      ['sH', 'strideH', { min: 1 }],
      ['sW', 'strideW', { min: 1 }],
      ['pD', 'padD'],
      ['pH', 'padH'],
      ['pW', 'padW'],
      ['dD', 'dilationD', { min: 1 }],
      ['dH', 'dilationH', { min: 1 }],
      ['dW', 'dilationW', { min: 1 }],
      ['groups', 'groups', { min: 1 }],
    ],
  },
  roi: {
    enumPrefix: 'RG',
    cType: 'rgeom',
    parse: 'parse_rg',
    tsType: 'RoiAlignGeometry',
    pack: 'packRoiAlignGeometry',
    doc: 'RoIAlign: input [n, c, h, w], rois [rois, 5], output [rois, c, ph, pw]',
    tsDoc: [
      'Geometry of RoIAlign (torchvision.ops.roi_align): input [n, c, h, w], rois [rois, 5], output [rois, c, outH, outW].',
    ],
    fields: [
      ['n', 'n'],
      ['c', 'c'],
      ['h', 'h'],
      ['w', 'w'],
      ['rois', 'rois', { doc: 'boxes: rows (batch index, x1, y1, x2, y2)' }],
      ['ph', 'outH'],
      ['pw', 'outW'],
      ['sampling', 'samplingRatio', { min: -(2 ** 31), doc: 'samples per bin and axis; ≤ 0: ceil(box size / bins)' }],
    ],
  },
};

/**
 * Hyper-parameter structs: [C field, kind (float | bool), TypeScript expression of the source object `h`]. Passed as
 * one Float64Array (exact JavaScript numbers; bools 0/1) and read by the kernel through the generated parser, so a
 * learning rate goes from `h.lr` to the C struct in one step instead of a positional float among eight. `tsFields`
 * ([name, type, doc?]) is the TypeScript interface `tsType` the optimisers fill.
 */
export const hypers = {
  sgd: {
    cType: 'sgd_hyper',
    parse: 'parse_sgd_hyper',
    tsType: 'SgdHyper',
    pack: 'packSgdHyper',
    doc: 'one SGD update (torch.optim.SGD): buf is the momentum buffer, first_step makes it take d as is',
    tsDoc: [
      "Hyper-parameters of one SGD update (PyTorch's): d = ±g + wd·w; buf = d on the first step, else",
      'momentum·buf + (1 − dampening)·d; w −= lr·(nesterov ? d + momentum·buf : buf).',
    ],
    fields: [
      ['lr', 'float', 'h.lr'],
      ['momentum', 'float', 'h.momentum'],
      ['dampening', 'float', 'h.dampening'],
      ['weight_decay', 'float', 'h.weightDecay'],
      ['nesterov', 'bool', 'h.nesterov'],
      ['maximize', 'bool', 'h.maximize'],
      ['first_step', 'bool', 'h.firstStep'],
    ],
    tsFields: [
      ['lr', 'number'],
      ['momentum', 'number'],
      ['dampening', 'number'],
      ['weightDecay', 'number'],
      ['nesterov', 'boolean'],
      ['maximize', 'boolean'],
      ['firstStep', 'boolean', 'The momentum buffer is new: it takes d as is.'],
    ],
  },
  adam: {
    cType: 'adam_hyper',
    parse: 'parse_adam_hyper',
    tsType: 'AdamHyper',
    pack: 'packAdamHyper',
    doc: 'one Adam/AdamW update (torch.optim.Adam/AdamW), with the step-dependent scalars computed in double',
    tsDoc: ['Hyper-parameters of one Adam/AdamW update; `step` counts from 1 (bias corrections 1 − βᵗ).'],
    fields: [
      ['beta1', 'float', 'h.beta1'],
      ['beta2', 'float', 'h.beta2'],
      ['eps', 'float', 'h.eps'],
      // AdamW decays the weight by 1 − lr·wd; Adam adds wd·w to the gradient instead
      ['decay', 'float', 'h.decoupled ? 1 - h.lr * h.weightDecay : 1'],
      ['l2', 'float', 'h.decoupled ? 0 : h.weightDecay'],
      // lr / (1 − β₁ᵗ) and √(1 − β₂ᵗ): the bias corrections
      ['step_size', 'float', 'h.lr / (1 - h.beta1 ** h.step)'],
      ['bc2_sqrt', 'float', 'Math.sqrt(1 - h.beta2 ** h.step)'],
      ['sign', 'float', 'h.maximize ? -1 : 1'],
    ],
    tsFields: [
      ['lr', 'number'],
      ['beta1', 'number'],
      ['beta2', 'number'],
      ['eps', 'number'],
      ['weightDecay', 'number'],
      ['decoupled', 'boolean', 'AdamW: w ← w·(1 − lr·wd) before the step instead of an L2 term in the gradient.'],
      ['maximize', 'boolean'],
      ['step', 'number'],
    ],
  },
};

/**
 * The C kernel families, native/src/kernels/<name>.inc.c, in include order (each file uses only what the files
 * before it define). kernels.inc.c includes the generated list, so a new family file is one row here.
 */
export const sources = [
  ['simd', 'vector types, loads, exp, horizontal sums'],
  ['gemv', 'row dot products for GEMV shapes (Linear at small batch, 1×1 conv on a 1×1 map)'],
  ['gemm', 'packed GEMM and its micro-kernels'],
  ['conv_grid', 'conv geometry; padded-width implicit GEMM (stride 1 and polyphase)'],
  ['conv_im2col', 'im2col / col2im, live taps'],
  ['conv_depthwise', 'depthwise forward: polyphase grid per plane, fused epilogue'],
  ['conv_pointwise', '1×1 forward: GEMM on the image in place, fused epilogue'],
  ['conv_dilated', 'tap-wise GEMMs for dilated filters whose taps mostly read padding (ASPP)'],
  ['conv_plan', 'the conv planner: (geometry, direction, build) → algorithm'],
  ['conv_batched', 'batched lowering for small maps'],
  ['conv_winograd', 'Winograd F(2×2, 3×3), forward and weight gradient'],
  ['conv3d_winograd', '3×3×3 forward: Winograd F(2×2, 3×3) over height and width, depth taps in the GEMMs'],
  ['conv_dense', "unfolded-weight form for maps smaller than the filter's reach"],
  ['conv_wgrad', 'weight gradient: dot-product and GEMM forms'],
  ['conv', 'the three conv entry points: plan, then dispatch'],
  ['conv_nhwc', 'channels-last pointwise and depthwise forward (MobileNet inference), packed weights'],
  ['pool', 'max / average pooling and gradients'],
  ['resample', 'nearest / bilinear resampling (F.interpolate) and its adjoint, taps given'],
  ['norm', 'channel statistics, affine (+ReLU), batch-norm backward'],
  ['softmax', 'softmax / logSoftmax and gradients'],
  ['elementwise', 'unary, binary, sum, axpy, strided copy'],
  ['nhwc_program', 'a channels-last program (stem, pooling, inverted-residual and residual blocks, global pool) in one call'],
  ['optim', 'SGD and Adam(W) updates'],
  ['roi', 'RoIAlign forward and backward (torchvision)'],
  ['roi_nms', 'non-maximum suppression (torchvision)'],
];

const f32 = (name, role, opts = {}) => ({ name, kind: 'f32', role, ...opts });
const i32 = (name, role, opts = {}) => ({ name, kind: 'i32', role, ...opts });
const s = (kind, name, opts = {}) => ({ name, kind, ...opts });

/** RoIAlign's rows: the C body indexes the batch by column 0 and sizes its sample grid from the box. */
const roiRowsCheck = [
  'for (let r = 0; r < g.rois; r++) {',
  '  const row = rois.subarray(5 * r, 5 * r + 5);',
  '  if (!(Number.isInteger(row[0]) && row[0] >= 0 && row[0] < g.n) || !row.every(Number.isFinite))',
  "    throw new Error(`${kernel}: roi ${r} is (${row.join(', ')}); expected a batch index in [0, ${g.n}) and finite coordinates`);",
  '}',
];

/** resample2d's geometry and source taps, shared by the forward and its adjoint (nearest: iy0/ix0 only). */
const RESAMPLE_TAPS = [
  s('long', 'planes'),
  s('long', 'h'),
  s('long', 'w'),
  s('long', 'oh'),
  s('long', 'ow'),
  i32('iy0', 'in'),
  i32('iy1', 'in', { nullable: true }),
  f32('ly0', 'in', { nullable: true }),
  f32('ly1', 'in', { nullable: true }),
  i32('ix0', 'in'),
  i32('ix1', 'in', { nullable: true }),
  f32('lx0', 'in', { nullable: true }),
  f32('lx1', 'in', { nullable: true }),
];

/** Kernels, in `tt_ops` order. `c`: the C field (entry point op_<c>); `name`: the JavaScript/wasm name. */
export const kernels = [
  {
    name: 'gemm',
    c: 'gemm',
    doc: 'C[b] (+)= op(A[b])·op(B[b]) for b < batch; op transposes when ta/tb; stride 0 shares an operand',
    args: [
      s('bool', 'ta'),
      s('bool', 'tb'),
      s('int', 'm'),
      s('int', 'n'),
      s('int', 'k'),
      f32('a', 'in'),
      s('long', 'sa'),
      f32('b', 'in'),
      s('long', 'sb'),
      f32('c', 'out'),
      s('long', 'sc'),
      s('int', 'batch'),
      s('bool', 'acc'),
    ],
    wasmInoutWhen: { c: 'acc || c.length !== (batch - 1) * sc + m * n' },
  },
  {
    name: 'conv2d',
    c: 'conv2d',
    doc: 'out = act(scale[oc]·(w ⊛ x) + bias[oc] + res); scale, bias and res (a residual shaped as out) may be null (1, 0, 0); act: ACT_* of simd.inc.c (0 none, 1 relu, 2 relu6, 3 hardswish)',
    args: [
      f32('x', 'in'),
      f32('w', 'in'),
      f32('bias', 'in', { nullable: true }),
      f32('scale', 'in', { nullable: true }),
      f32('res', 'in', { nullable: true }),
      f32('out', 'out'),
      s('conv', 'g'),
      s('int', 'act'),
    ],
  },
  {
    name: 'conv2dPackedSize',
    c: 'conv2d_packed_size',
    ret: 'int',
    doc: 'floats of the transformed weights conv2dPack writes for g on this build; 0 when the packed forward of g would not use them',
    args: [s('conv', 'g')],
  },
  {
    name: 'conv2dPack',
    c: 'conv2d_pack',
    doc: 'packed = w transformed for conv2dPacked on g (conv2dPackedSize floats; nothing written when that is 0)',
    args: [f32('w', 'in'), f32('packed', 'out'), s('conv', 'g')],
  },
  {
    name: 'conv2dPacked',
    c: 'conv2d_packed',
    doc: 'conv2d with the weights also given as conv2dPack transformed them (inference: no per-call weight transform)',
    args: [
      f32('x', 'in'),
      f32('w', 'in'),
      f32('packed', 'in'),
      f32('bias', 'in', { nullable: true }),
      f32('scale', 'in', { nullable: true }),
      f32('res', 'in', { nullable: true }),
      f32('out', 'out'),
      s('conv', 'g'),
      s('int', 'act'),
    ],
  },
  {
    name: 'conv2dNhwcPackedSize',
    c: 'conv2d_nhwc_packed_size',
    ret: 'int',
    doc: 'floats of the weights conv2dNhwcPack writes for g on this build; 0 when no channels-last kernel serves g (one-group and depthwise geometries)',
    args: [s('conv', 'g')],
  },
  {
    name: 'conv2dNhwcPack',
    c: 'conv2d_nhwc_pack',
    doc: 'packed = w [oc, c/groups, kh, kw] in the layout conv2dNhwc reads (conv2dNhwcPackedSize floats)',
    args: [f32('w', 'in'), f32('packed', 'out'), s('conv', 'g')],
  },
  {
    name: 'conv2dNhwc',
    c: 'conv2d_nhwc',
    doc: 'out [n, oh, ow, oc] = act(scale[oc]·(w ⊛ x) + bias[oc] + res) for x [n, h, w, c], channels last, the weights packed by conv2dNhwcPack; res (one-group geometries only) may be null',
    args: [
      f32('x', 'in'),
      f32('packed', 'in'),
      f32('bias', 'in', { nullable: true }),
      f32('scale', 'in', { nullable: true }),
      f32('res', 'in', { nullable: true }),
      f32('out', 'out'),
      s('conv', 'g'),
      s('int', 'act'),
    ],
  },
  {
    name: 'conv2dNchwToNhwc',
    c: 'conv2d_nchw_to_nhwc',
    doc: 'out [n, oh, ow, oc] = act(scale[oc]·(w ⊛ x) + bias[oc]) for x [n, c, h, w] (NCHW) and a one-group geometry g, the weights packed by conv2dNhwcPack: a stem into the channels-last program',
    args: [
      f32('x', 'in'),
      f32('packed', 'in'),
      f32('bias', 'in', { nullable: true }),
      f32('scale', 'in', { nullable: true }),
      f32('out', 'out'),
      s('conv', 'g'),
      s('int', 'act'),
    ],
  },
  {
    name: 'maxPool2dNhwc',
    c: 'max_pool2d_nhwc',
    doc: 'max pooling channels last: out [n, oh, ow, c] from x [n, h, w, c] (NaN propagates, no indices): the channels-last ResNet program',
    args: [
      f32('x', 'in', { size: 'g.n * g.c * g.h * g.w' }),
      f32('out', 'out', { size: 'g.n * g.c * g.oh * g.ow' }),
      s('pool', 'g'),
    ],
  },
  {
    name: 'conv2dNhwcBlock',
    c: 'conv2d_nhwc_block',
    doc: 'an inverted-residual block channels last: e = acte(es·(x·weᵀ) + eb) (e = x when we is null), d = actd(ds·dw(e) + db) on the depthwise geometry g, with w1 d = d · hardsigmoid(w2·act1(w1·mean(d) + b1) + b2) per image (a squeeze-excitation gate of sq channels), out = actp(ps·(d·wpᵀ) + pb (+ x when residual)), or out = d when wp is null (and w1 too); weights packed by conv2dNhwcPack but w1 [sq, c] and w2 [c, sq] as they are',
    args: [
      f32('x', 'in'),
      f32('we', 'in', { nullable: true }),
      f32('eb', 'in', { nullable: true }),
      f32('es', 'in', { nullable: true }),
      f32('wd', 'in'),
      f32('db', 'in', { nullable: true }),
      f32('ds', 'in', { nullable: true }),
      f32('w1', 'in', { nullable: true }),
      f32('b1', 'in', { nullable: true }),
      f32('w2', 'in', { nullable: true }),
      f32('b2', 'in', { nullable: true }),
      f32('wp', 'in', { nullable: true }),
      f32('pb', 'in', { nullable: true }),
      f32('ps', 'in', { nullable: true }),
      f32('out', 'out'),
      s('conv', 'g'),
      s('int', 'cin'),
      s('int', 'cout'),
      s('int', 'sq'),
      s('int', 'acte'),
      s('int', 'actd'),
      s('int', 'act1'),
      s('int', 'actp'),
      s('bool', 'residual'),
    ],
  },
  {
    name: 'nhwcProgram',
    c: 'nhwc_program',
    doc: 'a channels-last program in one call (MobileNet or ResNet features): a stem from the NCHW image x, then max poolings, inverted-residual blocks and convolutions (a residual added from a slot), out [n, c] the global average pool of the last map (or, with a classifier’s Linear layers as the last steps, their output [n, classes]); `code` holds `steps` records (NP_* in kernels/nhwc_program.inc.c) whose operands are entries of `arrays`; returns 0, or 1 + the index of the first step that does not match its operands',
    wasm: false,
    ret: 'int',
    args: [
      f32('x', 'in'),
      { name: 'arrays', kind: 'f32list', role: 'in' },
      i32('code', 'in'),
      s('long', 'steps'),
      f32('out', 'out'),
    ],
  },
  {
    name: 'conv2dBackwardInput',
    c: 'conv2d_bwd_input',
    doc: 'gx = the input gradient of conv2d (overwritten)',
    args: [f32('gy', 'in'), f32('w', 'in'), f32('gx', 'out'), s('conv', 'g')],
  },
  {
    name: 'conv2dBackwardWeight',
    c: 'conv2d_bwd_weight',
    doc: 'gw = the weight gradient of conv2d (overwritten)',
    args: [f32('x', 'in'), f32('gy', 'in'), f32('gw', 'out'), s('conv', 'g')],
  },
  {
    name: 'maxPool2d',
    c: 'max_pool2d',
    doc: 'max pooling; indices (flat per input plane) may be null',
    args: [
      f32('x', 'in', { size: 'g.n * g.c * g.h * g.w' }),
      f32('out', 'out', { size: 'g.n * g.c * g.oh * g.ow' }),
      i32('indices', 'out', { nullable: true, size: 'g.n * g.c * g.oh * g.ow' }),
      s('pool', 'g'),
    ],
    backend: {
      reference: 'pool',
      doc: [
        "Max pooling; `indices` receives the flat h*w position of each max within its plane (PyTorch's convention), or",
        'is null when only the values are needed (inference).',
      ],
    },
  },
  {
    name: 'maxPool2dBackward',
    c: 'max_pool2d_bwd',
    doc: 'gx (overwritten) = gy scattered to the recorded maxima',
    args: [
      f32('gy', 'in', { size: 'planes * outPlane' }),
      i32('indices', 'in', { size: 'planes * outPlane' }),
      f32('gx', 'out', { size: 'planes * inPlane' }),
      s('long', 'planes'),
      s('long', 'inPlane'),
      s('long', 'outPlane'),
    ],
    backend: {
      reference: 'pool',
      doc: 'Scatters gy into gx at `indices` (gx overwritten). Also the forward of max_unpool2d.',
      // the C body writes gx[p·inPlane + index] unchecked
      checks: ['guard.indicesInPlane(kernel, indices, planes * outPlane, inPlane);'],
    },
  },
  {
    name: 'avgPool2d',
    c: 'avg_pool2d',
    doc: 'average pooling; divisor > 0 overrides the window count',
    args: [f32('x', 'in'), f32('out', 'out'), s('pool', 'g'), s('bool', 'countIncludePad'), s('int', 'divisor')],
  },
  {
    name: 'avgPool2dBackward',
    c: 'avg_pool2d_bwd',
    doc: 'gradient of avgPool2d (gx overwritten)',
    args: [f32('gy', 'in'), f32('gx', 'out'), s('pool', 'g'), s('bool', 'countIncludePad'), s('int', 'divisor')],
  },
  {
    name: 'channelStats',
    c: 'channel_stats',
    doc: 'per-channel mean and biased variance of [n, c, hw]',
    args: [
      f32('x', 'in', { size: 'n * c * hw' }),
      f32('mean', 'out', { size: 'c' }),
      f32('variance', 'out', { size: 'c' }),
      s('long', 'n'),
      s('long', 'c'),
      s('long', 'hw'),
    ],
    backend: { reference: 'norm', doc: 'Per-channel mean and biased variance over n and hw of x [n, c, hw].' },
  },
  {
    name: 'channelAffine',
    c: 'channel_affine',
    doc: 'out = act(scale[c]·x + shift[c]) over [n, c, hw]',
    args: [
      f32('x', 'in'),
      f32('scale', 'in'),
      f32('shift', 'in'),
      f32('out', 'out'),
      s('long', 'n'),
      s('long', 'c'),
      s('long', 'hw'),
      s('bool', 'relu'),
    ],
  },
  {
    name: 'batchNormBackward',
    c: 'bn_bwd',
    doc: 'batch-norm gradients from saved mean and 1/std; weight and outputs may be null',
    args: [
      f32('x', 'in', { size: 'n * c * hw' }),
      f32('gy', 'in', { size: 'n * c * hw' }),
      f32('mean', 'in', { size: 'c' }),
      f32('invStd', 'in', { size: 'c' }),
      f32('weight', 'in', { nullable: true, size: 'c' }),
      f32('gx', 'out', { nullable: true, size: 'n * c * hw' }),
      f32('gw', 'out', { nullable: true, size: 'c' }),
      f32('gb', 'out', { nullable: true, size: 'c' }),
      s('long', 'n'),
      s('long', 'c'),
      s('long', 'hw'),
    ],
    backend: {
      reference: 'norm',
      doc: [
        'Batch-norm backward from saved mean and 1/std over [n, c, hw]: writes gx, and gw/gb (∂ weight, ∂ bias) when',
        'non-null. `weight` null means 1.',
      ],
    },
  },
  {
    name: 'softmax',
    c: 'softmax',
    doc: '(log-)softmax over the middle axis of [outer, size, inner]',
    args: [
      f32('x', 'in', { size: 'outer * size * inner' }),
      f32('out', 'out', { size: 'outer * size * inner' }),
      s('long', 'outer'),
      s('long', 'size'),
      s('long', 'inner'),
      s('bool', 'log'),
    ],
    backend: {
      reference: 'reduce',
      small: 'x.length',
      doc: '(Log-)softmax along the middle axis of x [outer, size, inner].',
    },
  },
  {
    name: 'softmaxGrad',
    c: 'softmax_grad',
    doc: 'gradient of (log-)softmax from its output y',
    args: [
      f32('y', 'in', { size: 'outer * size * inner' }),
      f32('gy', 'in', { size: 'outer * size * inner' }),
      f32('gx', 'out', { size: 'outer * size * inner' }),
      s('long', 'outer'),
      s('long', 'size'),
      s('long', 'inner'),
      s('bool', 'log'),
    ],
    backend: {
      reference: 'reduce',
      small: 'y.length',
      doc: 'Backward of (log-)softmax from its output y (gx overwritten).',
    },
  },
  {
    name: 'unary',
    c: 'unary',
    ret: 'bool',
    doc: 'out = op(x) (U_* codes of tt.h, parameters a, b); false when op is not implemented',
    args: [s('int', 'op'), f32('x', 'in'), f32('out', 'out'), s('long', 'n'), s('float', 'a'), s('float', 'b')],
  },
  {
    name: 'unaryGrad',
    c: 'unary_grad',
    ret: 'bool',
    doc: 'gx = gy·op′(input); false when op is not implemented',
    args: [
      s('int', 'op'),
      f32('input', 'in'),
      f32('gy', 'in'),
      f32('gx', 'out'),
      s('long', 'n'),
      s('float', 'a'),
      s('float', 'b'),
    ],
  },
  {
    name: 'binary',
    c: 'binary',
    ret: 'bool',
    doc: 'out = a op b with broadcast mode BM_* over [outer, mid, inner]; false when not implemented',
    args: [
      s('int', 'op'),
      s('int', 'mode'),
      f32('a', 'in'),
      f32('b', 'in'),
      f32('out', 'out'),
      s('long', 'outer'),
      s('long', 'mid'),
      s('long', 'inner'),
    ],
  },
  {
    name: 'reduceSum',
    c: 'reduce_sum',
    doc: 'out[o, i] = Σ_s x[o, s, i]',
    args: [f32('x', 'in'), f32('out', 'out'), s('long', 'outer'), s('long', 'size'), s('long', 'inner')],
  },
  {
    name: 'axpy',
    c: 'axpy',
    doc: 'y += alpha·x',
    args: [
      s('long', 'n', { from: 'y.length' }),
      s('float', 'alpha'),
      f32('x', 'in', { size: 'y.length' }),
      f32('y', 'inout'),
    ],
    backend: {
      reference: 'elementwise',
      small: 'y.length',
      doc: 'y += alpha * x (used by optimizers and gradient accumulation).',
    },
  },
  {
    name: 'copyStrided',
    c: 'copy_strided',
    wasm: false,
    doc: 'out (contiguous, shape) = the strided view of src at offset; 4-byte elements, rank ≤ 8 (native only: wasm would first copy all of src)',
    args: [
      s('any4', 'src', { role: 'in' }),
      s('long', 'offset'),
      i32('strides', 'in'),
      s('any4', 'out', { role: 'out' }),
      i32('shape', 'in'),
      s('int', 'rank'),
    ],
  },
  {
    name: 'sgdStep',
    c: 'sgd_step',
    doc: 'SGD update of w (and the momentum buffer, null without momentum) in place',
    args: [
      s('long', 'n', { from: 'w.length' }),
      f32('w', 'inout'),
      f32('g', 'in', { size: 'w.length' }),
      f32('momentumBuffer', 'inout', { nullable: true, size: 'w.length' }),
      s('sgd', 'h'),
    ],
    backend: {
      reference: 'optim',
      small: 'w.length',
      doc: 'One SGD step (in place); `momentumBuffer` null when momentum is 0.',
    },
  },
  {
    name: 'adamStep',
    c: 'adam_step',
    doc: 'Adam(W) update of w and its moments (maxExpAvgSq: AMSGrad, else null) in place',
    args: [
      s('long', 'n', { from: 'w.length' }),
      f32('w', 'inout'),
      f32('g', 'in', { size: 'w.length' }),
      f32('expAvg', 'inout', { size: 'w.length' }),
      f32('expAvgSq', 'inout', { size: 'w.length' }),
      f32('maxExpAvgSq', 'inout', { nullable: true, size: 'w.length' }),
      s('adam', 'h'),
    ],
    backend: {
      reference: 'optim',
      small: 'w.length',
      doc: 'One Adam/AdamW step on w with first/second moment buffers (and the running max for AMSGrad, else null).',
    },
  },
  {
    name: 'roiAlign',
    c: 'roi_align',
    doc: 'RoIAlign of each box (torchvision.ops.roi_align): out [rois, c, ph, pw], each bin the mean of its bilinear samples',
    args: [
      f32('x', 'in', { size: 'g.n * g.c * g.h * g.w' }),
      f32('rois', 'in', { size: '5 * g.rois' }),
      f32('out', 'out', { size: 'g.rois * g.c * g.outH * g.outW' }),
      s('roi', 'g'),
      s('float', 'spatialScale'),
      s('bool', 'aligned'),
    ],
    backend: {
      reference: 'roi',
      doc: [
        'RoIAlign (torchvision.ops.roi_align): out [rois, c, outH, outW], each bin the mean of its bilinear samples of x',
        '[n, c, h, w] inside box (batch index, x1, y1, x2, y2)·spatialScale of `rois`; `aligned` shifts boxes by −0.5.',
      ],
      checks: roiRowsCheck,
    },
  },
  {
    name: 'roiAlignBackward',
    c: 'roi_align_bwd',
    doc: 'gradient of roiAlign with respect to x (gx overwritten)',
    args: [
      f32('gy', 'in', { size: 'g.rois * g.c * g.outH * g.outW' }),
      f32('rois', 'in', { size: '5 * g.rois' }),
      f32('gx', 'out', { size: 'g.n * g.c * g.h * g.w' }),
      s('roi', 'g'),
      s('float', 'spatialScale'),
      s('bool', 'aligned'),
    ],
    backend: {
      reference: 'roi',
      doc: "Gradient of roiAlign with respect to x: gx (overwritten) receives each bin's gradient spread over its samples.",
      checks: roiRowsCheck,
    },
  },
  {
    name: 'nms',
    c: 'nms',
    doc: 'greedy NMS (torchvision.ops.nms) of boxes [n, 4] given in visiting order: keep[i] = 1 when box i is kept, else 0',
    args: [
      s('long', 'n', { from: 'keep.length' }),
      f32('boxes', 'in', { size: '4 * keep.length' }),
      s('float', 'iouThreshold'),
      i32('keep', 'out'),
    ],
    backend: {
      reference: 'nms',
      doc: [
        "Greedy non-maximum suppression (torchvision.ops.nms's CPU kernel) of xyxy `boxes` [n, 4] already in visiting",
        'order (descending score): keep[i] = 1 when box i is kept, 0 when a kept earlier box overlaps it with IoU >',
        "`iouThreshold`. Float32 boxes compute IoU in float32, so pass the largest float32 ≤ PyTorch's threshold.",
      ],
    },
  },
  {
    name: 'resample2d',
    c: 'resample2d',
    doc: 'out [planes, oh, ow] from x [planes, h, w] through per-row/column source taps (nearest: iy0/ix0 only; bilinear: index pairs and weights)',
    args: [s('bool', 'bilinear'), f32('x', 'in'), f32('out', 'out'), ...RESAMPLE_TAPS],
  },
  {
    name: 'resample2dBackward',
    c: 'resample2d_bwd',
    doc: 'gx [planes, h, w] (overwritten) = the adjoint of resample2d applied to gy [planes, oh, ow]',
    args: [s('bool', 'bilinear'), f32('gy', 'in'), f32('gx', 'out'), ...RESAMPLE_TAPS],
  },
  {
    name: 'conv3dWinograd',
    c: 'conv3d_winograd',
    ret: 'bool',
    doc: 'out = w ⊛ x + bias for a 3×3×3, stride-1, undilated, ungrouped conv3d (bias may be null); false (nothing written) for any other geometry',
    args: [f32('x', 'in'), f32('w', 'in'), f32('bias', 'in', { nullable: true }), f32('out', 'out'), s('conv3d', 'g')],
  },
  {
    name: 'convPlan',
    c: 'conv_plan',
    ret: 'int',
    doc: 'the algorithm (TT_PLAN_*) the conv kernels would use for g in direction TT_CONV_*',
    args: [s('conv', 'g'), s('int', 'direction')],
  },
];
