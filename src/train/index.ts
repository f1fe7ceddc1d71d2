/**
 * `train`: the training loop and what goes with it — `fit` / `evaluate` with callbacks, early stopping, best/last
 * checkpoints, LR-scheduler stepping, `history.jsonl` and exact resume; classification metrics; checkpoints of
 * model + optimizer + scheduler + RNG state; the progress bar. The most used names are also exported at the top
 * level of `tatami` (`import { fit, evaluate } from 'tatami'`); everything is here as `tt.train.*`.
 */
export * from './fit.js';
export * from './metrics.js';
export * from './checkpoint.js';
export {
  MeanAveragePrecision,
  DETECTION_METRIC_NAMES,
  type DetectionMetricName,
  type MeanAveragePrecisionOptions,
  type DetectionTargetLike,
  type DetectionOutputLike,
} from './det-metric.js';
export * from './progress.js';
export {
  SegmentationConfusionMatrix,
  SegmentationMetric,
  type Metric,
  type SegmentationMetricOptions,
  type SegmentationMetricName,
} from './seg-metrics.js';
export {
  featureStatistics,
  symmetricEigen,
  traceSqrtProduct,
  frechetDistance,
  fid,
  kid,
  classifierScore,
  type FeatureStatistics,
  type KidOptions,
} from './generative-metrics.js';
