/**
 * `viz`: seeing inside CNNs — colormaps and overlays, feature maps, filters, activation maximisation, Grad-CAM,
 * saliency, adversarial examples, anomaly detection, the training report and model graphs.
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
export { ConvAutoencoder, trainAutoencoder, type ConvAutoencoderOptions } from './autoencoder.js';
export { runAnomalyDemo, featureCnn, type AnomalyDemoOptions } from './anomaly-demo.js';
