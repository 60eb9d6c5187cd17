/** IDX files (raw or gzip-compressed) from disk, as a dataset of images and labels. */
import { statSync } from 'node:fs';
import { constants, gunzipSync } from 'node:zlib';
import { ArgumentError, describeValue } from '../../errors.js';
import { readFailure, readFileChecked } from '../../io/node.js';
import { Tensor } from '../../tensor.js';
import { TensorDataset } from '../dataset.js';
import { parseIdx, parseIdxHeader, type IdxArray } from '../idx.js';

/**
 * The largest IDX file read, raw or decompressed: 2 GiB − 1 (its images then take four times that
 * as float32; EMNIST's largest file is 550 MB). Larger files are refused before they are read or
 * decompressed.
 */
export const MAX_IDX_BYTES = 2 ** 31 - 1;

/** The longest IDX header: 4 bytes, then 4 for each of up to 255 dims. */
const MAX_HEADER_BYTES = 4 + 4 * 255;

const tooLarge = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';

/**
 * The first `want` bytes of gzip data's decompressed content (all of it when shorter), without
 * decompressing the rest. A prefix of the compressed bytes, flushed rather than finished, inflates to
 * a prefix of the content; a bomb's prefix can inflate a thousandfold, so each try is capped and an
 * over-long prefix is halved until it lands (one compressed byte yields at most about 1 KiB).
 */
function gunzipHead(gz: Uint8Array, want: number): Buffer {
  const cap = want + 64 * 1024;
  let lo = 0, hi = Infinity; // prefixes of lo bytes give less than `want`; of hi bytes, more than `cap`
  let k = Math.min(gz.length, 4 * want);
  for (;;) {
    let out: Buffer | null = null;
    try {
      // The whole input must end the gzip stream (a truncated stream is an error); a prefix need not.
      out = gunzipSync(gz.subarray(0, k), { finishFlush: k === gz.length ? constants.Z_FINISH : constants.Z_SYNC_FLUSH, maxOutputLength: cap });
    } catch (err) {
      if (!tooLarge(err)) throw err;
    }
    if (out && (out.length >= want || k === gz.length)) return out;
    if (out) lo = k;
    else hi = k;
    k = hi === Infinity ? Math.min(gz.length, 2 * k) : Math.floor((lo + hi) / 2);
    // Only when one more byte of input would add over 64 KiB, which deflate cannot do.
    if (k === lo) throw new RangeError(`gzip prefix of ${hi} bytes inflates past ${cap} bytes`);
  }
}

/**
 * IDX bytes from a file's content: gzip data (by its magic bytes) is decompressed, but never past
 * the size its IDX header declares, so a decompression bomb is refused after a few megabytes of
 * work. `name` (the path) goes into error messages. @internal
 */
export function idxFileBytes(bytes: Uint8Array, name: string): Uint8Array {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const fail = (why: string): never => { throw new ArgumentError('idx', `${name}: ${why}`); };
  try {
    const { shape, type, totalBytes } = parseIdxHeader(gunzipHead(bytes, MAX_HEADER_BYTES), name);
    const declared = `${describeValue(shape)} ${type} values, ${totalBytes} bytes with the header`;
    if (totalBytes > MAX_IDX_BYTES) fail(`the header declares ${declared}, over the limit of ${MAX_IDX_BYTES} bytes`);
    try {
      return gunzipSync(bytes, { maxOutputLength: totalBytes });
    } catch (err) {
      if (!tooLarge(err)) throw err;
      return fail(`the gzip data decompresses to more than the ${totalBytes} bytes its IDX header declares (${declared}); stopped there (a decompression bomb, or a corrupt file)`);
    }
  } catch (err) {
    if (err instanceof ArgumentError) throw err;
    return fail(`corrupt gzip data (${(err as Error).message})`);
  }
}

/** Reads and parses one IDX file; `.gz` content (by its magic bytes) is decompressed first. */
export function readIdx(path: string): IdxArray {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw readFailure('idx', path, err);
  }
  if (size > MAX_IDX_BYTES) throw new ArgumentError('idx', `${path}: the file has ${size} bytes, over the limit of ${MAX_IDX_BYTES} bytes`);
  return parseIdx(idxFileBytes(readFileChecked('idx', path), path), path);
}

/**
 * Images and labels from a pair of IDX files (MNIST, Fashion-MNIST, KMNIST, EMNIST): images
 * [N,1,H,W] as float32 in [0,1] (uint8 / 255), labels int32 [N]. Images may be non-square (the
 * models of `createModel` take square ones; the command line says so). An empty set, images of
 * zero size and labels that are not integers are refused, naming the file.
 * @example const train = idx('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz');
 */
export function idx(imagesPath: string, labelsPath: string): TensorDataset {
  const images = readIdx(imagesPath), labels = readIdx(labelsPath);
  if (images.shape.length !== 3) throw new ArgumentError('idx', `${imagesPath}: expected images of shape [N, H, W], got ${describeValue(images.shape)}`);
  if (labels.shape.length !== 1) throw new ArgumentError('idx', `${labelsPath}: expected labels of shape [N], got ${describeValue(labels.shape)}`);
  const [n, h, w] = images.shape;
  if (n === 0) throw new ArgumentError('idx', `${imagesPath}: the file holds no images (shape [0,${h},${w}]): an empty IDX set`);
  if (h === 0 || w === 0) throw new ArgumentError('idx', `${imagesPath}: the images are ${h}×${w} pixels (shape [${n},${h},${w}]); each needs at least one pixel`);
  if (labels.shape[0] !== n) throw new ArgumentError('idx', `${imagesPath} has ${n} images but ${labelsPath} has ${labels.shape[0]} labels`);
  const targets = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = labels.data[i];
    if (!Number.isInteger(v) || Math.abs(v) > 2 ** 31 - 1) throw new ArgumentError('idx', `${labelsPath}: label ${i} is ${v}, not an integer class label`);
    targets[i] = v;
  }
  const scale = images.type === 'uint8' ? 1 / 255 : 1;
  const x = new Float32Array(images.data.length);
  for (let i = 0; i < x.length; i++) x[i] = images.data[i] * scale;
  return new TensorDataset(new Tensor(x, [n, 1, h, w]), new Tensor(targets, [n]));
}
