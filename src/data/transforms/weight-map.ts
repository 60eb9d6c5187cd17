/**
 * The U-Net paper's pixel weight map (Ronneberger et al. 2015, eq. 2), computed once per mask on
 * the data side and passed to `crossEntropy(..., { weightMap })`:
 *
 *     w(x) = w_c(x) + w0 · exp(−(d1(x) + d2(x))² / (2σ²))
 *
 * where w_c balances the class frequencies and, on background pixels, d1 and d2 are the distances
 * to the nearest and second-nearest object (a 4-connected component of non-background pixels), so
 * the thin background gaps between touching objects (membranes between cells) weigh most.
 */
import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../../errors.js';
import { checkNonNegative, checkPositive, resolveOptions } from '../../options.js';
import { connectedComponents, distanceTransform } from '../../segment/morphology.js';
import { Tensor } from '../../tensor.js';

export interface WeightMapOptions {
  /** Weight of the border term (default 10). */
  w0?: number;
  /** Width of the border term in pixels (default 5). */
  sigma?: number;
  /**
   * w_c: 'balanced' (default: total / (classes present · pixels of the class), scikit-learn's
   * balanced weights over this mask), a weight per class id, or 'none' (1 everywhere).
   */
  classWeights?: 'balanced' | 'none' | readonly number[];
  /** The class id that separates objects (default 0). */
  background?: number;
}

/**
 * The weight map of one int32 mask [H,W] of class ids: a float32 [H,W] tensor.
 *
 * Exact up to the border term's tail: each object's distances are computed within its bounding
 * box grown by 6.44σ, beyond which w0·exp(−(d1+d2)²/2σ²) < 1e-9·w0 is taken as 0.
 * @example const w = unetWeightMap(mask); crossEntropy(logits, mask.unsqueeze(0), { weightMap: w.unsqueeze(0) })
 */
export function unetWeightMap(mask: Tensor, options: WeightMapOptions = {}): Tensor {
  const op = 'unetWeightMap';
  const o = resolveOptions<Required<WeightMapOptions>>(op, options, { w0: 10, sigma: 5, classWeights: 'balanced', background: 0 }, ['w0', 'sigma', 'classWeights', 'background']);
  const w0 = checkNonNegative(op, 'w0', o.w0), sigma = checkPositive(op, 'sigma', o.sigma);
  if (!Number.isInteger(o.background)) throw new ArgumentError(op, `background must be an integer class id, got ${String(o.background)}`);
  if (!(mask instanceof Tensor)) throw new DTypeError(op, `mask must be a Tensor, got ${mask === null ? 'null' : typeof mask}`);
  if (mask.dtype !== 'int32') throw new DTypeError(op, `mask must hold int32 class ids, got ${mask.dtype} with shape ${fmtShape(mask.shape)}`);
  if (mask.ndim !== 2) throw new ShapeError(op, `mask must be [H,W], got shape ${fmtShape(mask.shape)}`);
  const [h, w] = mask.shape;
  const ids = mask.data as Int32Array, n = h * w;
  const out = new Float32Array(n);
  const cw = classWeightsOf(op, ids, o.classWeights);
  for (let i = 0; i < n; i++) out[i] = cw(ids[i]);
  if (w0 === 0) return new Tensor(out, [h, w]);

  const bg = o.background;
  const { labels, count } = connectedComponents(h, w, (i) => ids[i] !== bg);
  if (count < 2) return new Tensor(out, [h, w]);
  const reach = Math.ceil(sigma * Math.sqrt(2 * Math.log(1e9)));
  const d1 = new Float64Array(n).fill(Infinity), d2 = new Float64Array(n).fill(Infinity);
  // Bounding box of every object: [top, left, bottom, right], inclusive.
  const box = new Int32Array(4 * (count + 1));
  for (let k = 1; k <= count; k++) box.set([h, w, -1, -1], 4 * k);
  for (let i = 0; i < n; i++) {
    const k = labels[i];
    if (!k) continue;
    const y = (i / w) | 0, x = i - y * w, b = 4 * k;
    if (y < box[b]) box[b] = y;
    if (x < box[b + 1]) box[b + 1] = x;
    if (y > box[b + 2]) box[b + 2] = y;
    if (x > box[b + 3]) box[b + 3] = x;
  }
  for (let k = 1; k <= count; k++) {
    const b = 4 * k;
    const top = Math.max(0, box[b] - reach), left = Math.max(0, box[b + 1] - reach);
    const wh = Math.min(h - 1, box[b + 2] + reach) - top + 1, ww = Math.min(w - 1, box[b + 3] + reach) - left + 1;
    const d = distanceTransform(wh, ww, (j) => labels[(top + ((j / ww) | 0)) * w + left + (j % ww)] === k);
    for (let y = 0; y < wh; y++) {
      for (let x = 0; x < ww; x++) {
        const i = (top + y) * w + left + x, v = d[y * ww + x];
        if (v < d1[i]) { d2[i] = d1[i]; d1[i] = v; } else if (v < d2[i]) d2[i] = v;
      }
    }
  }
  const twoSigma2 = 2 * sigma * sigma;
  for (let i = 0; i < n; i++) {
    if (ids[i] !== bg) continue;
    const s = d1[i] + d2[i];
    out[i] += w0 * Math.exp(-(s * s) / twoSigma2);
  }
  return new Tensor(out, [h, w]);
}

function classWeightsOf(op: string, ids: Int32Array, spec: unknown): (id: number) => number {
  if (spec === 'none') return () => 1;
  if (spec === 'balanced') {
    const counts = new Map<number, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    const weights = new Map([...counts].map(([id, c]) => [id, ids.length / (counts.size * c)]));
    return (id) => weights.get(id)!;
  }
  if (Array.isArray(spec) && spec.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
    const list = spec as number[];
    for (const id of ids) {
      if (id < 0 || id >= list.length) throw new ArgumentError(op, `the mask holds class id ${id} but classWeights lists ${list.length} weights`);
    }
    return (id) => list[id];
  }
  throw new ArgumentError(op, `classWeights must be 'balanced', 'none' or an array of weights ≥ 0, got ${JSON.stringify(spec)}`);
}
