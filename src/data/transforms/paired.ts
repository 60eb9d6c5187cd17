/**
 * Paired transforms for segmentation: `(image, mask) => [image, mask]`. The random geometric ones
 * draw their parameters once (with the same `draw*` functions as the single-image transforms, in
 * params.ts) and apply them to both tensors: the image with the chosen interpolation and `fill`,
 * the mask always with nearest-neighbour sampling (so it keeps its dtype and only its original
 * class values) and `maskFill` (default 0) outside. Photometric transforms are lifted with
 * `image(t)`, which leaves the mask alone.
 *
 * The mask is a tensor [H,W] (usually int32 class indices), [1,H,W] or [K,H,W]; with a batch of
 * images [N,C,H,W] it may be [N,H,W]. Its last two dims must equal the image's.
 */
import { ArgumentError, ShapeError, fmtShape } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import { checkKeys, checkPositiveInt } from '../../options.js';
import { drawElasticField, warpByField } from './elastic.js';
import type { Transform } from './random.js';
import { describe } from './random.js';
import {
  centerCropImage, checkInterpolation, checkNumber, fillValues, imageInfo, resizeImage, resizeOutputSize, sizePair,
  type ImageInfo, type Interpolation,
} from './kernels.js';
import {
  applyAffine, applyCrop, applyFlip, applyResizedCrop, applyRotation, drawAffine, drawCrop, drawFlip, drawResizedCrop,
  checkP, drawRotation, flipConfig, fmt, gen, randomAffineConfig, randomCropConfig, randomResizedCropConfig, randomRotationConfig,
  type FlipOptions, type GeneratorOptions, type RandomAffineOptions, type RandomCropOptions, type RandomResizedCropOptions, type RandomRotationOptions,
} from './params.js';

/** A transform of an image and its segmentation mask. */
export type PairTransform = ((image: Tensor, mask: Tensor) => [Tensor, Tensor]) & { readonly description?: string };

export interface MaskFillOptions {
  /** The mask value outside the transformed mask (e.g. an ignore index such as 255). Default 0. */
  maskFill?: number;
}

function checkPair(op: string, image: unknown, mask: unknown): { info: ImageInfo; minfo: ImageInfo } {
  const info = imageInfo(op, image, { what: 'image' });
  const minfo = imageInfo(op, mask, { what: 'mask' });
  if (minfo.h !== info.h || minfo.w !== info.w) {
    throw new ShapeError(op, `mask of shape ${fmtShape((mask as Tensor).shape)} does not match the image's height and width (image shape ${fmtShape((image as Tensor).shape)})`);
  }
  return { info, minfo };
}

const maskFillOf = (op: string, o: MaskFillOptions): number => checkNumber(op, 'maskFill', o.maskFill ?? 0);

function checkPairTransform(op: string, t: unknown, name: string): void {
  if (typeof t !== 'function') throw new ArgumentError(op, `${name} must be a paired transform (a function), got ${t === null ? 'null' : typeof t}`);
}

/** Applies the paired transforms in order. */
export function compose(transforms: readonly PairTransform[]): PairTransform {
  const op = 'paired.compose';
  if (!Array.isArray(transforms)) throw new ArgumentError(op, `transforms must be an array of paired transforms, got ${typeof transforms}`);
  transforms.forEach((t, i) => checkPairTransform(op, t, `transforms[${i}]`));
  const list = [...transforms];
  return describe((image: Tensor, mask: Tensor): [Tensor, Tensor] => {
    let pair: [Tensor, Tensor] = [image, mask];
    for (const t of list) pair = t(pair[0], pair[1]);
    return pair;
  }, `paired.Compose(${list.map((t) => t.description ?? (t.name || 'transform')).join(', ')})`);
}

/** Lifts an image-only (photometric) transform: the mask passes through unchanged. */
export function image(transform: Transform): PairTransform {
  checkPairTransform('paired.image', transform, 'transform');
  return describe((img: Tensor, mask: Tensor): [Tensor, Tensor] => [transform(img), mask], `paired.Image(${transform.description ?? (transform.name || 'transform')})`);
}

function randomFlip(op: string, name: string, horizontal: boolean, options: FlipOptions): PairTransform {
  const p = flipConfig(op, options);
  const g = gen(options);
  return describe((img: Tensor, mask: Tensor): [Tensor, Tensor] => {
    const { info, minfo } = checkPair(op, img, mask);
    return drawFlip(p, g) ? [applyFlip(img, info, horizontal), applyFlip(mask, minfo, horizontal)] : [img, mask];
  }, `paired.${name}(p=${p})`);
}

/** Mirrors image and mask left–right together with probability p (default 0.5). */
export function randomHorizontalFlip(options: FlipOptions = {}): PairTransform {
  return randomFlip('paired.randomHorizontalFlip', 'RandomHorizontalFlip', true, options);
}

/** Mirrors image and mask top–bottom together with probability p (default 0.5). */
export function randomVerticalFlip(options: FlipOptions = {}): PairTransform {
  return randomFlip('paired.randomVerticalFlip', 'RandomVerticalFlip', false, options);
}

/** Rotates image and mask by the same random angle (the mask with nearest-neighbour and `maskFill`). */
export function randomRotation(degrees: number | readonly [number, number], options: RandomRotationOptions & MaskFillOptions = {}): PairTransform {
  const op = 'paired.randomRotation';
  const cfg = randomRotationConfig(op, degrees, options);
  const maskFill = maskFillOf(op, options);
  const g = gen(options);
  return describe((img: Tensor, mask: Tensor): [Tensor, Tensor] => {
    const { info, minfo } = checkPair(op, img, mask);
    fillValues(op, cfg.fill, info.c);
    const angle = drawRotation(cfg.degrees, g);
    return [applyRotation(op, img, info, angle, cfg, cfg.interpolation, cfg.fill), applyRotation(op, mask, minfo, angle, cfg, 'nearest', maskFill)];
  }, `paired.RandomRotation(degrees=${fmt(cfg.degrees)}, interpolation=${cfg.interpolation}, expand=${cfg.expand}, fill=${fmt(cfg.fill)}, maskFill=${maskFill})`);
}

/** The same random affine transform of image and mask (the mask with nearest-neighbour and `maskFill`). */
export function randomAffine(options: RandomAffineOptions & MaskFillOptions): PairTransform {
  const op = 'paired.randomAffine';
  const cfg = randomAffineConfig(op, options);
  const maskFill = maskFillOf(op, options);
  const g = gen(options);
  return describe((img: Tensor, mask: Tensor): [Tensor, Tensor] => {
    const { info, minfo } = checkPair(op, img, mask);
    fillValues(op, cfg.fill, info.c);
    const d = drawAffine(cfg, info.w, info.h, g);
    return [applyAffine(op, img, info, d, cfg, cfg.interpolation, cfg.fill), applyAffine(op, mask, minfo, d, cfg, 'nearest', maskFill)];
  }, `paired.RandomAffine(degrees=${fmt(cfg.degrees)}${cfg.translate ? `, translate=${fmt(cfg.translate)}` : ''}${cfg.scale ? `, scale=${fmt(cfg.scale)}` : ''}${cfg.shear ? `, shear=${fmt(cfg.shear)}` : ''}, interpolation=${cfg.interpolation}, maskFill=${maskFill})`);
}

/** The same random crop (after the same padding) of image and mask; constant padding fills the mask with `maskFill`. */
export function randomCrop(size: number | readonly number[], options: RandomCropOptions & MaskFillOptions = {}): PairTransform {
  const op = 'paired.randomCrop';
  const cfg = randomCropConfig(op, size, options);
  const maskFill = maskFillOf(op, options);
  const g = gen(options);
  return describe((img: Tensor, mask: Tensor): [Tensor, Tensor] => {
    const { info } = checkPair(op, img, mask);
    fillValues(op, cfg.fill, info.c);
    const d = drawCrop(op, cfg, img, info, g);
    return [applyCrop(op, img, d, cfg.paddingMode, cfg.fill), applyCrop(op, mask, d, cfg.paddingMode, maskFill)];
  }, `paired.RandomCrop(size=${fmt(cfg.size)}, padding=${fmt(cfg.padding)}, maskFill=${maskFill})`);
}

/** The same random resized crop of image and mask (the mask resized with nearest-neighbour). */
export function randomResizedCrop(size: number | readonly number[], options: RandomResizedCropOptions = {}): PairTransform {
  const op = 'paired.randomResizedCrop';
  const cfg = randomResizedCropConfig(op, size, options);
  const g = gen(options);
  return describe((img: Tensor, mask: Tensor): [Tensor, Tensor] => {
    const { info, minfo } = checkPair(op, img, mask);
    const win = drawResizedCrop(info.h, info.w, cfg.scale, cfg.ratio, g);
    return [applyResizedCrop(op, img, info, win, cfg.size, cfg.interpolation, cfg.antialias), applyResizedCrop(op, mask, minfo, win, cfg.size, 'nearest', false)];
  }, `paired.RandomResizedCrop(size=${fmt(cfg.size)}, scale=${fmt(cfg.scale)}, ratio=${fmt(cfg.ratio.map((r) => +r.toFixed(4)))}, interpolation=${cfg.interpolation})`);
}

/** Resizes image (with `interpolation`, default bilinear) and mask (nearest) to the same size. */
export function resize(size: number | readonly number[], options: { interpolation?: Interpolation; antialias?: boolean } = {}): PairTransform {
  const op = 'paired.resize';
  const interpolation = checkInterpolation(op, options.interpolation ?? 'bilinear');
  const antialias = options.antialias ?? false;
  resizeOutputSize(op, 1, 1, size);
  return describe((img: Tensor, mask: Tensor): [Tensor, Tensor] => {
    const { info, minfo } = checkPair(op, img, mask);
    const [oh, ow] = resizeOutputSize(op, info.h, info.w, size);
    return [resizeImage(op, img, info, oh, ow, interpolation, antialias), resizeImage(op, mask, minfo, oh, ow, 'nearest', false)];
  }, `paired.Resize(size=${fmt(size)}, interpolation=${interpolation})`);
}

/** The central window of image and mask; where it is larger than the image, the image gets 0 and the mask `maskFill`. */
export function centerCrop(size: number | readonly number[], options: MaskFillOptions = {}): PairTransform {
  const op = 'paired.centerCrop';
  const [ch, cw] = sizePair(op, 'size', size);
  const maskFill = maskFillOf(op, options);
  return describe((img: Tensor, mask: Tensor): [Tensor, Tensor] => {
    const { info, minfo } = checkPair(op, img, mask);
    return [centerCropImage(img, info, ch, cw, null), centerCropImage(mask, minfo, ch, cw, fillValues(op, maskFill, minfo.c, 'maskFill'))];
  }, `paired.CenterCrop(size=${fmt([ch, cw])}, maskFill=${maskFill})`);
}

export interface ElasticOptions extends GeneratorOptions {
  /** Standard deviation of the grid's displacements in pixels (default 10, as the U-Net paper). */
  sigma?: number;
  /** Points per side of the coarse displacement grid (default 3, as the paper). */
  grid?: number;
  /** Interpolation of the image (default bilinear); the mask is always nearest. */
  interpolation?: Interpolation;
  /** Probability of deforming a pair (default 1). */
  p?: number;
}

/**
 * Elastic deformation of image and mask together (the U-Net paper's augmentation): a grid×grid
 * lattice of random displacements, N(0, sigma²) pixels, interpolated bicubically to every pixel;
 * the image is resampled with `interpolation`, the mask with nearest-neighbour (class ids stay
 * class ids), both with mirrored borders.
 * @example paired.elastic({ sigma: 10, grid: 3, generator: new Generator(1) })
 */
export function elastic(options: ElasticOptions = {}): PairTransform {
  const op = 'paired.elastic';
  checkKeys(op, options, ['sigma', 'grid', 'interpolation', 'p', 'generator']);
  const sigma = checkNumber(op, 'sigma', options.sigma ?? 10, { min: 0 });
  const grid = checkPositiveInt(op, 'grid', options.grid ?? 3);
  if (grid < 2) throw new ArgumentError(op, `grid must be at least 2 points per side, got ${grid}`);
  const interpolation = checkInterpolation(op, options.interpolation ?? 'bilinear');
  const p = checkP(op, options.p ?? 1);
  const g = gen(options);
  return describe((img: Tensor, mask: Tensor): [Tensor, Tensor] => {
    const { info, minfo } = checkPair(op, img, mask);
    if (p < 1 && g.random() >= p) return [img, mask];
    const field = drawElasticField(info.h, info.w, grid, sigma, g);
    return [warpByField(img, info, field, interpolation), warpByField(mask, minfo, field, 'nearest')];
  }, `paired.Elastic(sigma=${sigma}, grid=${grid}, interpolation=${interpolation}, p=${p})`);
}
