/**
 * Image files ⇄ tensors (Node-only; decoding, encoding and resizing by sharp/libvips).
 *
 * An image is a float32 Tensor [C,H,W] with values in [0, 1] (C = 1 grayscale, 3 RGB, 4 RGBA when
 * asked for); a segmentation mask is an int32 Tensor [H,W]. 8-bit files are divided by 255,
 * 16-bit files by 65535. Pixels are taken as stored: no EXIF rotation, no colour management
 * beyond libvips' conversion to sRGB (as PIL/torchvision, which do not rotate either).
 *
 * PNG and JPEG files must end where their format says: a PNG without its IEND chunk, or with bytes
 * after it, and a JPEG with bytes after its end-of-image marker are refused (libvips would decode
 * them without a word). Such files are truncated, damaged or carry something appended (e.g. the
 * video of a phone's "motion photo"); re-saving them makes them plain images.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { ArgumentError, NotSupportedError, PixelgradError, ShapeError, fmtShape } from '../../errors.js';
import { writeFileAtomic } from '../../io/files.js';
import { readFailure } from '../../io/node.js';
import { Tensor } from '../../tensor.js';

/**
 * How channels are delivered. Default: as stored, 1 channel for grayscale files and 3 for colour
 * files; an alpha channel is flattened onto black. 'gray' converts colour with the ITU-R 601-2 luma
 * weights (0.299 R + 0.587 G + 0.114 B, rounded to the file's integer depth, as PIL's `convert('L')`);
 * 'rgb' replicates a grayscale channel; 'rgba' keeps (or adds an opaque) alpha channel.
 */
export type ImageMode = 'gray' | 'rgb' | 'rgba';

/** `size`: a number n resizes to n×n, `[h, w]` to h×w (aspect ratio not kept). */
export type ImageSize = number | readonly [number, number];

export interface ReadImageOptions {
  mode?: ImageMode;
  /**
   * Resize on load with sharp's bilinear ('linear') kernel, antialiased when shrinking (like PIL's
   * bilinear). Note: a single number means a square n×n, not torchvision `Resize(n)`'s
   * "shorter edge to n" — so every image of a folder comes out the same size.
   */
  size?: ImageSize;
}

export interface DecodeImageOptions extends ReadImageOptions {
  /** A name for the bytes in error messages (e.g. a URL or archive entry). */
  name?: string;
}

/**
 * Decoded pixels, channel-planar ([C,H,W] order) at the file's integer depth. Lower level than
 * `readImage`; used by the folder datasets to keep images compactly in memory.
 * @internal
 */
export interface ImagePixels {
  data: Uint8Array | Uint16Array;
  channels: number;
  height: number;
  width: number;
  /** 255 for 8-bit files, 65535 for 16-bit files. */
  maxValue: number;
  /** The size stored in the file, before any resize. */
  sourceHeight: number;
  sourceWidth: number;
  /** Whether the file holds a grayscale image (before any mode conversion). */
  storedGray: boolean;
}

/** @internal How the decoder treats alpha and which resize kernel it uses. */
export interface PixelOptions {
  mode?: ImageMode;
  size?: ImageSize;
  /** 'mask': no alpha flattening (alpha dropped), nearest-neighbour resize, colour channels kept. */
  purpose?: 'image' | 'mask';
}

const DECODABLE = new Set(['png', 'jpeg', 'webp', 'gif', 'tiff']);

/**
 * The most pixels an image may declare: PIL's decompression-bomb limit (2 × 89,478,485). A few
 * kilobytes of PNG can declare this many, and decoding takes about 17 bytes a pixel (RGB bytes,
 * the planar copy, float32).
 */
export const MAX_IMAGE_PIXELS = 178_956_970;

/** Checks `size` and returns [h, w]. @internal */
export function parseSize(op: string, size: ImageSize): [number, number] {
  const hw: readonly unknown[] | null = typeof size === 'number' ? [size, size] : Array.isArray(size) ? size : null;
  if (!hw || hw.length !== 2 || !hw.every((v) => Number.isInteger(v) && (v as number) > 0)) {
    throw new ArgumentError(op, `size must be a positive integer or [height, width] of positive integers, got ${JSON.stringify(size)}`);
  }
  return [hw[0] as number, hw[1] as number];
}

function checkMode(op: string, mode: unknown): void {
  if (mode !== undefined && mode !== 'gray' && mode !== 'rgb' && mode !== 'rgba') {
    throw new ArgumentError(op, `mode must be 'gray', 'rgb' or 'rgba', got ${JSON.stringify(mode)}`);
  }
}

/** Reads a file, turning a file-system failure into a PixelgradError naming the path. @internal */
export async function readBytes(op: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw readFailure(op, path, err);
  }
}

/** The format announced by the first bytes (for messages about files too broken to parse). */
function sniff(buf: Uint8Array): string | undefined {
  if (buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47) return 'png';
  if (buf[0] === 0xff && buf[1] === 0xd8) return 'jpeg';
  return undefined;
}

function decodeError(op: string, source: string, buf: Uint8Array, err: unknown, format = sniff(buf)): PixelgradError {
  const raw = err instanceof Error ? err.message : String(err);
  // libvips repeats its warnings; keep each line once, and the whole short (it may quote the file).
  const lines = [...new Set(raw.slice(0, 2000).split('\n').map((l) => l.trim()).filter((l) => l !== ''))].join('; ');
  const detail = lines.length > 300 ? `${lines.slice(0, 297)}...` : lines;
  const kind = format ? `${format.toUpperCase()} ` : '';
  let why: string;
  if (/unsupported image format/i.test(raw)) why = 'not an image in a known format (PNG, JPEG, WebP, GIF, TIFF)';
  else if (/corrupt header/i.test(raw)) why = `corrupt or truncated ${kind}header`;
  else if (/premature end|truncated|read error|bogus|corrupt/i.test(raw)) why = `corrupt or truncated ${kind}data`;
  else why = 'cannot be decoded';
  const e = new ArgumentError(op, `${source} (${buf.length} bytes): ${why}${detail ? ` [libvips: ${detail}]` : ''}`);
  e.cause = err;
  return e;
}

/**
 * Decodes encoded image bytes to planar integer pixels. `source` names the bytes in errors.
 * @internal
 */
export async function decodePixels(op: string, bytes: Uint8Array, source: string, options: PixelOptions = {}): Promise<ImagePixels> {
  checkMode(op, options.mode);
  const hw = options.size === undefined ? undefined : parseSize(op, options.size);
  const purpose = options.purpose ?? 'image';
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length === 0) throw new ArgumentError(op, `${source}: the file is empty (0 bytes), not an image`);

  let meta: Metadata;
  try {
    meta = await sharp(buf).metadata();
  } catch (err) {
    throw decodeError(op, source, buf, err);
  }
  if (!DECODABLE.has(meta.format)) {
    throw new ArgumentError(op, `${source}: '${meta.format}' files are not decoded as images; use PNG, JPEG, WebP, GIF or TIFF`);
  }
  const declared = (meta.width ?? 0) * (meta.height ?? 0);
  if (declared > MAX_IMAGE_PIXELS) {
    throw new ArgumentError(op, `${source} (${buf.length} bytes): the ${meta.format.toUpperCase()} declares ${meta.width}×${meta.height} = ${declared} pixels, over the limit of ${MAX_IMAGE_PIXELS} (a decompression bomb, or an image to shrink before use)`);
  }
  if (meta.depth !== 'uchar' && meta.depth !== 'ushort') {
    throw new NotSupportedError(op, `${source}: pixel depth '${meta.depth}' is not supported; only 8- and 16-bit images`);
  }
  const sixteen = meta.depth === 'ushort';
  const storedGray = meta.space === 'b-w' || meta.space === 'grey16';
  const storedAlpha = meta.hasAlpha === true;
  const mode = options.mode;

  let data: Buffer;
  let info: OutputInfo;
  try {
    let p = sharp(buf, { failOn: 'warning' });
    if (purpose === 'mask') {
      if (storedAlpha) p = p.removeAlpha();
    } else if (storedAlpha && mode !== 'rgba') {
      p = p.flatten({ background: { r: 0, g: 0, b: 0 } });
    }
    if (hw) p = p.resize(hw[1], hw[0], { fit: 'fill', kernel: purpose === 'mask' ? 'nearest' : 'linear', fastShrinkOnLoad: false });
    // Always deliver sRGB(A) at the stored depth; grayscale comes back replicated exactly.
    p = p.toColourspace(sixteen ? 'rgb16' : 'srgb').raw({ depth: sixteen ? 'ushort' : 'uchar' });
    ({ data, info } = await p.toBuffer({ resolveWithObject: true }));
  } catch (err) {
    throw decodeError(op, source, buf, err, meta.format);
  }

  checkEnd(op, source, buf, meta.format);

  const { width, height, channels: inC } = info;
  const n = width * height;
  const src = sixteen ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : new Uint8Array(data.buffer, data.byteOffset, data.length);
  const maxValue = sixteen ? 65535 : 255;
  const hasAlpha = inC === 4 || inC === 2;
  const colour = inC >= 3;

  let outC: number;
  if (purpose === 'mask') outC = storedGray ? 1 : 3;
  else if (mode === 'gray') outC = 1;
  else if (mode === 'rgb') outC = 3;
  else if (mode === 'rgba') outC = 4;
  else outC = storedGray ? 1 : 3;

  const out = sixteen ? new Uint16Array(outC * n) : new Uint8Array(outC * n);
  const chan = (c: number, i: number) => src[i * inC + (colour ? c : 0)];
  if (outC === 1) {
    if (storedGray || !colour) {
      for (let i = 0; i < n; i++) out[i] = chan(0, i);
    } else if (sixteen) {
      for (let i = 0; i < n; i++) out[i] = Math.round(0.299 * chan(0, i) + 0.587 * chan(1, i) + 0.114 * chan(2, i));
    } else {
      // PIL's integer luma: (R·19595 + G·38470 + B·7471 + 2^15) >> 16.
      for (let i = 0; i < n; i++) out[i] = (chan(0, i) * 19595 + chan(1, i) * 38470 + chan(2, i) * 7471 + 0x8000) >>> 16;
    }
  } else {
    for (let c = 0; c < 3; c++) {
      const o = c * n;
      for (let i = 0; i < n; i++) out[o + i] = chan(c, i);
    }
    if (outC === 4) {
      const o = 3 * n;
      if (hasAlpha) for (let i = 0; i < n; i++) out[o + i] = src[i * inC + inC - 1];
      else out.fill(maxValue, o, o + n);
    }
  }
  return {
    data: out, channels: outC, height, width, maxValue,
    sourceHeight: meta.height ?? height, sourceWidth: meta.width ?? width, storedGray,
  };
}

/** Where a PNG ends: just after its IEND chunk; -1 when the chunks run out without one. */
function pngEnd(b: Uint8Array): number {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let p = 8; p + 8 <= b.length;) {
    const end = p + 12 + view.getUint32(p, false); // length, type, data, CRC
    if (b[p + 4] === 0x49 && b[p + 5] === 0x45 && b[p + 6] === 0x4e && b[p + 7] === 0x44) return end <= b.length ? end : -1; // 'IEND'
    p = end;
  }
  return -1;
}

/** Where a JPEG ends: just after its EOI marker; -1 when the markers run out without one. */
function jpegEnd(b: Uint8Array): number {
  for (let p = 2; p + 1 < b.length;) {
    const m = b[p + 1];
    // Entropy-coded data, fill bytes, stuffed zeros, restart markers and TEM: step over.
    if (b[p] !== 0xff || m === 0xff || m === 0x00 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) p += b[p] === 0xff && m !== 0xff ? 2 : 1;
    else if (m === 0xd9) return p + 2;
    else if (p + 3 < b.length) p += 2 + ((b[p + 2] << 8) | b[p + 3]); // a segment; its length counts its own two bytes
    else return -1;
  }
  return -1;
}

/** Refuses a PNG or JPEG that does not end where its format says (see the module's comment). */
function checkEnd(op: string, source: string, buf: Uint8Array, format: string | undefined): void {
  if (format !== 'png' && format !== 'jpeg') return;
  const end = format === 'png' ? pngEnd(buf) : jpegEnd(buf);
  const marker = format === 'png' ? 'IEND chunk' : 'end-of-image marker';
  const head = `${source} (${buf.length} bytes): `;
  if (end < 0) throw new ArgumentError(op, `${head}the ${format.toUpperCase()} has no ${marker} (truncated or damaged)`);
  if (end < buf.length) {
    throw new ArgumentError(op, `${head}${buf.length - end} bytes of trailing data after the ${format.toUpperCase()}'s ${marker} (damaged, or something appended); re-save it as a plain ${format.toUpperCase()}`);
  }
}

/** Planar integer pixels as a float32 [C,H,W] tensor in [0, 1]. @internal */
export function pixelsToTensor(p: Pick<ImagePixels, 'data' | 'channels' | 'height' | 'width' | 'maxValue'>): Tensor {
  const out = new Float32Array(p.data.length);
  const max = p.maxValue;
  for (let i = 0; i < out.length; i++) out[i] = p.data[i] / max; // k/255 exactly as written
  return new Tensor(out, [p.channels, p.height, p.width]);
}

/**
 * Reads a PNG/JPEG (also WebP, GIF's first frame, TIFF) file as a float32 [C,H,W] tensor in [0, 1].
 * Errors (ArgumentError) name the file and say what is wrong: missing, empty, not an image,
 * corrupt or truncated.
 * @example const img = await readImage('cells/001.png', { mode: 'gray', size: 64 });
 */
export async function readImage(path: string, options: ReadImageOptions = {}): Promise<Tensor> {
  const bytes = await readBytes('readImage', path);
  return pixelsToTensor(await decodePixels('readImage', bytes, `'${path}'`, { mode: options.mode, size: options.size }));
}

/** Decodes in-memory image bytes (as `readImage` does a file). */
export async function decodeImage(bytes: Uint8Array | ArrayBuffer, options: DecodeImageOptions = {}): Promise<Tensor> {
  const u8 = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes;
  if (!(u8 instanceof Uint8Array)) throw new ArgumentError('decodeImage', 'expected a Uint8Array, Buffer or ArrayBuffer of encoded image bytes');
  const source = options.name !== undefined ? `'${options.name}'` : 'the image bytes';
  return pixelsToTensor(await decodePixels('decodeImage', u8, source, { mode: options.mode, size: options.size }));
}

/** Mask-value → class-id mapping: `{255: 1}` or a list of values whose positions are the ids. */
export type MaskClasses = Readonly<Record<number, number>> | readonly number[];

export interface ReadMaskOptions {
  /** Resize with nearest neighbour (so no new values appear): n → n×n, or [h, w]. */
  size?: ImageSize;
  /**
   * Map stored values to class ids: `{0: 0, 255: 1}`, or `[0, 255]` (value at position i → id i).
   * A value that is not mapped is an error naming the file. Default: values are the ids.
   */
  classes?: MaskClasses;
}

/** A checked lookup from mask value to class id. @internal */
export function classLookup(op: string, classes: MaskClasses): Map<number, number> {
  const map = new Map<number, number>();
  const entries: [number, number][] = Array.isArray(classes)
    ? (classes as readonly number[]).map((v, i) => [v, i])
    : Object.entries(classes as Record<string, number>).map(([k, v]) => [Number(k), v]);
  if (entries.length === 0) throw new ArgumentError(op, 'classes is empty: map at least one mask value to a class id');
  for (const [value, id] of entries) {
    if (!Number.isInteger(value) || value < 0 || value > 65535) throw new ArgumentError(op, `classes: mask value ${JSON.stringify(value)} is not an integer in [0, 65535]`);
    if (!Number.isInteger(id) || Math.abs(id) > 2 ** 31 - 1) throw new ArgumentError(op, `classes: class id for value ${value} must be an integer, got ${JSON.stringify(id)}`);
    if (map.has(value)) throw new ArgumentError(op, `classes: mask value ${value} is listed twice`);
    map.set(value, id);
  }
  return map;
}

/**
 * Turns decoded mask pixels into class ids ([H·W], int32), checking that a colour mask is gray in
 * every pixel and that every value is mapped. @internal
 */
export function maskToIds(op: string, p: ImagePixels, source: string, lookup?: Map<number, number>): Int32Array {
  const n = p.height * p.width;
  if (p.channels === 3) {
    for (let i = 0; i < n; i++) {
      if (p.data[i] !== p.data[n + i] || p.data[i] !== p.data[2 * n + i]) {
        throw new ArgumentError(op, `mask ${source} is a colour image (R,G,B = ${p.data[i]},${p.data[n + i]},${p.data[2 * n + i]} at x=${i % p.width}, y=${Math.floor(i / p.width)}); save masks as single-channel (grayscale) PNGs whose values are the classes`);
      }
    }
  }
  const ids = new Int32Array(n);
  if (!lookup) {
    for (let i = 0; i < n; i++) ids[i] = p.data[i];
    return ids;
  }
  const table = new Int32Array(p.maxValue + 1);
  const known = new Uint8Array(p.maxValue + 1);
  for (const [v, id] of lookup) if (v <= p.maxValue) { table[v] = id; known[v] = 1; }
  let bad = -1;
  for (let i = 0; i < n; i++) {
    const v = p.data[i];
    if (!known[v]) { bad = v; break; }
    ids[i] = table[v];
  }
  if (bad >= 0) {
    let count = 0;
    for (let i = 0; i < n; i++) if (p.data[i] === bad) count++;
    const mapped = [...lookup.keys()].sort((a, b) => a - b).join(', ');
    throw new ArgumentError(op, `mask ${source} has value ${bad} (${count} pixel${count === 1 ? '' : 's'}) that classes does not map; classes maps the values ${mapped}`);
  }
  return ids;
}

/**
 * Reads a segmentation mask (a grayscale PNG whose values are classes) as an int32 [H,W] tensor.
 * Alpha is ignored; an RGB file is accepted only if it is gray in every pixel.
 */
export async function readMask(path: string, options: ReadMaskOptions = {}): Promise<Tensor> {
  const lookup = options.classes === undefined ? undefined : classLookup('readMask', options.classes);
  const bytes = await readBytes('readMask', path);
  const p = await decodePixels('readMask', bytes, `'${path}'`, { size: options.size, purpose: 'mask' });
  return new Tensor(maskToIds('readMask', p, `'${path}'`, lookup), [p.height, p.width]);
}

// ---------------------------------------------------------------- writing

function checkPngPath(op: string, path: string): void {
  if (extname(path).toLowerCase() !== '.png') throw new ArgumentError(op, `the file name must end in .png, got '${path}'`);
}

/** [C,H,W] (or [H,W]) tensor → interleaved 8-bit bytes. Floats are clamped to [0,1]; ints must be 0..255. */
function toBytes(op: string, image: Tensor): { bytes: Buffer; channels: 1 | 2 | 3 | 4; height: number; width: number } {
  if (!(image instanceof Tensor)) throw new ArgumentError(op, 'expected a Tensor');
  const s = image.shape;
  const [c, h, w] = s.length === 2 ? [1, s[0], s[1]] : s.length === 3 ? [s[0], s[1], s[2]] : [0, 0, 0];
  if (c < 1 || c > 4 || h < 1 || w < 1) {
    throw new ShapeError(op, `expected an image [C,H,W] with C in 1..4 (gray, gray+alpha, RGB, RGBA) or a mask [H,W], got shape ${fmtShape(s)}`);
  }
  const n = h * w;
  const src = image.data;
  const bytes = Buffer.alloc(c * n);
  if (image.dtype === 'int32') {
    for (let i = 0; i < src.length; i++) {
      const v = src[i];
      if (v < 0 || v > 255) throw new ArgumentError(op, `int32 values are written as given and must be in 0..255, got ${v} at flat index ${i} (shape ${fmtShape(s)}); scale a mask of class ids first, e.g. mask.mul(255)`);
    }
    for (let ch = 0; ch < c; ch++) for (let i = 0; i < n; i++) bytes[i * c + ch] = src[ch * n + i];
  } else {
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < n; i++) {
        const v = src[ch * n + i];
        if (Number.isNaN(v)) throw new ArgumentError(op, `the image contains NaN (flat index ${ch * n + i}, shape ${fmtShape(s)})`);
        bytes[i * c + ch] = Math.round((v < 0 ? 0 : v > 1 ? 1 : v) * 255);
      }
    }
  }
  return { bytes, channels: c as 1 | 2 | 3 | 4, height: h, width: w };
}

async function encodePng(raw: { bytes: Buffer; channels: 1 | 2 | 3 | 4; height: number; width: number }, overlaySvg?: string): Promise<Buffer> {
  const { width, height, channels } = raw;
  let bytes = raw.bytes;
  if (overlaySvg) {
    // Composite, then back to the grid's own channels (compositing adds an alpha channel).
    const { data, info } = await sharp(bytes, { raw: { width, height, channels } })
      .composite([{ input: Buffer.from(overlaySvg), top: 0, left: 0 }]).raw().toBuffer({ resolveWithObject: true });
    bytes = Buffer.alloc(width * height * channels);
    for (let i = 0; i < width * height; i++) for (let c = 0; c < channels; c++) bytes[i * channels + c] = data[i * info.channels + c];
  }
  let p = sharp(bytes, { raw: { width, height, channels } });
  if (channels <= 2) p = p.toColourspace('b-w');
  return p.png().toBuffer();
}

/**
 * Writes an image as an 8-bit PNG, atomically (a temporary file in the same folder, then a rename).
 * `image`: float [C,H,W] (C = 1, 2, 3, 4) or [H,W] with values in [0,1] (clamped, ×255, rounded);
 * or int32, written as given (values must be in 0..255 — e.g. a 0/255 mask).
 */
export async function writePng(image: Tensor, path: string): Promise<void> {
  checkPngPath('writePng', path);
  writeFileAtomic(path, await encodePng(toBytes('writePng', image)));
}

// ---------------------------------------------------------------- grids

export interface MakeGridOptions {
  /** Images per row (torchvision's `nrow`). Default 8. */
  nrow?: number;
  /** Pixels between tiles and around the border. Default 2. */
  padding?: number;
  /**
   * Min-max scale each image to [0,1] on its own (torchvision `make_grid(normalize=True,
   * scale_each=True)`); a constant image becomes 0. Default false: values used as they are.
   */
  normalize?: boolean;
  /** Integer upscaling of every tile by pixel repetition (nearest), e.g. 4 for 28×28 digits. Default 1. */
  scale?: number;
  /** The value of padding pixels (torchvision's `pad_value`). Default 0. */
  background?: number;
}

interface GridLayout {
  n: number; channels: number; tileH: number; tileW: number;
  cols: number; rows: number; cellH: number; cellW: number; height: number; width: number; padding: number;
}

function gridImages(op: string, images: Tensor | readonly Tensor[]): { list: Tensor[]; h: number; w: number; channels: number } {
  let list: Tensor[];
  if (images instanceof Tensor) {
    if (images.ndim !== 4) throw new ShapeError(op, `expected images [N,C,H,W] or an array of [C,H,W]/[H,W] tensors, got shape ${fmtShape(images.shape)}`);
    const [n, c, h, w] = images.shape;
    const size = c * h * w;
    list = Array.from({ length: n }, (_, i) => new Tensor(images.data.subarray(i * size, (i + 1) * size), [c, h, w]));
  } else if (Array.isArray(images)) {
    list = images.map((t, i) => {
      if (!(t instanceof Tensor)) throw new ArgumentError(op, `images[${i}] is not a Tensor`);
      if (t.ndim === 2) return t.reshape(1, t.shape[0], t.shape[1]);
      if (t.ndim !== 3) throw new ShapeError(op, `images[${i}] must be [C,H,W] or [H,W], got shape ${fmtShape(t.shape)}`);
      return t;
    });
  } else {
    throw new ArgumentError(op, 'expected a Tensor [N,C,H,W] or an array of tensors');
  }
  if (list.length === 0) throw new ArgumentError(op, 'no images to lay out');
  const [, h, w] = list[0].shape;
  let channels = 1;
  list.forEach((t, i) => {
    const [c, th, tw] = t.shape;
    if (c !== 1 && c !== 3) throw new ShapeError(op, `images[${i}] has ${c} channels (shape ${fmtShape(t.shape)}); grids take 1 (gray) or 3 (RGB)`);
    if (th !== h || tw !== w) throw new ShapeError(op, `all images must have the same height and width: images[0] is ${fmtShape(list[0].shape)}, images[${i}] is ${fmtShape(t.shape)}`);
    if (c === 3) channels = 3;
  });
  if (h < 1 || w < 1) throw new ShapeError(op, `images are empty: shape ${fmtShape(list[0].shape)}`);
  return { list, h, w, channels };
}

function checkInt(op: string, name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new ArgumentError(op, `${name} must be an integer >= ${min}, got ${v}`);
}

function buildGrid(op: string, images: Tensor | readonly Tensor[], options: MakeGridOptions, labelSpace = 0): { grid: Tensor; layout: GridLayout } {
  const { nrow = 8, padding = 2, normalize = false, scale = 1, background = 0 } = options;
  checkInt(op, 'nrow', nrow, 1);
  checkInt(op, 'padding', padding, 0);
  checkInt(op, 'scale', scale, 1);
  if (!Number.isFinite(background)) throw new ArgumentError(op, `background must be a finite number, got ${background}`);
  const { list, h, w, channels } = gridImages(op, images);
  const n = list.length;
  const tileH = h * scale, tileW = w * scale;
  const cols = Math.min(nrow, n), rows = Math.ceil(n / cols);
  const cellH = tileH + labelSpace + padding, cellW = tileW + padding;
  const height = rows * cellH + padding, width = cols * cellW + padding;
  const out = new Float32Array(channels * height * width).fill(background);
  const plane = height * width;
  for (let k = 0; k < n; k++) {
    const t = list[k];
    const src = t.data, c = t.shape[0], size = h * w;
    let lo = 0, inv = 1;
    if (normalize) {
      let mn = Infinity, mx = -Infinity;
      for (let i = 0; i < src.length; i++) { const v = src[i]; if (v < mn) mn = v; if (v > mx) mx = v; }
      lo = mn; inv = 1 / Math.max(mx - mn, 1e-5);
    }
    const y0 = Math.floor(k / cols) * cellH + padding, x0 = (k % cols) * cellW + padding;
    for (let ch = 0; ch < channels; ch++) {
      const from = (c === 1 ? 0 : ch) * size;
      for (let y = 0; y < tileH; y++) {
        const srow = from + Math.floor(y / scale) * w;
        const drow = ch * plane + (y0 + y) * width + x0;
        for (let x = 0; x < tileW; x++) out[drow + x] = (src[srow + Math.floor(x / scale)] - lo) * inv;
      }
    }
  }
  return { grid: new Tensor(out, [channels, height, width]), layout: { n, channels, tileH, tileW, cols, rows, cellH, cellW, height, width, padding } };
}

/**
 * Lays images out in a grid, like `torchvision.utils.make_grid`: `min(nrow, N)` columns, tile k at
 * row ⌊k/nrow⌋, column k mod nrow, top-left corner (padding + row·(H·scale + padding),
 * padding + col·(W·scale + padding)); size (rows·(H·scale + padding) + padding) ×
 * (cols·(W·scale + padding) + padding). Gray tiles stay 1-channel when all are gray (torchvision
 * makes them RGB); a mix of gray and RGB gives RGB. Returns a float32 [C, height, width] tensor.
 */
export function makeGrid(images: Tensor | readonly Tensor[], options: MakeGridOptions = {}): Tensor {
  return buildGrid('makeGrid', images, options).grid;
}

export interface SaveImageGridOptions extends MakeGridOptions {
  /**
   * One caption per image, drawn (as SVG text rendered by sharp) in a strip under each tile; the
   * strip is `fontSize + 6` pixels high. A caption wider than its tile is drawn smaller (down to
   * 70%) and then cut short with '…'.
   */
  labels?: readonly string[];
  /** Caption size in pixels. Default 12. */
  fontSize?: number;
}

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' }[ch]!));

/**
 * Writes images as one PNG grid (see `makeGrid`), atomically; optional captions under the tiles.
 * @example await saveImageGrid(batch, 'runs/digits.png', { nrow: 10, scale: 3, labels: preds.map(String) });
 */
export async function saveImageGrid(images: Tensor | readonly Tensor[], path: string, options: SaveImageGridOptions = {}): Promise<void> {
  const op = 'saveImageGrid';
  checkPngPath(op, path);
  const { labels, fontSize = 12 } = options;
  if (!(Number.isFinite(fontSize) && fontSize > 0)) throw new ArgumentError(op, `fontSize must be a positive number, got ${fontSize}`);
  const labelSpace = labels ? Math.ceil(fontSize) + 6 : 0;
  const { grid, layout } = buildGrid(op, images, options, labelSpace);
  if (labels && labels.length !== layout.n) throw new ArgumentError(op, `got ${labels.length} labels for ${layout.n} images`);
  let svg: string | undefined;
  if (labels) {
    const bg = options.background ?? 0;
    const fill = bg < 0.5 ? '#ffffff' : '#000000';
    const texts: string[] = [];
    labels.forEach((label, k) => {
      const text = String(label);
      if (text === '') return;
      const x0 = (k % layout.cols) * layout.cellW + layout.padding;
      const y0 = Math.floor(k / layout.cols) * layout.cellH + layout.padding + layout.tileH;
      // Too wide for its tile (at ~0.62 em per character): a smaller font, down to 70%, then cut with '…'.
      const fits = (size: number) => Math.max(1, Math.floor(layout.tileW / (0.62 * size)));
      let size = fontSize, shown = text;
      if (shown.length > fits(size)) size = Math.max(fontSize * 0.7, layout.tileW / (0.62 * shown.length));
      if (shown.length > fits(size)) shown = `${shown.slice(0, Math.max(1, fits(size) - 1))}…`;
      texts.push(`<text x="${x0 + layout.tileW / 2}" y="${y0 + 2 + fontSize * 0.85}" font-size="${size.toFixed(2)}" text-anchor="middle">${escapeXml(shown)}</text>`);
    });
    svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}">`
      + `<g font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-size="${fontSize}" fill="${fill}">${texts.join('')}</g></svg>`;
  }
  writeFileAtomic(path, await encodePng(toBytes(op, grid), svg));
}
