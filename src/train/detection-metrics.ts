/**
 * `metrics` (detection part): COCO-style AP/AR for boxes and masks (pycocotools' COCOeval) and Pascal VOC AP
 * (2007 11-point and 2010+ all-point). Mask helpers (RLE, polygons) are in `tt.data`.
 */
export {
  CocoEvaluator,
  cocoEvaluate,
  formatCocoStats,
  type CocoGroundTruth,
  type CocoDetection,
  type CocoEvalOptions,
  type CocoStats,
} from './coco-eval.js';
export {
  vocAp,
  vocEvaluate,
  type VocGroundTruth,
  type VocDetection,
  type VocEvalOptions,
  type VocResult,
} from './voc-eval.js';
export {
  MeanAveragePrecision,
  DETECTION_METRIC_NAMES,
  type DetectionMetricName,
  type MeanAveragePrecisionOptions,
  type DetectionTargetLike,
  type DetectionOutputLike,
} from './det-metric.js';
