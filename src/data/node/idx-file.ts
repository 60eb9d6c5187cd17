/** IDX files (raw or gzip-compressed) from disk, as a dataset of images and labels. */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { ArgumentError } from '../../errors.js';
import { Tensor } from '../../tensor.js';
import { TensorDataset } from '../dataset.js';
import { parseIdx, type IdxArray } from '../idx.js';

/** Decompressed files larger than this are refused (a guard against decompression bombs). */
const MAX_BYTES = 2 ** 31 - 1;

/** Reads and parses one IDX file; `.gz` content (by its magic bytes) is decompressed first. */
export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new ArgumentError('idx', `cannot read ${path}: ${(err as Error).message}`);
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: MAX_BYTES });
    } catch (err) {
      throw new ArgumentError('idx', `${path}: corrupt gzip data (${(err as Error).message})`);
    }
  }
  return parseIdx(bytes, path);
}

/**
 * Images and labels from a pair of IDX files (MNIST, Fashion-MNIST, KMNIST, EMNIST): images
 * [N,1,H,W] as float32 in [0,1] (uint8 / 255), labels int32 [N].
 * @example const train = idx('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz');
 */
export function idx(imagesPath: string, labelsPath: string): TensorDataset {
  const images = readIdx(imagesPath), labels = readIdx(labelsPath);
  if (images.shape.length !== 3) throw new ArgumentError('idx', `${imagesPath}: expected images of shape [N, H, W], got [${images.shape.join(',')}]`);
  if (labels.shape.length !== 1) throw new ArgumentError('idx', `${labelsPath}: expected labels of shape [N], got [${labels.shape.join(',')}]`);
  const [n, h, w] = images.shape;
  if (labels.shape[0] !== n) throw new ArgumentError('idx', `${imagesPath} has ${n} images but ${labelsPath} has ${labels.shape[0]} labels`);
  const scale = images.type === 'uint8' ? 1 / 255 : 1;
  const x = new Float32Array(images.data.length);
  for (let i = 0; i < x.length; i++) x[i] = images.data[i] * scale;
  return new TensorDataset(new Tensor(x, [n, 1, h, w]), new Tensor(Int32Array.from(labels.data), [n]));
}
