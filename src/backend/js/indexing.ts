/** Reference kernels that move elements: take (slices, pads, index selection), concat, gather. */
import type { TypedArray } from '../../dtype.js';
import { stridesOf, type Shape } from '../../shape.js';
import type { AxisMaps } from '../backend.js';
import { forEachRun } from './elementwise.js';

/**
 * Per-axis source offsets (index × stride); NaN marks a fill position, so that a sum over axes is
 * NaN exactly when some axis asks for the fill value.
 */
function axisOffsets(shape: Shape, maps: AxisMaps, outShape: Shape): Float64Array[] {
  const st = stridesOf(shape);
  return outShape.map((n, d) => {
    const m = maps[d];
    const off = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const src = m ? m[j] : j;
      off[j] = src < 0 ? NaN : src * st[d];
    }
    return off;
  });
}

/** Visits every output element with its source offset (NaN for fill). */
function forEachTaken(shape: Shape, maps: AxisMaps, outShape: Shape, visit: (o: number, src: number) => void): void {
  const offs = axisOffsets(shape, maps, outShape);
  const nd = outShape.length;
  if (nd === 0) { visit(0, 0); return; }
  const last = offs[nd - 1];
  const idx = new Array<number>(nd).fill(0);
  let total = 1;
  for (const d of outShape) total *= d;
  if (total === 0) return;
  for (let o = 0; o < total; o += last.length) {
    let base = 0;
    for (let d = 0; d < nd - 1; d++) base += offs[d][idx[d]];
    for (let j = 0; j < last.length; j++) visit(o + j, base + last[j]);
    for (let d = nd - 2; d >= 0 && ++idx[d] === outShape[d]; d--) idx[d] = 0;
  }
}

export function take(x: TypedArray, shape: Shape, maps: AxisMaps, fill: number, out: TypedArray, outShape: Shape): void {
  // Trailing axes taken whole are contiguous runs in both arrays (e.g. the rows of indexSelect on
  // axis 0, a mini-batch gathered from a dataset): copy them as blocks.
  let d = outShape.length, run = 1;
  while (d > 0 && maps[d - 1] === null && outShape[d - 1] === shape[d - 1]) run *= shape[--d];
  if (run > 1) {
    forEachTaken(shape.slice(0, d), maps.slice(0, d), outShape.slice(0, d), (o, src) => {
      if (src === src) out.set(x.subarray(src * run, (src + 1) * run), o * run);
      else out.fill(fill, o * run, (o + 1) * run);
    });
    return;
  }
  forEachTaken(shape, maps, outShape, (o, src) => { out[o] = src === src ? x[src] : fill; });
}

export function takeAdd(g: TypedArray, gShape: Shape, maps: AxisMaps, out: TypedArray, shape: Shape): void {
  forEachTaken(shape, maps, gShape, (o, src) => { if (src === src) out[src] += g[o]; });
}

export function concat(xs: readonly TypedArray[], shapes: readonly Shape[], axis: number, out: TypedArray, outShape: Shape): void {
  const inner = stridesOf(outShape)[axis];
  const outer = axis === 0 ? 1 : outShape.slice(0, axis).reduce((p, d) => p * d, 1);
  const rowOut = outShape[axis] * inner;
  let start = 0;
  for (let t = 0; t < xs.length; t++) {
    const x = xs[t];
    const chunk = shapes[t][axis] * inner;
    for (let o = 0; o < outer; o++) {
      const src = o * chunk, dst = o * rowOut + start;
      for (let i = 0; i < chunk; i++) out[dst + i] = x[src + i];
    }
    start += chunk;
  }
}

/** Calls visit(indexPos, xPos) for every element of index: xPos is index's position with its `axis` coordinate replaced by the index value. */
function forEachGathered(shape: Shape, axis: number, index: Int32Array, indexShape: Shape, visit: (i: number, src: number) => void): void {
  const xs = stridesOf(shape);
  const nd = indexShape.length;
  const strides = indexShape.map((_, d) => (d === axis ? 0 : xs[d]));
  const last = nd - 1;
  const step = strides[last];
  forEachRun(indexShape, [strides], (off, n, o) => {
    let p = off[0];
    for (let j = 0; j < n; j++, p += step) visit(o + j, p + index[o + j] * xs[axis]);
  });
}

export function gather(x: TypedArray, shape: Shape, axis: number, index: Int32Array, indexShape: Shape, out: TypedArray): void {
  forEachGathered(shape, axis, index, indexShape, (i, src) => { out[i] = x[src]; });
}

export function scatterAdd(src: TypedArray, index: Int32Array, indexShape: Shape, axis: number, out: TypedArray, shape: Shape): void {
  forEachGathered(shape, axis, index, indexShape, (i, dst) => { out[dst] += src[i]; });
}
