/** Every op, as free functions (Tensor methods call these). */
export * from './elementwise.js';
export * from './reduce.js';
export * from './matmul.js';
export * from './shape.js';
export * from './convert.js';
export * from './conv.js';
export { maxPool2d, maxPool2dWithIndices, avgPool2d, adaptiveAvgPool2d, interpolate, type MaxPool2dOptions, type AvgPool2dOptions, type InterpolateOptions } from './pool.js';
