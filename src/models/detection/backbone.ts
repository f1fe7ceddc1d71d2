/**
 * Detection backbones (torchvision.models.detection.backbone_utils and torchvision.ops.FeaturePyramidNetwork):
 * a classification trunk cut into stages (IntermediateLayerGetter), a feature pyramid on top (Lin et al., FPN,
 * CVPR 2017), and FrozenBatchNorm2d for fine-tuning from pretrained statistics.
 */
import { ModuleList, type Sequential } from '../../nn/container.js';
import { Conv2d } from '../../nn/conv.js';
import { kaimingUniform_, zeros_ } from '../../nn/init.js';
import { Module, type AnyModule } from '../../nn/module.js';
import { relu } from '../../ops/activation.js';
import { add, mul, rsqrt, sub } from '../../ops/elementwise.js';
import { interpolate } from '../../ops/interpolate.js';
import { maxPool2d } from '../../ops/pool.js';
import { reshape } from '../../ops/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { Conv2dNormActivation } from '../layers.js';
import type { ResNet } from '../resnet.js';

/**
 * torchvision.ops.FrozenBatchNorm2d: batch norm with fixed statistics and affine parameters, all buffers (so not
 * parameters, not trained): y = (x − mean) · weight / √(var + eps) + bias.
 */
export class FrozenBatchNorm2d extends Module {
  declare weight: Tensor;
  declare bias: Tensor;
  declare running_mean: Tensor;
  declare running_var: Tensor;

  constructor(
    readonly numFeatures: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.registerBuffer('weight', Tensor.empty([numFeatures]).fill_(1));
    this.registerBuffer('bias', Tensor.empty([numFeatures]));
    this.registerBuffer('running_mean', Tensor.empty([numFeatures]));
    this.registerBuffer('running_var', Tensor.empty([numFeatures]).fill_(1));
  }

  forward(x: Tensor): Tensor {
    const c = this.numFeatures;
    const scale = mul(this.weight, rsqrt(add(this.running_var, this.eps)));
    const shift = sub(this.bias, mul(this.running_mean, scale));
    return add(mul(x, reshape(scale, 1, c, 1, 1)), reshape(shift, 1, c, 1, 1));
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}`;
  }
}

/**
 * torchvision's IntermediateLayerGetter (here for a ResNet or a MobileNet's `features`): the model's children up
 * to the last returned one (for a ResNet: conv1, bn1, relu,
 * maxpool, layer1…4 — no pooling or classifier); forward returns the outputs of `returnLayers` under new names.
 */
export class IntermediateLayerGetter extends Module<[Tensor], Record<string, Tensor>> {
  readonly returnLayers: Record<string, string>;
  private readonly order: string[];

  constructor(model: AnyModule, returnLayers: Record<string, string>) {
    super();
    this.returnLayers = { ...returnLayers };
    this.order = [];
    const remaining = new Set(Object.keys(returnLayers));
    for (const [name, child] of model.namedChildren()) {
      if (remaining.size === 0) break;
      this.registerModule(name, child);
      this.order.push(name);
      remaining.delete(name);
    }
    if (remaining.size)
      throw new Error(
        `IntermediateLayerGetter: return layers ${[...remaining].join(', ')} are not children of the model`,
      );
  }

  forward(x: Tensor): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    let y = x;
    for (const name of this.order) {
      y = (this.getSubmodule(name) as Module).forward(y) as Tensor;
      if (name in this.returnLayers) out[this.returnLayers[name]] = y;
    }
    return out;
  }
}

/**
 * torchvision.ops.feature_pyramid_network.LastLevelP6P7 (RetinaNet, Lin et al., ICCV 2017): two extra levels 'p6'
 * (3×3 stride-2 conv of P5 — or of C5 when the channel counts differ) and 'p7' (3×3 stride-2 conv of ReLU(P6)).
 * Kaiming-uniform (a = 1) with zero bias, as torchvision.
 */
export class LastLevelP6P7 extends Module<[Tensor[], Tensor[], string[]], [Tensor[], string[]]> {
  readonly p6: Conv2d;
  readonly p7: Conv2d;
  readonly useP5: boolean;

  constructor(inChannels: number, outChannels: number) {
    super();
    this.p6 = new Conv2d(inChannels, outChannels, 3, { stride: 2, padding: 1 });
    this.p7 = new Conv2d(outChannels, outChannels, 3, { stride: 2, padding: 1 });
    for (const m of [this.p6, this.p7]) {
      kaimingUniform_(m.weight, { a: 1 });
      zeros_(m.bias!);
    }
    this.useP5 = inChannels === outChannels;
  }

  /** Appends P6 and P7 to the pyramid `p` (computed from the last of `p`, or of the trunk outputs `c`). */
  forward(p: Tensor[], c: Tensor[], names: string[]): [Tensor[], string[]] {
    const p6 = this.p6.forward(this.useP5 ? p[p.length - 1] : c[c.length - 1]);
    const p7 = this.p7.forward(relu(p6));
    return [
      [...p, p6, p7],
      [...names, 'p6', 'p7'],
    ];
  }
}

/** Options of FeaturePyramidNetwork. */
export interface FeaturePyramidNetworkOptions {
  /**
   * torchvision's `extra_blocks`: 'maxpool' (LastLevelMaxPool, the default: a 'pool' level by max pool, kernel 1,
   * stride 2), a LastLevelP6P7, or null for none.
   */
  extraBlocks?: 'maxpool' | LastLevelP6P7 | null;
  /** @deprecated use `extraBlocks`; false means no extra level. */
  lastLevelMaxPool?: boolean;
}

/**
 * torchvision.ops.FeaturePyramidNetwork: 1×1 lateral convs (`inner_blocks.i.0`), a top-down path that adds the
 * nearest-upsampled coarser map, 3×3 output convs (`layer_blocks.i.0`), and the extra levels of `extraBlocks`
 * (registered as `extra_blocks` when it has parameters, as torchvision). Convs are kaiming-uniform (a = 1) with
 * zero bias.
 */
export class FeaturePyramidNetwork extends Module<[Record<string, Tensor>], Record<string, Tensor>> {
  readonly inner_blocks: ModuleList;
  readonly layer_blocks: ModuleList;
  readonly extra_blocks: LastLevelP6P7 | null;
  readonly lastLevelMaxPool: boolean;

  constructor(inChannelsList: readonly number[], outChannels: number, opts: FeaturePyramidNetworkOptions = {}) {
    super();
    const inner: AnyModule[] = [];
    const layer: AnyModule[] = [];
    for (const c of inChannelsList) {
      if (!(c > 0))
        throw new Error(
          `FeaturePyramidNetwork: in_channels=0 is currently not supported (got ${JSON.stringify(inChannelsList)})`,
        );
      inner.push(new Conv2dNormActivation(c, outChannels, 1, { padding: 0, normLayer: null, activationLayer: null }));
      layer.push(new Conv2dNormActivation(outChannels, outChannels, 3, { normLayer: null, activationLayer: null }));
    }
    this.inner_blocks = new ModuleList(inner);
    this.layer_blocks = new ModuleList(layer);
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        kaimingUniform_(m.weight, { a: 1 });
        if (m.bias) zeros_(m.bias);
      }
    }
    const extra =
      opts.extraBlocks !== undefined ? opts.extraBlocks : opts.lastLevelMaxPool === false ? null : 'maxpool';
    this.lastLevelMaxPool = extra === 'maxpool';
    this.extra_blocks = extra instanceof LastLevelP6P7 ? extra : null;
  }

  forward(x: Record<string, Tensor>): Record<string, Tensor> {
    let names = Object.keys(x);
    const feats = Object.values(x);
    const inner = (i: number, t: Tensor) => (this.inner_blocks.at(i) as Module).forward(t) as Tensor;
    const layer = (i: number, t: Tensor) => (this.layer_blocks.at(i) as Module).forward(t) as Tensor;
    const n = feats.length;
    let last = inner(n - 1, feats[n - 1]);
    let results: Tensor[] = [layer(n - 1, last)];
    for (let i = n - 2; i >= 0; i--) {
      const lateral = inner(i, feats[i]);
      const topDown = interpolate(last, { size: [lateral.shape[2], lateral.shape[3]], mode: 'nearest' });
      last = add(lateral, topDown);
      results.unshift(layer(i, last));
    }
    if (this.extra_blocks) [results, names] = this.extra_blocks.forward(results, feats, names);
    const out: Record<string, Tensor> = {};
    names.forEach((k, i) => {
      out[k] = results[i];
    });
    if (this.lastLevelMaxPool) out.pool = maxPool2d(results[n - 1], 1, { stride: 2 });
    return out;
  }
}

/** torchvision's BackboneWithFPN: `body` (IntermediateLayerGetter) then `fpn`. */
export class BackboneWithFPN extends Module<[Tensor], Record<string, Tensor>> {
  readonly body: IntermediateLayerGetter;
  readonly fpn: FeaturePyramidNetwork;

  constructor(
    backbone: AnyModule,
    returnLayers: Record<string, string>,
    inChannelsList: readonly number[],
    readonly outChannels: number,
    extraBlocks: FeaturePyramidNetworkOptions['extraBlocks'] = 'maxpool',
  ) {
    super();
    this.body = new IntermediateLayerGetter(backbone, returnLayers);
    this.fpn = new FeaturePyramidNetwork(inChannelsList, outChannels, { extraBlocks });
  }

  forward(x: Tensor): Record<string, Tensor> {
    return this.fpn.forward(this.body.forward(x));
  }
}

/**
 * torchvision's _resnet_fpn_extractor: the stages `returnedLayers` (default layers 1–4, named '0', '1', … in
 * order; 256 → 2048 channels for a ResNet-50) of a ResNet trunk into a 256-channel FPN with `extraBlocks` (default
 * the 'pool' level); parameters outside the last `trainableLayers` stages are frozen (requiresGrad false), as
 * torchvision does (5 trains everything, bn1 included).
 */
export function resnetFpnExtractor(
  backbone: ResNet,
  trainableLayers: number,
  returnedLayers: readonly number[] = [1, 2, 3, 4],
  extraBlocks: FeaturePyramidNetworkOptions['extraBlocks'] = 'maxpool',
): BackboneWithFPN {
  if (!(Number.isInteger(trainableLayers) && trainableLayers >= 0 && trainableLayers <= 5)) {
    throw new Error(`resnetFpnExtractor: trainableLayers should be in [0, 5], got ${trainableLayers}`);
  }
  if (returnedLayers.length === 0 || returnedLayers.some((l) => !(Number.isInteger(l) && l >= 1 && l <= 4))) {
    throw new Error(
      `resnetFpnExtractor: each returned layer should be in [1, 4], got ${JSON.stringify(returnedLayers)}`,
    );
  }
  const train = ['layer4', 'layer3', 'layer2', 'layer1', 'conv1'].slice(0, trainableLayers);
  if (trainableLayers === 5) train.push('bn1');
  for (const [name, p] of backbone.namedParameters())
    if (!train.some((l) => name.startsWith(l))) p.requiresGrad_(false);
  // torchvision: in_channels_stage2 = inplanes // 8 (256 for a ResNet-50's 2048), doubled per stage.
  const stage2 = backbone.fc.weight.shape[1] / 8;
  const returnLayers: Record<string, string> = {};
  returnedLayers.forEach((l, i) => {
    returnLayers[`layer${l}`] = String(i);
  });
  return new BackboneWithFPN(
    backbone,
    returnLayers,
    returnedLayers.map((l) => stage2 * 2 ** (l - 1)),
    256,
    extraBlocks,
  );
}

/**
 * torchvision's _mobilenet_extractor with an FPN: the MobileNet trunk `features` cut at its stages (the first
 * block, each strided inverted residual, the last conv); the outputs of the last two stages ('0', '1') feed a
 * 256-channel FPN with the 'pool' level. Blocks before the last `trainableLayers` stages are frozen.
 */
export function mobilenetFpnExtractor(features: Sequential, trainableLayers: number): BackboneWithFPN {
  const blocks = features.namedChildren().map(([, m]) => m);
  const stageIndices = [0, ...blocks.flatMap((b, i) => ((b as { isCn?: boolean }).isCn ? [i] : [])), blocks.length - 1];
  const n = stageIndices.length;
  if (!(Number.isInteger(trainableLayers) && trainableLayers >= 0 && trainableLayers <= n)) {
    throw new Error(`mobilenetFpnExtractor: trainableLayers should be in [0, ${n}], got ${trainableLayers}`);
  }
  const freezeBefore = trainableLayers === 0 ? blocks.length : stageIndices[n - trainableLayers];
  for (const b of blocks.slice(0, freezeBefore)) for (const p of b.parameters()) p.requiresGrad_(false);
  const returned = [n - 2, n - 1];
  const returnLayers: Record<string, string> = {};
  returned.forEach((k, v) => {
    returnLayers[String(stageIndices[k])] = String(v);
  });
  const outChannels = (b: AnyModule) => (b as { outChannels?: number }).outChannels;
  const inChannels = returned.map((k) => {
    const c = outChannels(blocks[stageIndices[k]]);
    if (!c) throw new Error(`mobilenetFpnExtractor: block ${stageIndices[k]} does not report its output channels`);
    return c;
  });
  return new BackboneWithFPN(features, returnLayers, inChannels, 256);
}
