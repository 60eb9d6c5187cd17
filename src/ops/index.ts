/** Every op, as free functions (Tensor methods call these). */
// recordRelu, for fused ops, stays inside the package.
export {
  neg, exp, log, sqrt, abs, sign, erf, square, relu, sigmoid, tanh, leakyRelu, elu, gelu, softplus, clamp,
  add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge, where,
} from './elementwise.js';
export * from './reduce.js';
export * from './matmul.js';
export * from './shape.js';
export * from './convert.js';
export * from './conv.js';
export { maxPool2d, maxPool2dWithIndices, avgPool2d, adaptiveAvgPool2d, interpolate, type MaxPool2dOptions, type AvgPool2dOptions, type InterpolateOptions } from './pool.js';
