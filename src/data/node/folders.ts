/**
 * Folder datasets (Node-only): `imageFolder` (one sub-folder per class, as torchvision's
 * ImageFolder) and `segmentationFolder` (images and masks matched by file name).
 *
 * Loading is eager: the async factories decode every file up front and keep the pixels in memory
 * at their integer depth (1 byte per 8-bit value, so 60,000 28×28 digits take 47 MB), because a
 * Dataset's `get` is synchronous. Each `get` returns fresh tensors (float32 [C,H,W] in [0,1];
 * int32 [H,W] masks) and runs `transform`, so random augmentations differ from call to call. This
 * suits course-sized data (imageFolder's `cache` option keeps the decoded pixels in one file, so
 * that only the first load decodes); for larger sets, read files yourself with `readImage`.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, extname, join, relative } from 'node:path';
import { ArgumentError, ShapeError, fmtShape } from '../../errors.js';
import { Tensor } from '../../tensor.js';
import {
  classLookup, decodePixels, maskToIds, parseSize, pixelsToTensor, readBytes,
  type ImageMode, type ImagePixels, type ImageSize, type MaskClasses,
} from './image-io.js';
import { cacheFile, hashOf, readPixelCache, writePixelCache, type StoredPixels } from './pixel-cache.js';

/** A classification sample: an image and its class index. */
export interface ClassificationSample { input: Tensor; target: number }
/** A segmentation sample: an image and its int32 [H,W] mask of class ids. */
export interface SegmentationSample { input: Tensor; target: Tensor }

const DEFAULT_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;

function normaliseExtensions(op: string, extensions: readonly string[]): string[] {
  if (!Array.isArray(extensions) || extensions.length === 0 || !extensions.every((e) => typeof e === 'string' && e.replace(/^\./, '') !== '')) {
    throw new ArgumentError(op, `extensions must be a non-empty list like ['.png', '.jpg'], got ${JSON.stringify(extensions)}`);
  }
  return extensions.map((e) => (e.startsWith('.') ? e : `.${e}`).toLowerCase());
}

const hasExtension = (name: string, exts: readonly string[]) => {
  const lower = name.toLowerCase();
  return exts.some((e) => lower.endsWith(e));
};

/** Code-point order, as Python's `sorted` (not locale order). */
const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

interface Entry { name: string; path: string; isDir: boolean; isFile: boolean; size: number; mtimeMs: number }

/** Entries of a folder, sorted, without dot-names; each with whether it is a folder (links followed), its size and modification time. */
async function listFolder(op: string, dir: string): Promise<Entry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : (err as Error).message;
    const e = new ArgumentError(op, `cannot read folder '${dir}': ${why}`);
    e.cause = err;
    throw e;
  }
  const visible = names.filter((n) => !n.startsWith('.')).sort(byCodePoint);
  return Promise.all(visible.map(async (name) => {
    const path = join(dir, name);
    const s = await stat(path).catch(() => null); // a dangling link counts as neither
    return { name, path, isDir: s?.isDirectory() ?? false, isFile: s?.isFile() ?? false, size: s?.size ?? 0, mtimeMs: s?.mtimeMs ?? 0 };
  }));
}

/** Image files under `dir`, recursively, in sorted walk order (as torchvision's make_dataset). */
async function walkFiles(op: string, dir: string, exts: readonly string[], seen = new Set<string>()): Promise<Entry[]> {
  const real = await realpath(dir);
  if (seen.has(real)) return []; // a link cycle
  seen.add(real);
  const out: Entry[] = [];
  for (const e of await listFolder(op, dir)) {
    if (e.isDir) out.push(...await walkFiles(op, e.path, exts, seen));
    else if (e.isFile && hasExtension(e.name, exts)) out.push(e);
  }
  return out;
}

/**
 * Runs `fn` over `items` with at most a few at a time (sharp decodes on its own thread pool, so
 * concurrent calls decode in parallel); results in order. `onDone` gets the count finished so far.
 */
async function mapLimited<T, R>(items: readonly T[], fn: (item: T, i: number) => Promise<R>, onDone?: (done: number) => void): Promise<R[]> {
  const limit = Math.max(2, Math.min(16, availableParallelism()));
  const out = new Array<R>(items.length);
  let next = 0, done = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
      onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The same check and message as `checkIndex` in src/data/dataset.ts. */
function checkIndex(name: string, index: number, length: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw new ArgumentError(name, `index ${index} is out of range for a dataset of length ${length}`);
  }
}

function checkTransform(op: string, transform: unknown): void {
  if (transform !== undefined && typeof transform !== 'function') throw new ArgumentError(op, 'transform must be a function');
}

/** The first pair of entries whose shapes differ, as an error, or null. */
function sameShapes(op: string, what: string, entries: readonly { path: string; shape: readonly number[] }[]): ShapeError | null {
  const first = entries[0];
  const other = entries.find((e) => e.shape.some((v, i) => v !== first.shape[i]));
  if (!other) return null;
  return new ShapeError(op, `${what} differ in shape: '${first.path}' is ${fmtShape(first.shape)} but '${other.path}' is ${fmtShape(other.shape)}; `
    + 'pass size (and mode) to make them all alike, or allowMixedSizes: true to keep them as they are');
}

type Stored = StoredPixels;

const keep = (p: ImagePixels): Stored => ({ data: p.data, channels: p.channels, height: p.height, width: p.width, maxValue: p.maxValue });

// ---------------------------------------------------------------- imageFolder

export interface ImageFolderOptions {
  /** Channels: as stored (default), 'gray', 'rgb' or 'rgba' (see `ImageMode`). */
  mode?: ImageMode;
  /** Resize every image on load (bilinear): n → n×n, or [h, w]. */
  size?: ImageSize;
  /** File endings that count as images, case-insensitive. Default ['.png', '.jpg', '.jpeg']. */
  extensions?: readonly string[];
  /** Applied to the image on every `get` (after decoding), e.g. a random flip. */
  transform?: (image: Tensor) => Tensor;
  /**
   * Accept images of different shapes (sizes or channel counts). By default loading fails naming
   * two files that differ, since batching them would fail later.
   */
  allowMixedSizes?: boolean;
  /**
   * A folder for a cache of the decoded images (created if missing): the next load of the same
   * folder with the same options reads one file instead of decoding every image. The cache is keyed
   * by the listing with each file's size and modification time, so any change decodes again (and
   * replaces it); a corrupt or unreadable cache is ignored with a warning. Folders whose images
   * differ in shape are not cached.
   */
  cache?: string;
  /** Called as images are decoded, with the number done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Receives warnings (a cache that cannot be read or written); default `process.emitWarning`. */
  onWarning?: (message: string) => void;
}

/** Where a folder's images came from: decoded, or read from the cache file. */
export interface CacheUse { file: string; hit: boolean }

/**
 * Images in class sub-folders, `root/<class>/**\/<file>`, like torchvision's `ImageFolder`:
 * `classes` are the sub-folder names in code-point order, `classToIndex` their indices, `samples`
 * the [path, classIndex] pairs in sorted walk order (sub-folders are searched recursively).
 * Differences: names starting with '.' (e.g. `.ipynb_checkpoints`, macOS `._x.png`) are skipped,
 * and images keep their stored channels unless `mode` says otherwise (torchvision's loader
 * always converts to RGB). Create with `await ImageFolder.load(dir)` or `await imageFolder(dir)`.
 */
export class ImageFolder {
  readonly root: string;
  /** Sorted class names (sub-folder names). */
  readonly classes: string[];
  /** Class name → index into `classes`. */
  readonly classToIndex: Record<string, number>;
  /** [file path, class index] per sample, in order. */
  readonly samples: [string, number][];
  /** The class index of each sample. */
  readonly targets: number[];
  readonly length: number;
  readonly transform: ((image: Tensor) => Tensor) | undefined;
  /** With the `cache` option: the cache file, and whether the images were read from it (null when nothing was cached). */
  readonly cache: CacheUse | null;
  readonly #images: Stored[];

  private constructor(root: string, classes: string[], samples: [string, number][], images: Stored[], transform: ((image: Tensor) => Tensor) | undefined, cache: CacheUse | null) {
    this.root = root;
    this.classes = classes;
    this.classToIndex = Object.fromEntries(classes.map((c, i) => [c, i]));
    this.samples = samples;
    this.targets = samples.map(([, t]) => t);
    this.length = samples.length;
    this.transform = transform;
    this.cache = cache;
    this.#images = images;
  }

  /** Finds the classes and files under `root` and decodes every image (see the module notes). */
  static async load(root: string, options: ImageFolderOptions = {}): Promise<ImageFolder> {
    const op = 'imageFolder';
    const exts = normaliseExtensions(op, options.extensions ?? DEFAULT_EXTENSIONS);
    if (options.size !== undefined) parseSize(op, options.size);
    checkTransform(op, options.transform);
    for (const k of ['onProgress', 'onWarning'] as const) if (options[k] !== undefined && typeof options[k] !== 'function') throw new ArgumentError(op, `${k} must be a function`);
    if (options.cache !== undefined && (typeof options.cache !== 'string' || options.cache === '')) throw new ArgumentError(op, `cache must be a folder path, got ${JSON.stringify(options.cache)}`);
    const classDirs = (await listFolder(op, root)).filter((e) => e.isDir);
    if (classDirs.length === 0) throw new ArgumentError(op, `no class sub-folders in '${root}'; expected ${root}/<class name>/<image files>`);
    const classes = classDirs.map((e) => e.name);
    const samples: [string, number][] = [];
    const listing: [string, number, number, number][] = [];
    const empty: string[] = [];
    for (let c = 0; c < classDirs.length; c++) {
      const files = await walkFiles(op, classDirs[c].path, exts);
      if (files.length === 0) empty.push(classDirs[c].name);
      for (const f of files) {
        samples.push([f.path, c]);
        listing.push([relative(root, f.path), c, f.size, f.mtimeMs]);
      }
    }
    if (empty.length > 0) {
      throw new ArgumentError(op, `found no files ending in ${exts.join(', ')} for the class${empty.length > 1 ? 'es' : ''} ${empty.map((n) => `'${n}'`).join(', ')} in '${root}'`);
    }
    const decoding = { mode: options.mode ?? null, size: options.size ?? null, extensions: exts };
    const warn = options.onWarning ?? ((m: string) => process.emitWarning(m));
    const cache = options.cache === undefined ? null : { file: cacheFile(options.cache, await realpath(root), decoding), key: hashOf({ decoding, listing }) };
    const cached = cache && readPixelCache(cache.file, cache.key, samples.length, warn);
    if (cache && cached) return new ImageFolder(root, classes, samples, cached, options.transform, { file: cache.file, hit: true });

    const decode = async ([path]: [string, number]) => keep(await decodePixels(op, await readBytes(op, path), `'${path}'`, { mode: options.mode, size: options.size }));
    const images = await mapLimited(samples, decode, options.onProgress && ((done) => options.onProgress!(done, samples.length)));
    if (!options.allowMixedSizes) {
      const err = sameShapes(op, 'images', images.map((p, i) => ({ path: samples[i][0], shape: [p.channels, p.height, p.width] })));
      if (err) throw err;
    }
    const written = cache !== null && writePixelCache(cache.file, cache.key, images, warn);
    return new ImageFolder(root, classes, samples, images, options.transform, written ? { file: cache.file, hit: false } : null);
  }

  /** Sample `index`: `{ input: float32 [C,H,W] in [0,1] (after transform), target: class index }`. */
  get(index: number): ClassificationSample {
    checkIndex('ImageFolder', index, this.length);
    const image = pixelsToTensor(this.#images[index]);
    return { input: this.transform ? this.transform(image) : image, target: this.samples[index][1] };
  }
}

/** `await imageFolder(dir, options)`: the same as `ImageFolder.load`. */
export function imageFolder(root: string, options: ImageFolderOptions = {}): Promise<ImageFolder> {
  return ImageFolder.load(root, options);
}

// ---------------------------------------------------------------- segmentationFolder

export interface SegmentationFolderOptions {
  /**
   * Mask value → class id: `{0: 0, 255: 1}` (e.g. ISBI's 0/255 masks), or `[0, 255]` (the value at
   * position i is class i). A mask value not mapped is an error naming the file. Default: the
   * stored values are the class ids.
   */
  classes?: MaskClasses;
  /** Resize on load: images bilinear, masks nearest-neighbour; n → n×n, or [h, w]. */
  size?: ImageSize;
  /** Image channels (masks are always one channel). */
  mode?: ImageMode;
  /** Applied to (image, mask) on every `get`, e.g. the same random flip for both. */
  transform?: (image: Tensor, mask: Tensor) => [Tensor, Tensor];
  /** File endings of images and masks, case-insensitive. Default ['.png', '.jpg', '.jpeg']. */
  extensions?: readonly string[];
  /** Accept pairs of different sizes (each image still has to match its own mask). */
  allowMixedSizes?: boolean;
}

interface StoredMask { ids: Uint8Array | Int32Array; height: number; width: number }

/**
 * Images and segmentation masks in two folders, paired by file-name stem (`image/12.png` with
 * `label/12.png` or `label/12.tif`...; extensions may differ). Pairs are in code-point order of the
 * image file names. Every image needs exactly one mask and the reverse, and each pair must have the
 * same stored size; errors name the files. Create with `await segmentationFolder(images, masks)`.
 */
export class SegmentationFolder {
  readonly imagesDir: string;
  readonly masksDir: string;
  /** [image path, mask path] per sample, in order. */
  readonly samples: [string, string][];
  readonly length: number;
  readonly transform: ((image: Tensor, mask: Tensor) => [Tensor, Tensor]) | undefined;
  readonly #images: Stored[];
  readonly #masks: StoredMask[];

  private constructor(imagesDir: string, masksDir: string, samples: [string, string][], images: Stored[], masks: StoredMask[], transform: SegmentationFolderOptions['transform']) {
    this.imagesDir = imagesDir;
    this.masksDir = masksDir;
    this.samples = samples;
    this.length = samples.length;
    this.transform = transform;
    this.#images = images;
    this.#masks = masks;
  }

  /** Pairs the files and decodes every image and mask (see the module notes). */
  static async load(imagesDir: string, masksDir: string, options: SegmentationFolderOptions = {}): Promise<SegmentationFolder> {
    const op = 'segmentationFolder';
    const exts = normaliseExtensions(op, options.extensions ?? DEFAULT_EXTENSIONS);
    if (options.size !== undefined) parseSize(op, options.size);
    checkTransform(op, options.transform);
    const lookup = options.classes === undefined ? undefined : classLookup(op, options.classes);

    const byStem = async (dir: string, what: string) => {
      const files = (await listFolder(op, dir)).filter((e) => e.isFile && hasExtension(e.name, exts));
      const map = new Map<string, string>();
      for (const f of files) {
        const stem = basename(f.name, extname(f.name));
        const prior = map.get(stem);
        if (prior) throw new ArgumentError(op, `two ${what} files have the stem '${stem}': '${prior}' and '${f.path}'; keep one`);
        map.set(stem, f.path);
      }
      if (map.size === 0) throw new ArgumentError(op, `no ${what} files ending in ${exts.join(', ')} in '${dir}'`);
      return map;
    };
    const images = await byStem(imagesDir, 'image');
    const masks = await byStem(masksDir, 'mask');
    const noMask = [...images].filter(([stem]) => !masks.has(stem)).map(([, p]) => p);
    if (noMask.length > 0) {
      throw new ArgumentError(op, `no mask in '${masksDir}' for ${noMask.length} image${noMask.length > 1 ? 's' : ''}: ${list(noMask)} (masks are matched by file name without extension)`);
    }
    const noImage = [...masks].filter(([stem]) => !images.has(stem)).map(([, p]) => p);
    if (noImage.length > 0) {
      throw new ArgumentError(op, `no image in '${imagesDir}' for ${noImage.length} mask${noImage.length > 1 ? 's' : ''}: ${list(noImage)} (images are matched by file name without extension)`);
    }
    const samples: [string, string][] = [...images].map(([stem, p]) => [p, masks.get(stem)!] as [string, string])
      .sort((a, b) => byCodePoint(basename(a[0]), basename(b[0])));

    const decoded = await mapLimited(samples, async ([imagePath, maskPath]) => {
      const image = await decodePixels(op, await readBytes(op, imagePath), `'${imagePath}'`, { mode: options.mode, size: options.size });
      const mask = await decodePixels(op, await readBytes(op, maskPath), `'${maskPath}'`, { size: options.size, purpose: 'mask' });
      if (image.sourceHeight !== mask.sourceHeight || image.sourceWidth !== mask.sourceWidth) {
        throw new ShapeError(op, `image '${imagePath}' is ${image.sourceHeight}×${image.sourceWidth} (H×W) but its mask '${maskPath}' is ${mask.sourceHeight}×${mask.sourceWidth}`);
      }
      const ids = maskToIds(op, mask, `'${maskPath}'`, lookup);
      let small = true;
      for (let i = 0; i < ids.length && small; i++) small = ids[i] >= 0 && ids[i] <= 255;
      return { image: keep(image), mask: { ids: small ? Uint8Array.from(ids) : ids, height: mask.height, width: mask.width } };
    });
    if (!options.allowMixedSizes) {
      const err = sameShapes(op, 'images', decoded.map((d, i) => ({ path: samples[i][0], shape: [d.image.channels, d.image.height, d.image.width] })));
      if (err) throw err;
    }
    return new SegmentationFolder(imagesDir, masksDir, samples, decoded.map((d) => d.image), decoded.map((d) => d.mask), options.transform);
  }

  /** Sample `index`: `{ input: float32 [C,H,W] in [0,1], target: int32 [H,W] class ids }` (after transform). */
  get(index: number): SegmentationSample {
    checkIndex('SegmentationFolder', index, this.length);
    const image = pixelsToTensor(this.#images[index]);
    const m = this.#masks[index];
    const mask = new Tensor(Int32Array.from(m.ids), [m.height, m.width]);
    if (!this.transform) return { input: image, target: mask };
    const [input, target] = this.transform(image, mask);
    return { input, target };
  }
}

function list(paths: readonly string[]): string {
  const shown = paths.slice(0, 5).map((p) => `'${p}'`).join(', ');
  return paths.length > 5 ? `${shown} and ${paths.length - 5} more` : shown;
}

/** `await segmentationFolder(imagesDir, masksDir, options)`: the same as `SegmentationFolder.load`. */
export function segmentationFolder(imagesDir: string, masksDir: string, options: SegmentationFolderOptions = {}): Promise<SegmentationFolder> {
  return SegmentationFolder.load(imagesDir, masksDir, options);
}
