/**
 * Reference matrix product: a cache-blocked GEMM in the GotoBLAS layout. B is packed into
 * KC×NC panels and A into MC×KC blocks (both as float64, so the inner loop does no conversions),
 * and a 4×4 register-blocked micro-kernel walks them. Edges are zero-padded in the packs.
 */
import type { TypedArray } from '../../dtype.js';
import { broadcastStrides, sizeOf, type Shape } from '../../shape.js';

const MR = 4, NR = 4;
const KC = 256, MC = 64, NC = 256;

let packA = new Float64Array(MC * KC);
let packB = new Float64Array(KC * NC);

/** C[M,N] = A[M,K] · B[K,N] (or C += A·B with `accumulate`), all row-major, from the given offsets. */
export function gemm(A: TypedArray, aOff: number, B: TypedArray, bOff: number, C: TypedArray, cOff: number, M: number, K: number, N: number, accumulate = false): void {
  if (!accumulate) for (let i = 0; i < M * N; i++) C[cOff + i] = 0;
  if (packA.length < MC * KC) packA = new Float64Array(MC * KC);
  if (packB.length < KC * NC) packB = new Float64Array(KC * NC);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      packPanelB(B, bOff + pc * N + jc, N, kc, nc);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic);
        packBlockA(A, aOff + ic * K + pc, K, mc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          for (let ir = 0; ir < mc; ir += MR) {
            microKernel(kc, ir * kc, jr * kc, C, cOff + (ic + ir) * N + jc + jr, N, Math.min(MR, mc - ir), Math.min(NR, nc - jr));
          }
        }
      }
    }
  }
}

/** B[kc, nc] (leading dim ldb) → strips of NR columns, each kc rows of NR contiguous values. */
function packPanelB(B: TypedArray, off: number, ldb: number, kc: number, nc: number): void {
  const p = packB;
  let q = 0;
  for (let j = 0; j < nc; j += NR) {
    const w = Math.min(NR, nc - j);
    for (let k = 0; k < kc; k++) {
      const row = off + k * ldb + j;
      for (let t = 0; t < NR; t++) p[q++] = t < w ? B[row + t] : 0;
    }
  }
}

/** A[mc, kc] (leading dim lda) → strips of MR rows, each kc columns of MR contiguous values. */
function packBlockA(A: TypedArray, off: number, lda: number, mc: number, kc: number): void {
  const p = packA;
  let q = 0;
  for (let i = 0; i < mc; i += MR) {
    const h = Math.min(MR, mc - i);
    for (let k = 0; k < kc; k++) {
      for (let t = 0; t < MR; t++) p[q++] = t < h ? A[off + (i + t) * lda + k] : 0;
    }
  }
}

function microKernel(kc: number, pa: number, pb: number, C: TypedArray, cOff: number, ldc: number, h: number, w: number): void {
  const a = packA, b = packB;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let k = 0; k < kc; k++, pa += MR, pb += NR) {
    const a0 = a[pa], a1 = a[pa + 1], a2 = a[pa + 2], a3 = a[pa + 3];
    const b0 = b[pb], b1 = b[pb + 1], b2 = b[pb + 2], b3 = b[pb + 3];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  if (h === MR && w === NR) {
    let r = cOff;
    C[r] += c00; C[r + 1] += c01; C[r + 2] += c02; C[r + 3] += c03; r += ldc;
    C[r] += c10; C[r + 1] += c11; C[r + 2] += c12; C[r + 3] += c13; r += ldc;
    C[r] += c20; C[r + 1] += c21; C[r + 2] += c22; C[r + 3] += c23; r += ldc;
    C[r] += c30; C[r + 1] += c31; C[r + 2] += c32; C[r + 3] += c33;
    return;
  }
  const tile = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) C[cOff + i * ldc + j] += tile[i * NR + j];
}

/** Batched product of [..., M, K] and [..., K, N] with broadcast batch dims (outShape [..., M, N]). */
export function matmul(a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void {
  const M = aShape[aShape.length - 2], K = aShape[aShape.length - 1], N = bShape[bShape.length - 1];
  const batchShape = outShape.slice(0, -2);
  const sa = broadcastStrides(aShape.slice(0, -2), batchShape);
  const sb = broadcastStrides(bShape.slice(0, -2), batchShape);
  const batches = sizeOf(batchShape);
  const idx = new Array<number>(batchShape.length).fill(0);
  for (let t = 0; t < batches; t++) {
    let oa = 0, ob = 0;
    for (let d = 0; d < idx.length; d++) { oa += idx[d] * sa[d]; ob += idx[d] * sb[d]; }
    gemm(a, oa * M * K, b, ob * K * N, out, t * M * N, M, K, N);
    for (let d = idx.length - 1; d >= 0 && ++idx[d] === batchShape[d]; d--) idx[d] = 0;
  }
}
