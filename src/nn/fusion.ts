/**
 * The fusion pass: `nn.fuse(model)` makes a model compute the same outputs in fewer, larger kernels — in the spirit
 * of `torch.ao.quantization.fuse_modules` and `torch.jit.optimize_for_inference`, but without changing the model.
 * Models themselves stay plain (Sequential.forward is a loop, ResNet's blocks are torchvision's eight lines); this
 * file is the one place that knows which chains of layers may run as one kernel. See docs/fusion.md.
 *
 * How it works: a *rule* is registered per module class (`registerFusionRule`): a forward that computes exactly
 * what the class's forward computes, using the fused kernels where the runtime conditions allow and each child's
 * own `forward` where they do not. `fuse` walks the module tree and installs the matching rule on every module whose
 * class has one (`setForwardPlan`); the module tree, parameter names, state dict and `toString()` do not change,
 * and the module's own hooks still run around the call. `unfuse` removes the rules again.
 *
 * What may fuse is decided at every call, because hooks, training mode and grad mode may change at any time:
 * - Conv2d → ReLU (→ MaxPool2d): one convolution with a ReLU epilogue (and the pooling in the same op); in
 *   training too, with its own backward. Identical values and gradients (same kernel, max(0, ·) of the same sum).
 * - Conv2d → BatchNorm2d (→ ReLU | ReLU6 | Hardswish) with gradients off and the BN in eval mode: the BN's affine
 *   is folded into a per-channel scale and shift the convolution applies in its epilogue, followed by the
 *   activation (the unary kernel's formula). Equal up to float rounding (a different order of the same operations;
 *   see docs/fusion.md).
 * - relu(bn(conv(out)) + identity) at the end of a residual block, with gradients off and the BN in eval mode: one
 *   folded convolution that adds the shortcut in its epilogue, before the ReLU (the unfused block's order).
 * - Squeeze-excitation's gate with gradients off (`squeezeExcitationGate`): the global pooling and the two 1×1
 *   convolutions on the 1×1 map call their kernels directly, a ReLU(6) after fc1 in its epilogue. Identical values
 *   (the same kernels, on the same operands, in the same order).
 * A child with forward hooks or pre-hooks, a replaced `forward`, a subclass, or an intermediate output that
 * somebody asked for (IntermediateLayerGetter's return layers) is never folded away: it runs its own forward.
 */
import { isGradEnabled } from '../autograd/grad-mode.js';
import { backend } from '../backend/index.js';
import { convGeometryOf } from '../backend/conv-plan.js';
import { conv2dGeometry, conv2dScaleShift } from '../ops/conv.js';
import { sampleOf, sameSample } from '../ops/conv-pack.js';
import { add } from '../ops/elementwise.js';
import { add_ } from '../ops/inplace.js';
import { shapesEqual } from '../tensor/shape.js';
import type { FloatArray } from '../tensor/dtype.js';
import { recycleStorage } from '../tensor/storage.js';
import { Tensor } from '../tensor/tensor.js';
import { Hardsigmoid, Hardswish, ReLU, ReLU6 } from './activation.js';
import { SqueezeExcitation } from './attention.js';
import { Sequential } from './container.js';
import { Conv2d } from './conv.js';
import { Dropout } from './dropout.js';
import { Flatten, Identity, Linear } from './linear.js';
import { forwardPlanOf, setForwardPlan, type AnyModule, type ForwardPlan } from './module.js';
import { BatchNorm2d } from './normalization.js';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from './pooling.js';

/** The kinds of fused computation, as counted by `fusionCounts`. */
export type FusionKind =
  | 'convBn'
  | 'convBnRelu'
  | 'convBnRelu6'
  | 'convBnHardswish'
  | 'convRelu'
  | 'convReluMaxPool'
  | 'convBnAddRelu'
  | 'squeezeExcitationGate'
  | 'convBnNhwc'
  | 'invertedResidualNhwc'
  | 'bnRelu'
  | 'classifierHead';

const counts: Record<FusionKind, number> = {
  convBn: 0,
  convBnRelu: 0,
  convBnRelu6: 0,
  convBnHardswish: 0,
  convRelu: 0,
  convReluMaxPool: 0,
  convBnAddRelu: 0,
  squeezeExcitationGate: 0,
  convBnNhwc: 0,
  invertedResidualNhwc: 0,
  bnRelu: 0,
  classifierHead: 0,
};

/**
 * How many times each fused computation ran since the last `resetFusionCounts` (process-wide): shows whether a
 * model reaches the fast path, and which pattern a hook kept from fusing.
 */
export function fusionCounts(): Readonly<Record<FusionKind, number>> {
  return { ...counts };
}

/** Counts one fused computation of `kind` that a rule ran through its own kernels call (see `fusionCounts`). */
export function noteFusion(kind: FusionKind): void {
  counts[kind]++;
}

/** Adds `delta` to the counts: the fusions a cached plan ran, counted as its first run counted them. */
export function addFusionCounts(delta: Readonly<Partial<Record<FusionKind, number>>>): void {
  for (const k in delta) counts[k as FusionKind] += delta[k as FusionKind]!;
}

/** Sets every `fusionCounts` entry to 0. */
export function resetFusionCounts(): void {
  for (const k of Object.keys(counts) as FusionKind[]) counts[k] = 0;
}

/** `m` is an instance of `cls` itself, not of a subclass that might compute something else. */
function isExactly(m: object, cls: abstract new (...args: never[]) => object): boolean {
  return Object.getPrototypeOf(m) === cls.prototype;
}

/** `m` is exactly a `cls` and calling its forward runs the class's computation (no hooks, no replaced forward). */
export function isPlain<T extends object>(m: unknown, cls: abstract new (...args: never[]) => T): m is T {
  return (
    m instanceof (cls as unknown as typeof Object) &&
    isExactly(m as object, cls) &&
    (m as unknown as AnyModule).isPlainForward()
  );
}

/** The conv epilogue that computes what `act` (a plain ReLU, ReLU6 or Hardswish) computes; null for any other. */
export function epilogueOf(act: AnyModule): 'relu' | 'relu6' | 'hardswish' | null {
  if (isPlain(act, ReLU)) return 'relu';
  if (isPlain(act, ReLU6)) return 'relu6';
  if (isPlain(act, Hardswish)) return 'hardswish';
  return null;
}

const FOLD_KIND = { relu: 'convBnRelu', relu6: 'convBnRelu6', hardswish: 'convBnHardswish' } as const;

/** Counts one folded conv → bn (→ act) under its kind (convBn, convBnRelu, convBnRelu6, convBnHardswish). */
export function noteFold(activation: 'none' | 'relu' | 'relu6' | 'hardswish'): void {
  counts[activation === 'none' ? 'convBn' : FOLD_KIND[activation]]++;
}

/** Whether conv → bn (→ act) may run as one folded convolution now. */
export function canFoldConvBn(conv: AnyModule, bn: AnyModule, act: AnyModule | null): boolean {
  return (
    !isGradEnabled() &&
    isPlain(conv, Conv2d) &&
    conv.paddingMode === 'zeros' &&
    isPlain(bn, BatchNorm2d) &&
    !bn.training &&
    bn.runningMean !== null &&
    bn.runningVar !== null &&
    (act === null || epilogueOf(act) !== null)
  );
}

/** γ/√(σ² + ε) and β − μ·scale (+ scale·conv bias), per channel, computed in float64, stored in the weight's dtype. */
function computeFoldedAffine(conv: Conv2d, bn: BatchNorm2d): { scale: Tensor; shift: Tensor } {
  const c = bn.numFeatures;
  const scale = Tensor.empty([c], conv.weight.dtype),
    shift = Tensor.empty([c], conv.weight.dtype);
  const mean = bn.runningMean!.dataView(),
    variance = bn.runningVar!.dataView();
  const gamma = bn.weight?.dataView(),
    beta = bn.bias?.dataView(),
    b = conv.bias?.dataView();
  const so = scale.storage,
    ho = shift.storage;
  for (let i = 0; i < c; i++) {
    const s = (gamma ? gamma[i] : 1) / Math.sqrt(variance[i] + bn.eps);
    so[i] = s;
    ho[i] = (beta ? beta[i] : 0) + s * ((b ? b[i] : 0) - mean[i]);
  }
  return { scale, shift };
}

/** A folded affine and the operands it was computed from: the tensors themselves, their versions and samples. */
interface FoldedAffine {
  conv: Conv2d;
  /** bn's running mean, running variance, weight and bias, and the conv's bias (see `affineValid`). */
  sources: (Tensor | null)[];
  /** Per source, its `version` and a sample of its values (`sampleOf`) when the affine was computed. */
  versions: number[];
  samples: (Float64Array | null)[];
  eps: number;
  dtype: string;
  scale: Tensor;
  shift: Tensor;
  /** bn's and conv's structureVersion() when the sources were last read from their slots. */
  bnVersion: number;
  convVersion: number;
}

/** The last folded affine of each BatchNorm2d, so inference does not recompute (and reallocate) it every call. */
const affineCache = new WeakMap<BatchNorm2d, FoldedAffine>();

/**
 * Whether `e` still describes conv and bn: the same tensors, unchanged as the packed weights see a change (their
 * `version`, which every in-place op, optimizer step and loadStateDict bumps, and a sample of their values, which
 * catches a rewrite through `storage`), and the same eps. Reads the sources field by field (no array a call: this
 * runs for every folded layer of every inference). The sources' every bit was compared until the twentieth
 * session: 0.27 ms of a 6.2 ms MobileNetV3-Large forward on one thread, for its 62 batch norms.
 */
function affineValid(e: FoldedAffine, conv: Conv2d, bn: BatchNorm2d): boolean {
  if (e.conv !== conv || e.eps !== bn.eps) return false;
  const s = e.sources;
  // the sources are read from their slots only when a slot of bn or conv was assigned since (each read is a
  // closure and a Map lookup: six a layer cost ~1.5 µs)
  if (bn.structureVersion() !== e.bnVersion || conv.structureVersion() !== e.convVersion) {
    if (e.dtype !== conv.weight.dtype) return false;
    if (
      s[0] !== bn.runningMean ||
      s[1] !== bn.runningVar ||
      s[2] !== bn.weight ||
      s[3] !== bn.bias ||
      s[4] !== conv.bias
    )
      return false;
    e.bnVersion = bn.structureVersion();
    e.convVersion = conv.structureVersion();
  }
  for (let j = 0; j < s.length; j++) {
    const t = s[j];
    if (t === null) continue;
    if (t.version !== e.versions[j] || !sameSample(t.dataView() as FloatArray, e.samples[j]!)) return false;
  }
  return true;
}

/**
 * The folded affine of conv → bn, computed once and reused while the running statistics, the affine parameters,
 * the conv bias and eps stay what they were (`affineValid`, on every call: a few version lookups and sampled values
 * instead of a recomputation with two tensor allocations per layer).
 */
export function foldedAffine(conv: Conv2d, bn: BatchNorm2d): { scale: Tensor; shift: Tensor } {
  const cached = affineCache.get(bn);
  if (cached && affineValid(cached, conv, bn)) return cached;
  const sources = [bn.runningMean, bn.runningVar, bn.weight, bn.bias, conv.bias];
  const { scale, shift } = computeFoldedAffine(conv, bn);
  const entry: FoldedAffine = {
    conv,
    sources,
    versions: sources.map((t) => (t === null ? 0 : t.version)),
    samples: sources.map((t) => (t === null ? null : sampleOf(t.dataView() as FloatArray))),
    eps: bn.eps,
    dtype: conv.weight.dtype,
    scale,
    shift,
    bnVersion: bn.structureVersion(),
    convVersion: conv.structureVersion(),
  };
  affineCache.set(bn, entry);
  return entry;
}

/**
 * act(bn(conv(x))) as one folded convolution when `canFoldConvBn` holds and x is a 4-D batch; null otherwise, for
 * the caller to run the modules (callers that must know whether it folded use this, so the check runs once).
 * `out`, when given, receives the result (conv2dScaleShift's `out`: e.g. the branch's channels of a concatenation).
 */
export function foldedConvBnAct(
  conv: AnyModule,
  bn: AnyModule,
  act: AnyModule | null,
  x: Tensor,
  out?: Tensor,
): Tensor | null {
  if (!canFoldConvBn(conv, bn, act) || x.shape.length !== 4) return null;
  const c = conv as Conv2d;
  const { scale, shift } = foldedAffine(c, bn as BatchNorm2d);
  const activation = act ? epilogueOf(act)! : 'none';
  noteFold(activation);
  return conv2dScaleShift(x, c.weight, scale, shift, {
    stride: c.stride,
    padding: c.padding,
    dilation: c.dilation,
    groups: c.groups,
    activation,
    out,
  });
}

/**
 * relu(bn(conv(x)) + identity), the tail of a residual block, as one folded convolution that adds `identity` in
 * its epilogue, so the shortcut is read once and the output written once; null when conv → bn → relu does not fold
 * now or `identity` is not shaped as the convolution's output (the unfused add would broadcast or throw), for the
 * caller to run the steps.
 */
export function foldedConvBnAddRelu(
  conv: AnyModule,
  bn: AnyModule,
  relu: AnyModule,
  x: Tensor,
  identity: Tensor,
): Tensor | null {
  if (!isPlain(relu, ReLU) || !canFoldConvBn(conv, bn, relu) || x.shape.length !== 4) return null;
  const c = conv as Conv2d;
  const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
  const { g } = conv2dGeometry('foldedConvBnAddRelu', x, c.weight, null, opts);
  if (!shapesEqual(identity.shape, [g.n, g.oc, g.oh, g.ow]) || identity.dtype !== x.dtype) return null;
  const { scale, shift } = foldedAffine(c, bn as BatchNorm2d);
  counts.convBnAddRelu++;
  return conv2dScaleShift(x, c.weight, scale, shift, { ...opts, activation: 'relu', residual: identity });
}

/**
 * act(bn(conv(x))) — folded into one convolution when `canFoldConvBn` holds, else the modules' own forwards.
 * `act` null means no activation (it may be any module when not folded).
 */
export function convBnAct(conv: AnyModule, bn: AnyModule, act: AnyModule | null, x: Tensor): Tensor {
  const folded = foldedConvBnAct(conv, bn, act, x);
  if (folded) return folded;
  const y = bn.forward(conv.forward(x)) as Tensor;
  return act ? (act.forward(y) as Tensor) : y;
}

/**
 * `convBnAct` knowing ownership: when the three fold, an owned `x` is recycled after the convolution read it and
 * the output is owned; otherwise the modules run their own forwards and nothing is owned or recycled.
 */
export function convBnActOwned(
  conv: AnyModule,
  bn: AnyModule,
  act: AnyModule | null,
  x: Tensor,
  xOwned: boolean,
): { y: Tensor; owned: boolean } {
  const folded = foldedConvBnAct(conv, bn, act, x);
  if (folded) {
    if (xOwned) release(x);
    return { y: folded, owned: true };
  }
  const y = bn.forward(conv.forward(x)) as Tensor;
  return { y: act ? (act.forward(y) as Tensor) : y, owned: false };
}

/**
 * The end of an inverted-residual block, `first + second` (the order the block's forward adds in): in place on
 * `block`, the block's output, when the block handed it over (inference: nobody else holds it), else a new tensor.
 * Owned operands are recycled once read; returns the sum and whether it is owned.
 */
export function residualAddOwned(
  block: { y: Tensor; owned: boolean },
  x: Tensor,
  xOwned: boolean,
  blockFirst: boolean,
): { y: Tensor; owned: boolean } {
  const y = block.y;
  if (block.owned && y.isContiguous() && shapesEqual(y.shape, x.shape) && y.dtype === x.dtype) {
    add_(y, x); // y + x: the same sum as x + y (IEEE addition commutes)
    if (xOwned) release(x);
    return { y, owned: true };
  }
  const sum = blockFirst ? add(y, x) : add(x, y);
  if (block.owned) release(y);
  if (xOwned) release(x);
  return { y: sum, owned: !isGradEnabled() };
}

/** Whether `conv` is a plain 1×1, stride-1, unpadded, ungrouped Conv2d from `c` channels holding `dtype` data. */
function isPlainPointwise(conv: AnyModule, c: number, dtype: string): conv is Conv2d {
  if (!isPlain(conv, Conv2d)) return false;
  const ws = conv.weight.shape,
    p = conv.padding,
    b = conv.bias;
  return (
    ws[1] === c &&
    ws[2] === 1 &&
    ws[3] === 1 &&
    conv.groups === 1 &&
    conv.stride[0] === 1 &&
    conv.stride[1] === 1 &&
    conv.dilation[0] === 1 &&
    conv.dilation[1] === 1 &&
    (typeof p === 'string' || (p[0] === 0 && p[1] === 0)) &&
    conv.weight.dtype === dtype &&
    conv.weight.isContiguous() &&
    (b === null || (b.dtype === dtype && b.isContiguous()))
  );
}

/** The geometry of a 1×1 convolution from c to oc channels on n maps of 1×1. */
function pointwiseOnPixel(n: number, c: number, oc: number) {
  return convGeometryOf({ n, c, h: 1, w: 1, oc, kh: 1, kw: 1 });
}

/** out[b, ch] = mean over p of x[b, p, ch] for channels-last x [n, hw, c]: a sum along the pixels, then ÷ hw. */
export function meanOverPixels(x: FloatArray, out: FloatArray, n: number, hw: number, c: number): void {
  backend().reduce('sum', x, out, n, hw, c);
  for (let i = 0; i < n * c; i++) out[i] /= hw;
}

/** `m` is a plain AdaptiveAvgPool2d to 1×1 (global average pooling). */
export function isGlobalAvgPool(m: AnyModule): boolean {
  if (!isPlain(m, AdaptiveAvgPool2d)) return false;
  const size = m.outputSize;
  return size === 1 || (Array.isArray(size) && size[0] === 1 && size[1] === 1);
}

/**
 * Whether `squeezeExcitationGate` computes the gate of `se` (exactly a SqueezeExcitation) on a map of `c` channels
 * holding `dtype` data: a plain global pool and plain pointwise fc1 (c → squeeze) and fc2 (squeeze → c).
 */
export function gateFuses(se: SqueezeExcitation, c: number, dtype: string): boolean {
  return (
    isGlobalAvgPool(se.avgpool) &&
    isPlainPointwise(se.fc1, c, dtype) &&
    isPlainPointwise(se.fc2, se.fc1.weight.shape[0], dtype) &&
    se.fc2.weight.shape[0] === c
  );
}

/**
 * Squeeze-excitation's gate `se.scale(x)` [N, C, 1, 1] in inference, or null when it must run as modules (grad
 * mode on, a subclass, a child with hooks or of another kind, x not a contiguous 4-D batch).
 *
 * What `scale` computes — adaptive average pool to 1×1, fc1, activation, fc2, scale activation — is a few hundred
 * numbers per image, but as modules it is five ops, each validating shapes and allocating tensors: 15 % of a
 * batch-1 MobileNetV3-Large forward (one-thread CPU profile), more than the pooling and GEMVs themselves. Here the
 * pooling and both convolutions call the backend's kernels directly (the ones the modules call, with the same
 * operands, so the values are identical), a ReLU or ReLU6 after fc1 runs in its epilogue (comparisons: bitwise the
 * module's), and the other activations run as their modules on the small tensors. With `channelsLast`, x is
 * [N, H, W, C] (the channels-last MobileNet program, models/fusion-nhwc.ts) and the gate is still [N, C, 1, 1].
 */
export function squeezeExcitationGate(se: AnyModule, x: Tensor, channelsLast = false): Tensor | null {
  if (isGradEnabled() || !isExactly(se, SqueezeExcitation) || x.shape.length !== 4 || !x.isContiguous()) return null;
  const s = se as SqueezeExcitation;
  const [n, c, h, w] = channelsLast ? [x.shape[0], x.shape[3], x.shape[1], x.shape[2]] : x.shape;
  // ReLU and ReLU6 are comparisons, bitwise the same in fc1's epilogue; any other activation (hardswish's epilogue
  // rounds differently from its unary kernel) runs as its module on the small [N, squeeze, 1, 1] tensor
  const act = isPlain(s.activation, ReLU) ? 'relu' : isPlain(s.activation, ReLU6) ? 'relu6' : 'none';
  if (!gateFuses(s, c, x.dtype) || n * c * h * w === 0) return null;
  const sq = s.fc1.weight.shape[0];
  const b = backend();
  const pooled = Tensor.unfilled([n, c, 1, 1], x.dtype),
    hidden = Tensor.unfilled([n, sq, 1, 1], x.dtype),
    gate = Tensor.unfilled([n, c, 1, 1], x.dtype);
  const data = (t: Tensor) => t.dataView() as FloatArray;
  if (channelsLast) meanOverPixels(data(x), data(pooled), n, h * w, c);
  else b.adaptiveAvgPool2d(data(x), data(pooled), { planes: n * c, h, w, oh: 1, ow: 1 });
  const fc1 = s.fc1,
    fc2 = s.fc2;
  b.conv2d(data(pooled), data(fc1.weight), fc1.bias && data(fc1.bias), data(hidden), pointwiseOnPixel(n, c, sq), act);
  const h1 = act === 'none' ? (s.activation.forward(hidden) as Tensor) : hidden;
  if (!(h1 instanceof Tensor) || !shapesEqual(h1.shape, hidden.shape) || h1.dtype !== x.dtype || !h1.isContiguous())
    throw new Error(
      `squeezeExcitationGate: the activation must return a contiguous ${x.dtype} tensor of shape [${hidden.shape.join(', ')}]`,
    );
  b.conv2d(data(h1), data(fc2.weight), fc2.bias && data(fc2.bias), data(gate), pointwiseOnPixel(n, sq, c), 'none');
  counts.squeezeExcitationGate++;
  return s.scaleActivation.forward(gate) as Tensor;
}

// ------------------------------------------------------------------------------------------------------------
// Activation ownership in inference. Without autograd nothing keeps an intermediate activation once the next layer
// has read it, but JavaScript frees it only when the garbage collector runs — and V8 schedules full collections by
// external memory, so a batch-1 MobileNetV2 forward spent ~1/4 of its CPU time in mark-compact collections
// (docs/kernels.md, "Where inference time goes"). Fused forwards therefore track which tensors they *own* (produced
// by a fused step, seen by nobody else) and hand an owned activation's storage back (`recycleStorage`) as soon as
// the step that reads it has run; the next layer's output of that size then reuses the buffer while it is in cache.
// Ownership crosses a module boundary only into and out of modules whose installed rule takes part (`ownership:
// true` in its FusionRule) and that have no hooks, through `ownsInput` and `handBack` below. Never with grad mode
// on: autograd keeps the inputs of every op for the backward pass.
// ------------------------------------------------------------------------------------------------------------

/** The tensor the calling chain hands over to the module it is calling (null when it hands over nothing). */
let offered: Tensor | null = null;
/** The tensor the rule that just returned handed back as owned (null when none). */
let handed: Tensor | null = null;

/**
 * Inside a rule with `ownership: true`: whether the caller handed `x` over, so the rule may recycle it once it has
 * read it for the last time (or update it in place). Call once, at the start of the rule's forward.
 */
export function ownsInput(x: unknown): boolean {
  const owns = offered !== null && offered === x && !isGradEnabled();
  offered = null;
  return owns;
}

/** Inside a rule with `ownership: true`: returns `y`, telling the caller whether it is owned (fresh, held by none). */
export function handBack<T>(y: T, owned: boolean): T {
  handed = owned && y instanceof Tensor && !isGradEnabled() ? y : null;
  return y;
}

/** Inside a fused forward: hands the owned `t`'s storage back for reuse (only storage from allocateUnfilled is taken; see tensor/storage.ts). */
export function release(t: Tensor): void {
  recycleStorage(t.storage);
}

/** Whether `m`'s installed fusion rule takes part in ownership hand-over and nothing else (a hook) runs around it. */
function passesOwnership(m: AnyModule): boolean {
  const plan = forwardPlanOf(m);
  return plan !== null && installed.get(plan)?.ownership === true && m.isPlainForward();
}

/**
 * Leaf modules whose forward, with grad mode off, returns a tensor in new storage (or its input, in place) and keeps
 * no reference to its input: an owned input may be recycled after they ran.
 */
function isPureLeaf(m: AnyModule): boolean {
  return (
    isPlain(m, ReLU) ||
    isPlain(m, ReLU6) ||
    isPlain(m, Hardswish) ||
    isPlain(m, Hardsigmoid) ||
    isPlain(m, AdaptiveAvgPool2d) ||
    isPlain(m, AvgPool2d) ||
    (isPlain(m, MaxPool2d) && !m.returnIndices) ||
    // the classifier heads: a pooled map's last readers
    isPlain(m, Linear) ||
    isPlain(m, Dropout) ||
    isPlain(m, Flatten) ||
    isPlain(m, Identity)
  );
}

/** An `observed` that observes nothing. */
const never = (): boolean => false;

/**
 * `m.forward(x)`, handing `x` over when `xOwned` and `m` takes part; returns the output and whether it is owned.
 * With grad mode on this is exactly `m.forward(x)` (nothing is owned).
 */
export function forwardOwned(m: AnyModule, x: unknown, xOwned: boolean): { y: unknown; owned: boolean } {
  if (isGradEnabled() || !(x instanceof Tensor)) return { y: m.forward(x), owned: false };
  if (passesOwnership(m)) {
    offered = xOwned ? x : null;
    handed = null;
    const y = m.forward(x);
    const owned = handed !== null && handed === y && y !== x;
    offered = handed = null;
    return { y, owned };
  }
  if (isPureLeaf(m)) {
    const y = m.forward(x);
    if (!(y instanceof Tensor)) return { y, owned: false };
    if (y.storage === x.storage) return { y, owned: xOwned };
    if (xOwned) release(x);
    return { y, owned: true };
  }
  return { y: m.forward(x), owned: false };
}

/**
 * Feeds `x` through `modules` in order, as a Sequential does, fusing conv → BN (→ ReLU) and conv → ReLU
 * (→ MaxPool2d) runs. `observed(i)` says the output of module i is needed (it is then never fused away; the
 * module may still end a fused run); `emit(i, y, fresh)`, if given, receives the output of every module whose
 * output was computed (the last of each fused run, and every module run on its own), and whether the chain could
 * have handed it over — fresh storage nobody else holds (see "Activation ownership"). An observed output is never
 * recycled by the chain; the others are, once the next step has read them, so `emit` may keep observed ones only.
 */
export function runChain(
  modules: readonly AnyModule[],
  x: unknown,
  observed: ((i: number) => boolean) | null = null,
  emit: ((i: number, y: unknown, fresh: boolean) => void) | null = null,
): unknown {
  return chainOwned(modules, x, false, observed, emit).y;
}

/**
 * `runChain`, knowing whether the chain owns `x` (see "Activation ownership" above): an owned activation is
 * recycled once the next step has read it; returns the output and whether the chain owns it.
 */
function chainOwned(
  modules: readonly AnyModule[],
  x: unknown,
  xOwned: boolean,
  observed: ((i: number) => boolean) | null,
  emit: ((i: number, y: unknown, fresh: boolean) => void) | null,
): { y: unknown; owned: boolean } {
  let y = x;
  // an observed output leaves the chain (emit may keep it): never owned afterwards
  let owned = xOwned && !isGradEnabled();
  // no closure made per call: under tsx every named arrow is also a defineProperty call (esbuild's keepNames)
  const seen = observed ?? never;
  for (let i = 0; i < modules.length; i++) {
    const m = modules[i],
      next = modules[i + 1],
      after = modules[i + 2];
    if (next !== undefined && y instanceof Tensor && isPlain(m, Conv2d) && !seen(i)) {
      const withAct = after !== undefined && !seen(i + 1) && epilogueOf(after) !== null;
      // Conv2d → BatchNorm2d (→ ReLU | ReLU6 | Hardswish) in inference: one convolution with the folded affine
      // (and the activation)
      const folded = foldedConvBnAct(m, next, withAct ? after : null, y);
      if (folded) {
        if (owned) release(y);
        i += withAct ? 2 : 1;
        y = folded;
        owned = !seen(i);
        emit?.(i, y, true);
        continue;
      }
      // Conv2d → ReLU (→ MaxPool2d): one convolution with a ReLU epilogue, and the pooling in the same op, which
      // never keeps or revisits the unpooled activation
      if (isPlain(next, ReLU)) {
        const input: Tensor = y;
        if (
          after !== undefined &&
          !seen(i + 1) &&
          isPlain(after, MaxPool2d) &&
          !after.returnIndices &&
          y.shape.length === 4
        ) {
          y = m.convolveReluMaxPool(y, after);
          counts.convReluMaxPool++;
          i += 2;
        } else {
          y = m.convolve(y, 'relu');
          counts.convRelu++;
          i += 1;
        }
        if (owned) release(input);
        emit?.(i, y, !isGradEnabled());
        owned = !seen(i) && !isGradEnabled();
        continue;
      }
    }
    // BatchNorm2d → ReLU while BN normalises by batch statistics (training): one pass writes relu(bn(x)), and
    // the backward masks the gradient by the output instead of keeping a separate ReLU output
    if (
      next !== undefined &&
      y instanceof Tensor &&
      isPlain(m, BatchNorm2d) &&
      m.training &&
      isPlain(next, ReLU) &&
      !seen(i)
    ) {
      const input: Tensor = y;
      y = m.normalize(y, 'relu');
      counts.bnRelu++;
      i += 1;
      if (owned) release(input);
      emit?.(i, y, !isGradEnabled());
      owned = !seen(i) && !isGradEnabled();
      continue;
    }
    const r = forwardOwned(m, y, owned);
    y = r.y;
    emit?.(i, y, r.owned);
    owned = r.owned && !seen(i);
  }
  return { y, owned };
}

/**
 * How a module class runs fused: `forward(module, ...args)` must return exactly what the class's forward returns
 * (see the file comment for what "exactly" allows), calling each child's `forward` wherever it does not fuse.
 */
export interface FusionRule<M extends AnyModule = AnyModule> {
  forward(module: M, ...args: unknown[]): unknown;
  /**
   * Methods besides `forward` that the rule re-implements (ResNet's `features`): a subclass that overrides any of
   * them, or `forward`, computes something else, so the rule does not apply to it.
   */
  methods?: readonly string[];
  /**
   * The rule takes part in activation ownership hand-over in inference: it calls `ownsInput(x)` once on entry and
   * returns through `handBack` (see "Activation ownership" in nn/fusion.ts).
   */
  ownership?: boolean;
}

type ModuleClass<M> = abstract new (...args: never[]) => M;

const rules = new Map<ModuleClass<AnyModule>, FusionRule>();

/**
 * Registers how modules of class `cls` run under `fuse` (the torch.ao `fuse_modules` analogue of a custom fusion
 * pattern). The rule also applies to subclasses that override neither `forward` nor `rule.methods`. Registering a
 * class again replaces its rule (for models already fused, on the next `fuse`).
 */
export function registerFusionRule<M extends AnyModule>(
  cls: abstract new (...args: never[]) => M,
  rule: FusionRule<M>,
): void {
  rules.set(cls as ModuleClass<AnyModule>, rule as FusionRule);
}

/** The rule for `m`: that of its nearest registered ancestor class, unless `m`'s class overrides what it implements. */
function ruleFor(m: AnyModule): FusionRule | null {
  const own = Object.getPrototypeOf(m) as Record<string, unknown>;
  for (
    let proto = own;
    proto !== null && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto) as Record<string, unknown>
  ) {
    const rule = rules.get(proto.constructor as ModuleClass<AnyModule>);
    if (!rule) continue;
    const names = ['forward', ...(rule.methods ?? [])];
    return names.every((n) => own[n] === proto[n]) ? rule : null;
  }
  return null;
}

/** Plans installed by `fuse`, so `unfuse` and `isFused` recognise them (and leave any other plan alone). */
const installed = new WeakMap<ForwardPlan, FusionRule>();

/** Options of `fuse`. */
export interface FuseOptions {
  /**
   * Freeze the weights, as `torch.jit.freeze` does for serving: the channels-last programs (MobileNets, ResNets)
   * read a model's weights when they are made for an input size and backend, and no longer check on every call
   * whether a weight, a batch-norm statistic or eps changed (at batch 1 those checks read ~300 cold arrays, about
   * 1 % of a MobileNet forward). Weights changed afterwards may go unseen until `fuse(model)` runs without it.
   * Default false.
   */
  freeze?: boolean;
}

/** Modules fused with `freeze` (`isFrozen`). */
const frozen = new WeakSet<AnyModule>();

/** Whether `module` was last fused with `freeze: true` (see `FuseOptions.freeze`). */
export function isFrozen(module: AnyModule): boolean {
  return frozen.has(module);
}

/**
 * Fuses `model` in place and returns it: every submodule (and the model) whose class has a fusion rule — nn's
 * Sequential, and torchvision's ResNet blocks, ResNet and IntermediateLayerGetter (registered by `tt.models`) —
 * runs the rule from now on. Outputs are those of the unfused model (see the file comment and docs/fusion.md),
 * in training and in evaluation; hooks observe the same calls, values and order. Modules added to the model later
 * are not fused until `fuse` runs again; idempotent. Undo with `unfuse`.
 */
export function fuse<M extends AnyModule>(model: M, options: FuseOptions = {}): M {
  for (const [, m] of model.namedModules()) {
    if (options.freeze) frozen.add(m);
    else frozen.delete(m);
    const current = forwardPlanOf(m);
    if (current !== null && !installed.has(current)) continue; // somebody else's plan: leave it
    const rule = ruleFor(m);
    if (!rule) {
      if (current !== null) setForwardPlan(m, null);
      continue;
    }
    const plan: ForwardPlan = (...args) => rule.forward(m, ...args);
    installed.set(plan, rule);
    setForwardPlan(m, plan);
  }
  return model;
}

/**
 * `fuse(model)` for a while: fuses the modules that are not fused yet and returns a function that unfuses exactly
 * those (what was fused before stays fused). `fit` runs its epochs inside one.
 */
export function fuseTemporarily(model: AnyModule): () => void {
  const before = new Set(model.modules().filter(isFused));
  fuse(model);
  const added = model.modules().filter((m) => isFused(m) && !before.has(m));
  return () => {
    for (const m of added) if (isFused(m)) setForwardPlan(m, null);
  };
}

/** Removes what `fuse` installed on `model` and its submodules, so each runs its class's forward again. */
export function unfuse<M extends AnyModule>(model: M): M {
  for (const [, m] of model.namedModules()) {
    frozen.delete(m);
    const current = forwardPlanOf(m);
    if (current !== null && installed.has(current)) setForwardPlan(m, null);
  }
  return model;
}

/** Whether `fuse` installed a fusion rule on `module` itself (not looking at its submodules). */
export function isFused(module: AnyModule): boolean {
  const current = forwardPlanOf(module);
  return current !== null && installed.has(current);
}

registerFusionRule(Sequential, {
  ownership: true,
  forward(seq, x) {
    const r = chainOwned([...seq], x, ownsInput(x), null, null);
    return handBack(r.y, r.owned);
  },
});
