/** Reference per-channel kernels over [N, C, P] arrays (batch normalisation); null centres are 0. */
import type { TypedArray } from '../../dtype.js';
import { unary } from './elementwise.js';

export function channelSums(a: TypedArray, aCenter: TypedArray | null, b: TypedArray | null, bCenter: TypedArray | null,
  N: number, C: number, P: number, sumA: Float64Array, sumAB: Float64Array, aMask: TypedArray | null): void {
  sumA.fill(0);
  sumAB.fill(0);
  const [w, wCenter] = b ? [b, bCenter] : [a, aCenter];
  for (let n = 0, i = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const ca = aCenter ? aCenter[c] : 0, cw = wCenter ? wCenter[c] : 0;
      let s = 0, s2 = 0;
      for (let end = i + P; i < end; i++) { const x = masked(a, aMask, i) - ca; s += x; s2 += x * (w[i] - cw); }
      sumA[c] += s;
      sumAB[c] += s2;
    }
  }
}

/** a[i], or 0 where the mask (a ReLU's output) is ≤ 0: ReLU's gradient, as reluGrad passes it. */
const masked = (a: TypedArray, mask: TypedArray | null, i: number): number => (mask && mask[i] <= 0 ? 0 : a[i]);

export function channelMix(a: TypedArray, aCenter: TypedArray | null, aScale: Float64Array, b: TypedArray | null, bCenter: TypedArray | null,
  bScale: Float64Array | null, shift: Float64Array, N: number, C: number, P: number, out: TypedArray, aMask: TypedArray | null, relu: boolean): void {
  for (let n = 0, i = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const ca = aCenter ? aCenter[c] : 0, sa = aScale[c], cb = bCenter ? bCenter[c] : 0, sb = bScale ? bScale[c] : 0, t = shift[c];
      if (b) for (let end = i + P; i < end; i++) out[i] = (masked(a, aMask, i) - ca) * sa + (b[i] - cb) * sb + t;
      else for (let end = i + P; i < end; i++) out[i] = (masked(a, aMask, i) - ca) * sa + t;
    }
  }
  if (relu) unary('relu', out, out, 0, 0);
}
