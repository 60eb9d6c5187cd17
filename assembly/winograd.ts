/**
 * Winograd F(2×2, 3×3) for 3×3 convolutions of stride 1 (no dilation, one group, padding ≤ 1):
 * each 2×2 block of outputs takes 16 multiplies per channel pair instead of 36. Per image:
 *
 *   U[ξ][o][c] = (G·w[o, c]·Gᵀ)[ξ]            the weights, once per call
 *   V[ξ][c][t] = (Bᵀ·d[c, t]·B)[ξ]            each 4×4 input tile t (stride 2), four tiles at a time
 *   M[ξ] = U[ξ] · V[ξ]                         16 GEMMs (O × C) · (C × T)
 *   out[o, tile t] = Aᵀ·M[·][o][t]·A           2×2 outputs per tile, four tiles at a time
 *
 * Tiles run over a zero-bordered copy of the image (rows of whole groups of four tiles, so the
 * transforms need no edge cases; outputs past the image are not stored). The transforms add and
 * subtract (the 1/2 of G is exact), so the results differ from the direct convolution only by the
 * rounding of a different summation.
 *
 * Geometry layout as in conv.ts.
 */
import { gemm, gemmWorkBytes } from './gemm';

@inline function g(geo: usize, i: i32): i32 { return load<i32>(geo + (<usize>i << 2)); }
@inline function al16(p: usize): usize { return (p + 15) & ~<usize>15; }

/** Tiles per row (rounded up to groups of four), rows of tiles, and the padded buffer's width and height. */
@inline function tilesW(geo: usize): i32 { return (((g(geo, 15) + 1) >> 1) + 3) & ~3; }
@inline function tilesH(geo: usize): i32 { return (g(geo, 14) + 1) >> 1; }

/**
 * Whether this convolution takes the Winograd path: its shape, and 32 channels or more each way.
 * Measured against the direct kernel (one thread, CPU time): 11-38 % faster on W4's and W6's layers
 * with 32 or 64 channels, 29 % slower on W6's 16-channel 64×64 layers, where its 16 GEMMs are too
 * small to pay for the transforms.
 */
export function winogradOk(geo: usize): bool {
  const C = g(geo, 1), O = g(geo, 4);
  if (g(geo, 5) != 3 || g(geo, 6) != 3 || g(geo, 7) != 1 || g(geo, 8) != 1 || g(geo, 9) > 1 || g(geo, 10) > 1
    || g(geo, 11) != 1 || g(geo, 12) != 1 || g(geo, 13) != 1 || C < 32 || O < 32) return false;
  // The transformed weights, input and products of one image stay within a cache-friendly budget (large images go direct).
  return 64 * (<f64>O * <f64>C + <f64>(C + O) * <f64>(tilesW(geo) * tilesH(geo))) <= <f64>MAX_TRANSFORM_BYTES;
}

/** The most bytes of U, V and M one image may take (W4's and W6's layers take at most 4 MiB). */
const MAX_TRANSFORM_BYTES: i32 = 8 << 20;

@inline function bufW(geo: usize): i32 { return 2 * tilesW(geo) + 4; }
@inline function bufH(geo: usize): i32 { return 2 * tilesH(geo) + 2; }

/** Bytes of scratch conv2dWinograd needs at `work`. */
export function winogradWorkBytes(geo: usize): usize {
  const C = g(geo, 1), O = g(geo, 4), T = tilesW(geo) * tilesH(geo);
  return (<usize>(16 * O * C + 16 * C * T + 16 * O * T + C * bufH(geo) * bufW(geo)) << 2) + <usize>gemmWorkBytes() + 5 * 16;
}

/** U[ξ][o][c] = G·w[o, c]·Gᵀ, G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]. */
function transformWeights(w: usize, O: i32, C: i32, u: usize): void {
  const plane = <usize>(O * C) << 2;
  for (let o = 0; o < O; o++) for (let c = 0; c < C; c++) {
    const k = w + (<usize>((o * C + c) * 9) << 2), dst = u + (<usize>(o * C + c) << 2);
    for (let i = 0; i < 4; i++) {
      // Row i of G·w: a combination of the kernel's rows.
      let a: f32, b: f32, d: f32;
      if (i == 0) { a = load<f32>(k); b = load<f32>(k, 4); d = load<f32>(k, 8); }
      else if (i == 3) { a = load<f32>(k, 24); b = load<f32>(k, 28); d = load<f32>(k, 32); }
      else {
        const s: f32 = i == 1 ? 1 : -1;
        a = (load<f32>(k) + s * load<f32>(k, 12) + load<f32>(k, 24)) * 0.5;
        b = (load<f32>(k, 4) + s * load<f32>(k, 16) + load<f32>(k, 28)) * 0.5;
        d = (load<f32>(k, 8) + s * load<f32>(k, 20) + load<f32>(k, 32)) * 0.5;
      }
      const row = dst + <usize>(4 * i) * plane;
      store<f32>(row, a);
      store<f32>(row + plane, (a + b + d) * 0.5);
      store<f32>(row + 2 * plane, (a - b + d) * 0.5);
      store<f32>(row + 3 * plane, d);
    }
  }
}

/** Columns j = 0..3 of four tiles side by side (column 2t + j of the row at p): two unaligned loads each pair. */
@inline function evens(a: v128, b: v128): v128 { return i32x4.shuffle(a, b, 0, 2, 4, 6); }
@inline function odds(a: v128, b: v128): v128 { return i32x4.shuffle(a, b, 1, 3, 5, 7); }

/**
 * V[ξ][c][t..t+3] for the four tiles whose top-left corners are at p, p + 2, p + 4, p + 6 (rows
 * rowBytes apart): Bᵀ·d·B, Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], on rows then columns.
 */
@inline function inputTiles(p: usize, rowBytes: usize, v: usize, plane: usize): void {
  // Row transform of each of the four input rows: e_r = d_r·B.
  let q = p;
  let a = v128.load(q), b = v128.load(q, 16), a2 = v128.load(q, 8), b2 = v128.load(q, 24);
  let d0 = evens(a, b), d1 = odds(a, b), d2 = evens(a2, b2), d3 = odds(a2, b2);
  const e00 = f32x4.sub(d0, d2), e01 = f32x4.add(d1, d2), e02 = f32x4.sub(d2, d1), e03 = f32x4.sub(d1, d3);
  q += rowBytes;
  a = v128.load(q); b = v128.load(q, 16); a2 = v128.load(q, 8); b2 = v128.load(q, 24);
  d0 = evens(a, b); d1 = odds(a, b); d2 = evens(a2, b2); d3 = odds(a2, b2);
  const e10 = f32x4.sub(d0, d2), e11 = f32x4.add(d1, d2), e12 = f32x4.sub(d2, d1), e13 = f32x4.sub(d1, d3);
  q += rowBytes;
  a = v128.load(q); b = v128.load(q, 16); a2 = v128.load(q, 8); b2 = v128.load(q, 24);
  d0 = evens(a, b); d1 = odds(a, b); d2 = evens(a2, b2); d3 = odds(a2, b2);
  const e20 = f32x4.sub(d0, d2), e21 = f32x4.add(d1, d2), e22 = f32x4.sub(d2, d1), e23 = f32x4.sub(d1, d3);
  q += rowBytes;
  a = v128.load(q); b = v128.load(q, 16); a2 = v128.load(q, 8); b2 = v128.load(q, 24);
  d0 = evens(a, b); d1 = odds(a, b); d2 = evens(a2, b2); d3 = odds(a2, b2);
  const e30 = f32x4.sub(d0, d2), e31 = f32x4.add(d1, d2), e32 = f32x4.sub(d2, d1), e33 = f32x4.sub(d1, d3);
  // Column transform: V = Bᵀ·e, ξ = 4·row + column.
  v128.store(v, f32x4.sub(e00, e20)); v128.store(v + plane, f32x4.sub(e01, e21));
  v128.store(v + 2 * plane, f32x4.sub(e02, e22)); v128.store(v + 3 * plane, f32x4.sub(e03, e23));
  v128.store(v + 4 * plane, f32x4.add(e10, e20)); v128.store(v + 5 * plane, f32x4.add(e11, e21));
  v128.store(v + 6 * plane, f32x4.add(e12, e22)); v128.store(v + 7 * plane, f32x4.add(e13, e23));
  v128.store(v + 8 * plane, f32x4.sub(e20, e10)); v128.store(v + 9 * plane, f32x4.sub(e21, e11));
  v128.store(v + 10 * plane, f32x4.sub(e22, e12)); v128.store(v + 11 * plane, f32x4.sub(e23, e13));
  v128.store(v + 12 * plane, f32x4.sub(e10, e30)); v128.store(v + 13 * plane, f32x4.sub(e11, e31));
  v128.store(v + 14 * plane, f32x4.sub(e12, e32)); v128.store(v + 15 * plane, f32x4.sub(e13, e33));
}

/** Stores lanes of an output row of four tiles (8 pixels from x) that lie inside the row of width oW. */
@inline function storeRow(o: usize, x: i32, oW: i32, v0: v128, v1: v128): void {
  if (x + 8 <= oW) { v128.store(o, v0); v128.store(o, v1, 16); return; }
  for (let j = 0; j < oW - x; j++) {
    const v = j < 4 ? v0 : v1, lane = j & 3;
    store<f32>(o + (<usize>j << 2), lane == 0 ? f32x4.extract_lane(v, 0) : lane == 1 ? f32x4.extract_lane(v, 1) : lane == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3));
  }
}

/** out[N, O, oH, oW] = x ⋆ w by F(2×2, 3×3) (winogradOk). */
export function conv2dWinograd(x: usize, w: usize, out: usize, geo: usize, work: usize): void {
  const N = g(geo, 0), C = g(geo, 1), H = g(geo, 2), W = g(geo, 3), O = g(geo, 4), pH = g(geo, 9), pW = g(geo, 10);
  const oH = g(geo, 14), oW = g(geo, 15), tW = tilesW(geo), tH = tilesH(geo), T = tW * tH, bW = bufW(geo), bH = bufH(geo);
  const u = al16(work), v = al16(u + (<usize>(16 * O * C) << 2)), m = al16(v + (<usize>(16 * C * T) << 2));
  const buf = al16(m + (<usize>(16 * O * T) << 2)), gw = al16(buf + (<usize>(C * bH * bW) << 2));
  const vPlane = <usize>(C * T) << 2, mPlane = <usize>(O * T) << 2, bPlane = <usize>(bH * bW) << 2, rowBytes = <usize>bW << 2;
  transformWeights(w, O, C, u);
  memory.fill(buf, 0, <usize>(C * bH * bW) << 2);
  for (let n = 0; n < N; n++) {
    // The image into the zero-bordered buffer (its border and the columns past the tiles stay zero).
    for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) {
      memory.copy(buf + <usize>c * bPlane + (<usize>((y + pH) * bW + pW) << 2), x + (<usize>(((n * C + c) * H + y) * W) << 2), <usize>W << 2);
    }
    for (let c = 0; c < C; c++) {
      const plane = buf + <usize>c * bPlane;
      for (let ty = 0; ty < tH; ty++) for (let tx = 0; tx < tW; tx += 4) {
        inputTiles(plane + <usize>(2 * ty) * rowBytes + (<usize>(2 * tx) << 2), rowBytes, v + <usize>c * (<usize>T << 2) + (<usize>(ty * tW + tx) << 2), vPlane);
      }
    }
    for (let xi = 0; xi < 16; xi++) {
      gemm(O, T, C, u + <usize>xi * (<usize>(O * C) << 2), C, 1, v + <usize>xi * vPlane, T, 1, m + <usize>xi * mPlane, T, false, gw);
    }
    // out = Aᵀ·M·A, Aᵀ = [1 1 1 0; 0 1 −1 −1], four tiles at a time; lanes interleaved into rows of 8 pixels.
    for (let o = 0; o < O; o++) {
      const oPlane = out + (<usize>((n * O + o) * oH * oW) << 2);
      for (let ty = 0; ty < tH; ty++) for (let tx = 0; tx < tW; tx += 4) {
        const q = m + (<usize>((o * T) + ty * tW + tx) << 2);
        const m0 = v128.load(q), m1 = v128.load(q + mPlane), m2 = v128.load(q + 2 * mPlane), m3 = v128.load(q + 3 * mPlane);
        const m4 = v128.load(q + 4 * mPlane), m5 = v128.load(q + 5 * mPlane), m6 = v128.load(q + 6 * mPlane), m7 = v128.load(q + 7 * mPlane);
        const m8 = v128.load(q + 8 * mPlane), m9 = v128.load(q + 9 * mPlane), m10 = v128.load(q + 10 * mPlane), m11 = v128.load(q + 11 * mPlane);
        const m12 = v128.load(q + 12 * mPlane), m13 = v128.load(q + 13 * mPlane), m14 = v128.load(q + 14 * mPlane), m15 = v128.load(q + 15 * mPlane);
        // Rows: r0 = m_0 + m_1 + m_2, r1 = m_1 − m_2 − m_3 (row index of ξ).
        const r00 = f32x4.add(f32x4.add(m0, m4), m8), r01 = f32x4.add(f32x4.add(m1, m5), m9);
        const r02 = f32x4.add(f32x4.add(m2, m6), m10), r03 = f32x4.add(f32x4.add(m3, m7), m11);
        const r10 = f32x4.sub(f32x4.sub(m4, m8), m12), r11 = f32x4.sub(f32x4.sub(m5, m9), m13);
        const r12 = f32x4.sub(f32x4.sub(m6, m10), m14), r13 = f32x4.sub(f32x4.sub(m7, m11), m15);
        const y00 = f32x4.add(f32x4.add(r00, r01), r02), y01 = f32x4.sub(f32x4.sub(r01, r02), r03);
        const y10 = f32x4.add(f32x4.add(r10, r11), r12), y11 = f32x4.sub(f32x4.sub(r11, r12), r13);
        const x0 = 2 * tx, row0 = oPlane + (<usize>(2 * ty * oW + x0) << 2);
        storeRow(row0, x0, oW, i32x4.shuffle(y00, y01, 0, 4, 1, 5), i32x4.shuffle(y00, y01, 2, 6, 3, 7));
        if (2 * ty + 1 < oH) storeRow(row0 + (<usize>oW << 2), x0, oW, i32x4.shuffle(y10, y11, 0, 4, 1, 5), i32x4.shuffle(y10, y11, 2, 6, 3, 7));
      }
    }
  }
}
