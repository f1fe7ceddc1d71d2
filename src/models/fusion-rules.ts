/**
 * Fusion rules for the torchvision building blocks that are not Sequentials: ResNet's `BasicBlock`, `Bottleneck`
 * and stem, MobileNetV2/V3's inverted residuals, squeeze-excitation, `IntermediateLayerGetter` and DeepLab's ASPP. Each rule
 * computes exactly what the class's plain forward computes,
 * with the fused kernels of nn/fusion.ts where their conditions hold (see docs/fusion.md); `nn.fuse(model)`
 * applies them. Imported for its effect by models/index.ts, so the rules exist whenever `tt.models` does.
 */
import { SqueezeExcitation } from '../nn/attention.js';
import { Sequential } from '../nn/container.js';
import { Conv2d } from '../nn/conv.js';
import { Dropout } from '../nn/dropout.js';
import type { AnyModule } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { AdaptiveAvgPool2d } from '../nn/pooling.js';
import {
  canFoldConvBn,
  convBnActOwned,
  foldedAffine,
  foldedConvBnAct,
  foldedConvBnAddRelu,
  forwardOwned,
  handBack,
  isFrozen,
  isGlobalAvgPool,
  noteFusion,
  ownsInput,
  registerFusionRule,
  release,
  residualAddOwned,
  runChain,
  squeezeExcitationGate,
} from '../nn/fusion.js';
import { conv2dScaleShift } from '../ops/conv.js';
import { derivedFromWeight } from '../ops/conv-pack.js';
import { add, mul } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { adaptiveAvgPool2d } from '../ops/pool.js';
import { mul_ } from '../ops/inplace.js';
import { cat, flatten } from '../ops/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { IntermediateLayerGetter, type FeatureMaps } from './feature-extraction.js';
import { channelsLastProgram, resnetProgram, runChannelsLast, runResNetChannelsLast } from './fusion-nhwc.js';
import { InvertedResidual, MobileNetV2 } from './mobilenetv2.js';
import { InvertedResidualV3, MobileNetV3 } from './mobilenetv3.js';
import { BasicBlock, Bottleneck, ResNet } from './resnet.js';
import { ASPP, ASPPPooling } from './segmentation/deeplabv3.js';
import { SimpleSegmentationModel, checkImages, upsampleTo, type SegmentationOutput } from './segmentation/utils.js';

/**
 * The tail of both blocks: relu(bn(conv(out)) + shortcut(x)) — one folded convolution that adds the shortcut in its
 * epilogue when conv → bn → relu fold, else the modules (conv → bn folded when they may). In inference the activations the block owns (see "Activation ownership" in nn/fusion.ts) are recycled
 * once read.
 */
function residualTail(
  block: BasicBlock | Bottleneck,
  conv: BasicBlock['conv2'],
  bn: BasicBlock['bn2'],
  out: { y: Tensor; owned: boolean },
  x: Tensor,
  xOwned: boolean,
): Tensor {
  const shortcut = () =>
    block.downsample ? forwardOwned(block.downsample, x, false) : { y: x as unknown, owned: false };
  let identity: { y: unknown; owned: boolean } | null = null;
  if (canFoldConvBn(conv, bn, block.relu)) {
    // the shortcut first, for the convolution's epilogue to add (the unfused block runs it after conv → bn: the
    // same values, as nothing in the shortcut reads the tail's output)
    identity = shortcut();
    const fused = foldedConvBnAddRelu(conv, bn, block.relu, out.y, identity.y as Tensor);
    if (fused) {
      if (out.owned) release(out.y);
      if (identity.owned) release(identity.y as Tensor);
      if (xOwned) release(x);
      return handBack(fused, true);
    }
  }
  // the ReLU has hooks (or the shortcut's shape is not the output's): conv → bn still fold when they may
  const folded = foldedConvBnAct(conv, bn, null, out.y);
  if (folded && out.owned) release(out.y);
  const o = folded ?? (bn.forward(conv.forward(out.y)) as Tensor);
  identity ??= shortcut();
  const result = block.relu.forward(add(o, identity.y as Tensor)) as Tensor;
  if (folded) release(o);
  if (identity.owned) release(identity.y as Tensor);
  if (xOwned) release(x);
  return handBack(result, false);
}

registerFusionRule(BasicBlock, {
  ownership: true,
  forward(b, x) {
    const xOwned = ownsInput(x);
    const out = convBnActOwned(b.conv1, b.bn1, b.relu, x as Tensor, false);
    return residualTail(b, b.conv2, b.bn2, out, x as Tensor, xOwned);
  },
});

registerFusionRule(Bottleneck, {
  ownership: true,
  forward(b, x) {
    const xOwned = ownsInput(x);
    const a = convBnActOwned(b.conv1, b.bn1, b.relu, x as Tensor, false);
    const out = convBnActOwned(b.conv2, b.bn2, b.relu, a.y, a.owned);
    return residualTail(b, b.conv3, b.bn3, out, x as Tensor, xOwned);
  },
});

registerFusionRule(ResNet, {
  methods: ['features'],
  forward(m, x) {
    // channels last where the backend and every block allow (models/fusion-nhwc.ts), else NCHW
    const program = isBatch(x) ? resnetProgram(m) : null;
    if (program) return runResNetChannelsLast(program, x as Tensor, m.fc, isFrozen(m));
    // the stem conv → bn → relu folds; maxpool, the stages (fused by their own rules), pooling and head as usual,
    // each activation recycled once the next step has read it
    let r: { y: unknown; owned: boolean } = convBnActOwned(m.conv1, m.bn1, m.relu, x as Tensor, false);
    for (const step of [m.maxpool, m.layer1, m.layer2, m.layer3, m.layer4, m.avgpool])
      r = forwardOwned(step, r.y, r.owned);
    return m.fc.forward(flatten(r.y as Tensor, 1));
  },
});

/**
 * The rule for an inverted-residual block whose body is `body(b)`: body(x) + x when it keeps its shape (in place on
 * the body's output when the chain handed it over), body(x) otherwise. MobileNetV2's block keeps its body in `conv`,
 * MobileNetV3's in `block`; `blockFirst` (the sum's operand order, V3 adds block(x) + x) goes to residualAddOwned.
 */
function invertedResidualRule<M extends InvertedResidual | InvertedResidualV3>(
  body: (b: M) => AnyModule,
  blockFirst: boolean,
) {
  return {
    ownership: true,
    forward(b: M, x: unknown) {
      const xOwned = ownsInput(x);
      if (!b.useResConnect) {
        const r = forwardOwned(body(b), x, xOwned);
        return handBack(r.y, r.owned);
      }
      const r = residualAddOwned(
        forwardOwned(body(b), x, false) as { y: Tensor; owned: boolean },
        x as Tensor,
        xOwned,
        blockFirst,
      );
      return handBack(r.y, r.owned);
    },
  };
}
registerFusionRule(
  InvertedResidual,
  invertedResidualRule((b: InvertedResidual) => b.conv, false),
);
registerFusionRule(
  InvertedResidualV3,
  invertedResidualRule((b: InvertedResidualV3) => b.block, true),
);

/** x is a float32 [N, C, H, W] tensor (what the channels-last program takes; anything else runs the modules). */
function isBatch(x: unknown): boolean {
  return x instanceof Tensor && x.shape.length === 4 && x.dtype === 'float32';
}

/**
 * The MobileNets' heads: features, global average pooling, classifier, as their forwards; in inference the last
 * feature map (1280 × 7 × 7 a MobileNetV2 image: 2 MB at batch 8) is recycled once pooled. Left to the garbage
 * collector it was fresh memory on every call, ~500 page faults a batch-8 forward.
 */
registerFusionRule(MobileNetV2, {
  forward(m, x) {
    // channels last where the backend and every block allow (models/fusion-nhwc.ts), else NCHW
    const program = isBatch(x) ? channelsLastProgram(m.features) : null;
    if (program) return runChannelsLast(program, x as Tensor, m.classifier, isFrozen(m));
    const f = forwardOwned(m.features, x, false);
    const pooled = adaptiveAvgPool2d(f.y as Tensor, [1, 1]);
    if (f.owned) release(f.y as Tensor);
    return m.classifier.forward(flatten(pooled, 1));
  },
});
registerFusionRule(MobileNetV3, {
  forward(m, x) {
    const program = isBatch(x) && isGlobalAvgPool(m.avgpool) ? channelsLastProgram(m.features) : null;
    if (program) return runChannelsLast(program, x as Tensor, m.classifier, isFrozen(m));
    const f = forwardOwned(m.features, x, false);
    const pooled = forwardOwned(m.avgpool, f.y, f.owned);
    return m.classifier.forward(flatten(pooled.y as Tensor, 1));
  },
});

// Squeeze-excitation: scale(x) · x, the channel scales applied in place when the calling chain handed x over
registerFusionRule(SqueezeExcitation, {
  ownership: true,
  forward(se, x) {
    const xOwned = ownsInput(x);
    const t = x as Tensor;
    const s = squeezeExcitationGate(se, t) ?? se.scale(t);
    if (xOwned && t.isContiguous() && s.dtype === t.dtype && s.shape.length === t.shape.length) {
      mul_(t, s); // x · s: the same products as s · x
      return handBack(t, true);
    }
    return handBack(mul(s, t), false);
  },
});

/**
 * Feature maps an `IntermediateLayerGetter` rule returned in fresh storage, held by nothing but the returned object
 * (no hook kept them): the rule of a model that calls the getter and reads each map once may recycle them.
 */
const freshMaps = new WeakSet<Tensor>();

registerFusionRule(IntermediateLayerGetter, {
  forward(g, x) {
    const named = g.namedChildren();
    const out: FeatureMaps = {};
    // a requested layer's output is never fused away; the others are recycled once the next layer has read them
    runChain(
      named.map(([, m]) => m),
      x,
      (i) => g.returnLayers.has(named[i][0]),
      (i, y, fresh) => {
        const key = g.returnLayers.get(named[i][0]);
        if (key === undefined) return;
        out[key] = y as Tensor;
        if (fresh) freshMaps.add(y as Tensor);
      },
    );
    return out;
  },
});

/**
 * torchvision's segmentation models (FCN, DeepLabV3): backbone, classifier (and aux classifier), each upsampled to
 * the input's size, as `SimpleSegmentationModel.forward`. In inference the backbone's maps are handed to the heads
 * when they are fresh (the getter ran its own rule, no hook on it kept its result, and the two heads read different
 * maps), and each head's low-resolution output is recycled once upsampled: at output stride 8 on a 256² image
 * DeepLabV3-ResNet-50's 'out' alone is 8 MB a call that was left to the garbage collector.
 */
registerFusionRule(SimpleSegmentationModel, {
  forward(m, x) {
    const t = x as Tensor;
    checkImages(m.constructor.name, t);
    const size = t.shape.slice(2);
    const features = m.backbone.forward(t);
    const handOver = m.backbone.isPlainForward() && features.out !== features.aux;
    const head = (classifier: AnyModule, map: Tensor): Tensor => {
      const r = forwardOwned(classifier, map, handOver && freshMaps.has(map));
      const y = upsampleTo(r.y as Tensor, size);
      if (r.owned && y !== r.y) release(r.y as Tensor);
      return y;
    };
    const result: SegmentationOutput = { out: head(m.classifier, features.out) };
    if (m.auxClassifier) result.aux = head(m.auxClassifier, features.aux);
    return result;
  },
});

/**
 * DeepLab's ASPP: the same branches, concatenation and projection; in inference each branch's output is recycled
 * once concatenated, and the concatenation (fresh, held by nothing else) once projected — at output stride 8 on a
 * 256² image these were 10 MB of fresh storage a call, left to the garbage collector. Where every part folds,
 * `asppFolded` computes it with less (below).
 */
registerFusionRule(ASPP, {
  ownership: true,
  forward(a, x) {
    const xOwned = ownsInput(x);
    const folded = asppFolded(a, x as Tensor);
    if (folded !== null) {
      if (xOwned) release(x as Tensor);
      return handBack(folded, true);
    }
    const branches = [...a.convs].map((conv) => forwardOwned(conv, x, false));
    const joined = cat(
      branches.map((b) => b.y as Tensor),
      1,
    );
    for (const b of branches) if (b.owned) release(b.y as Tensor);
    if (xOwned) release(x as Tensor);
    const r = forwardOwned(a.project, joined, true);
    return handBack(r.y, r.owned);
  },
});

/** conv → BN → ReLU as a plain Sequential (torchvision's 1×1 branch, `ASPPConv`) whose output keeps the map's size. */
function sizeKeepingConvBnRelu(m: AnyModule): [Conv2d, AnyModule, AnyModule] | null {
  if (!(m instanceof Sequential) || !m.isPlainForward()) return null;
  const [conv, bn, act, ...rest] = m.children();
  if (rest.length > 0 || !(conv instanceof Conv2d) || !canFoldConvBn(conv, bn, act) || act === undefined) return null;
  const pad = conv.padding;
  if (pad === 'valid') return null;
  const keeps =
    pad === 'same' ||
    [0, 1].every((d) => conv.stride[d] === 1 && 2 * pad[d] === conv.dilation[d] * (conv.kernelSize[d] - 1));
  return keeps ? [conv, bn, act] : null;
}

/**
 * The ASPP in inference when every convolution folds with its batch norm (torchvision's DeepLabV3, in eval mode):
 *   - The image-pooling branch is one vector per image — a 1×1 map upsampled bilinearly is that value everywhere — so
 *     its part of the projection, W_pool · p, is a per-channel constant: added to the projection's folded shift
 *     (scale ⊙ W_pool·p), and the projection reads only the other branches' channels (its weight's leading columns,
 *     sliced once per weight). No upsampled map, no 1,280-channel concatenation: at output stride 8 on a 256² image the
 *     pooled branch's 1 MB map and a fifth of the projection's work are gone.
 *   - In a batch of one, each branch writes straight into its channels of the concatenation (a contiguous slice).
 * Null where a part does not fold (training mode, hooks, separable branches, other dtypes): the rule's general path.
 */
function asppFolded(a: ASPP, x: Tensor): Tensor | null {
  if (x.shape.length !== 4 || x.dtype !== 'float32') return null;
  const convs = [...a.convs];
  const pool = convs.pop();
  const [projConv, projBn, projAct, drop, ...more] = a.project.children();
  if (
    !(pool instanceof ASPPPooling) ||
    pool.constructor !== ASPPPooling ||
    !pool.isPlainForward() ||
    !a.project.isPlainForward() ||
    more.length > 0 ||
    !(drop instanceof Dropout) ||
    drop.constructor !== Dropout ||
    drop.training ||
    !drop.isPlainForward() ||
    !(projConv instanceof Conv2d) ||
    !canFoldConvBn(projConv, projBn, projAct) ||
    projAct === undefined ||
    projConv.kernelSize.some((k) => k !== 1) ||
    projConv.stride.some((s) => s !== 1) ||
    (Array.isArray(projConv.padding) && projConv.padding.some((p) => p !== 0)) || // 'same' and 'valid' are 0 at 1×1
    projConv.groups !== 1
  )
    return null;
  const [gap, poolConv, poolBn, poolAct, ...poolMore] = pool.children();
  if (
    poolMore.length > 0 ||
    !(gap instanceof AdaptiveAvgPool2d) ||
    gap.constructor !== AdaptiveAvgPool2d ||
    !gap.isPlainForward() ||
    !canFoldConvBn(poolConv, poolBn, poolAct ?? null)
  )
    return null;
  const parts = convs.map(sizeKeepingConvBnRelu);
  if (parts.some((p) => p === null)) return null;
  const branches = parts as [Conv2d, AnyModule, AnyModule][];
  const [n, , h, w] = x.shape;
  const widths = branches.map(([conv]) => conv.outChannels);
  const ca = widths.reduce((s, c) => s + c, 0);
  const cp = (poolConv as Conv2d).outChannels;
  if (projConv.inChannels !== ca + cp) return null;
  const oc = projConv.outChannels;
  const split = derivedFromWeight(projConv.weight, 'aspp-split', () => ({
    branches: projConv.weight.narrow(1, 0, ca).contiguous(),
    pooledT: projConv.weight.narrow(1, ca, cp).reshape([oc, cp]).t().contiguous(), // [cp, oc]
  }));
  if (split === null) return null;
  const pooled = foldedConvBnAct(poolConv, poolBn, poolAct ?? null, gap.forward(x) as Tensor);
  if (pooled === null || pooled.shape[2] !== 1 || pooled.shape[3] !== 1) return null;
  // the branches' channels of the concatenation
  let joined: Tensor;
  if (n === 1) {
    joined = Tensor.unfilled([1, ca, h, w], x.dtype);
    let at = 0;
    for (const [k, [conv, bn, act]] of branches.entries()) {
      foldedConvBnAct(conv, bn, act, x, joined.narrow(1, at, widths[k]));
      at += widths[k];
    }
  } else {
    const ys = branches.map(([conv, bn, act]) => foldedConvBnAct(conv, bn, act, x)!);
    joined = cat(ys, 1);
    for (const y of ys) release(y);
  }
  // per image: shift + scale ⊙ (W_pool · p), one [n, cp] × [cp, oc] product
  const { scale, shift } = foldedAffine(projConv, projBn as BatchNorm2d);
  const shifts = add(shift, mul(scale, matmul(pooled.reshape([n, cp]), split.pooledT)));
  const out = Tensor.unfilled([n, oc, h, w], x.dtype);
  for (let i = 0; i < n; i++)
    conv2dScaleShift(n === 1 ? joined : joined.narrow(0, i, 1), split.branches, scale, shifts.select(0, i), {
      activation: 'relu',
      out: n === 1 ? out : out.narrow(0, i, 1),
    });
  noteFusion('convBnRelu');
  release(joined);
  return out;
}
