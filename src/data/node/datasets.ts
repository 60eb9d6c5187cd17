/** `datasets` (Node only): data from files and packages, plus the synthetic shapes set. */
export { mnist, type MnistOptions } from './mnist.js';
export { apportion } from '../split.js';
export { idx, readIdx } from './idx-file.js';
export { shapes } from '../shapes.js';
export { ImageFolder, imageFolder, SegmentationFolder, segmentationFolder, type ImageFolderOptions, type SegmentationFolderOptions, type ClassificationSample, type SegmentationSample } from './folders.js';
