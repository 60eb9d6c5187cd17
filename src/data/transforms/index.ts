/**
 * Image transforms and augmentation on tensors, after torchvision.transforms: the transform
 * factories at the top level (random and deterministic, `compose`, `toTensor`, `computeMeanStd`),
 * the deterministic functions as `functional`, and the image + mask transforms as `paired`.
 */
export * from './random.js';
export * as functional from './functional.js';
export * as paired from './paired.js';
export type { PairTransform, MaskFillOptions } from './paired.js';
