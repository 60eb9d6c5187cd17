/**
 * Feature spaces (browser-safe): features from any layer, exact nearest neighbours and k-NN
 * classification, PCA, trustworthiness, and the galleries that show neighbours and reconstructions.
 */
export { extractFeatures, layerNames, findLayer, lastLinear, type FeatureOptions, type Features } from './features.js';
export { kNeighbors, forEachDistanceBlock, METRICS, type Metric, type Neighbors, type NeighborsOptions } from './neighbors.js';
export { KNeighborsClassifier, leaveOneOutAccuracy, type KNeighborsOptions, type Weights } from './classifier.js';
export { PCA, type PCAOptions } from './pca.js';
export { trustworthiness } from './quality.js';
export { symmetricEigen, type SymmetricEigen } from './linalg.js';
export { neighborGallery, reconstructionGallery, embeddingMapSpec, tintImage, CLASS_COLORS, type ImageTiles, type NeighborPanel, type NeighborGalleryOptions, type Thumbnail, type EmbeddingMapOptions } from './gallery.js';
export { TSNE, type TSNEOptions, type TSNETransformOptions, type TSNEProgress, type TSNEMethod, type TSNEKernel } from './tsne.js';
