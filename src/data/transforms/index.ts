/**
 * Image transforms and augmentation on tensors, after torchvision.transforms: the transform
 * factories at the top level (random and deterministic, `compose`, `toTensor`, `computeMeanStd`),
 * the deterministic functions as `functional`, the image + mask transforms as `paired` (with the
 * U-Net's elastic deformation), and the U-Net pixel weight map `unetWeightMap`.
 */
export * from './random.js';
export * as functional from './functional.js';
export * as paired from './paired.js';
export type { PairTransform, MaskFillOptions, ElasticOptions } from './paired.js';
export { unetWeightMap, type WeightMapOptions } from './weight-map.js';
