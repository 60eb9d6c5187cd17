/**
 * pixelgrad: tensors, autograd and (in later modules) neural networks for image analysis.
 * This entry point imports nothing Node-specific and runs in browsers too.
 */
export { Tensor, empty, type NestedArray, type TensorLike, type GradHook } from './tensor.js';
export * from './creation.js';
export * from './ops/index.js';
export { variance as var } from './ops/reduce.js';
export type { DType, DTypeName, TypedArray, FloatArray } from './dtype.js';
export { DTYPES, MAX_ELEMENTS, DEFAULT_MAX_TENSOR_BYTES, getMaxTensorBytes, setMaxTensorBytes } from './dtype.js';
export { Generator, manualSeed, defaultGenerator } from './random.js';
export { noGrad, enableGrad, isGradEnabled } from './autograd/grad-mode.js';
export { Node, grad, withGradientRules, type BackwardOptions, type GradOptions, type VJP, type GradientRule, type GradientRuleContext } from './autograd/engine.js';
export { gradcheck, type GradcheckOptions, type GradcheckResult } from './autograd/gradcheck.js';
export { setBackend, getBackend, registerBackend, listBackends, type Backend, type Kernels } from './backend/backend.js';
export { createWasmBackend, registerWasmBackend, wasmSimdSupported, relaxedSimdSupported, type WasmBackendOptions, type WasmBackend } from './backend/wasm/index.js';
export { useFastestBackend, backendInfo, type BackendInfo } from './backend/select.js';
export { PixelgradError, ShapeError, DTypeError, ArgumentError, NotSupportedError, MemoryError, FileError } from './errors.js';
export * as inspect from './inspect/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as models from './models/index.js';
export * as data from './data/index.js';
export * as viz from './viz/index.js';
export * as train from './train/index.js';
export * as io from './io/index.js';
export * as attack from './attack/index.js';
export * as explain from './explain/index.js';
export * as embed from './embed/index.js';
export * as segment from './segment/index.js';

import { selectDefaultBackend } from './backend/select.js';

// The fastest backend available becomes the default before any op runs (see backend/select.ts).
await selectDefaultBackend();
