/**
 * `viz`: seeing inside CNNs — colormaps and overlays, feature maps, filters, activation maximisation, Grad-CAM,
 * saliency, adversarial examples, anomaly scores (reconstruction error, kNN on features, AUROC), the training report
 * and model graphs. Explanation methods only: experiments that train are in `recipes`.
 */
export * from './colormap.js';
export { type ModelLike, findLayer, lastConvLayer } from './model-util.js';
export * from './feature-maps.js';
export * from './filters.js';
export * from './activation-max.js';
export * from './gradcam.js';
export * from './saliency.js';
export * from './adversarial.js';
export * from './anomaly.js';
export * from './report.js';
export * from './graph.js';
