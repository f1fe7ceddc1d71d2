/**
 * SE-ResNet (Hu et al. 2018): torchvision's ResNet with a squeeze-and-excitation gate (reduction 16) on each residual
 * branch before the addition. Same names as ResNet plus `layerN.M.se.{fc1, fc2}`.
 */
import { SqueezeExcitation } from '../nn/attention.js';
import type { Sequential } from '../nn/container.js';
import { add } from '../ops/elementwise.js';
import type { Tensor } from '../tensor/tensor.js';
import { BasicBlock, Bottleneck, ResNet, type NormLayerFactory, type ResNetOptions } from './resnet.js';

/** Channel reduction of the SE gates. */
export const SE_REDUCTION = 16;

/** BasicBlock with an SE gate after bn2. */
export class SEBasicBlock extends BasicBlock {
  se: SqueezeExcitation;
  constructor(
    inplanes: number,
    planes: number,
    stride = 1,
    downsample: Sequential | null = null,
    groups = 1,
    baseWidth = 64,
    dilation = 1,
    normLayer?: NormLayerFactory,
  ) {
    super(inplanes, planes, stride, downsample, groups, baseWidth, dilation, normLayer);
    this.se = new SqueezeExcitation(planes, Math.max(1, Math.floor(planes / SE_REDUCTION)));
  }

  override forward(x: Tensor): Tensor {
    let out = this.relu.forward(this.bn1.forward(this.conv1.forward(x)) as Tensor);
    out = this.se.forward(this.bn2.forward(this.conv2.forward(out)) as Tensor);
    return this.relu.forward(add(out, this.downsample ? this.downsample.forward(x) : x));
  }
}

/** Bottleneck with an SE gate after bn3. */
export class SEBottleneck extends Bottleneck {
  se: SqueezeExcitation;
  constructor(
    inplanes: number,
    planes: number,
    stride = 1,
    downsample: Sequential | null = null,
    groups = 1,
    baseWidth = 64,
    dilation = 1,
    normLayer?: NormLayerFactory,
  ) {
    super(inplanes, planes, stride, downsample, groups, baseWidth, dilation, normLayer);
    const c = planes * Bottleneck.expansion;
    this.se = new SqueezeExcitation(c, Math.floor(c / SE_REDUCTION));
  }

  override forward(x: Tensor): Tensor {
    let out = this.relu.forward(this.bn1.forward(this.conv1.forward(x)) as Tensor);
    out = this.relu.forward(this.bn2.forward(this.conv2.forward(out)) as Tensor);
    out = this.se.forward(this.bn3.forward(this.conv3.forward(out)) as Tensor);
    return this.relu.forward(add(out, this.downsample ? this.downsample.forward(x) : x));
  }
}

/** SE-ResNet-18. */
export function se_resnet18(opts: ResNetOptions = {}): ResNet {
  return new ResNet(SEBasicBlock, [2, 2, 2, 2], opts);
}
/** SE-ResNet-34. */
export function se_resnet34(opts: ResNetOptions = {}): ResNet {
  return new ResNet(SEBasicBlock, [3, 4, 6, 3], opts);
}
/** SE-ResNet-50 (28,088,024 parameters: ResNet-50 plus 2,530,992 in the gates). */
export function se_resnet50(opts: ResNetOptions = {}): ResNet {
  return new ResNet(SEBottleneck, [3, 4, 6, 3], opts);
}
