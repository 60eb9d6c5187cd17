/**
 * Reference log-softmax kernels over x viewed as [outer, axisLength, inner] (contiguous), the axis
 * strided by `inner`. Sums accumulate in float64 whatever the storage type. Each block of
 * axisLength × inner values is walked row by row with per-column scratch, so the reads are sequential.
 */
import type { TypedArray } from '../../dtype.js';

/**
 * out = x − m − log Σ exp(x − m) along the axis, m the largest value. An infinite m is taken as 0
 * (as logsumexp does), so a column of −∞ gives NaN and one holding +∞ gives −∞ for its finite
 * values and NaN for the +∞; a NaN makes its whole column NaN.
 */
export function logSoftmax(x: TypedArray, outer: number, axisLength: number, inner: number, out: TypedArray): void {
  const m = new Float64Array(inner), logSum = new Float64Array(inner);
  for (let o = 0, base = 0; o < outer; o++, base += axisLength * inner) {
    m.fill(-Infinity);
    for (let j = 0, p = base; j < axisLength; j++) {
      for (let i = 0; i < inner; i++, p++) { const v = x[p]; if (v > m[i] || v !== v) m[i] = v; }
    }
    for (let i = 0; i < inner; i++) if (m[i] === Infinity || m[i] === -Infinity) m[i] = 0;
    logSum.fill(0);
    for (let j = 0, p = base; j < axisLength; j++) {
      for (let i = 0; i < inner; i++, p++) logSum[i] += Math.exp(x[p] - m[i]);
    }
    for (let i = 0; i < inner; i++) logSum[i] = Math.log(logSum[i]);
    for (let j = 0, p = base; j < axisLength; j++) {
      for (let i = 0; i < inner; i++, p++) out[p] = x[p] - m[i] - logSum[i];
    }
  }
}

/** gx = g − exp(out)·Σ g along the axis, `out` being logSoftmax's output. */
export function logSoftmaxBackward(g: TypedArray, out: TypedArray, outer: number, axisLength: number, inner: number, gx: TypedArray): void {
  const sum = new Float64Array(inner);
  for (let o = 0, base = 0; o < outer; o++, base += axisLength * inner) {
    sum.fill(0);
    for (let j = 0, p = base; j < axisLength; j++) {
      for (let i = 0; i < inner; i++, p++) sum[i] += g[p];
    }
    for (let j = 0, p = base; j < axisLength; j++) {
      for (let i = 0; i < inner; i++, p++) gx[p] = g[p] - Math.exp(out[p]) * sum[i];
    }
  }
}
