/**
 * Reference convolution kernels: im2col + the blocked GEMM, per image and group. The three kernels
 * (forward, gradient wrt input, gradient wrt weight) also make the transposed convolution, which
 * is the input-gradient of a convolution.
 */
import type { TypedArray } from '../../dtype.js';
import type { ConvGeometry } from '../backend.js';
import { gemm } from './matmul.js';

let scratch = new Float64Array(0);
function colBuffer(size: number): Float64Array {
  if (scratch.length < size) scratch = new Float64Array(size);
  return scratch;
}

/**
 * Unfolds the receptive fields of channels [c0, c0 + cg) of image n into a matrix with one row per
 * (channel, ky, kx) and one column per output pixel; element (row, pixel) goes to
 * col[row·rowStride + pixel·pixelStride], so the same loop writes the matrix or its transpose.
 */
function im2col(x: TypedArray, n: number, c0: number, cg: number, g: ConvGeometry, col: Float64Array, rowStride: number, pixelStride: number): void {
  const { inH: H, inW: W, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW } = g;
  let row = 0;
  for (let c = 0; c < cg; c++) {
    const plane = ((n * g.inChannels) + c0 + c) * H * W;
    for (let ky = 0; ky < kH; ky++) {
      for (let kx = 0; kx < kW; kx++, row++) {
        const rowBase = row * rowStride;
        for (let oy = 0; oy < outH; oy++) {
          const iy = oy * strideH - padH + ky * dilationH;
          let p = rowBase + oy * outW * pixelStride;
          if (iy < 0 || iy >= H) {
            for (let ox = 0; ox < outW; ox++, p += pixelStride) col[p] = 0;
            continue;
          }
          const xRow = plane + iy * W;
          for (let ox = 0, ix = -padW + kx * dilationW; ox < outW; ox++, ix += strideW, p += pixelStride) {
            col[p] = ix >= 0 && ix < W ? x[xRow + ix] : 0;
          }
        }
      }
    }
  }
}

/** The adjoint of im2col (rows × pixels layout): adds each column entry back into its input pixel. */
function col2im(col: Float64Array, n: number, c0: number, cg: number, g: ConvGeometry, gx: TypedArray): void {
  const { inH: H, inW: W, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW } = g;
  const pixels = outH * outW;
  let row = 0;
  for (let c = 0; c < cg; c++) {
    const plane = ((n * g.inChannels) + c0 + c) * H * W;
    for (let ky = 0; ky < kH; ky++) {
      for (let kx = 0; kx < kW; kx++, row++) {
        for (let oy = 0; oy < outH; oy++) {
          const iy = oy * strideH - padH + ky * dilationH;
          if (iy < 0 || iy >= H) continue;
          const xRow = plane + iy * W;
          let p = row * pixels + oy * outW;
          for (let ox = 0, ix = -padW + kx * dilationW; ox < outW; ox++, ix += strideW, p++) {
            if (ix >= 0 && ix < W) gx[xRow + ix] += col[p];
          }
        }
      }
    }
  }
}

const sizes = (g: ConvGeometry) => {
  const cInG = g.inChannels / g.groups, cOutG = g.outChannels / g.groups;
  return { cInG, cOutG, K: cInG * g.kH * g.kW, pixels: g.outH * g.outW };
};

export function conv2d(x: TypedArray, w: TypedArray, bias: TypedArray | null, out: TypedArray, g: ConvGeometry): void {
  const { cInG, cOutG, K, pixels } = sizes(g);
  const col = colBuffer(K * pixels);
  for (let n = 0; n < g.batch; n++) {
    for (let grp = 0; grp < g.groups; grp++) {
      im2col(x, n, grp * cInG, cInG, g, col, pixels, 1);
      gemm(w, grp * cOutG * K, col, 0, out, (n * g.outChannels + grp * cOutG) * pixels, cOutG, K, pixels);
    }
  }
  if (bias) addChannelBias(out, bias, g.batch, g.outChannels, pixels);
}

/** out[n, c, p] += bias[c] over an [N, C, P] array (the convolution's output, after its sums). */
export function addChannelBias(out: TypedArray, bias: TypedArray, N: number, C: number, P: number): void {
  for (let n = 0, i = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const b = bias[c];
      for (let end = i + P; i < end; i++) out[i] += b;
    }
  }
}

export function conv2dBackwardInput(gOut: TypedArray, w: TypedArray, gx: TypedArray, g: ConvGeometry): void {
  const { cInG, cOutG, K, pixels } = sizes(g);
  gx.fill(0); // col2im adds into it, and pixels that no window reads get nothing
  const col = new Float64Array(K * pixels);
  const wT = new Float64Array(K * cOutG);
  for (let grp = 0; grp < g.groups; grp++) {
    const wOff = grp * cOutG * K;
    for (let o = 0; o < cOutG; o++) for (let k = 0; k < K; k++) wT[k * cOutG + o] = w[wOff + o * K + k];
    for (let n = 0; n < g.batch; n++) {
      gemm(wT, 0, gOut, (n * g.outChannels + grp * cOutG) * pixels, col, 0, K, cOutG, pixels);
      col2im(col, n, grp * cInG, cInG, g, gx);
    }
  }
}

export function conv2dBackwardWeight(x: TypedArray, gOut: TypedArray, gw: TypedArray, g: ConvGeometry): void {
  const { cInG, cOutG, K, pixels } = sizes(g);
  const colT = colBuffer(K * pixels);
  gw.fill(0); // the GEMMs add each image's product
  for (let n = 0; n < g.batch; n++) {
    for (let grp = 0; grp < g.groups; grp++) {
      im2col(x, n, grp * cInG, cInG, g, colT, 1, K);
      gemm(gOut, (n * g.outChannels + grp * cOutG) * pixels, colT, 0, gw, grp * cOutG * K, cOutG, pixels, K, true);
    }
  }
}
