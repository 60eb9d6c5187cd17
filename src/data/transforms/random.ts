/**
 * Transforms as functions `(img) => img`, for data pipelines: torchvision's random augmentations
 * (each drawing from an explicit `generator`, or the default one, so runs are reproducible),
 * deterministic transform factories, `toTensor` and `computeMeanStd`.
 *
 * Each random geometric transform draws its parameters with one `draw*` function of params.ts,
 * which the paired (image + mask) transforms of paired.ts share, so both forms draw identically;
 * the draws are exported like torchvision's `get_params`. A transform applied to a batch
 * [N,C,H,W] uses one draw for the whole batch, as torchvision. Random transforms that decide not
 * to act (a flip with probability p, erasing) return their input itself, as torchvision does.
 */
import { allocArray, resolveDType } from '../../dtype.js';
import { ArgumentError, ShapeError, fmtShape } from '../../errors.js';
import type { Generator } from '../../random.js';
import { Tensor } from '../../tensor.js';
import * as F from './functional.js';
import {
  blurWith, checkInterpolation, checkNumber, checkPaddingMode, fillValues, imageInfo, kernelSizes, padding4, range, requireChannels,
  requireFloat, resizeOutputSize, roundHalfEven, sizePair,
} from './kernels.js';
import {
  applyAffine, applyCrop, applyFlip, applyResizedCrop, applyRotation, checkP, drawAffine, drawCrop, drawFlip, drawResizedCrop,
  drawRotation, flipConfig, fmt, gen, randomAffineConfig, randomCropConfig, randomResizedCropConfig, randomRotationConfig, uniform,
  type FlipOptions, type GeneratorOptions, type RandomAffineOptions, type RandomCropOptions, type RandomResizedCropOptions,
  type RandomRotationOptions,
} from './params.js';

export type { Fill, Interpolation, PaddingMode } from './kernels.js';
export {
  drawAffine, drawFlip, drawResizedCrop, drawRotation,
  type AffineDraw, type FlipOptions, type GeneratorOptions, type RandomAffineOptions, type RandomCropOptions,
  type RandomResizedCropOptions, type RandomRotationOptions, type Window,
} from './params.js';

/** A transform: a function from an image tensor to a new image tensor, with an optional description for display. */
export type Transform = ((img: Tensor) => Tensor) & { readonly description?: string };

/** Attaches a description (also returned by `toString`) to a function. */
export function describe<T extends (...args: never[]) => unknown>(fn: T, description: string): T & { readonly description: string } {
  Object.defineProperty(fn, 'description', { value: description, enumerable: true });
  Object.defineProperty(fn, 'toString', { value: () => description });
  return fn as T & { readonly description: string };
}

function checkTransform(op: string, t: unknown, name: string): void {
  if (typeof t !== 'function') throw new ArgumentError(op, `${name} must be a transform (a function), got ${t === null ? 'null' : typeof t}`);
}

// ---------------------------------------------------------------------------------------------
// Composition
// ---------------------------------------------------------------------------------------------

/** Applies the transforms in order. */
export function compose(transforms: readonly Transform[]): Transform {
  const op = 'compose';
  if (!Array.isArray(transforms)) throw new ArgumentError(op, `transforms must be an array of transforms, got ${typeof transforms}`);
  transforms.forEach((t, i) => checkTransform(op, t, `transforms[${i}]`));
  const list = [...transforms];
  return describe((img: Tensor) => list.reduce((x, t) => t(x), img), `Compose(${list.map((t) => t.description ?? (t.name || 'transform')).join(', ')})`);
}

/** Applies `transform` (or the list, in order) with probability p. */
export function randomApply(transform: Transform | readonly Transform[], options: { p?: number } & GeneratorOptions = {}): Transform {
  const op = 'randomApply';
  const p = checkP(op, options.p ?? 0.5);
  const t = Array.isArray(transform) ? compose(transform) : (transform as Transform);
  checkTransform(op, t, 'transform');
  const g = gen(options);
  return describe((img: Tensor) => (g.random() < p ? t(img) : img), `RandomApply(${t.description ?? 'transform'}, p=${p})`);
}

// ---------------------------------------------------------------------------------------------
// Geometric
// ---------------------------------------------------------------------------------------------

function randomFlip(op: string, name: string, horizontal: boolean, options: FlipOptions): Transform {
  const p = flipConfig(op, options);
  const g = gen(options);
  return describe((img: Tensor) => {
    const info = imageInfo(op, img);
    return drawFlip(p, g) ? applyFlip(img, info, horizontal) : img;
  }, `${name}(p=${p})`);
}

/** Mirrors left–right with probability p (default 0.5); otherwise returns the input. */
export function randomHorizontalFlip(options: FlipOptions = {}): Transform {
  return randomFlip('randomHorizontalFlip', 'RandomHorizontalFlip', true, options);
}

/** Mirrors top–bottom with probability p (default 0.5); otherwise returns the input. */
export function randomVerticalFlip(options: FlipOptions = {}): Transform {
  return randomFlip('randomVerticalFlip', 'RandomVerticalFlip', false, options);
}

/** Crops a random `size` window ([h, w] or n), after optional padding (torchvision's RandomCrop). */
export function randomCrop(size: number | readonly number[], options: RandomCropOptions = {}): Transform {
  const op = 'randomCrop';
  const cfg = randomCropConfig(op, size, options);
  const g = gen(options);
  return describe((img: Tensor) => {
    const info = imageInfo(op, img);
    fillValues(op, cfg.fill, info.c);
    return applyCrop(op, img, drawCrop(op, cfg, img, info, g), cfg.paddingMode, cfg.fill);
  }, `RandomCrop(size=${fmt(cfg.size)}, padding=${fmt(cfg.padding)})`);
}

/** Crops a random area and aspect ratio and resizes it to `size` (torchvision's RandomResizedCrop). */
export function randomResizedCrop(size: number | readonly number[], options: RandomResizedCropOptions = {}): Transform {
  const op = 'randomResizedCrop';
  const cfg = randomResizedCropConfig(op, size, options);
  const g = gen(options);
  return describe((img: Tensor) => {
    const info = imageInfo(op, img);
    const win = drawResizedCrop(info.h, info.w, cfg.scale, cfg.ratio, g);
    return applyResizedCrop(op, img, info, win, cfg.size, cfg.interpolation, cfg.antialias);
  }, `RandomResizedCrop(size=${fmt(cfg.size)}, scale=${fmt(cfg.scale)}, ratio=${fmt(cfg.ratio.map((r) => +r.toFixed(4)))}, interpolation=${cfg.interpolation})`);
}

/** Rotates by an angle drawn from [-d, d] (or [min, max]) degrees, counter-clockwise positive. */
export function randomRotation(degrees: number | readonly [number, number], options: RandomRotationOptions = {}): Transform {
  const op = 'randomRotation';
  const cfg = randomRotationConfig(op, degrees, options);
  const g = gen(options);
  return describe((img: Tensor) => {
    const info = imageInfo(op, img);
    fillValues(op, cfg.fill, info.c);
    return applyRotation(op, img, info, drawRotation(cfg.degrees, g), cfg, cfg.interpolation, cfg.fill);
  }, `RandomRotation(degrees=${fmt(cfg.degrees)}, interpolation=${cfg.interpolation}, expand=${cfg.expand}${cfg.center ? `, center=${fmt(cfg.center)}` : ''}, fill=${fmt(cfg.fill)})`);
}

/** Random rotation, translation, scale and shear about the centre (torchvision's RandomAffine). */
export function randomAffine(options: RandomAffineOptions): Transform {
  const op = 'randomAffine';
  const cfg = randomAffineConfig(op, options);
  const g = gen(options);
  return describe((img: Tensor) => {
    const info = imageInfo(op, img);
    fillValues(op, cfg.fill, info.c);
    return applyAffine(op, img, info, drawAffine(cfg, info.w, info.h, g), cfg, cfg.interpolation, cfg.fill);
  }, `RandomAffine(degrees=${fmt(cfg.degrees)}${cfg.translate ? `, translate=${fmt(cfg.translate)}` : ''}${cfg.scale ? `, scale=${fmt(cfg.scale)}` : ''}${cfg.shear ? `, shear=${fmt(cfg.shear)}` : ''}, interpolation=${cfg.interpolation})`);
}
// ---------------------------------------------------------------------------------------------
// Photometric
// ---------------------------------------------------------------------------------------------

export interface ColorJitterOptions extends GeneratorOptions {
  /** b → factor in [max(0, 1 − b), 1 + b], or [min, max] (>= 0). */
  brightness?: number | readonly [number, number];
  contrast?: number | readonly [number, number];
  saturation?: number | readonly [number, number];
  /** h in [0, 0.5] → shift in [-h, h], or [min, max] within [-0.5, 0.5]. */
  hue?: number | readonly [number, number];
}

function jitterRange(op: string, name: string, v: number | readonly [number, number] | undefined, center: number, lo: number, hi: number): [number, number] | null {
  if (v === undefined) return null;
  let r: [number, number];
  if (typeof v === 'number') {
    if (!(v >= 0) || !Number.isFinite(v)) throw new ArgumentError(op, `${name} must be non-negative when it is a single number, got ${fmt(v)}`);
    r = [Math.max(center - v, lo), center + v];
    if (r[1] > hi) throw new ArgumentError(op, `${name} must be at most ${hi - center}, got ${v}`);
  } else {
    r = range(op, name, v, { min: lo, max: hi });
  }
  return r[0] === center && r[1] === center ? null : r;
}

/** Randomly changes brightness, contrast, saturation and hue, in a random order (torchvision's ColorJitter). */
export function colorJitter(options: ColorJitterOptions = {}): Transform {
  const op = 'colorJitter';
  const b = jitterRange(op, 'brightness', options.brightness, 1, 0, Infinity);
  const c = jitterRange(op, 'contrast', options.contrast, 1, 0, Infinity);
  const s = jitterRange(op, 'saturation', options.saturation, 1, 0, Infinity);
  const h = jitterRange(op, 'hue', options.hue, 0, -0.5, 0.5);
  const g = gen(options);
  return describe((img: Tensor) => {
    checkPhotometric(op, img);
    const d = drawColorJitter([b, c, s, h], g);
    let x = img;
    for (const k of d.order) {
      const f = d.factors[k];
      if (f === null) continue;
      x = k === 0 ? F.adjustBrightness(x, f) : k === 1 ? F.adjustContrast(x, f) : k === 2 ? F.adjustSaturation(x, f) : F.adjustHue(x, f);
    }
    return x;
  }, `ColorJitter(brightness=${fmt(b)}, contrast=${fmt(c)}, saturation=${fmt(s)}, hue=${fmt(h)})`);
}

/** Checks a photometric transform's input before drawing, so errors name the transform. */
function checkPhotometric(op: string, img: Tensor): void {
  const info = imageInfo(op, img, { channels: true });
  requireFloat(op, img);
  requireChannels(op, img, info, [1, 3]);
}

/** A random order of [brightness, contrast, saturation, hue] and each factor (null: off), as torchvision's get_params. */
export function drawColorJitter(ranges: readonly ([number, number] | null)[], g: Generator): { order: number[]; factors: (number | null)[] } {
  const order = [0, 1, 2, 3];
  for (let i = order.length - 1; i > 0; i--) {
    const j = g.integer(0, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return { order, factors: ranges.map((r) => (r ? uniform(g, r[0], r[1]) : null)) };
}

/** gain · img^gamma, clamped to [0, 1] (a deterministic transform). */
export function adjustGamma(gamma: number, gain = 1): Transform {
  checkNumber('adjustGamma', 'gamma', gamma, { min: 0 });
  return describe((img: Tensor) => F.adjustGamma(img, gamma, gain), `AdjustGamma(gamma=${gamma}, gain=${gain})`);
}

export interface RandomAdjustGammaOptions extends GeneratorOptions {
  /** g → gamma in [max(0, 1 − g), 1 + g], or [min, max] (>= 0). Default [0.7, 1.5]. */
  gamma?: number | readonly [number, number];
  /** A fixed gain, or a [min, max] range. Default 1. */
  gain?: number | readonly [number, number];
}

/** Exposure augmentation: gain · img^gamma, clamped to [0, 1], with gamma (and gain) drawn uniformly. */
export function randomAdjustGamma(options: RandomAdjustGammaOptions = {}): Transform {
  const op = 'randomAdjustGamma';
  const gamma = jitterRange(op, 'gamma', options.gamma ?? [0.7, 1.5], 1, 0, Infinity) ?? [1, 1];
  const gainOpt = options.gain ?? 1;
  const gain: [number, number] = typeof gainOpt === 'number' ? [checkNumber(op, 'gain', gainOpt), gainOpt] : range(op, 'gain', gainOpt);
  const g = gen(options);
  return describe((img: Tensor) => {
    checkPhotometric(op, img);
    const gm = uniform(g, gamma[0], gamma[1]);
    const gn = gain[0] === gain[1] ? gain[0] : uniform(g, gain[0], gain[1]);
    return F.adjustGamma(img, gm, gn);
  }, `RandomAdjustGamma(gamma=${fmt(gamma)}, gain=${fmt(gain)})`);
}

export interface GaussianNoiseOptions extends GeneratorOptions {
  mean?: number;
  /** The standard deviation of the noise. */
  std: number;
  /** Clamp the result to [0, 1]. Default true. */
  clip?: boolean;
}

/** Adds independent N(mean, std²) noise to every element (clamped to [0, 1] unless clip is false). */
export function gaussianNoise(options: GaussianNoiseOptions): Transform {
  const op = 'gaussianNoise';
  if (options === undefined || options === null) throw new ArgumentError(op, 'options with std are required');
  const mean = checkNumber(op, 'mean', options.mean ?? 0);
  const std = checkNumber(op, 'std', options.std, { min: 0 });
  const clip = options.clip ?? true;
  const g = gen(options);
  return describe((img: Tensor) => {
    imageInfo(op, img);
    requireFloat(op, img);
    const src = img.data;
    const out = allocArray(op, img.dtype, img.shape);
    for (let i = 0; i < src.length; i++) {
      const v = src[i] + mean + std * g.normal();
      out[i] = clip ? (v < 0 ? 0 : v > 1 ? 1 : v) : v;
    }
    return new Tensor(out, img.shape);
  }, `GaussianNoise(mean=${mean}, std=${std}, clip=${clip})`);
}

/** Gaussian blur with sigma drawn uniformly from a range (default [0.1, 2]) or fixed (torchvision's GaussianBlur). */
export function gaussianBlur(kernelSize: number | readonly number[], options: { sigma?: number | readonly [number, number] } & GeneratorOptions = {}): Transform {
  const op = 'gaussianBlur';
  const ks = kernelSizes(op, kernelSize);
  const s = options.sigma ?? [0.1, 2];
  const sigma: [number, number] = typeof s === 'number' ? [checkNumber(op, 'sigma', s, { min: 0, openMin: true }), s] : range(op, 'sigma', s);
  if (!(sigma[0] > 0)) throw new ArgumentError(op, `sigma must be positive, got ${fmt(s)}`);
  const g = gen(options);
  return describe((img: Tensor) => {
    const sg = uniform(g, sigma[0], sigma[1]);
    return blurWith(op, img, ks, [sg, sg]);
  }, `GaussianBlur(kernelSize=${fmt(ks)}, sigma=${fmt(sigma)})`);
}

export interface RandomErasingOptions extends GeneratorOptions {
  /** The probability of erasing. Default 0.5. */
  p?: number;
  /** Range of the erased area as a fraction of the image. Default [0.02, 0.33]. */
  scale?: readonly [number, number];
  /** Range of the erased box's aspect ratio h/w (log-uniform). Default [0.3, 3.3]. */
  ratio?: readonly [number, number];
  /** A number, one per channel, or 'random' (standard normal values per pixel). Default 0. */
  value?: number | readonly number[] | 'random';
}

export interface ErasingDraw { i: number; j: number; h: number; w: number }

/** torchvision's RandomErasing.get_params: up to 10 tries of a box strictly smaller than the image; null if none fits. */
export function drawErasing(imgH: number, imgW: number, scale: readonly [number, number], ratio: readonly [number, number], g: Generator): ErasingDraw | null {
  const area = imgH * imgW;
  const logLo = Math.log(ratio[0]), logHi = Math.log(ratio[1]);
  for (let t = 0; t < 10; t++) {
    const eraseArea = area * uniform(g, scale[0], scale[1]);
    const aspect = Math.exp(uniform(g, logLo, logHi));
    const h = roundHalfEven(Math.sqrt(eraseArea * aspect));
    const w = roundHalfEven(Math.sqrt(eraseArea / aspect));
    if (!(h < imgH && w < imgW)) continue;
    const i = g.integer(0, imgH - h + 1);
    const j = g.integer(0, imgW - w + 1);
    return { i, j, h, w };
  }
  return null;
}

/** Erases a random box with probability p (torchvision's RandomErasing, for tensors [C,H,W] or [N,C,H,W]). */
export function randomErasing(options: RandomErasingOptions = {}): Transform {
  const op = 'randomErasing';
  const p = checkP(op, options.p ?? 0.5);
  const scale = range(op, 'scale', options.scale ?? [0.02, 0.33], { min: 0, max: 1 });
  const ratio = range(op, 'ratio', options.ratio ?? [0.3, 3.3]);
  if (ratio[0] <= 0) throw new ArgumentError(op, `ratio must be positive, got ${fmt(options.ratio)}`);
  const value = options.value ?? 0;
  if (value !== 'random') fillValues(op, value, Array.isArray(value) ? value.length : 1, 'value');
  const g = gen(options);
  return describe((img: Tensor) => {
    const info = imageInfo(op, img, { channels: true });
    if (value !== 'random') fillValues(op, value, info.c, 'value');
    if (!(g.random() < p)) return img;
    const d = drawErasing(info.h, info.w, scale, ratio, g);
    if (!d) return img;
    let v: number | readonly number[] | Tensor;
    if (value === 'random') {
      const data = new Float32Array(info.c * d.h * d.w);
      for (let k = 0; k < data.length; k++) data[k] = g.normal();
      v = new Tensor(data, [info.c, d.h, d.w]);
    } else v = value;
    return F.erase(img, d.i, d.j, d.h, d.w, v);
  }, `RandomErasing(p=${p}, scale=${fmt(scale)}, ratio=${fmt(ratio)}, value=${fmt(value)})`);
}

// ---------------------------------------------------------------------------------------------
// Deterministic transforms
// ---------------------------------------------------------------------------------------------

/** `functional.resize` as a transform. */
export function resize(size: number | readonly number[], options: F.ResizeOptions = {}): Transform {
  const op = 'resize';
  resizeOutputSize(op, 1, 1, size);
  const interpolation = checkInterpolation(op, options.interpolation ?? 'bilinear');
  if (options.antialias && interpolation !== 'bilinear') throw new ArgumentError(op, `antialias applies to interpolation 'bilinear' only, got '${interpolation}'`);
  return describe((img: Tensor) => F.resize(img, size, options), `Resize(size=${fmt(size)}, interpolation=${options.interpolation ?? 'bilinear'}${options.antialias ? ', antialias=true' : ''})`);
}

/** `functional.centerCrop` as a transform. */
export function centerCrop(size: number | readonly number[]): Transform {
  const s = sizePair('centerCrop', 'size', size);
  return describe((img: Tensor) => F.centerCrop(img, s), `CenterCrop(size=${fmt(s)})`);
}

/** `functional.normalize` as a transform. */
export function normalize(mean: number | readonly number[], std: number | readonly number[]): Transform {
  const op = 'normalize';
  fillValues(op, mean, Array.isArray(mean) ? mean.length : 1, 'mean');
  fillValues(op, std, Array.isArray(std) ? std.length : 1, 'std');
  return describe((img: Tensor) => F.normalize(img, mean, std), `Normalize(mean=${fmt(mean)}, std=${fmt(std)})`);
}

/** `functional.pad` as a transform. */
export function pad(padding: number | readonly number[], options: F.PadOptions = {}): Transform {
  const op = 'pad';
  padding4(op, padding);
  checkPaddingMode(op, options.paddingMode ?? 'constant');
  return describe((img: Tensor) => F.pad(img, padding, options), `Pad(padding=${fmt(padding)}, fill=${fmt(options.fill ?? 0)}, paddingMode=${options.paddingMode ?? 'constant'})`);
}

/** `functional.toGrayscale` as a transform. */
export function grayscale(numOutputChannels: 1 | 3 = 1): Transform {
  if (numOutputChannels !== 1 && numOutputChannels !== 3) throw new ArgumentError('grayscale', `numOutputChannels must be 1 or 3, got ${fmt(numOutputChannels)}`);
  return describe((img: Tensor) => F.toGrayscale(img, numOutputChannels), `Grayscale(numOutputChannels=${numOutputChannels})`);
}

// ---------------------------------------------------------------------------------------------
// Conversion and statistics
// ---------------------------------------------------------------------------------------------

/** Pixel data as in a browser's ImageData (RGBA) or a decoded image: interleaved (HWC) bytes. */
export interface ImageDataLike { data: ArrayLike<number>; width: number; height: number }

export interface ToTensorOptions {
  width?: number;
  height?: number;
  /** Channels per pixel; default data.length / (width · height). */
  channels?: number;
  /** Default 'float32'. */
  dtype?: 'float32' | 'float64';
}

/**
 * Interleaved 8-bit pixel data (HWC: a Uint8Array, Uint8ClampedArray or numbers 0–255, with width
 * and height; or an ImageData-like {data, width, height}) → a float tensor [C,H,W] in [0, 1]
 * (value / 255), like torchvision's ToTensor.
 */
export function toTensor(image: ArrayLike<number> | ImageDataLike, options: ToTensorOptions = {}): Tensor {
  const op = 'toTensor';
  const isImageData = typeof image === 'object' && image !== null && !ArrayBuffer.isView(image) && 'data' in image && 'width' in image;
  const data = isImageData ? (image as ImageDataLike).data : (image as ArrayLike<number>);
  const width = options.width ?? (isImageData ? (image as ImageDataLike).width : undefined);
  const height = options.height ?? (isImageData ? (image as ImageDataLike).height : undefined);
  if (data === undefined || data === null || typeof data.length !== 'number') throw new ArgumentError(op, `image must be pixel data (Uint8Array, Uint8ClampedArray, number[]) or {data, width, height}, got ${typeof image}`);
  if (typeof width !== 'number' || !Number.isInteger(width) || width <= 0 || typeof height !== 'number' || !Number.isInteger(height) || height <= 0) {
    throw new ArgumentError(op, `width and height must be positive integers, got width ${fmt(width)}, height ${fmt(height)}`);
  }
  const channels = options.channels ?? data.length / (width * height);
  if (!Number.isInteger(channels) || channels <= 0 || data.length !== width * height * channels) {
    throw new ShapeError(op, `${data.length} values do not fill height ${height} × width ${width} × ${options.channels ?? '?'} channels`);
  }
  const out = allocArray(op, resolveDType(op, options.dtype ?? 'float32'), [channels, height, width]);
  const hw = width * height;
  for (let i = 0; i < hw; i++) {
    for (let c = 0; c < channels; c++) out[c * hw + i] = data[i * channels + c] / 255;
  }
  return new Tensor(out, [channels, height, width]);
}

/**
 * Per-channel mean and standard deviation over every pixel of the images (a tensor [C,H,W] or
 * [N,C,H,W], or any iterable of such tensors, whose sizes may differ): the values for
 * `normalize`. The std is the population one (divide by the pixel count), accumulated in float64
 * by merging per-image statistics (Chan et al.), so it is stable over large datasets.
 */
export function computeMeanStd(images: Iterable<Tensor> | Tensor): { mean: number[]; std: number[] } {
  const op = 'computeMeanStd';
  const list: Iterable<Tensor> = images instanceof Tensor ? [images] : images;
  if (list === null || list === undefined || typeof (list as Iterable<Tensor>)[Symbol.iterator] !== 'function') {
    throw new ArgumentError(op, `images must be a tensor or an iterable of tensors, got ${typeof images}`);
  }
  let count: Float64Array | null = null, mean: Float64Array | null = null, m2: Float64Array | null = null;
  let k = 0;
  for (const img of list) {
    const info = imageInfo(op, img, { channels: true, what: `images[${k}]` });
    if (!mean) { count = new Float64Array(info.c); mean = new Float64Array(info.c); m2 = new Float64Array(info.c); }
    if (info.c !== mean.length) throw new ShapeError(op, `images[${k}] has ${info.c} channels (shape ${fmtShape(img.shape)}) but the first image has ${mean.length}`);
    const hw = info.h * info.w;
    const n = info.planes / info.c;
    for (let c = 0; c < info.c; c++) {
      let s = 0;
      for (let b = 0; b < n; b++) for (let i = (b * info.c + c) * hw, e = i + hw; i < e; i++) s += img.data[i];
      const nb = n * hw;
      if (nb === 0) continue;
      const mb = s / nb;
      let q = 0;
      for (let b = 0; b < n; b++) for (let i = (b * info.c + c) * hw, e = i + hw; i < e; i++) { const d = img.data[i] - mb; q += d * d; }
      const na = count![c], tot = na + nb, delta = mb - mean[c];
      mean[c] += (delta * nb) / tot;
      m2![c] += q + (delta * delta * na * nb) / tot;
      count![c] = tot;
    }
    k++;
  }
  if (!mean || count!.some((n) => n === 0)) throw new ArgumentError(op, 'images must contain at least one pixel');
  return { mean: [...mean], std: [...m2!].map((q, c) => Math.sqrt(q / count![c])) };
}
