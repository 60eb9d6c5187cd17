/** `data`: datasets, loading in batches, splitting, synthetic data and (as `transforms`) augmentation. */
export { TensorDataset, Subset, MappedDataset, collate, checkIndex, type Dataset, type Sample, type Collated } from './dataset.js';
export { DataLoader, type DataLoaderOptions } from './dataloader.js';
export { randomSplit, stratifiedSplit, stratifiedSample, apportion } from './split.js';
export { shapes, ShapesDataset, SHAPE_CLASSES, type ShapesOptions } from './shapes.js';
export { parseIdx, type IdxArray } from './idx.js';
export * as transforms from './transforms/index.js';
