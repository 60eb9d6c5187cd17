/** Reading and writing tensors (browser-safe). Files on disk: `src/io/node.ts` (Node only). */
export {
  serializeSafetensors, parseSafetensors, SafetensorsError, MAX_HEADER_BYTES, type SafetensorsContents,
} from './safetensors.js';
