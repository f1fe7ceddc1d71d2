/**
 * ONNX interchange: `exportModel` traces a forward pass into an .onnx file that ONNX Runtime, TensorRT or PyTorch
 * tooling can run; `importModel` loads an .onnx file as a runnable, trainable Tatami module. See docs/onnx.md.
 */
export { exportModel, exportModelBytes, traceModel, type ExportOptions } from './export.js';
export { importModel, importModelBytes, OnnxModel, supportedOps, type ImportOptions } from './import.js';
export { OnnxUnsupportedError } from './ops-common.js';
/** The ONNX protobuf messages (generated from onnx.proto), as `traceModel` returns them. */
export * as proto from './gen/onnx_pb.js';
