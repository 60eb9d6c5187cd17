/**
 * Parameters of the random geometric transforms: for each, a config (checked once, at
 * construction), one `draw*` function that draws the random parameters, and an `apply*` function
 * that applies drawn parameters to a tensor. The single-image transforms (random.ts) and the
 * paired image + mask transforms (paired.ts) are both built from these, so they draw identically
 * and the mask gets exactly the image's geometry. The draws follow torchvision's `get_params`.
 */
import { ArgumentError, ShapeError, fmtShape } from '../../errors.js';
import { defaultGenerator, type Generator } from '../../random.js';
import type { Tensor } from '../../tensor.js';
import {
  affineImage, centerOffset, checkInterpolation, checkPaddingMode, cropImage, fillValues, identity, imageInfo, padding4,
  padImage, range, remap, resizeImage, reversed, rotateImage, roundHalfEven, sizePair,
  type Fill, type ImageInfo, type Interpolation, type PaddingMode,
} from './kernels.js';

export interface GeneratorOptions {
  /** The random generator to draw from; the default generator (see `manualSeed`) otherwise. */
  generator?: Generator;
}

export const fmt = (v: unknown): string => JSON.stringify(v);
export const gen = (o: GeneratorOptions | undefined): Generator => o?.generator ?? defaultGenerator;
/** Uniform in [lo, hi) (torch's uniform_). */
export const uniform = (g: Generator, lo: number, hi: number): number => lo + (hi - lo) * g.random();

export function checkP(op: string, p: unknown): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new ArgumentError(op, `p must be a probability in [0, 1], got ${fmt(p)}`);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Flips
// ---------------------------------------------------------------------------------------------

export interface FlipOptions extends GeneratorOptions {
  /** The probability of flipping. Default 0.5. */
  p?: number;
}

/** Whether to flip: one uniform draw below p (torchvision: torch.rand(1) < p). */
export function drawFlip(p: number, g: Generator): boolean {
  return g.random() < p;
}

export function flipConfig(op: string, options: FlipOptions): number {
  return checkP(op, options.p ?? 0.5);
}

export function applyFlip(img: Tensor, info: ImageInfo, horizontal: boolean): Tensor {
  return horizontal ? remap(img, info, identity(info.h), reversed(info.w), null) : remap(img, info, reversed(info.h), identity(info.w), null);
}

// ---------------------------------------------------------------------------------------------
// Random crop
// ---------------------------------------------------------------------------------------------

export interface RandomCropOptions extends GeneratorOptions {
  /** Padding before cropping: n, [leftRight, topBottom] or [left, top, right, bottom]. */
  padding?: number | readonly number[];
  /** Pad an image smaller than the crop (both sides by the shortfall, as torchvision). Default false. */
  padIfNeeded?: boolean;
  /** Constant padding value (number or per channel). Default 0. */
  fill?: Fill;
  paddingMode?: PaddingMode;
}

export interface RandomCropConfig {
  size: [number, number];
  padding: [number, number, number, number] | null;
  padIfNeeded: boolean;
  fill: Fill;
  paddingMode: PaddingMode;
}

export function randomCropConfig(op: string, size: number | readonly number[], options: RandomCropOptions): RandomCropConfig {
  return {
    size: sizePair(op, 'size', size),
    padding: options.padding === undefined ? null : padding4(op, options.padding),
    padIfNeeded: options.padIfNeeded ?? false,
    fill: options.fill ?? 0,
    paddingMode: checkPaddingMode(op, options.paddingMode ?? 'constant'),
  };
}

/** A drawn crop: the paddings to apply in order ([l, t, r, b] each), then the window. */
export interface CropDraw { pads: [number, number, number, number][]; top: number; left: number; height: number; width: number }

/** torchvision's RandomCrop: optional padding, padding if needed, then a uniform offset. */
export function drawCrop(op: string, cfg: RandomCropConfig, img: Tensor, info: ImageInfo, g: Generator): CropDraw {
  let { h, w } = info;
  const [th, tw] = cfg.size;
  const pads: [number, number, number, number][] = [];
  if (cfg.padding) {
    pads.push(cfg.padding);
    h += cfg.padding[1] + cfg.padding[3];
    w += cfg.padding[0] + cfg.padding[2];
  }
  if (cfg.padIfNeeded && w < tw) { pads.push([tw - w, 0, tw - w, 0]); w += 2 * (tw - w); }
  if (cfg.padIfNeeded && h < th) { pads.push([0, th - h, 0, th - h]); h += 2 * (th - h); }
  if (h < th || w < tw) {
    throw new ShapeError(op, `crop size [${th},${tw}] is larger than the ${pads.length ? 'padded ' : ''}image [${h},${w}] (input shape ${fmtShape(img.shape)}); use padIfNeeded or padding`);
  }
  if (h === th && w === tw) return { pads, top: 0, left: 0, height: h, width: w };
  const top = g.integer(0, h - th + 1);
  const left = g.integer(0, w - tw + 1);
  return { pads, top, left, height: th, width: tw };
}

export function applyCrop(op: string, img: Tensor, d: CropDraw, mode: PaddingMode, fill: Fill): Tensor {
  let x = img;
  let info = imageInfo(op, x);
  for (const p of d.pads) {
    x = padImage(op, x, info, p, mode, fillValues(op, fill, info.c));
    info = imageInfo(op, x);
  }
  return cropImage(x, info, d.top, d.left, d.height, d.width, null);
}

// ---------------------------------------------------------------------------------------------
// Random resized crop
// ---------------------------------------------------------------------------------------------

export interface RandomResizedCropOptions extends GeneratorOptions {
  /** Range of the crop's area as a fraction of the image's. Default [0.08, 1]. */
  scale?: readonly [number, number];
  /** Range of the crop's aspect ratio w/h (drawn log-uniformly). Default [3/4, 4/3]. */
  ratio?: readonly [number, number];
  interpolation?: Interpolation;
  antialias?: boolean;
}

export interface RandomResizedCropConfig { size: [number, number]; scale: [number, number]; ratio: [number, number]; interpolation: Interpolation; antialias: boolean }

export function randomResizedCropConfig(op: string, size: number | readonly number[], options: RandomResizedCropOptions): RandomResizedCropConfig {
  const scale = range(op, 'scale', options.scale ?? [0.08, 1], { min: 0 });
  const ratio = range(op, 'ratio', options.ratio ?? [3 / 4, 4 / 3], { min: 0 });
  if (scale[1] <= 0) throw new ArgumentError(op, `scale must include positive areas, got ${fmt(options.scale)}`);
  if (ratio[0] <= 0) throw new ArgumentError(op, `ratio must be positive, got ${fmt(options.ratio)}`);
  const interpolation = checkInterpolation(op, options.interpolation ?? 'bilinear');
  const antialias = options.antialias ?? false;
  if (antialias && interpolation !== 'bilinear') throw new ArgumentError(op, `antialias applies to interpolation 'bilinear' only, got '${interpolation}'`);
  return { size: sizePair(op, 'size', size), scale, ratio, interpolation, antialias };
}

export interface Window { top: number; left: number; height: number; width: number }

/**
 * torchvision's RandomResizedCrop.get_params: up to 10 tries of a random area and log-uniform
 * aspect ratio (sizes rounded half to even) that fit the image, then a uniform offset; else the
 * central crop with the ratio clamped to the range (or the whole image).
 */
export function drawResizedCrop(h: number, w: number, scale: readonly [number, number], ratio: readonly [number, number], g: Generator): Window {
  const area = h * w;
  const logLo = Math.log(ratio[0]), logHi = Math.log(ratio[1]);
  for (let t = 0; t < 10; t++) {
    const target = area * uniform(g, scale[0], scale[1]);
    const aspect = Math.exp(uniform(g, logLo, logHi));
    const cw = roundHalfEven(Math.sqrt(target * aspect));
    const ch = roundHalfEven(Math.sqrt(target / aspect));
    if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
      const top = g.integer(0, h - ch + 1);
      const left = g.integer(0, w - cw + 1);
      return { top, left, height: ch, width: cw };
    }
  }
  const inRatio = w / h;
  let cw = w, ch = h;
  if (inRatio < Math.min(ratio[0], ratio[1])) ch = roundHalfEven(cw / Math.min(ratio[0], ratio[1]));
  else if (inRatio > Math.max(ratio[0], ratio[1])) cw = roundHalfEven(ch * Math.max(ratio[0], ratio[1]));
  return { top: Math.floor((h - ch) / 2), left: Math.floor((w - cw) / 2), height: ch, width: cw };
}

export function applyResizedCrop(op: string, img: Tensor, info: ImageInfo, win: Window, size: readonly [number, number], interpolation: Interpolation, antialias: boolean): Tensor {
  const cropped = cropImage(img, info, win.top, win.left, win.height, win.width, null);
  return resizeImage(op, cropped, imageInfo(op, cropped), size[0], size[1], interpolation, antialias);
}

// ---------------------------------------------------------------------------------------------
// Random rotation and affine
// ---------------------------------------------------------------------------------------------

export interface RandomRotationOptions extends GeneratorOptions {
  /** Default 'nearest' (as torchvision). */
  interpolation?: Interpolation;
  expand?: boolean;
  /** [x, y] in pixels from the top-left corner; default the image centre. */
  center?: readonly [number, number];
  /** Default 0 (torchvision's RandomRotation passes fill=0 to rotate, so bilinear edges blend with it). */
  fill?: Fill;
}

export interface RandomRotationConfig { degrees: [number, number]; interpolation: Interpolation; expand: boolean; center: readonly [number, number] | undefined; fill: Fill }

export function randomRotationConfig(op: string, degrees: number | readonly [number, number], options: RandomRotationOptions): RandomRotationConfig {
  const center = options.center;
  centerOffset(op, center, 0, 0);
  return {
    degrees: range(op, 'degrees', degrees, { symmetric: true }),
    interpolation: checkInterpolation(op, options.interpolation ?? 'nearest'),
    expand: options.expand ?? false,
    center,
    fill: options.fill ?? 0,
  };
}

/** The angle, uniform in [lo, hi) degrees. */
export function drawRotation(degrees: readonly [number, number], g: Generator): number {
  return uniform(g, degrees[0], degrees[1]);
}

export function applyRotation(op: string, img: Tensor, info: ImageInfo, angle: number, cfg: RandomRotationConfig, interpolation: Interpolation, fill: Fill): Tensor {
  return rotateImage(op, img, info, angle, interpolation, cfg.expand, cfg.center, fillValues(op, fill, info.c));
}

export interface RandomAffineOptions extends GeneratorOptions {
  /** Rotation range: d → [-d, d], or [min, max] degrees (torchvision's affine angle sense). */
  degrees: number | readonly [number, number];
  /** [a, b] in [0, 1]: maximum |tx| as a fraction of the width, |ty| of the height; tx, ty rounded half to even. */
  translate?: readonly [number, number];
  /** [min, max] scale range. Default: no scaling. */
  scale?: readonly [number, number];
  /** s → x-shear in [-s, s]; [a, b] → x-shear range; [a, b, c, d] → x- and y-shear ranges (degrees). */
  shear?: number | readonly number[];
  interpolation?: Interpolation;
  /** Default 0 (as torchvision's RandomAffine). */
  fill?: Fill;
  center?: readonly [number, number];
}

export interface RandomAffineConfig {
  degrees: [number, number];
  translate: [number, number] | null;
  scale: [number, number] | null;
  shear: number[] | null;
  interpolation: Interpolation;
  fill: Fill;
  center: readonly [number, number] | undefined;
}

export function randomAffineConfig(op: string, options: RandomAffineOptions): RandomAffineConfig {
  if (options === undefined || options === null || options.degrees === undefined) throw new ArgumentError(op, 'degrees is required (0 for no rotation)');
  const degrees = range(op, 'degrees', options.degrees, { symmetric: true });
  let translate: [number, number] | null = null;
  if (options.translate !== undefined) {
    const t = options.translate;
    if (!Array.isArray(t) || t.length !== 2 || !t.every((v) => typeof v === 'number' && v >= 0 && v <= 1)) {
      throw new ArgumentError(op, `translate must be [a, b] with fractions in [0, 1], got ${fmt(t)}`);
    }
    translate = [t[0], t[1]];
  }
  let scale: [number, number] | null = null;
  if (options.scale !== undefined) {
    scale = range(op, 'scale', options.scale);
    if (scale[0] <= 0) throw new ArgumentError(op, `scale must be positive, got ${fmt(options.scale)}`);
  }
  let shear: number[] | null = null;
  if (options.shear !== undefined) {
    const s = options.shear;
    if (typeof s === 'number') shear = range(op, 'shear', s, { symmetric: true });
    else if (Array.isArray(s) && s.length === 4) shear = [...range(op, 'shear', s.slice(0, 2)), ...range(op, 'shear', s.slice(2))];
    else if (Array.isArray(s) && s.length === 2) shear = range(op, 'shear', s);
    else throw new ArgumentError(op, `shear must be a number, [min, max] or [xmin, xmax, ymin, ymax], got ${fmt(s)}`);
  }
  centerOffset(op, options.center, 0, 0);
  return { degrees, translate, scale, shear, interpolation: checkInterpolation(op, options.interpolation ?? 'nearest'), fill: options.fill ?? 0, center: options.center };
}

export interface AffineDraw { angle: number; translate: [number, number]; scale: number; shear: [number, number] }

/** torchvision's RandomAffine.get_params for an image of width w and height h. */
export function drawAffine(cfg: RandomAffineConfig, w: number, h: number, g: Generator): AffineDraw {
  const angle = uniform(g, cfg.degrees[0], cfg.degrees[1]);
  let translate: [number, number] = [0, 0];
  if (cfg.translate) {
    const maxDx = cfg.translate[0] * w, maxDy = cfg.translate[1] * h;
    const tx = roundHalfEven(uniform(g, -maxDx, maxDx));
    const ty = roundHalfEven(uniform(g, -maxDy, maxDy));
    translate = [tx, ty];
  }
  const scale = cfg.scale ? uniform(g, cfg.scale[0], cfg.scale[1]) : 1;
  let sx = 0, sy = 0;
  if (cfg.shear) {
    sx = uniform(g, cfg.shear[0], cfg.shear[1]);
    if (cfg.shear.length === 4) sy = uniform(g, cfg.shear[2], cfg.shear[3]);
  }
  return { angle, translate, scale, shear: [sx, sy] };
}

export function applyAffine(op: string, img: Tensor, info: ImageInfo, d: AffineDraw, cfg: RandomAffineConfig, interpolation: Interpolation, fill: Fill): Tensor {
  return affineImage(op, img, info, d.angle, d.translate, d.scale, d.shear, interpolation, cfg.center, fillValues(op, fill, info.c));
}

