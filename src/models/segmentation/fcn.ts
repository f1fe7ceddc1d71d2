/**
 * FCN (Long et al. 2015) with a dilated ResNet backbone exactly as torchvision 0.14's
 * `torchvision.models.segmentation.fcn`: output stride 8 (layers 3 and 4 dilated instead of strided), an `FCNHead`
 * on `layer4` and, with `auxLoss`, one on `layer3`; logits upsampled bilinearly to the input size.
 * The VGG-16 FCN-32s/16s/8s of the paper are in `fcn-vgg.ts`.
 */
import { IntermediateLayerGetter } from '../feature-extraction.js';
import { resnet101, resnet50, type ResNet } from '../resnet.js';
import { FCNHead, SimpleSegmentationModel, type SegmentationOptions } from './utils.js';

/** torchvision's `FCN`: a `SimpleSegmentationModel` (backbone, classifier, aux_classifier). */
export class FCN extends SimpleSegmentationModel {}

function fcnResnet(backbone: ResNet, opts: SegmentationOptions): FCN {
  const numClasses = opts.numClasses ?? 21;
  const returnLayers: Record<string, string> = { layer4: 'out' };
  if (opts.auxLoss) returnLayers.layer3 = 'aux';
  return new FCN(
    new IntermediateLayerGetter(backbone, returnLayers),
    new FCNHead(2048, numClasses),
    opts.auxLoss ? new FCNHead(1024, numClasses) : null,
  );
}

/** FCN-ResNet-50, output stride 8 (32,957,013 parameters with 21 classes; 35,322,218 with the aux head). */
export function fcn_resnet50(opts: SegmentationOptions = {}): FCN {
  return fcnResnet(resnet50({ replaceStrideWithDilation: [false, true, true] }), opts);
}

/** FCN-ResNet-101, output stride 8 (51,949,141 parameters with 21 classes; 54,314,346 with the aux head). */
export function fcn_resnet101(opts: SegmentationOptions = {}): FCN {
  return fcnResnet(resnet101({ replaceStrideWithDilation: [false, true, true] }), opts);
}
