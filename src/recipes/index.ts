/**
 * `recipes`: complete experiments built on the public training API (`fit`, `evaluate`, `DataLoader` and its
 * samplers) — transfer learning, Siamese one-shot classification and anomaly detection on Fashion-MNIST. The
 * examples in examples/ and the `tatami anomaly` command run them; read them as worked examples of `fit`.
 */
export {
  fashionImages,
  trainSteps,
  trainFashionClassifier,
  type LabelledImages,
  type FashionImagesOptions,
  type TrainStepsOptions,
} from './fashion.js';
export {
  accuracyOn,
  pretrainBackbone,
  compareTransferWithScratch,
  transferLearningExperiment,
  meanAccuracy,
  BASE_CLASSES,
  NEW_CLASSES,
  type PretrainOptions,
  type PretrainedBackbone,
  type FewShotOptions,
  type MethodScores,
  type BudgetResult,
  type TransferExperimentOptions,
  type TransferExperimentResult,
} from './transfer.js';
export {
  siameseOneShot,
  ContrastivePairs,
  type SiameseExperimentOptions,
  type SiameseExperimentResult,
} from './siamese.js';
export {
  runAnomalyDemo,
  trainAutoencoder,
  featureCnn,
  type AnomalyDemoOptions,
  type TrainAutoencoderOptions,
} from './anomaly.js';
