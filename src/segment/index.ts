/** `segment`: overlap-tile prediction and the binary-image geometry behind weight maps and Rand scores. */
export { predictTiled, type TileOptions } from './tile.js';
export { connectedComponents, distanceTransform } from './morphology.js';
