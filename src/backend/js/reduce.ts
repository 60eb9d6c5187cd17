/** Reference reductions. Sums accumulate in float64 whatever the storage type. */
import type { TypedArray } from '../../dtype.js';
import { stridesOf, type Shape } from '../../shape.js';
import type { ReduceOp } from '../backend.js';
import { forEachRun } from './elementwise.js';

export function reduce(op: ReduceOp, x: TypedArray, shape: Shape, axes: readonly number[], out: TypedArray): void {
  // Walk x in order; the output offset uses stride 0 along reduced axes.
  const keptShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const ks = stridesOf(keptShape);
  const outStrides = shape.map((d, i) => (axes.includes(i) ? 0 : ks[i]));
  const acc = new Float64Array(out.length).fill(op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity);
  if (shape.length === 0) { acc[0] = op === 'sum' ? x[0] : x[0]; out[0] = acc[0]; return; }
  const last = shape.length - 1;
  const so = outStrides[last];
  forEachRun(shape, [stridesOf(shape), outStrides], (off, n, _o) => {
    let px = off[0], po = off[1];
    if (op === 'sum') {
      if (so === 0) { let s = 0; for (let i = 0; i < n; i++) s += x[px + i]; acc[po] += s; }
      else for (let i = 0; i < n; i++, po += so) acc[po] += x[px + i];
    } else if (op === 'max') {
      for (let i = 0; i < n; i++, po += so) { const v = x[px + i]; if (v > acc[po] || v !== v) acc[po] = v; }
    } else {
      for (let i = 0; i < n; i++, po += so) { const v = x[px + i]; if (v < acc[po] || v !== v) acc[po] = v; }
    }
  });
  out.set(acc);
}

export function argReduce(op: 'argmax' | 'argmin', x: TypedArray, shape: Shape, axis: number | null, out: Int32Array): void {
  const better = op === 'argmax' ? (v: number, b: number) => v > b || (v !== v && b === b) : (v: number, b: number) => v < b || (v !== v && b === b);
  if (axis === null) {
    let best = 0;
    for (let i = 1; i < x.length; i++) if (better(x[i], x[best])) best = i;
    out[0] = best;
    return;
  }
  const len = shape[axis];
  const inner = stridesOf(shape)[axis];
  const outer = x.length / (len * inner || 1);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let best = 0;
      for (let j = 1; j < len; j++) if (better(x[base + j * inner], x[base + best * inner])) best = j;
      out[o * inner + i] = best;
    }
  }
}
