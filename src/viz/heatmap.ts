/**
 * Heatmaps of attribution maps, browser-safe: channel reduction, percentile normalisation, colour
 * maps (viridis, perceptual; coolwarm, diverging for signed maps) and overlays on the image. All
 * images are float [C, H, W] in [0, 1]; `pixelgrad/node`'s saveImageGrid writes them as PNG.
 */
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { checkOneOf, checkRange, resolveOptions } from '../options.js';
import { Tensor } from '../tensor.js';

/** RGB control points (0–255) at evenly spaced positions, linearly interpolated between. */
const STOPS: Readonly<Record<ColormapName, readonly (readonly [number, number, number])[]>> = {
  // matplotlib's viridis at 0, 0.1, ..., 1.
  viridis: [[68, 1, 84], [72, 36, 117], [65, 68, 135], [53, 95, 141], [42, 120, 142], [33, 145, 140], [34, 168, 132], [68, 191, 112], [122, 209, 81], [189, 223, 38], [253, 231, 37]],
  // Moreland's coolwarm (matplotlib 'coolwarm') at 0, 0.25, 0.5, 0.75, 1: blue for negative, grey at 0, red for positive.
  coolwarm: [[59, 76, 192], [141, 176, 254], [221, 221, 221], [244, 154, 123], [180, 4, 38]],
  gray: [[0, 0, 0], [255, 255, 255]],
};

export const COLORMAPS = ['viridis', 'coolwarm', 'gray'] as const;
export type ColormapName = (typeof COLORMAPS)[number];

/** The colour of v in [0, 1] (clamped; NaN is the lowest colour) as [r, g, b] in [0, 1]. */
export function colormapColor(name: ColormapName, v: number): [number, number, number] {
  const stops = STOPS[checkOneOf('colormapColor', 'colormap', name, COLORMAPS)];
  const t = (Number.isNaN(v) ? 0 : Math.min(Math.max(v, 0), 1)) * (stops.length - 1);
  const i = Math.min(Math.floor(t), stops.length - 2), f = t - i;
  const a = stops[i], b = stops[i + 1];
  return [0, 1, 2].map((c) => (a[c] + f * (b[c] - a[c])) / 255) as [number, number, number];
}

/** A [H, W] or [1, H, W] map with values in [0, 1] as an RGB image [3, H, W] in the colour map. */
export function applyColormap(map: Tensor, colormap: ColormapName = 'viridis'): Tensor {
  const [h, w] = planeShape('applyColormap', map);
  checkOneOf('applyColormap', 'colormap', colormap, COLORMAPS);
  const out = new Float32Array(3 * h * w);
  for (let j = 0; j < h * w; j++) {
    const [r, g, b] = colormapColor(colormap, map.data[j]);
    out[j] = r; out[h * w + j] = g; out[2 * h * w + j] = b;
  }
  return new Tensor(out, [3, h, w]);
}

function planeShape(op: string, map: Tensor): [number, number] {
  if (!(map instanceof Tensor)) throw new ArgumentError(op, 'map must be a Tensor');
  if (map.ndim === 2) return [map.shape[0], map.shape[1]];
  if (map.ndim === 3 && map.shape[0] === 1) return [map.shape[1], map.shape[2]];
  throw new ShapeError(op, `map must be [H, W] or [1, H, W], got shape ${fmtShape(map.shape)}`);
}

export type AttributionSign = 'absolute' | 'positive' | 'negative' | 'all';

/**
 * One attribution [C, H, W] as a map [1, H, W] over its channels, as Captum's visualize_image_attr
 * signs: 'absolute' Σ|a|, 'positive' Σ max(a, 0), 'negative' Σ max(−a, 0), 'all' Σ a (signed).
 */
export function channelMap(attribution: Tensor, sign: AttributionSign = 'absolute'): Tensor {
  const op = 'channelMap';
  checkOneOf(op, 'sign', sign, ['absolute', 'positive', 'negative', 'all']);
  if (!(attribution instanceof Tensor) || attribution.ndim !== 3) throw new ShapeError(op, `attribution must be [C, H, W], got ${attribution instanceof Tensor ? fmtShape(attribution.shape) : typeof attribution}`);
  const [c, h, w] = attribution.shape, plane = h * w, a = attribution.data;
  const out = new Float32Array(plane);
  const f = sign === 'absolute' ? Math.abs : sign === 'positive' ? (v: number) => Math.max(v, 0) : sign === 'negative' ? (v: number) => Math.max(-v, 0) : (v: number) => v;
  for (let k = 0; k < c; k++) for (let j = 0; j < plane; j++) out[j] += f(a[k * plane + j]);
  return new Tensor(out, [1, h, w]);
}

export interface NormalizeMapOptions {
  /** Values beyond this percentile of |v| saturate (Captum's outlier_perc = 100 − percentile). Default 99. */
  percentile?: number;
  /** Signed maps go to [0, 1] with 0 at 0.5 (for a diverging colour map); else [0, 1] from 0. Default false. */
  signed?: boolean;
}

/**
 * Scales a map into [0, 1] by the given percentile of its absolute values (so one hot pixel does
 * not wash out the rest): v/p clipped to [0, 1], or (v/p + 1)/2 clipped when `signed`. An all-zero
 * map stays 0 (0.5 when signed).
 */
export function normalizeMap(map: Tensor, options: NormalizeMapOptions = {}): Tensor {
  const op = 'normalizeMap';
  const o = resolveOptions<Required<NormalizeMapOptions>>(op, options, { percentile: 99, signed: false }, ['percentile', 'signed']);
  checkRange(op, 'percentile', o.percentile, 0, 100);
  if (!(map instanceof Tensor)) throw new ArgumentError(op, 'map must be a Tensor');
  const mags = Float64Array.from(map.data, Math.abs).sort();
  const scale = mags.length ? percentileOfSorted(mags, o.percentile) : 0;
  const out = new Float32Array(map.size);
  for (let j = 0; j < map.size; j++) {
    const v = scale > 0 ? map.data[j] / scale : 0;
    out[j] = o.signed ? Math.min(Math.max((v + 1) / 2, 0), 1) : Math.min(Math.max(v, 0), 1);
  }
  return new Tensor(out, map.shape);
}

/** The p-th percentile (0–100) of sorted values, linearly interpolated (NumPy's default). */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  const pos = (p / 100) * (sorted.length - 1);
  const i = Math.floor(pos), f = pos - i;
  return i + 1 < sorted.length ? sorted[i] + f * (sorted[i + 1] - sorted[i]) : sorted[i];
}

/**
 * The image [1 or 3, H, W] in [0, 1] with an RGB heatmap [3, H, W] blended over it:
 * (1 − alpha)·image + alpha·heat (a gray image is repeated over RGB).
 */
export function overlayHeatmap(image: Tensor, heat: Tensor, alpha = 0.5): Tensor {
  const op = 'overlayHeatmap';
  checkRange(op, 'alpha', alpha, 0, 1);
  if (!(image instanceof Tensor) || image.ndim !== 3 || (image.shape[0] !== 1 && image.shape[0] !== 3)) {
    throw new ShapeError(op, `image must be [1 or 3, H, W], got ${image instanceof Tensor ? fmtShape(image.shape) : typeof image}`);
  }
  const [c, h, w] = image.shape;
  if (!(heat instanceof Tensor) || heat.ndim !== 3 || heat.shape[0] !== 3 || heat.shape[1] !== h || heat.shape[2] !== w) {
    throw new ShapeError(op, `heat must be RGB [3, ${h}, ${w}] like the image ${fmtShape(image.shape)}, got ${heat instanceof Tensor ? fmtShape(heat.shape) : typeof heat}`);
  }
  const plane = h * w, out = new Float32Array(3 * plane);
  for (let k = 0; k < 3; k++) {
    const from = (c === 1 ? 0 : k) * plane;
    for (let j = 0; j < plane; j++) out[k * plane + j] = (1 - alpha) * Math.min(Math.max(image.data[from + j], 0), 1) + alpha * heat.data[k * plane + j];
  }
  return new Tensor(out, [3, h, w]);
}
