/**
 * Fusion rules for the torchvision building blocks that are not Sequentials: ResNet's `BasicBlock`, `Bottleneck`
 * and stem, and `IntermediateLayerGetter`. Each rule computes exactly what the class's plain forward computes,
 * with the fused kernels of nn/fusion.ts where their conditions hold (see docs/fusion.md); `nn.fuse(model)`
 * applies them. Imported for its effect by models/index.ts, so the rules exist whenever `tt.models` does.
 */
import { convBnAct, foldedConvBnAct, registerFusionRule, residualRelu, runChain } from '../nn/fusion.js';
import { flatten } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { IntermediateLayerGetter, type FeatureMaps } from './feature-extraction.js';
import { BasicBlock, Bottleneck, ResNet } from './resnet.js';

/** The tail of both blocks: relu(bn(conv(out)) + shortcut(x)), in place on the folded output when it folded. */
function residualTail(
  block: BasicBlock | Bottleneck,
  conv: BasicBlock['conv2'],
  bn: BasicBlock['bn2'],
  out: Tensor,
  x: Tensor,
): Tensor {
  // folded: `out` is a fresh tensor nothing else holds, so the residual add and ReLU may run in place on it
  const folded = foldedConvBnAct(conv, bn, null, out);
  out = folded ?? (bn.forward(conv.forward(out)) as Tensor);
  const identity = block.downsample ? block.downsample.forward(x) : x;
  return residualRelu(out, identity, block.relu, folded !== null);
}

registerFusionRule(BasicBlock, {
  forward(b, x) {
    const out = convBnAct(b.conv1, b.bn1, b.relu, x as Tensor);
    return residualTail(b, b.conv2, b.bn2, out, x as Tensor);
  },
});

registerFusionRule(Bottleneck, {
  forward(b, x) {
    let out = convBnAct(b.conv1, b.bn1, b.relu, x as Tensor);
    out = convBnAct(b.conv2, b.bn2, b.relu, out);
    return residualTail(b, b.conv3, b.bn3, out, x as Tensor);
  },
});

registerFusionRule(ResNet, {
  methods: ['features'],
  forward(m, x) {
    // the stem conv → bn → relu folds; maxpool, the stages (fused by their own rules), pooling and head as usual
    let y = m.maxpool.forward(convBnAct(m.conv1, m.bn1, m.relu, x as Tensor)) as Tensor;
    y = m.layer4.forward(m.layer3.forward(m.layer2.forward(m.layer1.forward(y))));
    return m.fc.forward(flatten(m.avgpool.forward(y) as Tensor, 1));
  },
});

registerFusionRule(IntermediateLayerGetter, {
  forward(g, x) {
    const named = g.namedChildren();
    const out: FeatureMaps = {};
    // a requested layer's output is never fused away
    runChain(
      named.map(([, m]) => m),
      x,
      (i) => g.returnLayers.has(named[i][0]),
      (i, y) => {
        const key = g.returnLayers.get(named[i][0]);
        if (key !== undefined) out[key] = y as Tensor;
      },
    );
    return out;
  },
});
