/**
 * `ops`: torchvision.ops for Tatami — box conversions and the IoU family, NMS, RoIAlign/RoIPool and the FPN
 * pooler, masks ↔ boxes, and the detection losses (IoU losses, sigmoid focal loss). Functions take tensors of
 * xyxy boxes unless named otherwise; indices come back as int32 tensors (PyTorch's int64).
 */
export {
  boxConvert,
  boxArea,
  boxIou,
  generalizedBoxIou,
  distanceBoxIou,
  completeBoxIou,
  clipBoxesToImage,
  removeSmallBoxes,
  nms,
  batchedNms,
  masksToBoxes,
  type BoxFormat,
} from './ops/boxes.js';
export {
  generalizedBoxIouLoss,
  distanceBoxIouLoss,
  completeBoxIouLoss,
  sigmoidFocalLoss,
  type BoxIouLossOptions,
  type SigmoidFocalLossOptions,
  type BoxLossReduction,
} from './ops/box-loss.js';
export { roiAlign, roiPool, type Rois, type RoiAlignOptions, type RoiPoolOptions } from './ops/roi.js';
export { pasteMasksInImage } from './ops/paste-masks.js';
export { RoIAlign, RoIPool, MultiScaleRoIAlign, type MultiScaleRoIAlignOptions, type RoiOutputSize } from './nn/roi.js';
