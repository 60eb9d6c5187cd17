/**
 * Elastic deformation as in the U-Net paper: random displacement vectors on a coarse grid (each
 * component drawn from N(0, σ²) pixels), interpolated bicubically to a smooth per-pixel field, and
 * the image sampled at (x + dx, y + dy), with mirrored borders so no fill value appears.
 */
import { zeros } from '../../creation.js';
import type { Generator } from '../../random.js';
import { Tensor } from '../../tensor.js';
import type { ImageInfo, Interpolation } from './kernels.js';
import { roundHalfEven } from './kernels.js';

/** A per-pixel displacement field, in pixels, row-major [h, w]. */
export interface DisplacementField { dx: Float64Array; dy: Float64Array; h: number; w: number }

/** Keys' cubic convolution weights (a = −0.5, as bicubic resizing) for a fractional offset t. */
function cubicWeights(t: number): [number, number, number, number] {
  const a = -0.5;
  const k = (x: number) => {
    x = Math.abs(x);
    return x <= 1 ? ((a + 2) * x - (a + 3)) * x * x + 1 : x < 2 ? ((a * x - 5 * a) * x + 8 * a) * x - 4 * a : 0;
  };
  return [k(t + 1), k(t), k(1 - t), k(2 - t)];
}

/** Bicubic interpolation of a g×g grid spanning the image's corners to h×w. */
function upsampleGrid(grid: Float64Array, g: number, h: number, w: number): Float64Array {
  const out = new Float64Array(h * w);
  const clampG = (i: number) => (i < 0 ? 0 : i >= g ? g - 1 : i);
  const taps = (n: number) => Array.from({ length: n }, (_, p) => {
    const u = n > 1 ? (p * (g - 1)) / (n - 1) : 0, i = Math.floor(u);
    return { i, wt: cubicWeights(u - i) };
  });
  const rows = taps(h), cols = taps(w);
  for (let y = 0; y < h; y++) {
    const r = rows[y];
    for (let x = 0; x < w; x++) {
      const c = cols[x];
      let v = 0;
      for (let a = 0; a < 4; a++) {
        const gy = clampG(r.i - 1 + a);
        for (let b = 0; b < 4; b++) v += r.wt[a] * c.wt[b] * grid[gy * g + clampG(c.i - 1 + b)];
      }
      out[y * w + x] = v;
    }
  }
  return out;
}

/** Draws a field: a grid×grid lattice of N(0, sigma²) displacements, interpolated bicubically. */
export function drawElasticField(h: number, w: number, grid: number, sigma: number, gen: Generator): DisplacementField {
  const draw = () => Float64Array.from({ length: grid * grid }, () => sigma * gen.normal());
  const gx = draw(), gy = draw();
  return { dx: upsampleGrid(gx, grid, h, w), dy: upsampleGrid(gy, grid, h, w), h, w };
}

/** Index i mirrored into [0, n) without repeating the edge (reflect), for any distance outside. */
export function mirrorIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  i = ((i % period) + period) % period;
  return i < n ? i : period - i;
}

/** Samples every plane of `img` at (x + dx, y + dy): bilinear, or nearest (ties to even) for masks. */
export function warpByField(img: Tensor, info: ImageInfo, field: DisplacementField, mode: Interpolation): Tensor {
  const { h, w, planes } = info;
  const src = img.data, hw = h * w;
  const out = zeros(img.shape, { dtype: img.dtype }).data;
  const isInt = img.dtype === 'int32';
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = y * w + x;
      const sx = x + field.dx[o], sy = y + field.dy[o];
      if (mode === 'nearest') {
        const s = mirrorIndex(roundHalfEven(sy), h) * w + mirrorIndex(roundHalfEven(sx), w);
        for (let p = 0; p < planes; p++) out[p * hw + o] = src[p * hw + s];
        continue;
      }
      const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
      const c0 = mirrorIndex(x0, w), c1 = mirrorIndex(x0 + 1, w), r0 = mirrorIndex(y0, h) * w, r1 = mirrorIndex(y0 + 1, h) * w;
      for (let p = 0; p < planes; p++) {
        const b = p * hw;
        const v = (1 - fy) * ((1 - fx) * src[b + r0 + c0] + fx * src[b + r0 + c1]) + fy * ((1 - fx) * src[b + r1 + c0] + fx * src[b + r1 + c1]);
        out[b + o] = isInt ? roundHalfEven(v) : v;
      }
    }
  }
  return new Tensor(out, img.shape);
}
