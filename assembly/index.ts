/**
 * The pixelgrad WebAssembly kernels (AssemblyScript, f32x4 SIMD). Every export works on raw
 * pointers into linear memory that the host (src/backend/wasm/) lays out per call; nothing here
 * allocates, so the module is built with the stub runtime and the memory above __heap_base is the
 * host's scratch arena.
 */
export { gemm, gemmWorkBytes, packBWhole, packedBFloats } from './gemm';
export { conv2dBackwardInput, conv2dBackwardWeight, convWorkBytes } from './conv';
export { maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward } from './pool';
export { unary, binary, where, copyStrided } from './elementwise';
export { reduce } from './reduce';
export { channelSums, channelMix } from './channel';
export { conv2dFused, convFusedWorkBytes, rowBiasRelu, channelBiasRelu } from './fused';
export { lstmCell, lstmCellBackward, lstmSequence, lstmSequenceBackward } from './recurrent';

/** Where the host's arena may begin. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~<usize>15;
}
