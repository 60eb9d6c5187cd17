/** Reference per-channel kernels over [N, C, P] arrays (batch normalisation). */
import type { TypedArray } from '../../dtype.js';

export function channelSums(a: TypedArray, b: TypedArray | null, N: number, C: number, P: number, sumA: Float64Array, sumAB: Float64Array): void {
  sumA.fill(0);
  sumAB.fill(0);
  const w = b ?? a;
  for (let n = 0, i = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      let s = 0, s2 = 0;
      for (let end = i + P; i < end; i++) { s += a[i]; s2 += a[i] * w[i]; }
      sumA[c] += s;
      sumAB[c] += s2;
    }
  }
}

export function channelMix(a: TypedArray, aScale: Float64Array, b: TypedArray | null, bScale: Float64Array | null, shift: Float64Array,
  N: number, C: number, P: number, out: TypedArray): void {
  for (let n = 0, i = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const sa = aScale[c], sb = bScale ? bScale[c] : 0, t = shift[c];
      if (b) for (let end = i + P; i < end; i++) out[i] = a[i] * sa + b[i] * sb + t;
      else for (let end = i + P; i < end; i++) out[i] = a[i] * sa + t;
    }
  }
}
