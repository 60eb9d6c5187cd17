/**
 * Deterministic image functions on tensors, matching `torchvision.transforms.functional` (v0.14)
 * for tensor inputs: the same pixel-centre conventions, crop-offset rounding (half to even), affine
 * matrix, fill behaviour and clamping. Images are float tensors [C,H,W] or batches [N,C,H,W];
 * geometric functions also take a plane [H,W] (e.g. a mask) and any dtype (int32 stays int32:
 * interpolated values are rounded half to even). Every function returns a fresh tensor and never
 * writes to its input; none records autograd history.
 */
import { ArgumentError, ShapeError, fmtShape } from '../../errors.js';
import { Tensor } from '../../tensor.js';
import {
  affineImage, affineParams, blurWith, centerCropImage, checkInt, checkInterpolation, checkNumber, checkPaddingMode, clamp01,
  cropImage, fillValues, gaussianKernel, grayPlanes, identity, imageInfo, padding4, padImage, pointwise, remap, requireChannels,
  requireFloat, resizeImage, resizeOutputSize, reversed, rotateImage, roundHalfEven, sizePair,
  type Fill, type Interpolation, type PaddingMode,
} from './kernels.js';

export type { Fill, Interpolation, PaddingMode } from './kernels.js';

/** Mirrors left–right (the last dim). */
export function hflip(img: Tensor): Tensor {
  const info = imageInfo('hflip', img);
  return remap(img, info, identity(info.h), reversed(info.w), null);
}

/** Mirrors top–bottom (the second-to-last dim). */
export function vflip(img: Tensor): Tensor {
  const info = imageInfo('vflip', img);
  return remap(img, info, reversed(info.h), identity(info.w), null);
}

export interface CropOptions {
  /** The value of the parts of the window outside the image (torchvision: 0). */
  fill?: Fill;
}

/**
 * The window of `height` × `width` pixels whose top-left pixel is (`top`, `left`); the parts
 * outside the image are zero (or `fill`), as torchvision pads them.
 */
export function crop(img: Tensor, top: number, left: number, height: number, width: number, options: CropOptions = {}): Tensor {
  const op = 'crop';
  const info = imageInfo(op, img);
  checkInt(op, 'top', top); checkInt(op, 'left', left);
  checkInt(op, 'height', height, 1); checkInt(op, 'width', width, 1);
  return cropImage(img, info, top, left, height, width, fillValues(op, options.fill, info.c));
}

/**
 * The central `size` ([h, w], or n for n × n) window; offsets are round((H − h) / 2) with rounding
 * half to even (Python's round, as torchvision); a window larger than the image is zero-padded.
 */
export function centerCrop(img: Tensor, size: number | readonly number[]): Tensor {
  const op = 'centerCrop';
  const info = imageInfo(op, img);
  const [ch, cw] = sizePair(op, 'size', size);
  return centerCropImage(img, info, ch, cw, null);
}

export interface PadOptions {
  /** Constant mode's value: a number, or one per channel. Default 0. */
  fill?: Fill;
  /** 'constant' (default), 'edge', 'reflect' (no repeat of the edge pixel) or 'symmetric' (repeats it). */
  paddingMode?: PaddingMode;
}

/**
 * Pads the borders: `padding` is n (all sides), [leftRight, topBottom] or [left, top, right,
 * bottom]; negative values crop. reflect needs padding < the size, symmetric padding <= the size.
 */
export function pad(img: Tensor, padding: number | readonly number[], options: PadOptions = {}): Tensor {
  const op = 'pad';
  const info = imageInfo(op, img);
  const ltrb = padding4(op, padding);
  const mode = checkPaddingMode(op, options.paddingMode ?? 'constant');
  return padImage(op, img, info, ltrb, mode, fillValues(op, options.fill ?? 0, info.c));
}

export interface ResizeOptions {
  /** 'bilinear' (default) or 'nearest' (PyTorch's 'nearest': floor of the scaled index). */
  interpolation?: Interpolation;
  /** Antialiased bilinear downsampling (PyTorch's antialias=True). Default false, as torchvision 0.14 on tensors. */
  antialias?: boolean;
}

/**
 * Resizes to `size`: [h, w], or a number (or [n]) for the smaller edge, the other edge being
 * trunc(n · long / short). Bilinear uses align_corners=false, like torchvision on tensors.
 */
export function resize(img: Tensor, size: number | readonly number[], options: ResizeOptions = {}): Tensor {
  return resizeWith('resize', img, size, options);
}

function resizeWith(op: string, img: Tensor, size: number | readonly number[], options: ResizeOptions): Tensor {
  const info = imageInfo(op, img);
  const [oh, ow] = resizeOutputSize(op, info.h, info.w, size);
  const interpolation = checkInterpolation(op, options.interpolation ?? 'bilinear');
  return resizeImage(op, img, info, oh, ow, interpolation, options.antialias ?? false);
}

/** `crop` then `resize` (as torchvision's resized_crop). */
export function resizedCrop(img: Tensor, top: number, left: number, height: number, width: number, size: number | readonly number[], options: ResizeOptions = {}): Tensor {
  const op = 'resizedCrop';
  const info = imageInfo(op, img);
  checkInt(op, 'top', top); checkInt(op, 'left', left);
  checkInt(op, 'height', height, 1); checkInt(op, 'width', width, 1);
  return resizeWith(op, cropImage(img, info, top, left, height, width, null), size, options);
}

export interface RotateOptions {
  /** 'nearest' (default, as torchvision) or 'bilinear'. */
  interpolation?: Interpolation;
  /** Grow the output to hold the whole rotated image. Default false. */
  expand?: boolean;
  /** The centre of rotation [x, y] in pixel coordinates (origin at the top-left corner); default the image centre. */
  center?: readonly [number, number];
  /**
   * The value outside the rotated image: a number or one per channel. Undefined (torchvision's
   * None) gives zeros; a given fill blends bilinear edges as torchvision does (value·m + (1 − m)·fill).
   */
  fill?: Fill;
}

/** Rotates by `angle` degrees counter-clockwise about the centre (or `center`). */
export function rotate(img: Tensor, angle: number, options: RotateOptions = {}): Tensor {
  const op = 'rotate';
  const info = imageInfo(op, img);
  checkNumber(op, 'angle', angle);
  const interpolation = checkInterpolation(op, options.interpolation ?? 'nearest');
  return rotateImage(op, img, info, angle, interpolation, options.expand ?? false, options.center, fillValues(op, options.fill, info.c));
}

export interface AffineOptions {
  /** Rotation in degrees; as torchvision's affine, positive is clockwise on screen (the opposite of rotate). Default 0. */
  angle?: number;
  /** [tx, ty] translation in pixels, applied after rotation, scale and shear. Default [0, 0]. */
  translate?: readonly [number, number];
  /** Overall scale (> 0). Default 1. */
  scale?: number;
  /** Shear angles in degrees: sx (parallel to the x axis), or [sx, sy]. Default [0, 0]. */
  shear?: number | readonly number[];
  /** 'nearest' (default, as torchvision) or 'bilinear'. */
  interpolation?: Interpolation;
  /** As in `rotate`. */
  fill?: Fill;
  /** The centre [x, y] in pixel coordinates; default the image centre. */
  center?: readonly [number, number];
}

/** torchvision's affine: rotation, scale and shear about the centre, then translation (output size = input size). */
export function affine(img: Tensor, options: AffineOptions = {}): Tensor {
  const op = 'affine';
  const info = imageInfo(op, img);
  const p = affineParams(op, options);
  const interpolation = checkInterpolation(op, options.interpolation ?? 'nearest');
  return affineImage(op, img, info, p.angle, p.translate, p.scale, p.shear, interpolation, options.center, fillValues(op, options.fill, info.c));
}


function photometric(op: string, img: Tensor): ReturnType<typeof imageInfo> {
  const info = imageInfo(op, img, { channels: true });
  requireFloat(op, img);
  requireChannels(op, img, info, [1, 3]);
  return info;
}

/** factor · img, clamped to [0, 1]. factor >= 0: 0 gives black, 1 the original. */
export function adjustBrightness(img: Tensor, factor: number): Tensor {
  const op = 'adjustBrightness';
  const info = photometric(op, img);
  const f = checkNumber(op, 'factor', factor, { min: 0 });
  return pointwise(img, info, (v) => clamp01(f * v));
}

/** Blends with the mean luma of each image (factor 0: uniform grey, 1: the original), clamped to [0, 1]. */
export function adjustContrast(img: Tensor, factor: number): Tensor {
  const op = 'adjustContrast';
  const info = photometric(op, img);
  const f = checkNumber(op, 'factor', factor, { min: 0 });
  const hw = info.h * info.w, n = info.planes / info.c;
  const means = new Float64Array(n);
  if (info.c === 3) {
    const gray = grayPlanes(img, info);
    for (let b = 0; b < n; b++) { let s = 0; for (let i = b * hw; i < (b + 1) * hw; i++) s += gray[i]; means[b] = s / hw; }
  } else {
    for (let b = 0; b < n; b++) { let s = 0; for (let i = b * hw; i < (b + 1) * hw; i++) s += img.data[i]; means[b] = s / hw; }
  }
  return pointwise(img, info, (v, _c, b) => clamp01(f * v + (1 - f) * means[b]));
}

/** Blends with the luma image (factor 0: greyscale, 1: the original), clamped to [0, 1]. One channel: unchanged. */
export function adjustSaturation(img: Tensor, factor: number): Tensor {
  const op = 'adjustSaturation';
  const info = photometric(op, img);
  const f = checkNumber(op, 'factor', factor, { min: 0 });
  if (info.c === 1) return pointwise(img, info, (v) => v);
  const gray = grayPlanes(img, info);
  const hw = info.h * info.w;
  return pointwise(img, info, (v, _c, b, i) => clamp01(f * v + (1 - f) * gray[b * hw + i]));
}

/**
 * Shifts the hue by `factor` (in [-0.5, 0.5], a fraction of the colour wheel) in HSV space, as
 * torchvision (values should be in [0, 1]). One channel: unchanged.
 */
export function adjustHue(img: Tensor, factor: number): Tensor {
  const op = 'adjustHue';
  const info = photometric(op, img);
  const f = checkNumber(op, 'factor', factor, { min: -0.5, max: 0.5 });
  if (info.c === 1) return pointwise(img, info, (v) => v);
  const hw = info.h * info.w, n = info.planes / 3;
  const src = img.data;
  const out = new (src.constructor as Float32ArrayConstructor)(src.length);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < hw; i++) {
      const ir = b * 3 * hw + i, ig = ir + hw, ib = ig + hw;
      const r = src[ir], g = src[ig], bl = src[ib];
      // _rgb2hsv
      const maxc = Math.max(r, g, bl), minc = Math.min(r, g, bl);
      const eqc = maxc === minc;
      const cr = maxc - minc;
      const s = cr / (eqc ? 1 : maxc);
      const div = eqc ? 1 : cr;
      const rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - bl) / div;
      let hh: number;
      if (maxc === r) hh = bc - gc;
      else if (maxc === g) hh = 2 + rc - bc;
      else hh = 4 + gc - rc;
      hh = (hh / 6 + 1) % 1;
      // shift, then _hsv2rgb
      hh = (((hh + f) % 1) + 1) % 1;
      const v = maxc;
      const h6 = hh * 6;
      const fi = Math.floor(h6);
      const fr = h6 - fi;
      const p = clamp01(v * (1 - s)), q = clamp01(v * (1 - s * fr)), t = clamp01(v * (1 - s * (1 - fr)));
      const sector = ((fi % 6) + 6) % 6;
      const rgb = sector === 0 ? [v, t, p] : sector === 1 ? [q, v, p] : sector === 2 ? [p, v, t]
        : sector === 3 ? [p, q, v] : sector === 4 ? [t, p, v] : [v, p, q];
      out[ir] = rgb[0]; out[ig] = rgb[1]; out[ib] = rgb[2];
    }
  }
  return new Tensor(out, img.shape);
}

/** gain · img^gamma, clamped to [0, 1] (gamma >= 0; < 1 brightens the shadows, > 1 darkens them). */
export function adjustGamma(img: Tensor, gamma: number, gain = 1): Tensor {
  const op = 'adjustGamma';
  const info = photometric(op, img);
  const g = checkNumber(op, 'gamma', gamma, { min: 0 });
  const k = checkNumber(op, 'gain', gain);
  return pointwise(img, info, (v) => clamp01(k * v ** g));
}


/**
 * Gaussian blur with reflect padding (torchvision's gaussian_blur): `kernelSize` is an odd k or
 * [kx, ky]; `sigma` a number or [sx, sy], default 0.3·((k − 1)·0.5 − 1) + 0.8 = 0.15·k + 0.35.
 */
export function gaussianBlur(img: Tensor, kernelSize: number | readonly number[], sigma?: number | readonly number[]): Tensor {
  return blurWith('gaussianBlur', img, kernelSize, sigma);
}

/** The normalised 1-D Gaussian kernel of torchvision (taps at −(k−1)/2 … (k−1)/2). */
export const gaussianKernel1d = (kernelSize: number, sigma: number): Float64Array => gaussianKernel(kernelSize, sigma);



/** (img − mean) / std per channel; `mean` and `std` have one value per channel (or one for all). */
export function normalize(img: Tensor, mean: number | readonly number[], std: number | readonly number[]): Tensor {
  const op = 'normalize';
  const info = imageInfo(op, img, { channels: true });
  requireFloat(op, img);
  const m = fillValues(op, mean, info.c, 'mean')!;
  const s = fillValues(op, std, info.c, 'std')!;
  if (s.some((v) => v === 0)) throw new ArgumentError(op, `std must not be zero, got ${JSON.stringify(std)}`);
  return pointwise(img, info, (v, c) => (v - m[c]) / s[c]);
}

/**
 * Sets the region rows [i, i + h) × columns [j, j + w) (clipped to the image) to `value`: a number,
 * one number per channel, or a tensor broadcastable to [C, h, w] of the clipped region.
 */
export function erase(img: Tensor, i: number, j: number, h: number, w: number, value: number | readonly number[] | Tensor = 0): Tensor {
  const op = 'erase';
  const info = imageInfo(op, img);
  checkInt(op, 'i', i, 0); checkInt(op, 'j', j, 0); checkInt(op, 'h', h, 0); checkInt(op, 'w', w, 0);
  const y1 = Math.min(i + h, info.h), x1 = Math.min(j + w, info.w);
  const rh = Math.max(y1 - i, 0), rw = Math.max(x1 - j, 0);
  let at: (c: number, y: number, x: number) => number;
  if (value instanceof Tensor) {
    const vs = value.shape;
    const target = [info.c, rh, rw];
    if (vs.length > 3 || vs.some((d, k) => d !== 1 && d !== target[k + 3 - vs.length])) {
      throw new ShapeError(op, `value of shape ${fmtShape(vs)} does not broadcast to the erased region [${target.join(',')}] (image shape ${fmtShape(img.shape)})`);
    }
    const full = [...Array(3 - vs.length).fill(1), ...vs];
    const st = [full[1] * full[2], full[2], 1].map((s, k) => (full[k] === 1 ? 0 : s));
    const d = value.data;
    at = (c, y, x) => d[c * st[0] + y * st[1] + x * st[2]];
  } else {
    const v = fillValues(op, value, info.c, 'value')!;
    at = (c) => v[c];
  }
  const out = img.data.slice();
  const cast = out instanceof Int32Array ? roundHalfEven : (x: number) => x;
  for (let p = 0; p < info.planes; p++) {
    const c = p % info.c;
    for (let y = 0; y < rh; y++) {
      for (let x = 0; x < rw; x++) out[p * info.h * info.w + (i + y) * info.w + j + x] = cast(at(c, y, x));
    }
  }
  return new Tensor(out, img.shape);
}

/**
 * Luma 0.2989 R + 0.587 G + 0.114 B (torchvision's rgb_to_grayscale) with 1 or 3 identical output
 * channels; a 1-channel image is copied.
 */
export function toGrayscale(img: Tensor, numOutputChannels: 1 | 3 = 1): Tensor {
  const op = 'toGrayscale';
  const info = imageInfo(op, img, { channels: true });
  requireFloat(op, img);
  requireChannels(op, img, info, [1, 3]);
  if (numOutputChannels !== 1 && numOutputChannels !== 3) throw new ArgumentError(op, `numOutputChannels must be 1 or 3, got ${JSON.stringify(numOutputChannels)}`);
  const hw = info.h * info.w, n = info.planes / info.c;
  const gray = info.c === 3 ? grayPlanes(img, info) : img.data;
  const out = new (img.data.constructor as Float32ArrayConstructor)(n * numOutputChannels * hw);
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < numOutputChannels; k++) out.set(gray.subarray(b * hw, (b + 1) * hw), (b * numOutputChannels + k) * hw);
  }
  const shape = [...img.shape];
  shape[shape.length - 3] = numOutputChannels;
  return new Tensor(out, shape);
}

/** Same as `toGrayscale` (torchvision's name for tensors). */
export const rgbToGrayscale = toGrayscale;
