/**
 * 2-D convolution (NCHW input, OIHW weight, groups) as im2col + the packed GEMM, per image and
 * group, with the three kernels of the JS reference: forward, gradient wrt input (col2im of Wᵀ·g)
 * and gradient wrt weight (g·colᵀ, accumulated over the batch). 1×1 convolutions with stride 1
 * and no padding skip im2col; forward passes of stride 1 need no column matrix: 3×3 ones with 32
 * channels or more each way run Winograd F(2×2, 3×3) (winograd.ts), the others the direct kernels
 * (dconv.ts). Rows of the column matrix are filled with SIMD copies when the stride is 1, and their
 * zero-padded ends computed once per row rather than tested per pixel.
 *
 * The geometry arrives as 16 i32 at `geo`: batch, inC, inH, inW, outC, kH, kW, strideH, strideW,
 * padH, padW, dilationH, dilationW, groups, outH, outW. `work` holds the column matrix
 * (K·outH·outW float32, 16-byte aligned) followed by the GEMM's scratch.
 */
import { gemm, gemmWorkBytes } from './gemm';
import { conv2dBackwardInputDirect, conv2dBackwardWeightDirect, conv2dDirect, directInputOk, directWorkBytes } from './dconv';
import { conv2dWinograd, winogradOk, winogradWorkBytes } from './winograd';

@inline function g(geo: usize, i: i32): i32 { return load<i32>(geo + (<usize>i << 2)); }

@inline function zeroRun(p: usize, n: i32): void {
  let i = 0;
  const z = f32x4.splat(0);
  for (; i + 4 <= n; i += 4) v128.store(p + (<usize>i << 2), z);
  for (; i < n; i++) store<f32>(p + (<usize>i << 2), 0);
}

@inline function copyRun(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}

@inline function addRun(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; i < n; i++) { const o = <usize>i << 2; store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o)); }
}

/** First output index o ≥ 0 with o·s + off ≥ 0 (off may be negative). */
@inline function firstInside(off: i32, s: i32): i32 { return off >= 0 ? 0 : (-off + s - 1) / s; }

/**
 * Unfolds channels [0, cg) of the planes at x into col[K, P] (row = (c, ky, kx), column = output
 * pixel). Out-of-image taps are written as zeros.
 */
function im2col(x: usize, cg: i32, geo: usize, col: usize): void {
  const H = g(geo, 2), W = g(geo, 3), kH = g(geo, 5), kW = g(geo, 6), sH = g(geo, 7), sW = g(geo, 8);
  const pH = g(geo, 9), pW = g(geo, 10), dH = g(geo, 11), dW = g(geo, 12), oH = g(geo, 14), oW = g(geo, 15);
  let dst = col;
  for (let c = 0; c < cg; c++) {
    const plane = x + (<usize>(c * H * W) << 2);
    for (let ky = 0; ky < kH; ky++) {
      for (let kx = 0; kx < kW; kx++) {
        const off = kx * dW - pW;                       // ix = ox·sW + off
        const lo = min<i32>(firstInside(off, sW), oW);
        const hi = max<i32>(lo, min<i32>(oW, firstInside(off - W, sW)));
        for (let oy = 0; oy < oH; oy++) {
          const iy = oy * sH - pH + ky * dH;
          if (iy < 0 || iy >= H) { zeroRun(dst, oW); dst += <usize>oW << 2; continue; }
          const row = plane + (<usize>(iy * W) << 2);
          zeroRun(dst, lo);
          if (sW == 1) copyRun(dst + (<usize>lo << 2), row + (<usize>(lo + off) << 2), hi - lo);
          else {
            let s = row + (<usize>(lo * sW + off) << 2);
            const step = <usize>sW << 2;
            for (let ox = lo; ox < hi; ox++) { store<f32>(dst + (<usize>ox << 2), load<f32>(s)); s += step; }
          }
          zeroRun(dst + (<usize>hi << 2), oW - hi);
          dst += <usize>oW << 2;
        }
      }
    }
  }
}

/** The adjoint of im2col: adds col[K, P] back into the planes at x (channels [0, cg)). */
function col2im(col: usize, cg: i32, geo: usize, x: usize): void {
  const H = g(geo, 2), W = g(geo, 3), kH = g(geo, 5), kW = g(geo, 6), sH = g(geo, 7), sW = g(geo, 8);
  const pH = g(geo, 9), pW = g(geo, 10), dH = g(geo, 11), dW = g(geo, 12), oH = g(geo, 14), oW = g(geo, 15);
  let src = col;
  for (let c = 0; c < cg; c++) {
    const plane = x + (<usize>(c * H * W) << 2);
    for (let ky = 0; ky < kH; ky++) {
      for (let kx = 0; kx < kW; kx++) {
        const off = kx * dW - pW;
        const lo = min<i32>(firstInside(off, sW), oW);
        const hi = max<i32>(lo, min<i32>(oW, firstInside(off - W, sW)));
        for (let oy = 0; oy < oH; oy++) {
          const iy = oy * sH - pH + ky * dH;
          if (iy >= 0 && iy < H) {
            const row = plane + (<usize>(iy * W) << 2);
            if (sW == 1) addRun(row + (<usize>(lo + off) << 2), src + (<usize>lo << 2), hi - lo);
            else {
              let d = row + (<usize>(lo * sW + off) << 2);
              const step = <usize>sW << 2;
              for (let ox = lo; ox < hi; ox++) { store<f32>(d, load<f32>(d) + load<f32>(src + (<usize>ox << 2))); d += step; }
            }
          }
          src += <usize>oW << 2;
        }
      }
    }
  }
}

/** A plain product: 1×1, stride 1, no padding, and an output not cut short by output padding. */
@inline function isPointwise(geo: usize): bool {
  return g(geo, 5) == 1 && g(geo, 6) == 1 && g(geo, 7) == 1 && g(geo, 8) == 1 && g(geo, 9) == 0 && g(geo, 10) == 0
    && g(geo, 14) == g(geo, 2) && g(geo, 15) == g(geo, 3);
}

@inline function colBytes(geo: usize): usize {
  const groups = g(geo, 13), cg = g(geo, 1) / groups;
  const K = cg * g(geo, 5) * g(geo, 6), P = g(geo, 14) * g(geo, 15);
  return ((<usize>(K * P) << 2) + 15) & ~<usize>15;
}

@inline function stride1(geo: usize): bool { return g(geo, 7) == 1 && g(geo, 8) == 1; }

/** Bytes of scratch the three convolution kernels need at `work` for this geometry. */
export function convWorkBytes(geo: usize): usize {
  const bytes = max<usize>(colBytes(geo) + <usize>gemmWorkBytes(), directWorkBytes(geo));
  return max<usize>(bytes, winogradOk(geo) ? winogradWorkBytes(geo) : 0) + 64;
}

/** out[N, Cout, OH, OW] = x ⋆ w. */
export function conv2d(x: usize, w: usize, out: usize, geo: usize, work: usize): void {
  if (winogradOk(geo)) { conv2dWinograd(x, w, out, geo, work); return; }
  if (!isPointwise(geo) && stride1(geo)) { conv2dDirect(x, w, out, geo, work); return; }
  const N = g(geo, 0), C = g(geo, 1), H = g(geo, 2), W = g(geo, 3), O = g(geo, 4), groups = g(geo, 13);
  const cg = C / groups, og = O / groups, K = cg * g(geo, 5) * g(geo, 6), P = g(geo, 14) * g(geo, 15);
  const pointwise = isPointwise(geo);
  const col = (work + 15) & ~<usize>15, gw = col + colBytes(geo);
  for (let n = 0; n < N; n++) {
    for (let grp = 0; grp < groups; grp++) {
      const xs = x + (<usize>((n * C + grp * cg) * H * W) << 2);
      let b = col;
      if (pointwise) b = xs; else im2col(xs, cg, geo, col);
      gemm(og, P, K, w + (<usize>(grp * og * K) << 2), K, 1, b, P, 1,
        out + (<usize>((n * O + grp * og) * P) << 2), P, false, gw);
    }
  }
}

/** gx[N, Cin, H, W] = the gradient of conv2d wrt its input (gx need not be zeroed). */
export function conv2dBackwardInput(gOut: usize, w: usize, gx: usize, geo: usize, work: usize): void {
  if (!isPointwise(geo) && directInputOk(geo)) { conv2dBackwardInputDirect(gOut, w, gx, geo, work); return; }
  const N = g(geo, 0), C = g(geo, 1), H = g(geo, 2), W = g(geo, 3), O = g(geo, 4), groups = g(geo, 13);
  const cg = C / groups, og = O / groups, K = cg * g(geo, 5) * g(geo, 6), P = g(geo, 14) * g(geo, 15);
  const pointwise = isPointwise(geo);
  const col = (work + 15) & ~<usize>15, gw = col + colBytes(geo);
  if (!pointwise) memory.fill(gx, 0, <usize>(N * C * H * W) << 2);
  for (let n = 0; n < N; n++) {
    for (let grp = 0; grp < groups; grp++) {
      const g0 = gOut + (<usize>((n * O + grp * og) * P) << 2);
      const xs = gx + (<usize>((n * C + grp * cg) * H * W) << 2);
      const wg = w + (<usize>(grp * og * K) << 2);
      // col[K, P] = wgᵀ · g0: element (i, k) of A = wᵀ is w[k·K + i].
      if (pointwise) gemm(K, P, og, wg, 1, K, g0, P, 1, xs, P, false, gw);
      else {
        gemm(K, P, og, wg, 1, K, g0, P, 1, col, P, false, gw);
        col2im(col, cg, geo, xs);
      }
    }
  }
}

/** gw[Cout, Cin/groups, kH, kW] = Σ_n g_n · col_nᵀ (gw need not be zeroed). */
export function conv2dBackwardWeight(x: usize, gOut: usize, gw: usize, geo: usize, work: usize): void {
  if (!isPointwise(geo) && stride1(geo)) { conv2dBackwardWeightDirect(x, gOut, gw, geo, work); return; }
  const N = g(geo, 0), C = g(geo, 1), H = g(geo, 2), W = g(geo, 3), O = g(geo, 4), groups = g(geo, 13);
  const cg = C / groups, og = O / groups, K = cg * g(geo, 5) * g(geo, 6), P = g(geo, 14) * g(geo, 15);
  const pointwise = isPointwise(geo);
  const col = (work + 15) & ~<usize>15, gwork = col + colBytes(geo);
  if (N == 0) memory.fill(gw, 0, <usize>(O * K) << 2);
  for (let n = 0; n < N; n++) {
    for (let grp = 0; grp < groups; grp++) {
      const xs = x + (<usize>((n * C + grp * cg) * H * W) << 2);
      let b = col;
      if (pointwise) b = xs; else im2col(xs, cg, geo, col);
      // gw_g[og, K] (+)= g[og, P] · colᵀ: element (k = pixel, j = row) of B is col[j·P + k].
      gemm(og, K, P, gOut + (<usize>((n * O + grp * og) * P) << 2), P, 1, b, 1, P,
        gw + (<usize>(grp * og * K) << 2), K, n > 0, gwork);
    }
  }
}
