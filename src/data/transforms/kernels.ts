/**
 * Internal typed-array kernels and argument checks shared by the functional, random and paired
 * transforms. Every function takes the name of the public op or transform first, so that errors
 * name what the user called. Nothing here records autograd history: data-side transforms make
 * fresh output tensors and never write to their input.
 *
 * Images are [..., H, W]: a plane [H,W] (masks), an image [C,H,W] or a batch [N,C,H,W]; the
 * leading dims are flattened into "planes", and plane p belongs to channel p % C.
 */
import { allocArray, isFloat, type TypedArray } from '../../dtype.js';
import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../../errors.js';
import { Tensor } from '../../tensor.js';

export type Interpolation = 'nearest' | 'bilinear';
export type PaddingMode = 'constant' | 'edge' | 'reflect' | 'symmetric';
/** A fill value for all channels, or one per channel. */
export type Fill = number | readonly number[];

export interface ImageInfo {
  /** The dims before H and W. */
  lead: number[];
  /** Channels: shape[-3] for 3-D and 4-D tensors, 1 for a plane [H,W]. */
  c: number;
  h: number;
  w: number;
  /** The number of H×W planes (product of `lead`). */
  planes: number;
}

const json = (v: unknown): string => JSON.stringify(v);

/** Checks that `img` is a plane [H,W], an image [C,H,W] or a batch [N,C,H,W] (or only 3-D/4-D with `channels`). */
export function imageInfo(op: string, img: unknown, { what = 'img', channels = false } = {}): ImageInfo {
  if (!(img instanceof Tensor)) throw new DTypeError(op, `${what} must be a Tensor, got ${img === null ? 'null' : typeof img}`);
  const min = channels ? 3 : 2;
  if (img.ndim < min || img.ndim > 4) {
    const expected = channels ? 'an image [C,H,W] or a batch [N,C,H,W]' : 'an image [C,H,W], a batch [N,C,H,W] or a plane [H,W]';
    throw new ShapeError(op, `${what} must be ${expected}, got shape ${fmtShape(img.shape)}`);
  }
  const s = img.shape;
  const lead = s.slice(0, -2);
  return { lead, c: img.ndim === 2 ? 1 : s[img.ndim - 3], h: s[img.ndim - 2], w: s[img.ndim - 1], planes: lead.reduce((a, b) => a * b, 1) };
}

export function requireFloat(op: string, img: Tensor, what = 'img'): void {
  if (!isFloat(img.dtype)) throw new DTypeError(op, `${what} must be a floating-point image, got ${img.dtype} with shape ${fmtShape(img.shape)}`);
}

export function requireChannels(op: string, img: Tensor, info: ImageInfo, allowed: readonly number[], what = 'img'): void {
  if (!allowed.includes(info.c)) {
    throw new ShapeError(op, `${what} must have ${allowed.join(' or ')} channels, got ${info.c} (shape ${fmtShape(img.shape)})`);
  }
}

export function checkInt(op: string, name: string, v: unknown, min = -Infinity): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ArgumentError(op, `${name} must be ${min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : 'an integer'}, got ${json(v)}`);
  }
  return v;
}

export function checkNumber(op: string, name: string, v: unknown, { min = -Infinity, max = Infinity, openMin = false } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (openMin && v === min)) {
    const range = min === -Infinity && max === Infinity ? 'a finite number'
      : max === Infinity ? `a number ${openMin ? '>' : '>='} ${min}` : `a number in ${openMin ? '(' : '['}${min}, ${max}]`;
    throw new ArgumentError(op, `${name} must be ${range}, got ${json(v)}`);
  }
  return v;
}

export function checkInterpolation(op: string, v: unknown): Interpolation {
  if (v !== 'nearest' && v !== 'bilinear') throw new ArgumentError(op, `interpolation must be 'nearest' or 'bilinear', got ${json(v)}`);
  return v;
}

export function checkPaddingMode(op: string, v: unknown): PaddingMode {
  if (v !== 'constant' && v !== 'edge' && v !== 'reflect' && v !== 'symmetric') {
    throw new ArgumentError(op, `paddingMode must be 'constant', 'edge', 'reflect' or 'symmetric', got ${json(v)}`);
  }
  return v;
}

/** A size: a number n → [n, n]; [n] → [n, n]; [h, w]. Positive integers. */
export function sizePair(op: string, name: string, size: unknown): [number, number] {
  const list = typeof size === 'number' ? [size, size] : Array.isArray(size) && size.length === 1 ? [size[0], size[0]] : size;
  if (!Array.isArray(list) || list.length !== 2 || !list.every((v) => typeof v === 'number' && Number.isInteger(v) && v > 0)) {
    throw new ArgumentError(op, `${name} must be a positive integer or [height, width] of positive integers, got ${json(size)}`);
  }
  return [list[0], list[1]];
}

/** A [min, max] range of finite numbers with min <= max (a number v → [-v, v] when `symmetric`). */
export function range(op: string, name: string, v: unknown, { symmetric = false, min = -Infinity, max = Infinity } = {}): [number, number] {
  let r: unknown = v;
  if (typeof v === 'number' && symmetric) {
    if (!(v >= 0) || !Number.isFinite(v)) throw new ArgumentError(op, `${name} must be non-negative when it is a single number, got ${json(v)}`);
    r = [-v, v];
  }
  if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => typeof x === 'number' && Number.isFinite(x)) || r[0] > r[1] || r[0] < min || r[1] > max) {
    const bounds = min === -Infinity && max === Infinity ? '' : max === Infinity ? ` and min >= ${min}` : ` within [${min}, ${max}]`;
    throw new ArgumentError(op, `${name} must be ${symmetric ? 'a non-negative number or ' : ''}[min, max] with min <= max${bounds}, got ${json(v)}`);
  }
  return [r[0], r[1]];
}

/** The fill as one value per channel; null when `fill` is undefined (torchvision's fill=None). */
export function fillValues(op: string, fill: Fill | undefined, c: number, name = 'fill'): Float64Array | null {
  if (fill === undefined || fill === null) return null;
  const list = typeof fill === 'number' ? [fill] : fill;
  if (!Array.isArray(list) || list.length === 0 || !list.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new ArgumentError(op, `${name} must be a number or an array of numbers, got ${json(fill)}`);
  }
  if (list.length !== 1 && list.length !== c) throw new ArgumentError(op, `${name} has ${list.length} values but the image has ${c} channels`);
  return Float64Array.from({ length: c }, (_, i) => list[list.length === 1 ? 0 : i]);
}

/** Rounds half to even, as Python's round() and torch.round. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return (r - x === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0;
}

/** Stores `v` into an array of the image's dtype: integers are rounded half to even (as torchvision's casts back). */
const storeFn = (data: TypedArray): ((v: number) => number) => (data instanceof Int32Array ? roundHalfEven : (v) => v);

/**
 * Gathers rows and columns: output (y, x) of each plane is input (rows[y], cols[x]); an index of
 * -1 gives the plane's channel fill value (0 when `fill` is null).
 */
export function remap(img: Tensor, info: ImageInfo, rows: Int32Array, cols: Int32Array, fill: Float64Array | null): Tensor {
  const { h, w, c, planes } = info;
  const oh = rows.length, ow = cols.length;
  const src = img.data;
  const out = allocArray('remap', img.dtype, [...info.lead, oh, ow]);
  const store = storeFn(out);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * h * w;
    const fv = fill ? store(fill[p % c]) : 0;
    for (let y = 0; y < oh; y++) {
      const r = rows[y];
      if (r < 0) { out.fill(fv, o, o + ow); o += ow; continue; }
      const rowBase = base + r * w;
      for (let x = 0; x < ow; x++, o++) {
        const cc = cols[x];
        out[o] = cc < 0 ? fv : src[rowBase + cc];
      }
    }
  }
  return new Tensor(out, [...info.lead, oh, ow]);
}

/**
 * The source index of each output position along one axis of length n padded by `before` and
 * `after` (negative values crop): -1 for constant padding, else edge, reflect (no repeat of the
 * edge value) or symmetric (repeats it).
 */
export function padIndex(op: string, n: number, before: number, after: number, mode: PaddingMode, axis: string): Int32Array {
  const m = n + before + after;
  if (m <= 0) throw new ArgumentError(op, `padding [${before}, ${after}] leaves no ${axis} of the image (size ${n})`);
  if (mode !== 'constant') {
    const limit = mode === 'reflect' ? n - 1 : mode === 'symmetric' ? n : Infinity;
    if (n === 0 || Math.max(before, after) > limit) {
      throw new ArgumentError(op, `${mode} padding of ${Math.max(before, after)} is too large for the ${axis} ${n} of the image (at most ${mode === 'reflect' ? 'size - 1' : 'the size'})`);
    }
  }
  const idx = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    let s = i - before;
    if (s < 0 || s >= n) {
      if (mode === 'constant') s = -1;
      else if (mode === 'edge') s = s < 0 ? 0 : n - 1;
      else if (mode === 'reflect') s = s < 0 ? -s : 2 * (n - 1) - s;
      else s = s < 0 ? -s - 1 : 2 * n - 1 - s;
    }
    idx[i] = s;
  }
  return idx;
}

/** [left, top, right, bottom] from torchvision's padding forms: n, [n], [leftRight, topBottom], [l, t, r, b]. */
export function padding4(op: string, padding: unknown, name = 'padding'): [number, number, number, number] {
  const list = typeof padding === 'number' ? [padding] : padding;
  if (!Array.isArray(list) || ![1, 2, 4].includes(list.length) || !list.every((v) => typeof v === 'number' && Number.isInteger(v))) {
    throw new ArgumentError(op, `${name} must be an integer or an array of 1, 2 or 4 integers, got ${json(padding)}`);
  }
  if (list.length === 1) return [list[0], list[0], list[0], list[0]];
  if (list.length === 2) return [list[0], list[1], list[0], list[1]];
  return [list[0], list[1], list[2], list[3]];
}

export function padImage(op: string, img: Tensor, info: ImageInfo, ltrb: readonly number[], mode: PaddingMode, fill: Float64Array | null): Tensor {
  const rows = padIndex(op, info.h, ltrb[1], ltrb[3], mode, 'height');
  const cols = padIndex(op, info.w, ltrb[0], ltrb[2], mode, 'width');
  return remap(img, info, rows, cols, mode === 'constant' ? fill : null);
}

/** The window [top, top + height) × [left, left + width), with `fill` outside the image. */
export function cropImage(img: Tensor, info: ImageInfo, top: number, left: number, height: number, width: number, fill: Float64Array | null): Tensor {
  const axis = (start: number, len: number, n: number) => Int32Array.from({ length: len }, (_, i) => (start + i >= 0 && start + i < n ? start + i : -1));
  return remap(img, info, axis(top, height, info.h), axis(left, width, info.w), fill);
}

/** torchvision's center_crop: pads (zeros, or `fill`) when the crop is larger, offsets rounded half to even. */
export function centerCropImage(img: Tensor, info: ImageInfo, ch: number, cw: number, fill: Float64Array | null): Tensor {
  let top: number, left: number;
  if (cw > info.w || ch > info.h) {
    const padL = cw > info.w ? Math.floor((cw - info.w) / 2) : 0;
    const padT = ch > info.h ? Math.floor((ch - info.h) / 2) : 0;
    const ph = Math.max(ch, info.h), pw = Math.max(cw, info.w);
    top = roundHalfEven((ph - ch) / 2) - padT;
    left = roundHalfEven((pw - cw) / 2) - padL;
  } else {
    top = roundHalfEven((info.h - ch) / 2);
    left = roundHalfEven((info.w - cw) / 2);
  }
  return cropImage(img, info, top, left, ch, cw, fill);
}

// ---- resampling along the two axes (resize, blur) ----

/** Per output position along one axis: `k` (index, weight) taps; index -1 or weight 0 contribute nothing. */
export interface Taps { n: number; k: number; idx: Int32Array; wt: Float64Array }

/** Separable resampling: columns first (rows of each plane), then rows, accumulated in float64. */
export function resample(img: Tensor, info: ImageInfo, rowTaps: Taps, colTaps: Taps): Tensor {
  const { h, w, planes } = info;
  const oh = rowTaps.n, ow = colTaps.n;
  const src = img.data;
  const tmp = new Float64Array(h * ow);
  const out = allocArray('resample', img.dtype, [...info.lead, oh, ow]);
  const store = storeFn(out);
  for (let p = 0; p < planes; p++) {
    const base = p * h * w;
    for (let y = 0; y < h; y++) {
      const row = base + y * w;
      for (let x = 0; x < ow; x++) {
        let s = 0;
        for (let t = x * colTaps.k, end = t + colTaps.k; t < end; t++) {
          const i = colTaps.idx[t];
          if (i >= 0) s += colTaps.wt[t] * src[row + i];
        }
        tmp[y * ow + x] = s;
      }
    }
    const obase = p * oh * ow;
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        let s = 0;
        for (let t = y * rowTaps.k, end = t + rowTaps.k; t < end; t++) {
          const i = rowTaps.idx[t];
          if (i >= 0) s += rowTaps.wt[t] * tmp[i * ow + x];
        }
        out[obase + y * ow + x] = store(s);
      }
    }
  }
  return new Tensor(out, [...info.lead, oh, ow]);
}

/** PyTorch's nearest source index (mode 'nearest', no scale factor), with its float32 arithmetic. */
export function nearestIndex(n: number, m: number): Int32Array {
  const scale = Math.fround(n / m);
  return Int32Array.from({ length: m }, (_, i) => (m === n ? i : m === 2 * n ? i >> 1 : Math.min(Math.floor(Math.fround(Math.fround(i) * scale)), n - 1)));
}

/** Bilinear taps with align_corners=false (PyTorch's upsample_bilinear2d). */
export function bilinearTaps(n: number, m: number): Taps {
  const scale = n / m;
  const idx = new Int32Array(2 * m), wt = new Float64Array(2 * m);
  for (let i = 0; i < m; i++) {
    const src = Math.max(scale * (i + 0.5) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), n - 1);
    const l1 = src - i0;
    idx[2 * i] = i0; wt[2 * i] = 1 - l1;
    idx[2 * i + 1] = i0 < n - 1 ? i0 + 1 : i0; wt[2 * i + 1] = l1;
  }
  return { n: m, k: 2, idx, wt };
}

/** Antialiased bilinear taps (PyTorch's _upsample_bilinear2d_aa: a triangle filter widened by the scale when downsampling). */
export function antialiasTaps(n: number, m: number): Taps {
  const scale = n / m;
  const support = scale >= 1 ? scale : 1;
  const invscale = scale >= 1 ? 1 / scale : 1;
  const k = Math.ceil(support) * 2 + 1;
  const idx = new Int32Array(k * m).fill(-1), wt = new Float64Array(k * m);
  for (let i = 0; i < m; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xsize = Math.min(Math.trunc(center + support + 0.5), n) - xmin;
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      const d = Math.abs((j + xmin - center + 0.5) * invscale);
      const v = d < 1 ? 1 - d : 0;
      idx[i * k + j] = xmin + j; wt[i * k + j] = v;
      total += v;
    }
    if (total !== 0) for (let j = 0; j < xsize; j++) wt[i * k + j] /= total;
  }
  return { n: m, k, idx, wt };
}

/** torchvision's output size for resize: a number (or [n]) sets the smaller edge, keeping the aspect ratio. */
export function resizeOutputSize(op: string, h: number, w: number, size: unknown): [number, number] {
  if (typeof size === 'number' || (Array.isArray(size) && size.length === 1)) {
    const s = typeof size === 'number' ? size : size[0];
    if (typeof s !== 'number' || !Number.isInteger(s) || s <= 0) throw new ArgumentError(op, `size must be a positive integer or [height, width] of positive integers, got ${json(size)}`);
    const [short, long] = w <= h ? [w, h] : [h, w];
    const newLong = Math.trunc((s * long) / short);
    if (newLong <= 0) throw new ArgumentError(op, `size ${s} for the smaller edge of a ${h}×${w} image makes the longer edge ${newLong}`);
    return w <= h ? [newLong, s] : [s, newLong];
  }
  return sizePair(op, 'size', size);
}

export function resizeImage(op: string, img: Tensor, info: ImageInfo, oh: number, ow: number, interpolation: Interpolation, antialias: boolean): Tensor {
  if (oh === info.h && ow === info.w) return remap(img, info, identity(oh), identity(ow), null);
  if (interpolation === 'nearest') {
    if (antialias) throw new ArgumentError(op, `antialias applies to interpolation 'bilinear' only, got 'nearest'`);
    return remap(img, info, nearestIndex(info.h, oh), nearestIndex(info.w, ow), null);
  }
  const taps = antialias ? antialiasTaps : bilinearTaps;
  return resample(img, info, taps(info.h, oh), taps(info.w, ow));
}

export const identity = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

/** The flip index along an axis of length n. */
export const reversed = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => n - 1 - i);

// ---- affine warps (rotate, affine) ----

/**
 * torchvision's `_get_inverse_affine_matrix`: the 2×3 matrix that maps output coordinates to input
 * coordinates, both relative to `center` conventions of the caller. Angles and shears in degrees.
 */
export function inverseAffineMatrix(center: readonly [number, number], angle: number, translate: readonly [number, number], scale: number, shear: readonly [number, number]): number[] {
  const rad = Math.PI / 180;
  const rot = angle * rad, sx = shear[0] * rad, sy = shear[1] * rad;
  const [cx, cy] = center, [tx, ty] = translate;
  const a = Math.cos(rot - sy) / Math.cos(sy);
  const b = (-Math.cos(rot - sy) * Math.tan(sx)) / Math.cos(sy) - Math.sin(rot);
  const c = Math.sin(rot - sy) / Math.cos(sy);
  const d = (-Math.sin(rot - sy) * Math.tan(sx)) / Math.cos(sy) + Math.cos(rot);
  const m = [d, -b, 0, -c, a, 0].map((v) => v / scale);
  m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
  m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
  m[2] += cx;
  m[5] += cy;
  return m;
}

/** torchvision's output size [w, h] for rotate with expand (in its float32 arithmetic, truncated to 1e-4). */
export function expandedSize(m: readonly number[], w: number, h: number): [number, number] {
  const f = Math.fround;
  const t = m.map(f);
  const pts = [[-0.5 * w, -0.5 * h], [-0.5 * w, 0.5 * h], [0.5 * w, 0.5 * h], [0.5 * w, -0.5 * h]];
  const tol = f(1e-4);
  const size: number[] = [];
  for (let axis = 0; axis < 2; axis++) {
    const vals = pts.map(([x, y]) => f(f(f(f(x) * t[3 * axis]) + f(f(y) * t[3 * axis + 1])) + t[3 * axis + 2]));
    const half = f((axis === 0 ? w : h) * 0.5);
    const lo = f(Math.min(...vals) + half), hi = f(Math.max(...vals) + half);
    const cmax = Math.ceil(f(Math.trunc(f(hi / tol)) * tol));
    const cmin = Math.floor(f(Math.trunc(f(lo / tol)) * tol));
    size.push(cmax - cmin);
  }
  return [size[0], size[1]];
}

/**
 * Samples the image at the source positions of an (ow × oh) output grid, as torchvision's
 * `_gen_affine_grid` + `grid_sample(align_corners=False, padding_mode='zeros')`: output pixel
 * centre (x, y), relative to the output centre, reads input point `m · (x, y, 1)` relative to the
 * input centre. Outside the image: 0, or with `fill` the torchvision mask blend (nearest: the fill
 * value; bilinear: value·m + (1 − m)·fill, where m is the in-image weight).
 *
 * The source coordinates are computed in the grid's precision, as torchvision does (float32 for
 * float32 and int32 images, float64 for float64), through the same normalised-grid steps, so that
 * nearest sampling breaks ties at pixel boundaries (e.g. a 90° turn of an image with one odd and
 * one even side) the way torchvision does.
 */
export function warpAffine(img: Tensor, info: ImageInfo, m: readonly number[], ow: number, oh: number, mode: Interpolation, fill: Float64Array | null): Tensor {
  const { h, w, c, planes } = info;
  const src = img.data;
  const hw = h * w, ohw = oh * ow;
  const out = allocArray('warpAffine', img.dtype, [...info.lead, oh, ow]);
  const store = storeFn(out);
  const f = img.dtype === 'float64' ? (v: number) => v : Math.fround;
  // theta / [w/2, h/2] (normalised grid), then grid_sample's unnormalisation (g + 1)·size/2 − 0.5
  const hw2 = f(0.5 * w), hh2 = f(0.5 * h);
  const r = [f(f(m[0]) / hw2), f(f(m[1]) / hw2), f(f(m[2]) / hw2), f(f(m[3]) / hh2), f(f(m[4]) / hh2), f(f(m[5]) / hh2)];
  for (let oy = 0; oy < oh; oy++) {
    const y = f(oy - oh * 0.5 + 0.5);
    for (let ox = 0; ox < ow; ox++) {
      const x = f(ox - ow * 0.5 + 0.5);
      const ix = f(f(f(f(f(f(x * r[0]) + f(y * r[1])) + r[2]) + 1) * hw2) - 0.5);
      const iy = f(f(f(f(f(f(x * r[3]) + f(y * r[4])) + r[5]) + 1) * hh2) - 0.5);
      const o = oy * ow + ox;
      if (mode === 'nearest') {
        const xi = roundHalfEven(ix), yi = roundHalfEven(iy);
        const inside = xi >= 0 && xi < w && yi >= 0 && yi < h;
        const s = yi * w + xi;
        for (let p = 0; p < planes; p++) out[p * ohw + o] = inside ? src[p * hw + s] : fill ? store(fill[p % c]) : 0;
      } else {
        const x0 = Math.floor(ix), y0 = Math.floor(iy);
        const fx = ix - x0, fy = iy - y0;
        const vx0 = x0 >= 0 && x0 < w, vx1 = x0 + 1 >= 0 && x0 + 1 < w;
        const vy0 = y0 >= 0 && y0 < h, vy1 = y0 + 1 >= 0 && y0 + 1 < h;
        const w00 = vy0 && vx0 ? (1 - fx) * (1 - fy) : 0, w01 = vy0 && vx1 ? fx * (1 - fy) : 0;
        const w10 = vy1 && vx0 ? (1 - fx) * fy : 0, w11 = vy1 && vx1 ? fx * fy : 0;
        const mask = w00 + w01 + w10 + w11;
        const s00 = y0 * w + x0;
        for (let p = 0; p < planes; p++) {
          if (mask === 0) { out[p * ohw + o] = fill ? store(fill[p % c]) : 0; continue; }
          const b = p * hw + s00;
          let v = 0;
          if (w00) v += w00 * src[b];
          if (w01) v += w01 * src[b + 1];
          if (w10) v += w10 * src[b + w];
          if (w11) v += w11 * src[b + w + 1];
          if (fill) v = v * mask + (1 - mask) * fill[p % c];
          out[p * ohw + o] = store(v);
        }
      }
    }
  }
  return new Tensor(out, [...info.lead, oh, ow]);
}

/** [x, y] centre in pixel coordinates (origin top-left) → relative to the image centre, as torchvision. */
export function centerOffset(op: string, center: unknown, w: number, h: number): [number, number] {
  if (center === undefined || center === null) return [0, 0];
  if (!Array.isArray(center) || center.length !== 2 || !center.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new ArgumentError(op, `center must be [x, y], got ${json(center)}`);
  }
  return [center[0] - w * 0.5, center[1] - h * 0.5];
}

export interface RotateParams { angle: number; interpolation: Interpolation; expand: boolean; center?: readonly [number, number]; fill?: Fill }

export function rotateImage(op: string, img: Tensor, info: ImageInfo, angle: number, interpolation: Interpolation, expand: boolean, center: unknown, fill: Float64Array | null): Tensor {
  const m = inverseAffineMatrix(centerOffset(op, center, info.w, info.h), -angle, [0, 0], 1, [0, 0]);
  const [ow, oh] = expand ? expandedSize(m, info.w, info.h) : [info.w, info.h];
  return warpAffine(img, info, m, ow, oh, interpolation, fill);
}

export function affineImage(op: string, img: Tensor, info: ImageInfo, angle: number, translate: readonly [number, number], scale: number, shear: readonly [number, number], interpolation: Interpolation, center: unknown, fill: Float64Array | null): Tensor {
  const m = inverseAffineMatrix(centerOffset(op, center, info.w, info.h), angle, translate, scale, shear);
  return warpAffine(img, info, m, info.w, info.h, interpolation, fill);
}

// ---- photometric ----

/**
 * Applies f(value, channel, image index in the batch, index within the plane) to every element,
 * in float64, into a fresh tensor of the same dtype and shape.
 */
export function pointwise(img: Tensor, info: ImageInfo, f: (v: number, ch: number, n: number, i: number) => number): Tensor {
  const hw = info.h * info.w;
  const src = img.data;
  const out = allocArray('pointwise', img.dtype, img.shape);
  for (let p = 0; p < info.planes; p++) {
    const ch = p % info.c, n = Math.floor(p / info.c), base = p * hw;
    for (let i = 0; i < hw; i++) out[base + i] = f(src[base + i], ch, n, i);
  }
  return new Tensor(out, img.shape);
}

export const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

/** The luma planes (0.2989 R + 0.587 G + 0.114 B) of each image of an RGB image or batch, in float64. */
export function grayPlanes(img: Tensor, info: ImageInfo): Float64Array {
  const hw = info.h * info.w, n = info.planes / info.c;
  const src = img.data;
  const out = new Float64Array(n * hw);
  // torchvision casts the luma back to the image's dtype
  const cast = img.dtype === 'float32' ? Math.fround : (v: number) => v;
  for (let b = 0; b < n; b++) {
    const r = b * 3 * hw, g = r + hw, bl = g + hw;
    for (let i = 0; i < hw; i++) out[b * hw + i] = cast(0.2989 * src[r + i] + 0.587 * src[g + i] + 0.114 * src[bl + i]);
  }
  return out;
}

// ---- argument forms shared by functional and random transforms ----

/** Checks and completes affine parameters (torchvision's forms of shear: a number → [s, 0], [s] → [s, s]). */
export function affineParams(op: string, o: { angle?: number; translate?: readonly [number, number]; scale?: number; shear?: number | readonly number[] }): { angle: number; translate: [number, number]; scale: number; shear: [number, number] } {
  const angle = checkNumber(op, 'angle', o.angle ?? 0);
  const t = o.translate ?? [0, 0];
  if (!Array.isArray(t) || t.length !== 2 || !t.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new ArgumentError(op, `translate must be [tx, ty], got ${JSON.stringify(t)}`);
  }
  const scale = checkNumber(op, 'scale', o.scale ?? 1, { min: 0, openMin: true });
  const s = o.shear ?? [0, 0];
  const shear = typeof s === 'number' ? [s, 0] : Array.isArray(s) && s.length === 1 ? [s[0], s[0]] : s;
  if (!Array.isArray(shear) || shear.length !== 2 || !shear.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new ArgumentError(op, `shear must be a number, [s] or [sx, sy], got ${JSON.stringify(s)}`);
  }
  return { angle, translate: [t[0], t[1]], scale, shear: [shear[0], shear[1]] };
}

/** The normalised 1-D Gaussian kernel of torchvision (taps at −(k−1)/2 … (k−1)/2). */
export function gaussianKernel(kernelSize: number, sigma: number): Float64Array {
  const half = (kernelSize - 1) * 0.5;
  const pdf = Float64Array.from({ length: kernelSize }, (_, i) => Math.exp(-0.5 * ((i - half) / sigma) ** 2));
  const sum = pdf.reduce((a, b) => a + b, 0);
  return pdf.map((v) => v / sum);
}

/** [kx, ky] from k or [kx, ky]: odd positive integers. */
export function kernelSizes(op: string, kernelSize: unknown): [number, number] {
  const list = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : Array.isArray(kernelSize) && kernelSize.length === 1 ? [kernelSize[0], kernelSize[0]] : kernelSize;
  if (!Array.isArray(list) || list.length !== 2 || !list.every((v) => typeof v === 'number' && Number.isInteger(v) && v > 0 && v % 2 === 1)) {
    throw new ArgumentError(op, `kernelSize must be an odd positive integer or [kx, ky] of them, got ${JSON.stringify(kernelSize)}`);
  }
  return [list[0], list[1]];
}

/** Gaussian blur with reflect padding (see functional.gaussianBlur), errors naming `op`. */
export function blurWith(op: string, img: Tensor, kernelSize: number | readonly number[], sigma?: number | readonly number[]): Tensor {
  const info = imageInfo(op, img);
  const ks = kernelSizes(op, kernelSize);
  let sg: number[];
  if (sigma === undefined) sg = ks.map((k) => k * 0.15 + 0.35);
  else {
    const list = typeof sigma === 'number' ? [sigma, sigma] : Array.isArray(sigma) && sigma.length === 1 ? [sigma[0], sigma[0]] : sigma;
    if (!Array.isArray(list) || list.length !== 2 || !list.every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0)) {
      throw new ArgumentError(op, `sigma must be a positive number or [sx, sy] of positive numbers, got ${JSON.stringify(sigma)}`);
    }
    sg = list;
  }
  const taps = (n: number, k: number, s: number, axis: string): Taps => {
    const half = (k - 1) / 2;
    if (half >= n) throw new ShapeError(op, `kernel size ${k} needs reflect padding ${half}, which must be smaller than the image ${axis} ${n} (shape ${fmtShape(img.shape)})`);
    const kern = gaussianKernel(k, s);
    const idx = new Int32Array(n * k), wt = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < k; t++) {
        let j = i + t - half;
        if (j < 0) j = -j; else if (j >= n) j = 2 * (n - 1) - j;
        idx[i * k + t] = j; wt[i * k + t] = kern[t];
      }
    }
    return { n, k, idx, wt };
  };
  return resample(img, info, taps(info.h, ks[1], sg[1], 'height'), taps(info.w, ks[0], sg[0], 'width'));
}
