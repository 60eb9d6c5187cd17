/** Reading and writing tensors (browser-safe). Files on disk: `src/io/node.ts` (Node only). */
export {
  serializeSafetensors, parseSafetensors, SafetensorsError, MAX_HEADER_BYTES, type SafetensorsContents,
} from './safetensors.js';
export {
  exportOnnx, importOnnx, OnnxModel, OnnxError, ONNX_OPSET, type ExportOnnxOptions, type ImportOnnxOptions, type ExternalDataReader,
} from './onnx/index.js';
