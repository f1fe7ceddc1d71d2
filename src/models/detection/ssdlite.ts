/**
 * SSDlite320 with a MobileNetV3-Large backbone (torchvision.models.detection.ssdlite): SSD whose predictors and
 * extra layers are depthwise-separable (MobileNetV2's SSDLite, Sandler et al., CVPR 2018), on the C4 expansion
 * and the last MobileNetV3 features (Howard et al., ICCV 2019), 320×320 input, six levels × six default boxes.
 * torchvision's module tree and names (`backbone.features.0/1`, `backbone.extra.i`,
 * `head.classification_head.module_list.i`, `head.regression_head.module_list.i`).
 */
import { Sequential, ModuleList } from '../../nn/container.js';
import { ReLU6 } from '../../nn/activation.js';
import { Conv2d } from '../../nn/conv.js';
import { normal_, zeros_ } from '../../nn/init.js';
import { Module, type AnyModule } from '../../nn/module.js';
import { BatchNorm2d } from '../../nn/normalization.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Conv2dNormActivation } from '../layers.js';
import { InvertedResidualV3, mobilenet_v3_large } from '../mobilenetv3.js';
import { DefaultBoxGenerator, SSD, SSDScoringHead, type SSDOptions } from './ssd.js';

/** BatchNorm2d(eps 0.001, momentum 0.03), SSDlite's norm layer. */
const norm = (c: number) => new BatchNorm2d(c, { eps: 0.001, momentum: 0.03 });

/** torchvision's _normal_init: every Conv2d N(0, 0.03²), zero bias. */
function normalInit(m: AnyModule): void {
  for (const l of m.modules()) {
    if (l instanceof Conv2d) {
      normal_(l.weight, 0, 0.03);
      if (l.bias) zeros_(l.bias);
    }
  }
}

/** Depthwise k×k conv + BN + ReLU6, then a 1×1 conv to `outChannels` (torchvision's _prediction_block). */
function predictionBlock(inChannels: number, outChannels: number, kernelSize: number): Sequential {
  return new Sequential(
    new Conv2dNormActivation(inChannels, inChannels, kernelSize, {
      groups: inChannels,
      normLayer: norm,
      activationLayer: () => new ReLU6(),
    }),
    new Conv2d(inChannels, outChannels, 1),
  );
}

/** 1×1 to half the channels, depthwise 3×3 stride 2, 1×1 to `outChannels`, each with BN + ReLU6 (torchvision's _extra_block). */
function extraBlock(inChannels: number, outChannels: number): Sequential {
  const mid = Math.floor(outChannels / 2);
  const act = () => new ReLU6();
  return new Sequential(
    new Conv2dNormActivation(inChannels, mid, 1, { normLayer: norm, activationLayer: act }),
    new Conv2dNormActivation(mid, mid, 3, { stride: 2, groups: mid, normLayer: norm, activationLayer: act }),
    new Conv2dNormActivation(mid, outChannels, 1, { normLayer: norm, activationLayer: act }),
  );
}

/** torchvision's SSDLiteClassificationHead. */
export class SSDLiteClassificationHead extends SSDScoringHead {
  constructor(inChannels: readonly number[], numAnchors: readonly number[], numClasses: number) {
    super(
      inChannels.map((c, i) => predictionBlock(c, numClasses * numAnchors[i], 3)),
      numClasses,
    );
    normalInit(this);
  }
}

/** torchvision's SSDLiteRegressionHead. */
export class SSDLiteRegressionHead extends SSDScoringHead {
  constructor(inChannels: readonly number[], numAnchors: readonly number[]) {
    super(
      inChannels.map((c, i) => predictionBlock(c, 4 * numAnchors[i], 3)),
      4,
    );
    normalInit(this);
  }
}

/** torchvision's SSDLiteHead: `classification_head` and `regression_head`. */
export class SSDLiteHead extends Module<[readonly Tensor[]], { bbox_regression: Tensor; cls_logits: Tensor }> {
  readonly classification_head: SSDLiteClassificationHead;
  readonly regression_head: SSDLiteRegressionHead;

  constructor(inChannels: readonly number[], numAnchors: readonly number[], numClasses: number) {
    super();
    this.classification_head = new SSDLiteClassificationHead(inChannels, numAnchors, numClasses);
    this.regression_head = new SSDLiteRegressionHead(inChannels, numAnchors);
  }

  forward(x: readonly Tensor[]): { bbox_regression: Tensor; cls_logits: Tensor } {
    return { bbox_regression: this.regression_head.forward(x), cls_logits: this.classification_head.forward(x) };
  }
}

/**
 * torchvision's SSDLiteFeatureExtractorMobileNet: `features.0` = the trunk up to the C4 block's expansion conv,
 * `features.1` = the rest of that block (its children keep their indices 1, 2, 3) and of the trunk, then four
 * extra blocks (`extra`); forward returns all six maps as '0'…'5'.
 */
export class SSDLiteFeatureExtractorMobileNet extends Module<[Tensor], Record<string, Tensor>> {
  readonly features: Sequential;
  readonly extra: ModuleList;

  constructor(trunk: Sequential, c4Pos: number, widthMult = 1, minDepth = 16) {
    super();
    const blocks = trunk.namedChildren().map(([, m]) => m);
    const c4 = blocks[c4Pos];
    if (!(c4 instanceof InvertedResidualV3) || c4.useResConnect)
      throw new Error(`SSDLiteFeatureExtractorMobileNet: block ${c4Pos} should be a strided inverted residual`);
    const inner = c4.block.namedChildren();
    const rest: Record<string, AnyModule> = {};
    for (const [name, m] of inner.slice(1)) rest[name] = m;
    this.features = new Sequential(
      new Sequential(...blocks.slice(0, c4Pos), inner[0][1]),
      new Sequential(new Sequential(rest), ...blocks.slice(c4Pos + 1)),
    );
    const depth = (d: number) => Math.max(minDepth, Math.trunc(d * widthMult));
    const last = blocks[blocks.length - 1] as Conv2dNormActivation;
    this.extra = new ModuleList([
      extraBlock(last.outChannels, depth(512)),
      extraBlock(depth(512), depth(256)),
      extraBlock(depth(256), depth(256)),
      extraBlock(depth(256), depth(128)),
    ]);
    normalInit(this.extra);
  }

  forward(x: Tensor): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    let y = x;
    let i = 0;
    for (const block of [...this.features.namedChildren(), ...this.extra.namedChildren()].map(([, m]) => m as Module)) {
      y = block.forward(y) as Tensor;
      out[String(i++)] = y;
    }
    return out;
  }
}

/** Options of ssdlite320_mobilenet_v3_large. */
export interface SSDLite320Options extends SSDOptions {
  numClasses?: number;
  /** Trunk stages that train, 0–6 (default 6: all, as torchvision without pretrained weights). */
  trainableBackboneLayers?: number;
}

/**
 * torchvision's ssdlite320_mobilenet_v3_large without downloaded weights: 3,440,060 parameters with 91 classes
 * (reduced tail, every conv N(0, 0.03²)); defaults score 0.001, NMS 0.55, 300 detections, 300 candidates per
 * class, inputs mapped to [−1, 1].
 */
export function ssdlite320_mobilenet_v3_large(opts: SSDLite320Options = {}): SSD {
  const mnv3 = mobilenet_v3_large({ reducedTail: true });
  // torchvision builds the trunk with BatchNorm2d(eps 0.001, momentum 0.03); Tatami's uses momentum 0.01.
  for (const m of mnv3.modules()) if (m instanceof BatchNorm2d) m.momentum = 0.03;
  normalInit(mnv3);
  const trunk = mnv3.features;
  const blocks = trunk.namedChildren().map(([, m]) => m);
  const stageIndices = [
    0,
    ...blocks.flatMap((b, i) => (b instanceof InvertedResidualV3 && b.isCn ? [i] : [])),
    blocks.length - 1,
  ];
  const trainable = opts.trainableBackboneLayers ?? 6;
  if (!(Number.isInteger(trainable) && trainable >= 0 && trainable <= stageIndices.length)) {
    throw new Error(
      `ssdlite320_mobilenet_v3_large: trainableBackboneLayers should be in [0, ${stageIndices.length}], got ${trainable}`,
    );
  }
  const freezeBefore = trainable === 0 ? blocks.length : stageIndices[stageIndices.length - trainable];
  for (const b of blocks.slice(0, freezeBefore)) for (const p of b.parameters()) p.requiresGrad_(false);
  const backbone = new SSDLiteFeatureExtractorMobileNet(trunk, stageIndices[stageIndices.length - 2]);
  const anchors = new DefaultBoxGenerator(
    Array.from({ length: 6 }, () => [2, 3]),
    { minRatio: 0.2, maxRatio: 0.95 },
  );
  // Channels of the six maps: the C4 expansion (672), the last trunk conv (480), then the extras.
  const outChannels = [672, 480, 512, 256, 256, 128];
  const head = new SSDLiteHead(outChannels, anchors.numAnchorsPerLocation(), opts.numClasses ?? 91);
  return new SSD(backbone, anchors, [320, 320], head, {
    scoreThresh: 0.001,
    nmsThresh: 0.55,
    detectionsPerImg: 300,
    topkCandidates: 300,
    imageMean: [0.5, 0.5, 0.5],
    imageStd: [0.5, 0.5, 0.5],
    ...opts,
  });
}
