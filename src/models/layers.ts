/** Building blocks shared by the zoo, as torchvision.ops.misc / torchvision.models._utils. */
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/container.js';
import { constant_, kaimingNormal_, normal_, zeros_ } from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import type { AnyModule } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { ReLU } from '../nn/activation.js';

/** Builds a normalisation layer for `channels` channels (torchvision's `norm_layer`). */
export type NormFactory = (channels: number) => AnyModule;
/** Builds an activation module (torchvision's `activation_layer`). */
export type ActivationFactory = () => AnyModule;

/** torchvision's `_make_divisible`: round `v` to a multiple of `divisor`, never going down by more than 10%. */
export function makeDivisible(v: number, divisor: number, minValue: number | null = null): number {
  const min = minValue ?? divisor;
  let newV = Math.max(min, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (newV < 0.9 * v) newV += divisor;
  return newV;
}

/** Options of `Conv2dNormActivation`. */
export interface ConvNormActOptions {
  stride?: number;
  /** Default (kernel − 1)/2 · dilation ("same" for odd kernels). */
  padding?: number;
  groups?: number;
  dilation?: number;
  /** Default BatchNorm2d; null = no normalisation (then the conv has a bias). */
  normLayer?: NormFactory | null;
  /** Default ReLU; null = none. */
  activationLayer?: ActivationFactory | null;
  /** Default: true exactly when there is no normalisation layer. */
  bias?: boolean;
}

/** torchvision.ops.Conv2dNormActivation: Sequential(conv '0', norm '1', activation '2'). */
export class Conv2dNormActivation extends Sequential {
  readonly outChannels: number;
  constructor(inChannels: number, outChannels: number, kernelSize = 3, opts: ConvNormActOptions = {}) {
    const dilation = opts.dilation ?? 1;
    const padding = opts.padding ?? Math.floor((kernelSize - 1) / 2) * dilation;
    const norm = opts.normLayer === undefined ? (c: number) => new BatchNorm2d(c) : opts.normLayer;
    const act = opts.activationLayer === undefined ? () => new ReLU() : opts.activationLayer;
    const layers: AnyModule[] = [
      new Conv2d(inChannels, outChannels, kernelSize, {
        stride: opts.stride ?? 1,
        padding,
        dilation,
        groups: opts.groups ?? 1,
        bias: opts.bias ?? norm === null,
      }),
    ];
    if (norm) layers.push(norm(outChannels));
    if (act) layers.push(act());
    super(...layers);
    this.outChannels = outChannels;
  }
}

/**
 * The init most torchvision classifiers share: conv kaiming-normal (fan_out, relu) with zero bias, norm layers
 * weight 1 / bias 0, linear N(0, linearStd²) with zero bias.
 */
export function initClassifierWeights(model: { modules(): AnyModule[] }, linearStd = 0.01): void {
  for (const m of model.modules()) {
    if (m instanceof Conv2d) {
      kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      if (m.bias) zeros_(m.bias);
    } else if (m instanceof BatchNorm2d) {
      if (m.weight) constant_(m.weight, 1);
      if (m.bias) constant_(m.bias, 0);
    } else if (m instanceof Linear) {
      normal_(m.weight, 0, linearStd);
      if (m.bias) zeros_(m.bias);
    }
  }
}
