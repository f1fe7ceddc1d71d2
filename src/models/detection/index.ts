/**
 * `models.detection`: building blocks of torchvision.models.detection — ImageList, AnchorGenerator, BoxCoder and
 * paste_masks_in_image. (Box and RoI ops themselves are in `tt.ops`.)
 */
export { ImageList } from './image-list.js';
export { AnchorGenerator } from './anchor-utils.js';
export { BoxCoder } from './box-coder.js';
export { pasteMasksInImage } from '../../ops/paste-masks.js';
export {
  GeneralizedRCNNTransform,
  resizeBoxes,
  type DetectionTarget,
  type GeneralizedRCNNTransformOptions,
} from './transform.js';
export {
  RPNHead,
  RegionProposalNetwork,
  concatBoxPredictionLayers,
  type RPNOptions,
  type DetectionTrainTarget,
  type FgBgSampler,
} from './rpn.js';
export { TwoMLPHead, FastRCNNPredictor, RoIHeads, type RoIHeadsOptions, type Detections } from './roi-heads.js';
export {
  FrozenBatchNorm2d,
  IntermediateLayerGetter,
  FeaturePyramidNetwork,
  BackboneWithFPN,
  resnetFpnExtractor,
} from './backbone.js';
export {
  FasterRCNN,
  fasterrcnn_resnet50_fpn,
  type FasterRCNNOptions,
  type FasterRCNNResNet50FPNOptions,
} from './faster-rcnn.js';
export { Matcher, BalancedPositiveNegativeSampler, rpnLoss, fastrcnnLoss } from './det-utils.js';
export { LastLevelP6P7, type FeaturePyramidNetworkOptions } from './backbone.js';
export {
  RetinaNet,
  RetinaNetHead,
  RetinaNetClassificationHead,
  RetinaNetRegressionHead,
  retinanet_resnet50_fpn,
  retinanetDefaultAnchorGenerator,
  type RetinaNetOptions,
  type RetinaNetResNet50FPNOptions,
} from './retinanet.js';
export { MaskRCNNHeads, MaskRCNNPredictor, maskrcnnLoss, maskrcnnInference } from './mask-head.js';
export { MaskRCNN, maskrcnn_resnet50_fpn } from './mask-rcnn.js';
export {
  DefaultBoxGenerator,
  SSD,
  SSDScoringHead,
  ssdMatch,
  type DefaultBoxGeneratorOptions,
  type SSDOptions,
  type SSDHeadLike,
} from './ssd.js';
export {
  SSDLiteHead,
  SSDLiteClassificationHead,
  SSDLiteRegressionHead,
  SSDLiteFeatureExtractorMobileNet,
  ssdlite320_mobilenet_v3_large,
  type SSDLite320Options,
} from './ssdlite.js';
export { mobilenetFpnExtractor } from './backbone.js';
export { fasterrcnn_mobilenet_v3_large_fpn, type FasterRCNNMobileNetV3LargeFPNOptions } from './faster-rcnn.js';
export { SSDFeatureExtractorVGG, SSDHead, ssd300_vgg16, type SSD300VGG16Options } from './ssd-vgg.js';
export {
  FCOS,
  FCOSHead,
  FCOSClassificationHead,
  FCOSRegressionHead,
  BoxLinearCoder,
  fcos_resnet50_fpn,
  type FCOSOptions,
  type FCOSResNet50FPNOptions,
  type FCOSHeadOutputs,
} from './fcos.js';
export {
  checkTargets,
  transformTargets,
  denseForward,
  toOriginalSizes,
  flattenLevels,
  outputsPerLevel,
  foregroundPairs,
  topCandidates,
  type TransformTargetsOptions,
  type TransformedBatch,
  type DenseDetectorParts,
  type DenseForward,
} from './one-stage.js';
