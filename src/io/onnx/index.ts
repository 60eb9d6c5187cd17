/** ONNX in and out (browser-safe): `exportOnnx`, `importOnnx`. Files: `src/io/onnx/node.ts`. */
export { exportOnnx, ONNX_OPSET, type ExportOnnxOptions } from './export.js';
export { importOnnx, OnnxModel, tensorFromProto, MAX_TENSOR_ELEMENTS, type ImportOnnxOptions, type ExternalDataReader } from './import.js';
export { OnnxError } from './proto.js';
