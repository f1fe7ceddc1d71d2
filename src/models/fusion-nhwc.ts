/**
 * The channels-last programs of the MobileNets and the ResNets (issue 20: inference ahead of ONNX Runtime).
 *
 * MobileNets. A fused MobileNetV2 or
 * V3 in inference runs its stem from the NCHW image straight into [N, H, W, C] (`Backend.conv2dNchwToNhwc`), runs
 * every inverted residual block on the backend's channels-last kernels, and pools the last map straight from that layout. Nothing
 * transposes back: the head reads the pooled [N, C] vector. A block is one `Backend.invertedResidualNhwc` call:
 * expansion, depthwise and projection over bands of output rows whose expanded rows stay in cache (below as many
 * images as threads on maps of 14² and less: three layers inside the call, each split evenly; pointwise
 * convolutions as GEMMs whose rows are pixels, depthwise ones channel vector by channel vector, each with its folded
 * batch norm, activation and residual in the epilogue; native/src/kernels/conv_nhwc.inc.c). A block with a
 * squeeze-excitation gate stops after the depthwise layer; the gate scales that map and the projection runs on
 * `Backend.conv2dNhwc`, as does the closing 1×1. On a backend with `Backend.nhwcProgram` (the native builds) the
 * whole program — stem, blocks, closing 1×1, pooling — is one call to those same kernels (`wholeProgram`).
 *
 * Measured one thread on AVX-512 (Zen 5), hot, ms NCHW → NHWC: MobileNetV2's 1×1 96→576 at 14² 0.19 → 0.10,
 * 160→960 at 7² 0.13 → 0.08, depthwise 96 channels 3×3/2 at 112² 0.42 → 0.15, 960 channels at 7² 0.08 → 0.03
 * (docs/kernels.md "Channels-last inference kernels").
 *
 * ResNets. A fused ResNet (BasicBlock or Bottleneck stages of one group) runs its stem from the NCHW image into
 * channels-last the same way, max-pools there (`Backend.maxPool2dNhwc`), and runs every convolution of its blocks on
 * `Backend.conv2dNhwc` with the folded batch norm, the shortcut (its input, or the downsample convolution's output)
 * and the ReLU in the last convolution's epilogue: 1×1 layers as GEMMs whose rows are pixels, 3×3 layers with tiles
 * enough as Winograd (the input transform reads pixels' channel vectors, the output transform writes them), every
 * other one — strided, 7×7 maps at batch 1, the strided 1×1 shortcuts — as an implicit GEMM over
 * the pixels' channels. Measured on Zen 5 (AVX-512), ResNet-50 batch 1: 55.5 → 48.4 ms on one thread, 39.9 → 36.1
 * on two (bench/README.md "Nineteenth session"). With `Backend.nhwcProgram` the stem, pooling, every block and a
 * Linear fc are one call too, each block's shortcut held in a slot of the program while its convolutions run
 * (`walkResNet`).
 *
 * The programs are built from the model's modules (and kept while the module tree stays as it was:
 * `cachedProgram`), and only when every block is what torchvision builds
 * (exact classes, no hooks, conv → bn (→ act) foldable, the depthwise and pointwise geometries the kernels serve);
 * anything else — a hook, a subclass, grad mode on, a backend without the kernels — returns null and the model
 * runs its NCHW fused forward. It computes what the modules compute: the same folded affine and epilogue order as
 * the NCHW fusion, sums in another order (within float32 rounding of the unfused model; test/fusion-nhwc.test.ts).
 */
import { convPlanOf } from '../backend/conv-plan.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import { backend } from '../backend/index.js';
import type {
  Backend,
  Conv2dGeometry,
  NhwcGate,
  NhwcProgram,
  NhwcProgramBlock,
  NhwcProgramConv,
  NhwcProgramLinear,
  NhwcProgramPool,
  NhwcProgramResidual,
  NhwcStage,
  PackedConv2dWeights,
  Pool2dGeometry,
} from '../backend/types.js';
import { Hardsigmoid, Hardswish, ReLU, ReLU6 } from '../nn/activation.js';
import { SqueezeExcitation } from '../nn/attention.js';
import { Sequential } from '../nn/container.js';
import { Conv2d } from '../nn/conv.js';
import { Dropout } from '../nn/dropout.js';
import { Linear } from '../nn/linear.js';
import {
  canFoldConvBn,
  epilogueOf,
  addFusionCounts,
  foldedAffine,
  forwardOwned,
  fusionCounts,
  gateFuses,
  isGlobalAvgPool,
  isPlain,
  meanOverPixels,
  noteFold,
  noteFusion,
  release,
  squeezeExcitationGate,
  type FusionKind,
} from '../nn/fusion.js';
import { structureEpoch, type AnyModule } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { MaxPool2d } from '../nn/pooling.js';
import { derivedFromWeight, sameValue } from '../ops/conv-pack.js';
import { mul_ } from '../ops/inplace.js';
import { pool2dOf, poolNd } from '../ops/pool.js';
import type { FloatArray } from '../tensor/dtype.js';
import { Tensor, versionEpoch } from '../tensor/tensor.js';
import { Conv2dNormActivation } from './layers.js';
import { InvertedResidual } from './mobilenetv2.js';
import { InvertedResidualV3 } from './mobilenetv3.js';
import { BasicBlock, Bottleneck, type ResNet } from './resnet.js';

/** conv → bn (→ act) of the program, folded (act a plain ReLU, ReLU6 or Hardswish, or none). */
interface ConvStep {
  kind: 'conv';
  conv: Conv2d;
  bn: BatchNorm2d;
  act: AnyModule | null;
  /** The stage stageOf last made for this step, and what it was made from. */
  memo?: StageMemo;
  /** The geometry stepGeometry last made for this step (its input map is part of it). */
  geometry?: Conv2dGeometry;
}
/**
 * A step's stage and the state it was made in: the backend, the input map, eps, `versionEpoch()`, and the first
 * and last value of each source — the weight, the batch norm's four vectors and the conv bias (`sources`; `ends`
 * holds their values at 2i and 2i + 1).
 */
interface StageMemo {
  backend: Backend;
  n: number;
  h: number;
  w: number;
  c: number;
  eps: number;
  epoch: number;
  sources: FloatArray[];
  ends: Float64Array;
  stage: NhwcStage;
}
/** A squeeze-excitation gate applied in place to the block's expanded map. */
interface GateStep {
  kind: 'se';
  se: SqueezeExcitation;
}
/** An inverted-residual block: [expand 1×1] → depthwise → [squeeze-excitation gate] → project 1×1 (+ its input). */
interface Block {
  kind: 'block';
  expand: ConvStep | null;
  depthwise: ConvStep;
  gate: SqueezeExcitation | null;
  /** The gate as `invertedResidualNhwc` takes it, or null (no gate, or one the kernel does not serve): made with
   * the program, as its tensors are the ones the program was built from (views of their storage, which an
   * in-place write changes and a replaced parameter — a rebuild — does not). */
  native: NhwcGate | null;
  project: ConvStep;
  /** The block adds its input to the projection's output. */
  residual: boolean;
}
/** What a channels-last program (a MobileNet's or a ResNet's) keeps of its last `Backend.nhwcProgram` call. */
interface WholeCache {
  /** The first convolution on the NCHW image, its output channels-last. */
  stem: ConvStep;
  /** The program as `Backend.nhwcProgram` last took it (`wholeProgram`). */
  whole?: NhwcProgram;
  /** When `whole` was last made or confirmed, step by step (`wholeProgram`'s fast path). */
  wholeCheck?: WholeCheck;
  /**
   * The head programHead last made of `classifier`, at structure epoch `epoch`: what it reads (the modules, their
   * classes, hooks and modes, the weight tensors, each an immutable view of its storage) changes only with the
   * module tree, so while the epoch holds it is the answer (the walk read ~10 cold objects: 25–35 µs a forward).
   */
  headCheck?: { classifier: AnyModule; epoch: number; head: readonly NhwcProgramLinear[] | undefined };
}

/** A MobileNet's features as the channels-last program runs them. */
export interface ChannelsLastProgram extends WholeCache {
  family: 'mobilenet';
  /** The first convolution (a dense strided 3×3 on the NCHW image), its output channels-last. */
  stem: ConvStep;
  /** The inverted-residual blocks, and the closing pointwise convolution. */
  blocks: (Block | ConvStep)[];
}

/**
 * What made `whole` the program for the next call too, as wholeProgram last confirmed it step by step: the tensor
 * version epoch, the backend and the input map (from which every step's map follows), and what of each stage's memo
 * no epoch covers — eps and the sources' first and last values — to be checked a call; with the fusions the steps
 * counted. (A step's memo may since have been remade for another map: the program's stages stay valid while the
 * weights they came from are unchanged.)
 */
interface WholeCheck {
  epoch: number;
  backend: Backend;
  n: number;
  h: number;
  w: number;
  c: number;
  /** Each step's batch norm and the eps its stage was folded with. */
  bns: BatchNorm2d[];
  eps: Float64Array;
  /** Every stage's sources, one list, and their first and last values (the memos' `ends`, in the same order). */
  sources: FloatArray[];
  ends: Float64Array;
  counts: Partial<Record<FusionKind, number>>;
}

/** Whether the weights of ck's stages are as they were: each eps, and each source's first and last values (as
 * flat lists: walking the memos read twice as many cold objects). */
function stagesHold(ck: WholeCheck): boolean {
  const { bns, eps } = ck;
  for (let i = 0; i < bns.length; i++) if (bns[i].eps !== eps[i]) return false;
  return endsHold(ck.sources, ck.ends);
}

/**
 * A program as built for a module tree, and the state of that tree it was built from: every module in it (the root
 * too) with its structure version, whether its forward was plain and its training flag. Building checks the class,
 * hooks and foldability of every part (~0.3 ms a MobileNetV2 forward, one thread); while none of those snapshots
 * changes — no part registered, assigned or removed anywhere in the tree, no hook added or removed, no forward
 * replaced, no train()/eval() — and grad mode is off, the same program serves the next call. The values (weights,
 * batch-norm statistics) are not part of it: every call reads and checks them (`stageOf`).
 */
interface CachedProgram {
  backend: Backend;
  program: object;
  modules: AnyModule[];
  versions: number[];
  plain: boolean[];
  training: boolean[];
  /** `structureEpoch()` when the snapshot last held: while no module anywhere changed since, it still holds. */
  epoch: number;
}

const programs = new WeakMap<AnyModule, CachedProgram>();

function unchanged(c: CachedProgram): boolean {
  const now = structureEpoch();
  if (c.epoch === now) return true;
  const { modules, versions, plain, training } = c;
  for (let i = 0; i < modules.length; i++) {
    const m = modules[i];
    if (m.structureVersion() !== versions[i] || m.training !== training[i] || m.isPlainForward() !== plain[i])
      return false;
  }
  c.epoch = now; // a change elsewhere (another model, a module outside this tree)
  return true;
}

/** `build(root)`, or the program it built for root before if nothing it depends on has changed since. */
function cachedProgram<R extends AnyModule, P extends object>(root: R, build: (root: R) => P | null): P | null {
  const b = backend();
  const hit = programs.get(root);
  if (hit !== undefined && hit.backend === b && !isGradEnabled() && unchanged(hit)) return hit.program as P;
  const program = build(root);
  if (program === null) {
    programs.delete(root);
    return null;
  }
  const epoch = structureEpoch();
  const modules = root.modules();
  programs.set(root, {
    epoch,
    backend: b,
    program,
    modules,
    versions: modules.map((m) => m.structureVersion()),
    plain: modules.map((m) => m.isPlainForward()),
    training: modules.map((m) => m.training),
  });
  return program;
}

/** The (conv, bn, act) of a Conv2dNormActivation, or of the trailing conv → bn pair of a MobileNetV2 block. */
function convStep(conv: AnyModule, bn: AnyModule, act: AnyModule | null): ConvStep | null {
  if (!canFoldConvBn(conv, bn, act)) return null;
  return { kind: 'conv', conv: conv as Conv2d, bn: bn as BatchNorm2d, act };
}

function cnaStep(m: AnyModule): ConvStep | null {
  if (!isPlain(m, Conv2dNormActivation)) return null;
  if (m.length === 2) return convStep(m.at(0), m.at(1), null);
  if (m.length === 3) return convStep(m.at(0), m.at(1), m.at(2));
  return null;
}

/** A one-group float32 convolution with numeric zero padding: what conv2dNhwc's dense and pointwise kernels serve. */
function servedDense(conv: Conv2d): boolean {
  return conv.groups === 1 && typeof conv.padding !== 'string' && conv.weight.dtype === 'float32';
}

/**
 * Whether the channels-last kernels serve `conv` as an inverted-residual block's stage: a zero-padded float32
 * pointwise or depthwise convolution.
 */
function servedChannelsLast(conv: Conv2d): boolean {
  const [oc, cg, kh, kw] = conv.weight.shape;
  if (typeof conv.padding === 'string' || conv.weight.dtype !== 'float32') return false;
  const pointwise =
    conv.groups === 1 &&
    kh === 1 &&
    kw === 1 &&
    conv.stride[0] === 1 &&
    conv.stride[1] === 1 &&
    conv.padding[0] === 0 &&
    conv.padding[1] === 0;
  const depthwise = cg === 1 && conv.groups === oc && conv.groups > 1;
  return pointwise || depthwise;
}

/**
 * The modules a Sequential's forward runs, in order (`children()` would first look for modules assigned to plain
 * fields — an Object.keys and a descriptor per property, on every call of every block).
 */
function itemsOf(seq: Sequential): AnyModule[] {
  const out: AnyModule[] = [];
  for (let i = 0; i < seq.length; i++) out.push(seq.at(i));
  return out;
}

const isPointwise = (st: ConvStep | GateStep | undefined): st is ConvStep =>
  st?.kind === 'conv' && st.conv.groups === 1;

/**
 * One inverted-residual block from its body's children (V2: `conv`, V3: `block`) — [expand] → depthwise → [gate]
 * → project, each convolution served channels-last — or null.
 */
function invertedResidual(children: AnyModule[], residual: boolean): Block | null {
  const steps: (ConvStep | GateStep)[] = [];
  for (let i = 0; i < children.length; i++) {
    const m = children[i];
    if (m instanceof Conv2d && i + 1 < children.length) {
      const st = convStep(m, children[++i], null);
      if (!st) return null;
      steps.push(st);
    } else if (isPlain(m, SqueezeExcitation)) {
      // the gate must take squeezeExcitationGate's shortcut, which reads the channels-last map (a hook on its pool
      // or fcs must see NCHW operands: then the whole model runs NCHW)
      const prev = steps[steps.length - 1];
      if (prev?.kind !== 'conv' || !gateFuses(m, prev.conv.weight.shape[0], 'float32')) return null;
      steps.push({ kind: 'se', se: m });
    } else {
      const st = cnaStep(m);
      if (!st) return null;
      steps.push(st);
    }
  }
  for (const st of steps) if (st.kind === 'conv' && !servedChannelsLast(st.conv)) return null;
  const expand = isPointwise(steps[0]) ? (steps.shift() as ConvStep) : null;
  const depthwise = steps.shift();
  const gate = steps[0]?.kind === 'se' ? (steps.shift() as GateStep) : null;
  const project = steps.shift();
  if (depthwise?.kind !== 'conv' || isPointwise(depthwise) || !isPointwise(project) || steps.length > 0) return null;
  const se = gate?.se ?? null;
  return { kind: 'block', expand, depthwise, gate: se, native: se && nativeGate(se), project, residual };
}

/**
 * The program of a MobileNetV2/V3 `features` Sequential — a Conv2dNormActivation stem, inverted residual blocks,
 * a closing pointwise Conv2dNormActivation — or null when any part is not what the kernels serve (see the module
 * comment) or the backend has no channels-last kernels.
 */
export function channelsLastProgram(features: AnyModule): ChannelsLastProgram | null {
  return cachedProgram(features, buildChannelsLastProgram);
}

/** Whether the active backend has every channels-last kernel `names` lists (native and wasm builds do). */
function hasKernels(names: readonly (keyof Backend)[]): boolean {
  const b = backend();
  return names.every((k) => b[k] !== undefined);
}

function buildChannelsLastProgram(features: AnyModule): ChannelsLastProgram | null {
  if (!hasKernels(['conv2dNhwc', 'packConv2dNhwc', 'invertedResidualNhwc', 'conv2dNchwToNhwc'])) return null;
  if (!isPlain(features, Sequential)) return null;
  const seq = features as Sequential;
  if (seq.length < 2) return null;
  const stem = cnaStep(seq.at(0));
  // the stem runs on conv2dNchwToNhwc: one group, numeric padding
  if (!stem || !servedDense(stem.conv)) return null;
  const blocks: (Block | ConvStep)[] = [];
  for (let i = 1; i < seq.length; i++) {
    const m = seq.at(i);
    let body: AnyModule | null = null,
      residual = false;
    if (isPlain(m, InvertedResidual)) {
      body = (m as InvertedResidual).conv;
      residual = (m as InvertedResidual).useResConnect;
    } else if (isPlain(m, InvertedResidualV3)) {
      body = (m as InvertedResidualV3).block;
      residual = (m as InvertedResidualV3).useResConnect;
    }
    if (body !== null) {
      if (!isPlain(body, Sequential)) return null;
      const block = invertedResidual(itemsOf(body as Sequential), residual);
      if (!block) return null;
      blocks.push(block);
      continue;
    }
    const st = cnaStep(m);
    if (!st || !servedChannelsLast(st.conv)) return null;
    blocks.push(st);
  }
  return { family: 'mobilenet', stem, blocks };
}

const data = (t: Tensor) => t.dataView() as FloatArray;

/** Pack keys by backend and kernel: made once (a template string a call is an allocation and a fresh hash). */
const packKeys = new WeakMap<Backend, Map<number, string>>();

function packKey(b: Backend, g: Conv2dGeometry, winograd: boolean): string {
  let keys = packKeys.get(b);
  if (!keys) packKeys.set(b, (keys = new Map()));
  const id = winograd ? -1 : g.kh * 65536 + g.kw;
  let key = keys.get(id);
  if (key === undefined) keys.set(id, (key = winograd ? `nhwc-winograd:${b.name}` : `nhwc:${b.name}:${g.kh}x${g.kw}`));
  return key;
}

/**
 * The packed weights of a step for this backend (made once per weight tensor, backend and layout, remade when they
 * change): a 3×3 layer's are Winograd-transformed where the planner runs it so (its map and batch decide), kept
 * apart from the direct layout the same weights take at another size.
 */
function packedOf(conv: Conv2d, g: Conv2dGeometry): PackedConv2dWeights {
  const b = backend();
  const key = packKey(
    b,
    g,
    g.kh === 3 && g.kw === 3 && g.groups === 1 && convPlanOf(b, g, 'forward-nhwc') === 'winograd',
  );
  // (an anonymous arrow: a named closure made on every call costs a defineProperty under tsx's keepNames)
  return derivedFromWeight(conv.weight, key, () => packNhwc(conv, g)) ?? packNhwc(conv, g);
}

function packNhwc(conv: Conv2d, g: Conv2dGeometry): PackedConv2dWeights {
  const b = backend();
  const p = b.packConv2dNhwc!(data(conv.weight.contiguous()), g);
  if (!p)
    throw new Error(
      `channels-last program: ${b.name} does not serve the convolution of ${conv.weight.shape.join('×')} weights`,
    );
  return p;
}

/**
 * The geometry of `conv` on a channels-last [n, h, w, c] map. Computed here rather than by conv2dGeometry on an
 * NCHW view: its operand checks and tuple normalisation cost ~0.4 ms of MobileNetV2's 7.3 ms a forward (one
 * thread, 52 layers), and the program's layers are already known to be served (servedChannelsLast) — only the
 * map's channels and size remain to check. A plain literal: built with object spreads it cost another ~0.5 ms.
 */
function geometryOf(conv: Conv2d, n: number, h: number, w: number, c: number): Conv2dGeometry {
  const [oc, cg, kh, kw] = conv.weight.shape;
  const [sH, sW] = conv.stride,
    [pH, pW] = conv.padding as [number, number],
    [dH, dW] = conv.dilation;
  const oh = Math.floor((h + 2 * pH - dH * (kh - 1) - 1) / sH) + 1;
  const ow = Math.floor((w + 2 * pW - dW * (kw - 1) - 1) / sW) + 1;
  if (oh <= 0 || ow <= 0 || cg * conv.groups !== c)
    throw new Error(
      `channels-last program: a ${n}×${h}×${w}×${c} map does not fit the convolution of ${conv.weight.shape.join('×')} weights (stride ${sH}, padding ${pH}, dilation ${dH})`,
    );
  return {
    n,
    c,
    h,
    w,
    oc,
    kh,
    kw,
    oh,
    ow,
    strideH: sH,
    strideW: sW,
    padH: pH,
    padW: pW,
    dilationH: dH,
    dilationW: dW,
    groups: conv.groups,
  };
}

/**
 * st's geometry on an n×h×w×c map: the last one made while the map is the same. The convolution's shape, stride,
 * padding, dilation and groups cannot change while the program stands (they are read-only, and a replaced weight
 * rebuilds it); the module's slot getters cost ~1 µs a layer.
 */
function stepGeometry(st: ConvStep, n: number, h: number, w: number, c: number): Conv2dGeometry {
  const g = st.geometry;
  if (g !== undefined && onMap(g, n, h, w, c)) return g;
  return (st.geometry = geometryOf(st.conv, n, h, w, c));
}

/** Whether what was made for the input map of `made` (a geometry, a stage memo) was made for an n×h×w×c map. */
function onMap(
  made: { n: number; h: number; w: number; c: number },
  n: number,
  h: number,
  w: number,
  c: number,
): boolean {
  return made.n === n && made.h === h && made.w === w && made.c === c;
}

/**
 * A step's folded convolution as the kernels take it: packed weights, scale, bias and epilogue — counted as the NCHW
 * fusion counts it (a ReLU after a residual add as convBnAddRelu, as the residual blocks' tails).
 */
function stageOf(st: ConvStep, g: Conv2dGeometry, residual = false): NhwcStage {
  const memo = st.memo;
  const stage = memo !== undefined && memoHolds(memo, st, g) ? memo.stage : makeStage(st, g);
  if (residual && stage.epilogue === 'relu') noteFusion('convBnAddRelu');
  else noteFold(stage.epilogue);
  noteFusion('convBnNhwc');
  return stage;
}

/**
 * Whether `memo` is still `st`'s stage on g's input: the same backend, map and eps, no tensor version changed
 * anywhere since (`versionEpoch`: in-place ops, optimizer steps, loadStateDict), and every source's first and last
 * value as they were (a write through `storage` bumps no version). Slot assignments and mode changes rebuild the
 * program, steps and all (cachedProgram). Checking each stage's packed weights and folded affine as packedOf and
 * foldedAffine do — a Map lookup, versions and 32 sampled values per tensor — cost 0.35–0.55 ms of a 4 ms
 * MobileNet forward on two threads: between two forwards the activations push all of it out of cache.
 */
function memoHolds(memo: StageMemo, st: ConvStep, g: Conv2dGeometry): boolean {
  return (
    memo.backend === backend() &&
    onMap(memo, g.n, g.h, g.w, g.c) &&
    (frozenRun || (memo.epoch === versionEpoch() && memo.eps === st.bn.eps && endsHold(memo.sources, memo.ends)))
  );
}

/**
 * Whether the program running now belongs to a model fused with `freeze` (nn/fusion.ts `FuseOptions`): its stages
 * hold for their map and backend without checking their weights. Set by runChannelsLast and runResNetChannelsLast
 * for the length of their call.
 */
let frozenRun = false;

/** f() with frozenRun set to `frozen`, restored after. */
function runFrozen<T>(frozen: boolean, f: () => T): T {
  const was = frozenRun;
  frozenRun = frozen;
  try {
    return f();
  } finally {
    frozenRun = was;
  }
}

/** Whether each source's first and last values are ends[2i] and ends[2i + 1]. */
function endsHold(sources: readonly FloatArray[], ends: Float64Array): boolean {
  for (let i = 0; i < sources.length; i++) {
    const a = sources[i];
    if (!sameValue(a[0], ends[2 * i]) || !sameValue(a[a.length - 1], ends[2 * i + 1])) return false;
  }
  return true;
}

/** st's stage on g through packedOf and foldedAffine (each checks its own cache), remembered in st.memo. */
function makeStage(st: ConvStep, g: Conv2dGeometry): NhwcStage {
  const { scale, shift } = foldedAffine(st.conv, st.bn);
  const epilogue = st.act ? epilogueOf(st.act)! : 'none';
  const stage: NhwcStage = { packed: packedOf(st.conv, g), scale: data(scale), bias: data(shift), epilogue };
  const { bn, conv } = st;
  const tensors = [conv.weight, bn.runningMean, bn.runningVar, bn.weight, bn.bias, conv.bias].filter(
    (t): t is Tensor => t !== null && t.numel() > 0,
  );
  // a strided source's dataView is a copy, whose ends would never change: such a step is checked every call
  if (!tensors.every((t) => t.isContiguous())) {
    st.memo = undefined;
    return stage;
  }
  const sources = tensors.map(data);
  const ends = new Float64Array(2 * sources.length);
  sources.forEach((a, i) => {
    ends[2 * i] = a[0];
    ends[2 * i + 1] = a[a.length - 1];
  });
  st.memo = {
    backend: backend(),
    n: g.n,
    h: g.h,
    w: g.w,
    c: g.c,
    eps: bn.eps,
    epoch: versionEpoch(),
    sources,
    ends,
    stage,
  };
  return stage;
}

/**
 * One folded convolution on channels-last x [n, h, w, c]; `res` (shaped as the output) is added before the
 * activation. With `inPlace` the sum overwrites res, which is returned: the caller owns res and reads it no more.
 */
function runConv(st: ConvStep, x: Tensor, res: Tensor | null, inPlace = false): Tensor {
  const [n, h, w, c] = x.shape;
  const g = stepGeometry(st, n, h, w, c);
  const stage = stageOf(st, g, res !== null);
  const out = res !== null && inPlace ? res : Tensor.unfilled([n, g.oh, g.ow, g.oc], 'float32');
  backend().conv2dNhwc!(data(x), stage.packed, stage.bias, stage.scale, res && data(res), data(out), g, stage.epilogue);
  return out;
}

/**
 * The gate of `se` as the block kernel computes it (fc1, ReLU/ReLU6 or nothing, fc2, hardsigmoid — MobileNetV3's),
 * or null when its activations are other modules: then the block stops after the depthwise layer and the gate
 * runs through `squeezeExcitationGate`, which runs any activation module.
 */
function nativeGate(se: SqueezeExcitation): NhwcGate | null {
  if (!isPlain(se.scaleActivation, Hardsigmoid)) return null;
  // views of the storage itself, which in-place writes change (a strided weight's view would be a copy)
  for (const t of [se.fc1.weight, se.fc1.bias, se.fc2.weight, se.fc2.bias]) if (t && !t.isContiguous()) return null;
  const activation = isPlain(se.activation, ReLU) ? 'relu' : isPlain(se.activation, ReLU6) ? 'relu6' : null;
  if (activation === null) return null;
  return {
    fc1: data(se.fc1.weight),
    fc1Bias: se.fc1.bias && data(se.fc1.bias),
    fc2: data(se.fc2.weight),
    fc2Bias: se.fc2.bias && data(se.fc2.bias),
    activation,
  };
}

/**
 * A block's expansion (null without one) and depthwise stages on an n×h×w×c map, and the depthwise geometry —
 * counted as the block kernel runs them.
 */
function blockStages(
  blk: Block,
  n: number,
  h: number,
  w: number,
  c: number,
): { expand: NhwcStage | null; g: Conv2dGeometry; depthwise: NhwcStage } {
  const eg = blk.expand && stepGeometry(blk.expand, n, h, w, c);
  const expand = eg && stageOf(blk.expand!, eg);
  const g = stepGeometry(blk.depthwise, n, h, w, eg ? eg.oc : c);
  const depthwise = stageOf(blk.depthwise, g);
  noteFusion('invertedResidualNhwc');
  return { expand, g, depthwise };
}

/**
 * One inverted-residual block on channels-last x: expansion, depthwise and projection in one backend call
 * (`invertedResidualNhwc`, over row bands whose expanded rows stay in cache); with a squeeze-excitation gate the
 * call stops after the depthwise layer, the gate scales its output, and the projection runs on its own.
 */
function runBlock(blk: Block, x: Tensor): Tensor {
  const [n, h, w, c] = x.shape;
  const { expand, g, depthwise } = blockStages(blk, n, h, w, c);
  const hidden = g.oc;
  const gate = blk.native;
  if (blk.gate === null || gate !== null) {
    if (gate) noteFusion('squeezeExcitationGate');
    const pg = stepGeometry(blk.project, n, g.oh, g.ow, hidden);
    const out = Tensor.unfilled([n, g.oh, g.ow, pg.oc], 'float32');
    const project = stageOf(blk.project, pg);
    backend().invertedResidualNhwc!(data(x), expand, depthwise, gate, project, blk.residual, data(out), g);
    return out;
  }
  const d = Tensor.unfilled([n, g.oh, g.ow, hidden], 'float32');
  backend().invertedResidualNhwc!(data(x), expand, depthwise, null, null, false, data(d), g);
  const scales = squeezeExcitationGate(blk.gate, d, true);
  if (!scales) throw new Error('channels-last program: the squeeze-excitation gate no longer fuses');
  // d · s, as the module's s · d (products commute exactly), image by image: one channel row repeated over the
  // pixels is the binary kernels' row broadcast, where [n, hw, c] · [n, 1, c] is a generic broadcast (10.8 of a
  // 60 ms batch-8 MobileNetV3-Large forward on one thread)
  for (let b = 0; b < n; b++)
    mul_(d.narrow(0, b, 1).view([g.oh * g.ow, hidden]), scales.narrow(0, b, 1).view([hidden]));
  const y = runConv(blk.project, d, blk.residual ? x : null);
  release(d);
  return y;
}

/**
 * The stem from the NCHW image straight into [N, H, W, C] (`conv2dNchwToNhwc`: one pass, no transpose — an NCHW
 * convolution transposed afterwards took 0.37 + 0.21 ms at MobileNetV2 batch 1 on two threads).
 */
function runStem(stem: ConvStep, x: Tensor): Tensor {
  const [n, c, h, w] = x.shape;
  const g = stepGeometry(stem, n, h, w, c);
  const st = stageOf(stem, g);
  const out = Tensor.unfilled([n, g.oh, g.ow, g.oc], 'float32');
  backend().conv2dNchwToNhwc!(data(x.contiguous()), st.packed, st.bias, st.scale, data(out), g, st.epilogue);
  return out;
}

/** The global average pool [N, C] of a channels-last map [N, H, W, C], which is released. */
function globalPool(x: Tensor): Tensor {
  const [n, h, w, c] = x.shape;
  const pooled = Tensor.unfilled([n, c], 'float32');
  meanOverPixels(data(x), data(pooled), n, h * w, c);
  release(x);
  return pooled;
}

/**
 * The program as one `Backend.nhwcProgram` call takes it on an n×c×h×w image batch, or null when a block's gate runs
 * outside the block kernel. Each step's geometry and stage are the ones the call-by-call path would use (the same
 * memos); while all of them are the objects the last call used, so is the program object — the backend checks and
 * flattens each program object once.
 */
function wholeProgram(
  p: ChannelsLastProgram | ResNetProgram,
  n: number,
  c: number,
  h: number,
  w: number,
  head: readonly NhwcProgramLinear[] | undefined,
): NhwcProgram | null {
  // the fast path: while nothing any step depends on has changed, the program of the last call, without walking
  // its steps' geometries and stages again (40 µs of a 3 ms MobileNet forward at batch 1, their objects cold)
  const ck = p.wholeCheck;
  if (
    ck !== undefined &&
    p.whole !== undefined &&
    p.whole.head === head &&
    ck.backend === backend() &&
    onMap(ck, n, h, w, c) &&
    (frozenRun || (ck.epoch === versionEpoch() && stagesHold(ck)))
  ) {
    addFusionCounts(ck.counts);
    return p.whole;
  }
  p.wholeCheck = undefined;
  const before = fusionCounts();
  const sg = stepGeometry(p.stem, n, h, w, c);
  const made = p.family === 'mobilenet' ? walkProgram(p, sg, head) : walkResNet(p, sg, head);
  if (made === null) return null;
  // every stage has a memo (contiguous sources) and holds it now: the next call may take the fast path
  const steps = programSteps(p);
  if (steps.every((st) => st.memo !== undefined)) {
    const after = fusionCounts();
    const counts: Partial<Record<FusionKind, number>> = {};
    for (const k of Object.keys(after) as FusionKind[]) if (after[k] !== before[k]) counts[k] = after[k] - before[k];
    const memos = steps.map((st) => st.memo!);
    // the epoch the stages were made at: a walk while frozen keeps stages made before a weight changed, which must
    // not pass for the current epoch once unfrozen (-1: none matches, the next unfrozen call walks and checks)
    const now = versionEpoch();
    p.wholeCheck = {
      epoch: memos.every((m) => m.epoch === now) ? now : -1,
      backend: backend(),
      n,
      h,
      w,
      c,
      bns: steps.map((st) => st.bn),
      eps: Float64Array.from(memos, (m) => m.eps),
      sources: memos.flatMap((m) => m.sources),
      ends: Float64Array.from(memos.flatMap((m) => Array.from(m.ends))),
      counts,
    };
  }
  return made;
}

/**
 * Every convolution step of p (the stem, each block's expansion, depthwise and projection, the 1×1s; a residual
 * block's downsample and convolutions).
 */
function programSteps(p: ChannelsLastProgram | ResNetProgram): ConvStep[] {
  const out = [p.stem];
  if (p.family === 'resnet') {
    for (const blk of p.blocks) {
      if (blk.downsample) out.push(blk.downsample);
      out.push(...blk.convs, blk.last);
    }
    return out;
  }
  for (const blk of p.blocks)
    if (blk.kind === 'block') {
      if (blk.expand) out.push(blk.expand);
      out.push(blk.depthwise, blk.project);
    } else out.push(blk);
  return out;
}

/**
 * wholeProgram's walk from the stem's geometry sg: each step's geometry and stage through their memos, the last
 * program kept if all agree.
 */
function walkProgram(
  p: ChannelsLastProgram,
  sg: Conv2dGeometry,
  head: readonly NhwcProgramLinear[] | undefined,
): NhwcProgram | null {
  const n = sg.n;
  const stem = stageOf(p.stem, sg);
  const last = p.whole;
  let same = last !== undefined && last.stem.g === sg && last.stem.stage === stem && last.head === head;
  const steps: (NhwcProgramBlock | NhwcProgramConv)[] = [];
  let mh = sg.oh,
    mw = sg.ow,
    mc = sg.oc;
  for (let i = 0; i < p.blocks.length; i++) {
    const blk = p.blocks[i];
    const prev = same ? last!.steps[i] : undefined;
    if (blk.kind === 'block') {
      if (blk.gate !== null && blk.native === null) return null;
      const { expand, g, depthwise } = blockStages(blk, n, mh, mw, mc);
      const pg = stepGeometry(blk.project, n, g.oh, g.ow, g.oc);
      const project = stageOf(blk.project, pg);
      if (blk.native) noteFusion('squeezeExcitationGate');
      const kept =
        prev?.kind === 'block' &&
        prev.g === g &&
        prev.expand === expand &&
        prev.depthwise === depthwise &&
        prev.project === project;
      same = kept;
      steps.push(
        kept ? prev : { kind: 'block', g, expand, depthwise, gate: blk.native, project, residual: blk.residual },
      );
      mh = g.oh;
      mw = g.ow;
      mc = pg.oc;
    } else {
      const g = stepGeometry(blk, n, mh, mw, mc);
      const stage = stageOf(blk, g);
      const kept = prev?.kind === 'conv' && prev.g === g && prev.stage === stage;
      same = kept;
      steps.push(kept ? prev : { kind: 'conv', g, stage });
      mh = g.oh;
      mw = g.ow;
      mc = g.oc;
    }
  }
  if (same && last!.steps.length === steps.length) return last!;
  return (p.whole = { stem: { kind: 'conv', g: sg, stage: stem }, steps, head });
}

/**
 * walkProgram for a ResNet: the max pooling, then each residual block's downsample and convolutions (the last one
 * counted as adding its shortcut, as runResidualBlock runs it).
 */
function walkResNet(p: ResNetProgram, sg: Conv2dGeometry, head: readonly NhwcProgramLinear[] | undefined): NhwcProgram {
  const n = sg.n;
  const stem = stageOf(p.stem, sg);
  const last = p.whole;
  const pg = poolGeometry(p, n, sg.oh, sg.ow, sg.oc);
  const pool0 = last?.steps[0];
  let same =
    last !== undefined &&
    last.stem.g === sg &&
    last.stem.stage === stem &&
    last.head === head &&
    pool0?.kind === 'maxPool' &&
    pool0.g === pg;
  const steps: (NhwcProgramPool | NhwcProgramResidual)[] = [
    same ? (pool0 as NhwcProgramPool) : { kind: 'maxPool', g: pg },
  ];
  let mh = pg.oh,
    mw = pg.ow,
    mc = pg.c;
  /** st on an mh×mw×mc map as a program conv (`prev` while it is the same), the map moved on to its output. */
  const conv = (st: ConvStep, prev: NhwcProgramConv | undefined, residual: boolean): NhwcProgramConv => {
    const g = stepGeometry(st, n, mh, mw, mc);
    const stage = stageOf(st, g, residual);
    mh = g.oh;
    mw = g.ow;
    mc = g.oc;
    return prev !== undefined && prev.g === g && prev.stage === stage ? prev : { kind: 'conv', g, stage };
  };
  for (let i = 0; i < p.blocks.length; i++) {
    const blk = p.blocks[i];
    const prev = same ? last!.steps[i + 1] : undefined;
    const was = prev?.kind === 'residual' ? prev : undefined;
    // the downsample reads the block's input as the first convolution does: the map goes back to it
    const [h0, w0, c0] = [mh, mw, mc];
    const downsample = blk.downsample && conv(blk.downsample, was?.downsample ?? undefined, false);
    [mh, mw, mc] = [h0, w0, c0];
    const convs = [...blk.convs, blk.last].map((st, k, all) => conv(st, was?.convs[k], k === all.length - 1));
    const kept =
      was !== undefined &&
      was.downsample === downsample &&
      was.convs.length === convs.length &&
      convs.every((cv, k) => cv === was.convs[k]);
    same = kept;
    steps.push(kept ? was : { kind: 'residual', convs, downsample });
  }
  if (same && last!.steps.length === steps.length) return last!;
  return (p.whole = { stem: { kind: 'conv', g: sg, stage: stem }, steps, head });
}

/** Whether a and b are views of the same elements. */
const sameView = (a: FloatArray | null, b: FloatArray | null) =>
  a === b ||
  (a !== null && b !== null && a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length);

/**
 * A classifier as a program's head (`NhwcProgram.head`): a plain Sequential of Dropout in evaluation mode (the
 * identity), Linear layers on contiguous float32 weights, and a Hardswish after a Linear — MobileNetV2's and V3's
 * classifiers — or a Linear alone (a ResNet's fc); undefined for anything else, which then runs as modules on the
 * pooled map. `last`, the head the program ran last, is what it returns while every layer reads the same elements
 * (the program object stays).
 */
function programHead(
  classifier: AnyModule,
  last: readonly NhwcProgramLinear[] | undefined,
): readonly NhwcProgramLinear[] | undefined {
  const items = isPlain(classifier, Sequential)
    ? itemsOf(classifier)
    : isPlain(classifier, Linear)
      ? [classifier]
      : undefined;
  if (items === undefined) return undefined;
  const layers: NhwcProgramLinear[] = [];
  let act = false; // the module before (Dropouts aside) is a Linear an activation may follow
  for (const m of items) {
    if (isPlain(m, Dropout)) {
      if (m.training && m.p > 0) return undefined;
    } else if (isPlain(m, Hardswish) && act) {
      layers[layers.length - 1].activation = 'hardswish';
      act = false;
    } else if (isPlain(m, Linear)) {
      const { weight, bias } = m;
      const f32 = (t: Tensor) => t.dtype === 'float32' && t.isContiguous();
      if (!f32(weight) || weight.shape.length !== 2 || (bias !== null && !f32(bias))) return undefined;
      const [outFeatures, inFeatures] = weight.shape;
      if (outFeatures < 1 || inFeatures < 1) return undefined; // an empty Linear: the modules' empty output
      layers.push({ weight: data(weight), bias: bias && data(bias), inFeatures, outFeatures, activation: 'none' });
      act = true;
    } else return undefined;
  }
  if (layers.length === 0) return undefined;
  const kept =
    last !== undefined &&
    last.length === layers.length &&
    layers.every((l, i) => {
      const k = last[i];
      return (
        sameView(k.weight, l.weight) &&
        sameView(k.bias, l.bias) &&
        k.inFeatures === l.inFeatures &&
        k.outFeatures === l.outFeatures &&
        k.activation === l.activation
      );
    });
  return kept ? last : layers;
}

/** The channels of the map a whole program's last step makes. */
function lastChannels(p: NhwcProgram): number {
  const st = p.steps.length > 0 ? p.steps[p.steps.length - 1] : p.stem;
  if (st.kind === 'block') return st.project.packed.oc;
  if (st.kind === 'residual') return st.convs[st.convs.length - 1].g.oc;
  return st.kind === 'maxPool' ? st.g.c : st.g.oc;
}

/**
 * Runs the program on an NCHW float32 batch x and then the classifier on the globally average-pooled last map [N, C]
 * (what `flatten(adaptiveAvgPool2d(features(x), 1), 1)` returns). On a backend with `nhwcProgram` the whole program
 * is one call (JavaScript between ~20 kernel calls was ~7 % of MobileNetV2's batch-1 forward), and a classifier of
 * Linear layers (programHead) runs in it too; else one call a step, and the classifier's modules. `frozen`: the
 * model was fused with `freeze` (its stages are not checked against their weights).
 */
export function runChannelsLast(p: ChannelsLastProgram, x: Tensor, classifier: AnyModule, frozen = false): Tensor {
  return runFrozen(frozen, () => runProgram(p, x, classifier));
}

/**
 * The program p on x and then the classifier: one `nhwcProgram` call where the backend has it (the classifier inside
 * when programHead takes it), else the steps call by call and the classifier's modules.
 */
function runProgram(p: ChannelsLastProgram | ResNetProgram, x: Tensor, classifier: AnyModule): Tensor {
  const b = backend();
  const [n, c, h, w] = x.shape;
  if (b.nhwcProgram !== undefined && n > 0) {
    const hc = p.headCheck;
    let head: readonly NhwcProgramLinear[] | undefined;
    if (hc !== undefined && hc.classifier === classifier && hc.epoch === structureEpoch()) head = hc.head;
    else {
      head = programHead(classifier, p.whole?.head);
      p.headCheck = { classifier, epoch: structureEpoch(), head };
    }
    const whole = wholeProgram(p, n, c, h, w, head);
    if (whole !== null) {
      const out = Tensor.unfilled([n, head ? head[head.length - 1].outFeatures : lastChannels(whole)], 'float32');
      b.nhwcProgram(data(x.contiguous()), whole, data(out));
      if (head) noteFusion('classifierHead');
      // the pooled map is the classifier's to recycle once read
      return head ? out : (forwardOwned(classifier, out, true).y as Tensor);
    }
  }
  const pooled = p.family === 'mobilenet' ? runFeatures(p, x) : runResNetFeatures(p, x);
  return forwardOwned(classifier, pooled, true).y as Tensor;
}

/** The program's steps call by call, and the global pool of the last map. */
function runFeatures(p: ChannelsLastProgram, x: Tensor): Tensor {
  let cur = runStem(p.stem, x);
  for (const blk of p.blocks) {
    const y = blk.kind === 'block' ? runBlock(blk, cur) : runConv(blk, cur, null);
    release(cur);
    cur = y;
  }
  return globalPool(cur);
}

// ---------------------------------------------------------------------------------------------------------------
// ResNets

/** A residual block: its convolutions in order (each folded with its batch norm; all but the last with the block's
 * ReLU), the last one's output plus the shortcut — the block's input or its downsample convolution — through the
 * ReLU. */
interface ResidualBlock {
  convs: ConvStep[];
  last: ConvStep;
  downsample: ConvStep | null;
}

/** A ResNet's trunk as the channels-last program runs it. */
export interface ResNetProgram extends WholeCache {
  family: 'resnet';
  /** conv1 → bn1 → relu on the NCHW image, its output channels-last. */
  stem: ConvStep;
  maxpool: MaxPool2d;
  /** The pooling's geometry runMaxPool last made (its input map is part of it; the module's fields are read-only). */
  poolGeometry?: Pool2dGeometry;
  blocks: ResidualBlock[];
}

/** conv → bn (→ act) folded and served densely, or null. */
function denseStep(conv: AnyModule, bn: AnyModule, act: AnyModule | null): ConvStep | null {
  const st = convStep(conv, bn, act);
  return st && servedDense(st.conv) ? st : null;
}

function residualBlock(b: AnyModule): ResidualBlock | null {
  let convs: (ConvStep | null)[], last: ConvStep | null;
  if (isPlain(b, BasicBlock)) {
    convs = [denseStep(b.conv1, b.bn1, b.relu)];
    last = denseStep(b.conv2, b.bn2, b.relu);
  } else if (isPlain(b, Bottleneck)) {
    convs = [denseStep(b.conv1, b.bn1, b.relu), denseStep(b.conv2, b.bn2, b.relu)];
    last = denseStep(b.conv3, b.bn3, b.relu);
  } else return null;
  if (last === null || convs.some((c) => c === null)) return null;
  let downsample: ConvStep | null = null;
  if (b.downsample !== null) {
    const ds = b.downsample;
    if (!isPlain(ds, Sequential) || (ds as Sequential).length !== 2) return null;
    downsample = denseStep((ds as Sequential).at(0), (ds as Sequential).at(1), null);
    if (downsample === null) return null;
  }
  return { convs: convs as ConvStep[], last, downsample };
}

/**
 * The channels-last program of a torchvision ResNet (BasicBlock or Bottleneck stages, one group: ResNet-18 … 152
 * and the wide ones; ResNeXt's grouped 3×3 runs NCHW), or null when any part is not exactly what torchvision builds
 * (see the module comment), the pooling is not global, or the backend lacks the kernels.
 */
export function resnetProgram(m: ResNet): ResNetProgram | null {
  return cachedProgram(m, buildResNetProgram);
}

function buildResNetProgram(m: ResNet): ResNetProgram | null {
  if (!hasKernels(['conv2dNhwc', 'packConv2dNhwc', 'conv2dNchwToNhwc', 'maxPool2dNhwc'])) return null;
  const stem = denseStep(m.conv1, m.bn1, m.relu);
  if (!stem || !isPlain(m.maxpool, MaxPool2d) || m.maxpool.returnIndices || !isGlobalAvgPool(m.avgpool)) return null;
  const blocks: ResidualBlock[] = [];
  for (const layer of [m.layer1, m.layer2, m.layer3, m.layer4]) {
    if (!isPlain(layer, Sequential)) return null;
    for (const child of itemsOf(layer as Sequential)) {
      const blk = residualBlock(child);
      if (!blk) return null;
      blocks.push(blk);
    }
  }
  return { family: 'resnet', stem, maxpool: m.maxpool, blocks };
}

/** The geometry of p's max pooling on an n×h×w×c map: the last one made while the map is the same. */
function poolGeometry(p: ResNetProgram, n: number, h: number, w: number, c: number): Pool2dGeometry {
  const last = p.poolGeometry;
  return last !== undefined && onMap(last, n, h, w, c)
    ? last
    : (p.poolGeometry = poolGeometryOf(p.maxpool, n, h, w, c));
}

/** The program's max pooling on channels-last x [n, h, w, c]. */
function runMaxPool(p: ResNetProgram, x: Tensor): Tensor {
  const [n, h, w, c] = x.shape;
  const g = poolGeometry(p, n, h, w, c);
  const out = Tensor.unfilled([n, g.oh, g.ow, c], 'float32');
  backend().maxPool2dNhwc!(data(x), data(out), g);
  return out;
}

function poolGeometryOf(pool: MaxPool2d, n: number, h: number, w: number, c: number): Pool2dGeometry {
  return pool2dOf(
    poolNd(
      'maxPool2d',
      2,
      { shape: [n, c, h, w] },
      pool.kernelSize,
      pool.stride,
      pool.padding,
      pool.dilation,
      pool.ceilMode,
    ),
  );
}

/**
 * One residual block on channels-last x, which the program owns: relu(last(convs(x)) + shortcut(x)), the sum and
 * ReLU in the last convolution's epilogue, written over the shortcut — the block's input or its downsample
 * convolution's output, both dead after the sum. In place, each output line is read once and written back, where a
 * separate output was also read before its first store: ResNet-50's 64→256 expansion at 56², two threads, 0.62 →
 * 0.55 ms with its maps in cache, 1.14 → 0.92 from memory. Returns the block's output (x itself when the shortcut
 * is x).
 */
function runResidualBlock(blk: ResidualBlock, x: Tensor): Tensor {
  const identity = blk.downsample ? runConv(blk.downsample, x, null) : x;
  let h = x;
  for (const st of blk.convs) {
    const y = runConv(st, h, null);
    if (h !== x) release(h);
    h = y;
  }
  const out = runConv(blk.last, h, identity, true);
  if (h !== x) release(h);
  return out;
}

/**
 * Runs a ResNet program on an NCHW float32 batch x and then `fc` on the globally average-pooled last map [N, C] (what
 * `ResNet.features(x)` returns): as runChannelsLast, one `nhwcProgram` call where the backend has it — stem, max
 * pooling, every block, pooling and a Linear fc — where 23 (ResNet-18) to 56 (ResNet-50) calls a forward spent
 * 0.3–0.45 ms of JavaScript between them at batch 1, allocating and recycling each layer's output.
 */
export function runResNetChannelsLast(p: ResNetProgram, x: Tensor, fc: AnyModule, frozen = false): Tensor {
  return runFrozen(frozen, () => runProgram(p, x, fc));
}

/** The ResNet program's steps call by call, and the global pool of the last map. */
function runResNetFeatures(p: ResNetProgram, x: Tensor): Tensor {
  const stem = runStem(p.stem, x);
  let cur = runMaxPool(p, stem);
  release(stem);
  for (const blk of p.blocks) {
    const y = runResidualBlock(blk, cur);
    if (y !== cur) release(cur);
    cur = y;
  }
  return globalPool(cur);
}
