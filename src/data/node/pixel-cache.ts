/**
 * A cache of decoded images (Node only): the pixels of a whole folder in one safetensors file, so
 * that the next load reads one file instead of decoding every image.
 *
 * The file holds one tensor, `pixels`, and `__metadata__.pixelgrad` =
 * `{ format: 'pixelgrad-pixel-cache', version: 1, key, count, channels, height, width, bits }`.
 * The images are stored back to back, planar, at their integer depth (8 or 16 bits), packed into
 * the bytes of an I32 tensor because safetensors as read here holds no 8- or 16-bit dtype (four
 * times smaller than float pixels). `key` is a hash of what the pixels were decoded from (the
 * folder's listing with sizes and modification times, and the decoding options): a different key
 * means the folder changed, and the cache is decoded again and replaced. Only folders whose images
 * all share one shape and depth are cached.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseSafetensors, serializeSafetensors } from '../../io/safetensors.js';
import { writeFileAtomic } from '../../io/files.js';
import { Tensor } from '../../tensor.js';

/** Decoded planar pixels of one image, as the folder datasets keep them. */
export interface StoredPixels { data: Uint8Array | Uint16Array; channels: number; height: number; width: number; maxValue: number }

const FORMAT = 'pixelgrad-pixel-cache';
const VERSION = 1;
const META = 'pixelgrad';

interface Header { format: string; version: number; key: string; count: number; channels: number; height: number; width: number; bits: number }

/** A hex SHA-256 of JSON-able `what`. */
export function hashOf(what: unknown): string {
  return createHash('sha256').update(JSON.stringify(what)).digest('hex');
}

/** The cache file in `dir` for the folder `realRoot` decoded with `options` (one file per folder and options, whatever its contents). */
export function cacheFile(dir: string, realRoot: string, options: unknown): string {
  return join(dir, `${basename(realRoot).replace(/[^\w.-]/g, '_')}-${hashOf({ realRoot, options }).slice(0, 16)}.safetensors`);
}

/**
 * The `count` images cached in `path` under `key`, or null: when there is no file or it was made
 * from other files (`key` differs), silently; when it cannot be read or is inconsistent, after
 * `warn` with the reason.
 */
export function readPixelCache(path: string, key: string, count: number, warn: (message: string) => void): StoredPixels[] | null {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') warn(`cannot read the image cache ${path} (${(err as Error).message}); decoding the images again`);
    return null;
  }
  try {
    const { tensors, metadata } = parseSafetensors(bytes, path);
    const h = JSON.parse(metadata[META] ?? 'null') as Header | null;
    if (h === null || h.format !== FORMAT) throw new Error('not an image cache');
    if (h.version !== VERSION || h.key !== key) return null;
    if (h.count !== count) throw new Error(`it holds ${h.count} images, but its key is that of ${count}`);
    const dims = [h.channels, h.height, h.width];
    if (!dims.every((d) => Number.isSafeInteger(d) && d > 0) || (h.bits !== 8 && h.bits !== 16)) throw new Error(`bad image shape ${JSON.stringify(dims)} or depth ${h.bits}`);
    const pixels = tensors.pixels;
    const per = h.channels * h.height * h.width, bytesPer = per * (h.bits / 8);
    if (!pixels || pixels.dtype !== 'int32' || pixels.ndim !== 1 || pixels.data.byteLength !== Math.ceil((count * bytesPer) / 4) * 4) {
      throw new Error(`the pixels do not fill ${count} images of ${JSON.stringify(dims)}`);
    }
    const { buffer, byteOffset } = pixels.data;
    return Array.from({ length: count }, (_, i) => ({
      data: h.bits === 8 ? new Uint8Array(buffer, byteOffset + i * bytesPer, per) : new Uint16Array(buffer, byteOffset + i * bytesPer, per),
      channels: h.channels, height: h.height, width: h.width, maxValue: h.bits === 8 ? 255 : 65535,
    }));
  } catch (err) {
    warn(`ignoring the corrupt image cache ${path} (${(err as Error).message}); decoding the images again`);
    return null;
  }
}

/**
 * Writes `images` to `path` under `key` (atomically). Returns false, writing nothing, when the
 * images differ in shape or depth; a failed write is reported with `warn`, not thrown (the cache
 * is an optimisation).
 */
export function writePixelCache(path: string, key: string, images: readonly StoredPixels[], warn: (message: string) => void): boolean {
  const first = images[0];
  if (!first || images.some((p) => p.channels !== first.channels || p.height !== first.height || p.width !== first.width || p.maxValue !== first.maxValue)) return false;
  const bytesPer = first.data.byteLength;
  const packed = new Int32Array(Math.ceil((images.length * bytesPer) / 4));
  const bytes = new Uint8Array(packed.buffer);
  images.forEach((p, i) => bytes.set(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength), i * bytesPer));
  const header: Header = {
    format: FORMAT, version: VERSION, key, count: images.length,
    channels: first.channels, height: first.height, width: first.width, bits: first.maxValue === 255 ? 8 : 16,
  };
  try {
    writeFileAtomic(path, serializeSafetensors({ pixels: new Tensor(packed, [packed.length]) }, { [META]: JSON.stringify(header) }));
    return true;
  } catch (err) {
    warn(`cannot write the image cache ${path} (${(err as Error).message}); the images will be decoded again next time`);
    return false;
  }
}
