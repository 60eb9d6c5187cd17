/** Every op, as free functions (Tensor methods call these). */
export * from './elementwise.js';
export * from './reduce.js';
export * from './matmul.js';
export * from './shape.js';
export * from './convert.js';
export * from './conv.js';
export * from './pool.js';
