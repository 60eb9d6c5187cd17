/**
 * The fused inference kernels, by their definition: the composed reference kernels, so every
 * backend inherits them and a faster backend is checked against exactly what the unfused ops give.
 */
import { arrayLike, type TypedArray } from '../../dtype.js';
import type { ConvGeometry, PoolGeometry } from '../backend.js';
import { conv2d } from './conv.js';
import { binary, unary } from './elementwise.js';
import { matmul } from './matmul.js';
import { maxPool2d } from './pool.js';

export function conv2dFused(x: TypedArray, w: TypedArray, bias: TypedArray | null, out: TypedArray, g: ConvGeometry, relu: boolean, pool: PoolGeometry | null): void {
  const y = pool ? arrayLike(out, g.batch * g.outChannels * g.outH * g.outW) : out;
  conv2d(x, w, bias, y, g);
  if (relu) unary('relu', y, y, 0, 0);
  if (pool) maxPool2d(y, out, new Int32Array(out.length), pool);
}

export function linear(x: TypedArray, w: TypedArray, bias: TypedArray | null, out: TypedArray, M: number, K: number, N: number, relu: boolean): void {
  const wt = arrayLike(w, K * N);
  for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) wt[k * N + j] = w[j * K + k];
  matmul(x, [M, K], wt, [K, N], out, [M, N]);
  if (bias) binary('add', out, [M, N], bias, [N], out, [M, N]);
  if (relu) unary('relu', out, out, 0, 0);
}
