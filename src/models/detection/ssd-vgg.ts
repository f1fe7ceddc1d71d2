/**
 * SSD300 with the VGG-16 backbone of the SSD paper (Liu et al., ECCV 2016) as torchvision's ssd300_vgg16: conv4_3
 * (L2-normalised, times a learned per-channel scale initialised to 20, Liu et al.'s ParseNet trick), a dilated
 * fc6 and 1×1 fc7 in place of the classifier, four extra blocks down to 1×1, and 3×3 conv predictors. Names are
 * torchvision's (`backbone.features`, `backbone.scale_weight`, `backbone.extra.i`, `head.*_head.module_list.i`).
 */
import { ReLU } from '../../nn/activation.js';
import { ModuleList, Sequential } from '../../nn/container.js';
import { Conv2d } from '../../nn/conv.js';
import { xavierUniform_, zeros_ } from '../../nn/init.js';
import { Module, type AnyModule } from '../../nn/module.js';
import { Parameter } from '../../nn/parameter.js';
import { MaxPool2d } from '../../nn/pooling.js';
import { clamp, div, mul, sqrt } from '../../ops/elementwise.js';
import { sum } from '../../ops/reduce.js';
import { reshape } from '../../ops/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { vggFeatures } from '../vgg.js';
import { DefaultBoxGenerator, SSD, SSDScoringHead, type SSDOptions } from './ssd.js';

/** torchvision's _xavier_init: Xavier-uniform conv weights, zero bias. */
function xavierInit(m: AnyModule): void {
  for (const l of m.modules()) {
    if (l instanceof Conv2d) {
      xavierUniform_(l.weight);
      if (l.bias) zeros_(l.bias);
    }
  }
}

/** 1×1 conv to `mid`, ReLU, 3×3 conv to `out` (stride, padding), ReLU. */
function extra(inC: number, mid: number, out: number, k: number, stride: number, padding: number): Sequential {
  return new Sequential(new Conv2d(inC, mid, 1), new ReLU(), new Conv2d(mid, out, k, { stride, padding }), new ReLU());
}

/**
 * torchvision's SSDFeatureExtractorVGG (300-pixel variant): `features` = VGG-16 up to conv4_3 (maxpool3 with
 * ceil mode, so 75 → 38), `extra.0` = pool4 … conv5_3 then the modified pool5 (3×3, stride 1), fc6 (3×3,
 * dilation 6) and fc7 (1×1) — the paper's atrous conversion of the classifier — and four more blocks. forward
 * returns the six maps '0'…'5' (38, 19, 10, 5, 3, 1 for a 300 × 300 input).
 */
export class SSDFeatureExtractorVGG extends Module<[Tensor], Record<string, Tensor>> {
  readonly features: Sequential;
  readonly extra: ModuleList;
  scale_weight: Parameter;

  constructor(vgg: Sequential) {
    super();
    const layers = vgg.namedChildren().map(([, m]) => m);
    const pools = layers.flatMap((l, i) => (l instanceof MaxPool2d ? [i] : []));
    if (pools.length !== 5)
      throw new Error(`SSDFeatureExtractorVGG: expected the five max pools of VGG features, found ${pools.length}`);
    const [, , pool3, pool4] = pools;
    // The paper's ceil-mode pool3: a 75-pixel map becomes 38, not 37.
    (layers[pool3] as unknown as { ceilMode: boolean }).ceilMode = true;
    this.scale_weight = new Parameter(Tensor.empty([512]).fill_(20));
    this.features = new Sequential(...layers.slice(0, pool4));
    const fc = new Sequential(
      new MaxPool2d(3, { stride: 1, padding: 1 }),
      new Conv2d(512, 1024, 3, { padding: 6, dilation: 6 }),
      new ReLU(),
      new Conv2d(1024, 1024, 1),
      new ReLU(),
    );
    xavierInit(fc);
    const extras = [
      extra(1024, 256, 512, 3, 2, 1),
      extra(512, 128, 256, 3, 2, 1),
      extra(256, 128, 256, 3, 1, 0),
      extra(256, 128, 256, 3, 1, 0),
    ];
    for (const e of extras) xavierInit(e);
    this.extra = new ModuleList([new Sequential(...layers.slice(pool4, layers.length - 1), fc), ...extras]);
  }

  forward(x: Tensor): Record<string, Tensor> {
    let y = this.features.forward(x);
    // F.normalize over channels: x / max(‖x‖₂, 1e-12), then the learned scale.
    const norm = clamp(sqrt(sum(mul(y, y), 1, true)), 1e-12);
    const out: Record<string, Tensor> = { 0: mul(reshape(this.scale_weight, 1, -1, 1, 1), div(y, norm)) };
    this.extra.namedChildren().forEach(([, block], i) => {
      y = (block as Module).forward(y) as Tensor;
      out[String(i + 1)] = y;
    });
    return out;
  }
}

/** torchvision's SSDHead: 3×3 conv class and box predictors per level (Xavier init). */
export class SSDHead extends Module<[readonly Tensor[]], { bbox_regression: Tensor; cls_logits: Tensor }> {
  readonly classification_head: SSDScoringHead;
  readonly regression_head: SSDScoringHead;

  constructor(inChannels: readonly number[], numAnchors: readonly number[], numClasses: number) {
    super();
    this.classification_head = new SSDScoringHead(
      inChannels.map((c, i) => new Conv2d(c, numClasses * numAnchors[i], 3, { padding: 1 })),
      numClasses,
    );
    this.regression_head = new SSDScoringHead(
      inChannels.map((c, i) => new Conv2d(c, 4 * numAnchors[i], 3, { padding: 1 })),
      4,
    );
    xavierInit(this);
  }

  forward(x: readonly Tensor[]): { bbox_regression: Tensor; cls_logits: Tensor } {
    return { bbox_regression: this.regression_head.forward(x), cls_logits: this.classification_head.forward(x) };
  }
}

/** Options of ssd300_vgg16. */
export interface SSD300VGG16Options extends SSDOptions {
  numClasses?: number;
  /** VGG stages that train, 0–5 (default 5: all, as torchvision without pretrained weights). */
  trainableBackboneLayers?: number;
}

/**
 * torchvision's ssd300_vgg16 without downloaded weights: 35,641,826 parameters with 91 classes; 300 × 300 input,
 * the paper's default boxes (scales 0.07 … 1.05, steps 8 … 300; ratios 2 or 2 and 3), inputs in 0–255 minus the
 * ImageNet mean as the original Caffe model.
 */
export function ssd300_vgg16(opts: SSD300VGG16Options = {}): SSD {
  const vgg = vggFeatures('D', false);
  const layers = vgg.namedChildren().map(([, m]) => m);
  const stageIndices = [0, ...layers.flatMap((l, i) => (l instanceof MaxPool2d ? [i] : [])).slice(0, -1)];
  const trainable = opts.trainableBackboneLayers ?? 5;
  if (!(Number.isInteger(trainable) && trainable >= 0 && trainable <= stageIndices.length)) {
    throw new Error(`ssd300_vgg16: trainableBackboneLayers should be in [0, ${stageIndices.length}], got ${trainable}`);
  }
  const freezeBefore = trainable === 0 ? layers.length : stageIndices[stageIndices.length - trainable];
  for (const l of layers.slice(0, freezeBefore)) for (const p of l.parameters()) p.requiresGrad_(false);
  const backbone = new SSDFeatureExtractorVGG(vgg);
  const anchors = new DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2], [2]], {
    scales: [0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05],
    steps: [8, 16, 32, 64, 100, 300],
  });
  const head = new SSDHead([512, 1024, 512, 256, 256, 256], anchors.numAnchorsPerLocation(), opts.numClasses ?? 91);
  return new SSD(backbone, anchors, [300, 300], head, {
    imageMean: [0.48235, 0.45882, 0.40784],
    imageStd: [1 / 255, 1 / 255, 1 / 255],
    ...opts,
  });
}
