/**
 * Direct stride-1 convolution kernels: no column matrix. The input planes of one image and group
 * are copied once into a zero-padded buffer (Hp×Wp per plane); then output pixel (y, x) of tap k
 * reads xp[off[k] + y·Wp + x], where off[k] is the tap's (channel, ky, kx) offset. So eight
 * consecutive positions of the padded grid are one unaligned f32x4 pair, and the kernels are the
 * GEMM's 4×8 register tile with the B panel read straight from the image:
 *
 * - forward: out[o, p] = Σ_k W[o, k] · xp[off[k] + p], p over the padded grid (positions with
 *   x ≥ outW are computed and dropped: a waste of (kW−1)/Wp);
 * - gradient wrt input: the same kernel on the zero-padded output gradient, with the weights
 *   flipped and their two channel axes swapped (the transposed convolution of stride 1);
 * - gradient wrt weight: gwᵀ[k, o] = Σ_n Σ_p xp_n[off[k] + p] · g_n[o, p], the pixels as the
 *   reduction, four taps × eight output channels per tile.
 *
 * Geometry layout as in conv.ts.
 */
import { fma4, packB, spillTile, storeTile } from './gemm';

@inline function g(geo: usize, i: i32): i32 { return load<i32>(geo + (<usize>i << 2)); }
@inline function al16(p: usize): usize { return (p + 15) & ~<usize>15; }
@inline function up(n: i32, m: i32): i32 { return (n + m - 1) / m * m; }

/** `planes` planes of H×W at src → planes of (H+2pH)×(W+2pW) at dst with zero borders, plus `slack` zeros. */
function padPlanes(src: usize, planes: i32, H: i32, W: i32, pH: i32, pW: i32, dst: usize, slack: i32): void {
  const Hp = H + 2 * pH, Wp = W + 2 * pW;
  memory.fill(dst, 0, <usize>(planes * Hp * Wp + slack) << 2);
  for (let c = 0; c < planes; c++) {
    for (let y = 0; y < H; y++) {
      const d = dst + (<usize>((c * Hp + y + pH) * Wp + pW) << 2), s = src + (<usize>((c * H + y) * W) << 2);
      let i = 0;
      for (; i + 4 <= W; i += 4) v128.store(d + (<usize>i << 2), v128.load(s + (<usize>i << 2)));
      for (; i < W; i++) store<f32>(d + (<usize>i << 2), load<f32>(s + (<usize>i << 2)));
    }
  }
}

/** Byte offsets of the taps (c, ky, kx), c < C, in planes of Hp×Wp. */
function tapOffsets(C: i32, kH: i32, kW: i32, dH: i32, dW: i32, Hp: i32, Wp: i32, offs: usize): void {
  let k = 0;
  for (let c = 0; c < C; c++) for (let ky = 0; ky < kH; ky++) for (let kx = 0; kx < kW; kx++, k++) {
    store<i32>(offs + (<usize>k << 2), (c * Hp * Wp + ky * dH * Wp + kx * dW) << 2);
  }
}

/**
 * out[o, y, x] = Σ_k wpack[o][k] · xp[off[k] + y·Wp + x] for o < M, y < oH, x < oW. wpack holds
 * strips of four output planes, K × 4 values each (zero rows past M).
 */
function directRows(xp: usize, Wp: i32, wpack: usize, M: i32, K: i32, offs: usize, out: usize, oH: i32, oW: i32, tile: usize): void {
  const span = oH * Wp, plane = <usize>(oH * oW) << 2;
  for (let p0 = 0; p0 < span; p0 += 8) {
    const xb = xp + (<usize>p0 << 2);
    const y0 = p0 / Wp, x0 = p0 - y0 * Wp;
    const fullRow = x0 + 8 <= oW;
    for (let s = 0; s < M; s += 4) {
      let pa = wpack + (<usize>(s * K) << 2);
      let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
      const oend = offs + (<usize>K << 2);
      for (let po = offs; po < oend; po += 4) {
        const p = xb + <usize>load<i32>(po);
        const b0 = v128.load(p), b1 = v128.load(p, 16);
        let a = v128.load32_splat(pa);
        c00 = fma4(c00, a, b0); c01 = fma4(c01, a, b1);
        a = v128.load32_splat(pa, 4);
        c10 = fma4(c10, a, b0); c11 = fma4(c11, a, b1);
        a = v128.load32_splat(pa, 8);
        c20 = fma4(c20, a, b0); c21 = fma4(c21, a, b1);
        a = v128.load32_splat(pa, 12);
        c30 = fma4(c30, a, b0); c31 = fma4(c31, a, b1);
        pa += 16;
      }
      const h = min<i32>(4, M - s);
      if (fullRow && h == 4) {
        storeTile(c00, c01, c10, c11, c20, c21, c30, c31, out + <usize>s * plane + (<usize>(y0 * oW + x0) << 2), plane, 4, 8, false, tile);
        continue;
      }
      spillTile(tile, c00, c01, c10, c11, c20, c21, c30, c31);
      for (let j = 0; j < 8; j++) {
        const p = p0 + j;
        if (p >= span) break;
        const y = p / Wp, x = p - y * Wp;
        if (x >= oW) continue;
        const o = out + <usize>s * plane + (<usize>(y * oW + x) << 2);
        for (let i = 0; i < h; i++) store<f32>(o + <usize>i * plane, load<f32>(tile + (<usize>(i * 8 + j) << 2)));
      }
    }
  }
}

/**
 * gwT[k, j] += Σ_{y < oH, x < oW} xp[off[k] + y·Wp + x] · g[j, y·oW + x] for k < K and the
 * og output channels j, with g packed as panels of eight channels (P × 8 each, zero-padded) and
 * gwT of row length ldT (og rounded up to 8).
 */
function directWeight(xp: usize, Wp: i32, offs: usize, K: i32, gpack: usize, og: i32, P: i32, oH: i32, oW: i32, gwT: usize, ldT: i32): void {
  const rowStep = <usize>Wp << 2, rowLen = <usize>oW << 2;
  for (let k0 = 0; k0 < K; k0 += 4) {
    const h = min<i32>(4, K - k0);
    // Taps past K repeat the last one; their rows are not stored.
    const r0 = xp + <usize>load<i32>(offs + (<usize>k0 << 2));
    const r1 = xp + <usize>load<i32>(offs + (<usize>min<i32>(k0 + 1, K - 1) << 2));
    const r2 = xp + <usize>load<i32>(offs + (<usize>min<i32>(k0 + 2, K - 1) << 2));
    const r3 = xp + <usize>load<i32>(offs + (<usize>min<i32>(k0 + 3, K - 1) << 2));
    for (let j0 = 0; j0 < og; j0 += 8) {
      let pb = gpack + (<usize>(j0 * P) << 2);
      let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
      let row: usize = 0;
      for (let y = 0; y < oH; y++) {
        let q = row;
        const end = row + rowLen;
        while (q < end) {
          const b0 = v128.load(pb), b1 = v128.load(pb, 16);
          let a = v128.load32_splat(r0 + q);
          c00 = fma4(c00, a, b0); c01 = fma4(c01, a, b1);
          a = v128.load32_splat(r1 + q);
          c10 = fma4(c10, a, b0); c11 = fma4(c11, a, b1);
          a = v128.load32_splat(r2 + q);
          c20 = fma4(c20, a, b0); c21 = fma4(c21, a, b1);
          a = v128.load32_splat(r3 + q);
          c30 = fma4(c30, a, b0); c31 = fma4(c31, a, b1);
          pb += 32; q += 4;
        }
        row += rowStep;
      }
      let t = gwT + (<usize>(k0 * ldT + j0) << 2);
      const ld = <usize>ldT << 2;
      v128.store(t, f32x4.add(v128.load(t), c00)); v128.store(t, f32x4.add(v128.load(t, 16), c01), 16);
      if (h > 1) { t += ld; v128.store(t, f32x4.add(v128.load(t), c10)); v128.store(t, f32x4.add(v128.load(t, 16), c11), 16); }
      if (h > 2) { t += ld; v128.store(t, f32x4.add(v128.load(t), c20)); v128.store(t, f32x4.add(v128.load(t, 16), c21), 16); }
      if (h > 3) { t += ld; v128.store(t, f32x4.add(v128.load(t), c30)); v128.store(t, f32x4.add(v128.load(t, 16), c31), 16); }
    }
  }
}

/**
 * Whether the gradient wrt input should run as a direct convolution (stride 1 and padding within
 * the kernel's reach) rather than as Wᵀ·g + col2im, by a rough cost model in multiply-adds. The
 * direct form visits every input pixel of the padded grid × every tap, in strips of four input
 * channels; the im2col form visits every output pixel × every tap, in 4×8 tiles whose reduction
 * is only the output channels long, then scatters the column matrix back (~8 multiply-adds per
 * element). Small outputs on large inputs (many taps in the zero border) and few input channels
 * favour im2col.
 */
export function directInputOk(geo: usize): bool {
  const C = g(geo, 1), H = g(geo, 2), O = g(geo, 4), kH = g(geo, 5), kW = g(geo, 6), pH = g(geo, 9), pW = g(geo, 10);
  const dH = g(geo, 11), dW = g(geo, 12), groups = g(geo, 13), oH = g(geo, 14), oW = g(geo, 15);
  if (g(geo, 7) != 1 || g(geo, 8) != 1 || pH > dH * (kH - 1) || pW > dW * (kW - 1)) return false;
  const cg = C / groups, og = O / groups, taps = kH * kW, K = cg * taps, P = oH * oW;
  const Wg = oW + 2 * (dW * (kW - 1) - pW);
  const direct = <f64>up(cg, 4) * <f64>H * <f64>Wg * <f64>(og * taps);
  const viaCols = <f64>up(K, 4) * <f64>up(P, 8) * <f64>(og + 3) + 8.0 * <f64>K * <f64>P;
  return direct <= viaCols;
}

/** Scratch bytes of the direct kernels for this geometry (the largest of the three). */
export function directWorkBytes(geo: usize): usize {
  const C = g(geo, 1), H = g(geo, 2), W = g(geo, 3), O = g(geo, 4), kH = g(geo, 5), kW = g(geo, 6);
  const pH = g(geo, 9), pW = g(geo, 10), dH = g(geo, 11), dW = g(geo, 12), groups = g(geo, 13), oH = g(geo, 14), oW = g(geo, 15);
  const cg = C / groups, og = O / groups, K = cg * kH * kW, Kt = og * kH * kW;
  const Hp = H + 2 * pH, Wp = W + 2 * pW;
  const xp = <usize>(cg * Hp * Wp + Wp + 16) << 2;
  const fwd = (<usize>K << 2) + (<usize>(up(og, 4) * K) << 2) + xp;
  const Hg = oH + 2 * (dH * (kH - 1) - pH), Wg = oW + 2 * (dW * (kW - 1) - pW);
  const gp = <usize>(og * max<i32>(Hg, 0) * max<i32>(Wg, 0) + max<i32>(Wg, 0) + 16) << 2;
  const bin = (<usize>Kt << 2) + (<usize>(up(cg, 4) * Kt) << 2) + gp;
  const bw = (<usize>K << 2) + (<usize>(K * up(og, 8)) << 2) + xp + (<usize>(up(og, 8) * oH * oW) << 2);
  return max<usize>(max<usize>(fwd, bin), bw) + 256;
}

/** Stride-1 forward convolution (see the file comment). */
export function conv2dDirect(x: usize, w: usize, out: usize, geo: usize, work: usize): void {
  const N = g(geo, 0), C = g(geo, 1), H = g(geo, 2), W = g(geo, 3), O = g(geo, 4), kH = g(geo, 5), kW = g(geo, 6);
  const pH = g(geo, 9), pW = g(geo, 10), dH = g(geo, 11), dW = g(geo, 12), groups = g(geo, 13), oH = g(geo, 14), oW = g(geo, 15);
  const cg = C / groups, og = O / groups, K = cg * kH * kW, Hp = H + 2 * pH, Wp = W + 2 * pW;
  const offs = al16(work), wpack = al16(offs + (<usize>K << 2));
  const xp = al16(wpack + (<usize>(up(og, 4) * K) << 2));
  const tile = al16(xp + (<usize>(cg * Hp * Wp + Wp + 16) << 2));
  tapOffsets(cg, kH, kW, dH, dW, Hp, Wp, offs);
  for (let grp = 0; grp < groups; grp++) {
    // Strips of four output channels, K × 4 each.
    for (let s = 0; s < og; s += 4) {
      for (let k = 0; k < K; k++) {
        for (let t = 0; t < 4; t++) {
          const o = s + t;
          store<f32>(wpack + (<usize>(s * K + k * 4 + t) << 2), o < og ? load<f32>(w + (<usize>((grp * og + o) * K + k) << 2)) : <f32>0);
        }
      }
    }
    for (let n = 0; n < N; n++) {
      padPlanes(x + (<usize>((n * C + grp * cg) * H * W) << 2), cg, H, W, pH, pW, xp, Wp + 16);
      directRows(xp, Wp, wpack, og, K, offs, out + (<usize>((n * O + grp * og) * oH * oW) << 2), oH, oW, tile);
    }
  }
}

/** Stride-1 gradient wrt input, as a direct convolution of the padded output gradient (directInputOk). */
export function conv2dBackwardInputDirect(gOut: usize, w: usize, gx: usize, geo: usize, work: usize): void {
  const N = g(geo, 0), C = g(geo, 1), H = g(geo, 2), W = g(geo, 3), O = g(geo, 4), kH = g(geo, 5), kW = g(geo, 6);
  const pH = g(geo, 9), pW = g(geo, 10), dH = g(geo, 11), dW = g(geo, 12), groups = g(geo, 13), oH = g(geo, 14), oW = g(geo, 15);
  const cg = C / groups, og = O / groups, K = cg * kH * kW, Kt = og * kH * kW;
  const qH = dH * (kH - 1) - pH, qW = dW * (kW - 1) - pW;
  const Hg = oH + 2 * qH, Wg = oW + 2 * qW;
  const offs = al16(work), wpack = al16(offs + (<usize>Kt << 2));
  const gp = al16(wpack + (<usize>(up(cg, 4) * Kt) << 2));
  const tile = al16(gp + (<usize>(og * Hg * Wg + Wg + 16) << 2));
  tapOffsets(og, kH, kW, dH, dW, Hg, Wg, offs);
  for (let grp = 0; grp < groups; grp++) {
    // wpack[strip of input channels c][(o, ky', kx')][t] = W[o, c, kH−1−ky', kW−1−kx'].
    for (let s = 0; s < cg; s += 4) {
      let k = 0;
      for (let o = 0; o < og; o++) for (let ky = 0; ky < kH; ky++) for (let kx = 0; kx < kW; kx++, k++) {
        for (let t = 0; t < 4; t++) {
          const c = s + t;
          const v: f32 = c < cg ? load<f32>(w + (<usize>((grp * og + o) * K + (c * kH + kH - 1 - ky) * kW + kW - 1 - kx) << 2)) : 0;
          store<f32>(wpack + (<usize>(s * Kt + k * 4 + t) << 2), v);
        }
      }
    }
    for (let n = 0; n < N; n++) {
      padPlanes(gOut + (<usize>((n * O + grp * og) * oH * oW) << 2), og, oH, oW, qH, qW, gp, Wg + 16);
      directRows(gp, Wg, wpack, cg, Kt, offs, gx + (<usize>((n * C + grp * cg) * H * W) << 2), H, W, tile);
    }
  }
}

/** Stride-1 gradient wrt weight (see the file comment). */
export function conv2dBackwardWeightDirect(x: usize, gOut: usize, gw: usize, geo: usize, work: usize): void {
  const N = g(geo, 0), C = g(geo, 1), H = g(geo, 2), W = g(geo, 3), O = g(geo, 4), kH = g(geo, 5), kW = g(geo, 6);
  const pH = g(geo, 9), pW = g(geo, 10), dH = g(geo, 11), dW = g(geo, 12), groups = g(geo, 13), oH = g(geo, 14), oW = g(geo, 15);
  const cg = C / groups, og = O / groups, K = cg * kH * kW, Hp = H + 2 * pH, Wp = W + 2 * pW, P = oH * oW;
  const ldT = up(og, 8);
  const offs = al16(work), gwT = al16(offs + (<usize>K << 2));
  const xp = al16(gwT + (<usize>(K * ldT) << 2));
  const gpack = al16(xp + (<usize>(cg * Hp * Wp + Wp + 16) << 2));
  tapOffsets(cg, kH, kW, dH, dW, Hp, Wp, offs);
  for (let grp = 0; grp < groups; grp++) {
    memory.fill(gwT, 0, <usize>(K * ldT) << 2);
    for (let n = 0; n < N; n++) {
      padPlanes(x + (<usize>((n * C + grp * cg) * H * W) << 2), cg, H, W, pH, pW, xp, Wp + 16);
      // g_n[og, P] → panels of eight channels, P × 8 each.
      packB(gOut + (<usize>((n * O + grp * og) * P) << 2), 1, P, P, og, gpack);
      directWeight(xp, Wp, offs, K, gpack, og, P, oH, oW, gwT, ldT);
    }
    const dst = gw + (<usize>(grp * og * K) << 2);
    for (let o = 0; o < og; o++) for (let k = 0; k < K; k++) {
      store<f32>(dst + (<usize>(o * K + k) << 2), load<f32>(gwT + (<usize>(k * ldT + o) << 2)));
    }
  }
}
