/**
 * Direct stride-1 convolution kernels: no column matrix. The input planes of one image and group
 * are copied into a zero-bordered buffer (Hp×Wp per plane; the border is zeroed once per call);
 * then output pixel (y, x) of tap k reads xp[off[k] + y·Wp + x], where off[k] is the tap's
 * (ky, channel, kx) offset. So eight consecutive pixels of an output row are one unaligned f32x4
 * pair, and the kernels are the GEMM's 4×8 register tile with the B panel read straight from the
 * image:
 *
 * - forward: out[o, y, x] = Σ_k W[o, k] · xp[off[k] + y·Wp + x], row by row: eight pixels per
 *   tile and a four-pixel tile for a row's end (only the row's pixels are stored, full vectors
 *   where they can be), strips of four output channels or three where that wastes fewer rows, and
 *   each row visiting only the taps whose input row is inside the image (hence taps ordered by ky);
 * - gradient wrt input: the same kernel on the zero-bordered output gradient, with the weights
 *   flipped and their two channel axes swapped (the transposed convolution of stride 1);
 * - gradient wrt weight: gwᵀ[k, o] = Σ_n Σ_p xp_n[off[k] + p] · g_n[o, p], the pixels as the
 *   reduction, four (or three) taps × eight output channels per tile.
 *
 * Geometry layout as in conv.ts.
 */
import { fma4 } from './gemm';

@inline function g(geo: usize, i: i32): i32 { return load<i32>(geo + (<usize>i << 2)); }
@inline function al16(p: usize): usize { return (p + 15) & ~<usize>15; }
@inline function up(n: i32, m: i32): i32 { return (n + m - 1) / m * m; }

/** Stores lanes [0, r) of v at p, 1 ≤ r ≤ 4. */
@inline function storePart(p: usize, v: v128, r: i32): void {
  if (r == 4) v128.store(p, v);
  else if (r == 1) v128.store32_lane(p, v, 0);
  else {
    v128.store64_lane(p, v, 0);
    if (r == 3) v128.store32_lane(p, v, 2, 8);
  }
}

/**
 * Floats from one plane of a zero-bordered buffer to the next: Hp×Wp and a cache line, so that the
 * taps of different channels do not all fall in the same cache sets when Hp×Wp is a multiple of a
 * large power of two (3×3 with padding 1 on 14×14 or 30×30).
 */
@inline function planeStride(Hp: i32, Wp: i32): i32 { return Hp * Wp + 16; }

/** Bytes of a zero-bordered buffer of `planes` planes of Hp×Wp (the gap after the last one is the slack the tiles read past it). */
@inline function paddedBytes(planes: i32, Hp: i32, Wp: i32): usize { return <usize>(planes * planeStride(Hp, Wp)) << 2; }

/** Copies `planes` planes of H×W at src into the interior of the zero-bordered (H+2pH)×(W+2pW) planes at dst. */
function copyInto(src: usize, planes: i32, H: i32, W: i32, pH: i32, pW: i32, dst: usize): void {
  const Hp = H + 2 * pH, Wp = W + 2 * pW;
  for (let c = 0; c < planes; c++) {
    for (let y = 0; y < H; y++) {
      const d = dst + (<usize>(c * planeStride(Hp, Wp) + (y + pH) * Wp + pW) << 2), s = src + (<usize>((c * H + y) * W) << 2);
      let i = 0;
      for (; i + 4 <= W; i += 4) v128.store(d + (<usize>i << 2), v128.load(s + (<usize>i << 2)));
      for (; i < W; i++) store<f32>(d + (<usize>i << 2), load<f32>(s + (<usize>i << 2)));
    }
  }
}

/** Byte offsets of the taps in the order (ky, c, kx), c < C, in planes of Hp×Wp (planeStride apart). */
function tapOffsets(C: i32, kH: i32, kW: i32, dH: i32, dW: i32, Hp: i32, Wp: i32, offs: usize): void {
  let k = 0;
  for (let ky = 0; ky < kH; ky++) for (let c = 0; c < C; c++) for (let kx = 0; kx < kW; kx++, k++) {
    store<i32>(offs + (<usize>k << 2), (c * planeStride(Hp, Wp) + ky * dH * Wp + kx * dW) << 2);
  }
}

/**
 * out[o + i, x0 + j] = Σ over the taps [po, pe) of wpack[k][i] · xb[off[k] + j], for the rows
 * i < h and the pixels j < w (4 < w ≤ 8) of a tile of `rows` (3 or 4, a constant once inlined:
 * the branches on it fold away) × 8.
 */
@inline function tileRows8(rows: i32, xb: usize, pa: usize, po: usize, pe: usize, out: usize, plane: usize, h: i32, w: i32): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (; po < pe; po += 4) {
    const p = xb + <usize>load<i32>(po);
    const b0 = v128.load(p), b1 = v128.load(p, 16);
    let a = v128.load32_splat(pa);
    c00 = fma4(c00, a, b0); c01 = fma4(c01, a, b1);
    a = v128.load32_splat(pa, 4);
    c10 = fma4(c10, a, b0); c11 = fma4(c11, a, b1);
    a = v128.load32_splat(pa, 8);
    c20 = fma4(c20, a, b0); c21 = fma4(c21, a, b1);
    if (rows == 4) {
      a = v128.load32_splat(pa, 12);
      c30 = fma4(c30, a, b0); c31 = fma4(c31, a, b1);
    }
    pa += 16;
  }
  const r = w - 4;
  v128.store(out, c00); storePart(out + 16, c01, r);
  if (h > 1) { out += plane; v128.store(out, c10); storePart(out + 16, c11, r); }
  if (h > 2) { out += plane; v128.store(out, c20); storePart(out + 16, c21, r); }
  if (rows == 4 && h > 3) { out += plane; v128.store(out, c30); storePart(out + 16, c31, r); }
}

/** tileRows8 for a row's last w ≤ 4 pixels: a tile of `rows` × 4. */
@inline function tileRows4(rows: i32, xb: usize, pa: usize, po: usize, pe: usize, out: usize, plane: usize, h: i32, w: i32): void {
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
  for (; po < pe; po += 4) {
    const b = v128.load(xb + <usize>load<i32>(po));
    c0 = fma4(c0, v128.load32_splat(pa), b);
    c1 = fma4(c1, v128.load32_splat(pa, 4), b);
    c2 = fma4(c2, v128.load32_splat(pa, 8), b);
    if (rows == 4) c3 = fma4(c3, v128.load32_splat(pa, 12), b);
    pa += 16;
  }
  storePart(out, c0, w);
  if (h > 1) storePart(out + plane, c1, w);
  if (h > 2) storePart(out + 2 * plane, c2, w);
  if (rows == 4 && h > 3) storePart(out + 3 * plane, c3, w);
}

function tile8(xb: usize, pa: usize, po: usize, pe: usize, out: usize, plane: usize, h: i32, w: i32): void { tileRows8(4, xb, pa, po, pe, out, plane, h, w); }
function tile8r3(xb: usize, pa: usize, po: usize, pe: usize, out: usize, plane: usize, h: i32, w: i32): void { tileRows8(3, xb, pa, po, pe, out, plane, h, w); }
function tile4(xb: usize, pa: usize, po: usize, pe: usize, out: usize, plane: usize, h: i32, w: i32): void { tileRows4(4, xb, pa, po, pe, out, plane, h, w); }
function tile4r3(xb: usize, pa: usize, po: usize, pe: usize, out: usize, plane: usize, h: i32, w: i32): void { tileRows4(3, xb, pa, po, pe, out, plane, h, w); }

/**
 * How many strips of four rows begin the strips that cover M rows; the others hold three, so that
 * the last strip ends at M where it can (six rows: two strips of three, no wasted row).
 */
@inline function strips4(M: i32): i32 {
  const b = (4 - (M & 3)) & 3;
  return M >= 3 * b ? (M - 3 * b) >> 2 : 0;
}

/** The first ky whose grid row y + ky·dH is at or past r0. */
@inline function kyFirst(y: i32, r0: i32, dH: i32): i32 { return y >= r0 ? 0 : (r0 - y + dH - 1) / dH; }

/** The last ky < kH whose grid row y + ky·dH is before r1 (−1 if none). */
@inline function kyLast(y: i32, r1: i32, kH: i32, dH: i32): i32 { return y >= r1 ? -1 : min<i32>(kH - 1, (r1 - 1 - y) / dH); }

/**
 * tileRows4 for the last w ≤ 2 pixels of two rows at once (row y at lanes 0, 1 and row y + 1 at
 * lanes 2, 3, `xstep` and `ostep` bytes apart in the input and the output), so that narrow
 * outputs (LeNet's 10×10) waste no half-empty tile per row.
 */
@inline function tilePairRows(rows: i32, xb: usize, xstep: usize, pa: usize, po: usize, pe: usize, out: usize, ostep: usize, plane: usize, h: i32, w: i32): void {
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
  for (; po < pe; po += 4) {
    const p = xb + <usize>load<i32>(po);
    const b = v128.load64_lane(p + xstep, v128.load64_zero(p), 1);
    c0 = fma4(c0, v128.load32_splat(pa), b);
    c1 = fma4(c1, v128.load32_splat(pa, 4), b);
    c2 = fma4(c2, v128.load32_splat(pa, 8), b);
    if (rows == 4) c3 = fma4(c3, v128.load32_splat(pa, 12), b);
    pa += 16;
  }
  storePair(out, ostep, c0, w);
  if (h > 1) storePair(out + plane, ostep, c1, w);
  if (h > 2) storePair(out + 2 * plane, ostep, c2, w);
  if (rows == 4 && h > 3) storePair(out + 3 * plane, ostep, c3, w);
}

/** Lanes [0, w) of v at p and lanes [2, 2 + w) at p + ostep, w ≤ 2. */
@inline function storePair(p: usize, ostep: usize, v: v128, w: i32): void {
  if (w == 2) { v128.store64_lane(p, v, 0); v128.store64_lane(p + ostep, v, 1); }
  else { v128.store32_lane(p, v, 0); v128.store32_lane(p + ostep, v, 2); }
}

function tilePair(xb: usize, xstep: usize, pa: usize, po: usize, pe: usize, out: usize, ostep: usize, plane: usize, h: i32, w: i32): void { tilePairRows(4, xb, xstep, pa, po, pe, out, ostep, plane, h, w); }
function tilePair3(xb: usize, xstep: usize, pa: usize, po: usize, pe: usize, out: usize, ostep: usize, plane: usize, h: i32, w: i32): void { tilePairRows(3, xb, xstep, pa, po, pe, out, ostep, plane, h, w); }

/** The tiles of one output row of one strip but its last `rest` pixels (rest = oW mod 8 when pairing rows, else 0). */
@inline function rowTiles(four: bool, xrow: usize, pa: usize, po: usize, pe: usize, o: usize, plane: usize, h: i32, oW: i32, rest: i32): void {
  let x = 0;
  for (; x + 8 <= oW - rest; x += 8) {
    if (four) tile8(xrow + (<usize>x << 2), pa, po, pe, o + (<usize>x << 2), plane, h, 8);
    else tile8r3(xrow + (<usize>x << 2), pa, po, pe, o + (<usize>x << 2), plane, h, 8);
  }
  const r = oW - rest - x, xb = xrow + (<usize>x << 2), ob = o + (<usize>x << 2);
  if (r > 4) {
    if (four) tile8(xb, pa, po, pe, ob, plane, h, r);
    else tile8r3(xb, pa, po, pe, ob, plane, h, r);
  } else if (r > 0) {
    if (four) tile4(xb, pa, po, pe, ob, plane, h, r);
    else tile4r3(xb, pa, po, pe, ob, plane, h, r);
  }
}

/**
 * out[o, y, x] = Σ_k wpack[o][k] · xp[off[k] + y·Wp + x] for o < M, y < oH, x < oW. wpack holds
 * strips of four or three output planes (strips4), K × 4 values each; the taps are ordered by ky,
 * rowTaps per ky, and tap ky of row y reads grid row y + ky·dH, zero outside rows [r0, r1): those
 * taps are skipped. When a row ends in one or two pixels past its tiles of eight, two rows that
 * visit the same taps go together and their ends share one tile.
 */
function directRows(xp: usize, Wp: i32, wpack: usize, M: i32, K: i32, offs: usize, out: usize, oH: i32, oW: i32,
  rowTaps: i32, kH: i32, dH: i32, r0: i32, r1: i32): void {
  const plane = <usize>(oH * oW) << 2, n4 = strips4(M), tail = oW & 7;
  const xstep = <usize>Wp << 2, ostep = <usize>oW << 2;
  for (let y = 0; y < oH; y++) {
    const k0 = kyFirst(y, r0, dH) * rowTaps, k1 = max<i32>(k0, (kyLast(y, r1, kH, dH) + 1) * rowTaps);
    const pair = tail > 0 && tail <= 2 && y + 1 < oH && kyFirst(y + 1, r0, dH) * rowTaps == k0
      && max<i32>(k0, (kyLast(y + 1, r1, kH, dH) + 1) * rowTaps) == k1;
    const rest = pair ? tail : 0;
    const po = offs + (<usize>k0 << 2), pe = offs + (<usize>k1 << 2);
    const xrow = xp + (<usize>(y * Wp) << 2), orow = out + (<usize>(y * oW) << 2);
    let pa = wpack + (<usize>k0 << 4);
    for (let i = 0, s = 0; s < M; i++, pa += <usize>K << 4) {
      const o = orow + <usize>s * plane, four = i < n4;
      const h = min<i32>(four ? 4 : 3, M - s);
      rowTiles(four, xrow, pa, po, pe, o, plane, h, oW, rest);
      if (pair) {
        rowTiles(four, xrow + xstep, pa, po, pe, o + ostep, plane, h, oW, rest);
        const x = oW - rest, xb = xrow + (<usize>x << 2), ob = o + (<usize>x << 2);
        if (four) tilePair(xb, xstep, pa, po, pe, ob, ostep, plane, h, rest);
        else tilePair3(xb, xstep, pa, po, pe, ob, ostep, plane, h, rest);
      }
      s += h;
    }
    if (pair) y++;
  }
}

/**
 * g[og, P] (planes of P) → panels of eight channels, P × 8 each: 4×4 blocks transposed with
 * shuffles. Lanes of channels past og are left as they are (zeroed once by the caller).
 */
function packChannels(g: usize, og: i32, P: i32, dst: usize): void {
  const plane = <usize>P << 2, z = f32x4.splat(0);
  for (let j0 = 0; j0 < og; j0 += 4) {
    const n = og - j0;
    const r0 = g + <usize>j0 * plane, r1 = r0 + plane, r2 = r1 + plane, r3 = r2 + plane;
    const d = dst + (<usize>((j0 >> 3) * P * 8 + (j0 & 4)) << 2);
    let p = 0;
    for (; p + 4 <= P; p += 4) {
      const o = <usize>p << 2;
      const x0 = v128.load(r0 + o), x1 = n > 1 ? v128.load(r1 + o) : z, x2 = n > 2 ? v128.load(r2 + o) : z, x3 = n > 3 ? v128.load(r3 + o) : z;
      const l01 = i32x4.shuffle(x0, x1, 0, 4, 1, 5), l23 = i32x4.shuffle(x2, x3, 0, 4, 1, 5);
      const h01 = i32x4.shuffle(x0, x1, 2, 6, 3, 7), h23 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
      const q = d + (o << 3);
      v128.store(q, i32x4.shuffle(l01, l23, 0, 1, 4, 5));
      v128.store(q, i32x4.shuffle(l01, l23, 2, 3, 6, 7), 32);
      v128.store(q, i32x4.shuffle(h01, h23, 0, 1, 4, 5), 64);
      v128.store(q, i32x4.shuffle(h01, h23, 2, 3, 6, 7), 96);
    }
    for (; p < P; p++) {
      const o = <usize>p << 2, q = d + (o << 3);
      for (let t = 0; t < 4; t++) store<f32>(q + (<usize>t << 2), t < n ? load<f32>(r0 + <usize>t * plane + o) : <f32>0);
    }
  }
}

/**
 * Rows k..k+h−1 of gwT (at t, ld bytes apart) += Σ over the pixels of the xp rows r0..r3 (the taps'
 * first pixels) × the panel of eight channels at pb: a tile of `rows` (3 or 4, constant once
 * inlined) × 8, h ≤ rows of its rows stored.
 */
@inline function weightTileRows(rows: i32, r0: usize, r1: usize, r2: usize, r3: usize, pb: usize, oH: i32, rowStep: usize, rowLen: usize, t: usize, ld: usize, h: i32): void {
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
      if (rows == 4) {
        a = v128.load32_splat(r3 + q);
        c30 = fma4(c30, a, b0); c31 = fma4(c31, a, b1);
      }
      pb += 32; q += 4;
    }
    row += rowStep;
  }
  v128.store(t, f32x4.add(v128.load(t), c00)); v128.store(t, f32x4.add(v128.load(t, 16), c01), 16);
  if (h > 1) { t += ld; v128.store(t, f32x4.add(v128.load(t), c10)); v128.store(t, f32x4.add(v128.load(t, 16), c11), 16); }
  if (h > 2) { t += ld; v128.store(t, f32x4.add(v128.load(t), c20)); v128.store(t, f32x4.add(v128.load(t, 16), c21), 16); }
  if (rows == 4 && h > 3) { t += ld; v128.store(t, f32x4.add(v128.load(t), c30)); v128.store(t, f32x4.add(v128.load(t, 16), c31), 16); }
}

function weightTile(r0: usize, r1: usize, r2: usize, r3: usize, pb: usize, oH: i32, rowStep: usize, rowLen: usize, t: usize, ld: usize, h: i32): void {
  weightTileRows(4, r0, r1, r2, r3, pb, oH, rowStep, rowLen, t, ld, h);
}
function weightTile3(r0: usize, r1: usize, r2: usize, pb: usize, oH: i32, rowStep: usize, rowLen: usize, t: usize, ld: usize, h: i32): void {
  weightTileRows(3, r0, r1, r2, r2, pb, oH, rowStep, rowLen, t, ld, h);
}

/**
 * gwT[k, j] += Σ_{y < oH, x < oW} xp[off[k] + y·Wp + x] · g[j, y·oW + x] for k < K and the
 * og output channels j, with g packed as panels of eight channels (P × 8 each) and gwT of row
 * length ldT (og rounded up to 8). The taps go in groups of four or three (strips4).
 */
function directWeight(xp: usize, Wp: i32, offs: usize, K: i32, gpack: usize, og: i32, P: i32, oH: i32, oW: i32, gwT: usize, ldT: i32): void {
  const rowStep = <usize>Wp << 2, rowLen = <usize>oW << 2, ld = <usize>ldT << 2, n4 = strips4(K);
  for (let i = 0, k0 = 0; k0 < K; i++) {
    const four = i < n4, h = min<i32>(four ? 4 : 3, K - k0);
    // Taps past K repeat the last one; their rows are not stored.
    const r0 = xp + <usize>load<i32>(offs + (<usize>k0 << 2));
    const r1 = xp + <usize>load<i32>(offs + (<usize>min<i32>(k0 + 1, K - 1) << 2));
    const r2 = xp + <usize>load<i32>(offs + (<usize>min<i32>(k0 + 2, K - 1) << 2));
    const r3 = xp + <usize>load<i32>(offs + (<usize>min<i32>(k0 + 3, K - 1) << 2));
    for (let j0 = 0; j0 < og; j0 += 8) {
      const pb = gpack + (<usize>(j0 * P) << 2), t = gwT + (<usize>(k0 * ldT + j0) << 2);
      if (four) weightTile(r0, r1, r2, r3, pb, oH, rowStep, rowLen, t, ld, h);
      else weightTile3(r0, r1, r2, pb, oH, rowStep, rowLen, t, ld, h);
    }
    k0 += h;
  }
}

/**
 * Whether the gradient wrt input should run as a direct convolution (stride 1 and padding within
 * the kernel's reach) rather than as Wᵀ·g + col2im, by a cost model in tile steps (one tap of a
 * 4×8 tile) fitted to timings. The direct form runs, for each strip of input channels and each row
 * of the input, its tiles over the taps that row visits; the im2col form runs 4×8 tiles over the
 * output pixels × taps whose reduction is only the output channels long, then scatters the column
 * matrix back (half a step per element). Few input channels (wasted strip rows), many output
 * channels and small outputs on large inputs favour im2col.
 */
export function directInputOk(geo: usize): bool {
  const C = g(geo, 1), H = g(geo, 2), W = g(geo, 3), O = g(geo, 4), kH = g(geo, 5), kW = g(geo, 6), pH = g(geo, 9), pW = g(geo, 10);
  const dH = g(geo, 11), dW = g(geo, 12), groups = g(geo, 13), oH = g(geo, 14), oW = g(geo, 15);
  if (g(geo, 7) != 1 || g(geo, 8) != 1 || pH > dH * (kH - 1) || pW > dW * (kW - 1)) return false;
  // It reads the output gradient whole: one cut short by a transposed convolution's output padding takes im2col.
  if (oH + dH * (kH - 1) != H + 2 * pH || oW + dW * (kW - 1) != W + 2 * pW) return false;
  const cg = C / groups, og = O / groups, K = cg * kH * kW, P = oH * oW, qH = dH * (kH - 1) - pH;
  let rowTaps = 0;
  for (let y = 0; y < H; y++) rowTaps += max<i32>(0, kyLast(y, qH + oH, kH, dH) - kyFirst(y, qH, dH) + 1);
  const n4 = strips4(cg), strips = n4 + (cg - 4 * n4 + 2) / 3;
  const direct = <f64>strips * <f64>((W + 7) >> 3) * <f64>rowTaps * <f64>(og * kW);
  const viaCols = <f64>((K + 3) >> 2) * <f64>((P + 7) >> 3) * <f64>og + 0.5 * <f64>K * <f64>P;
  return direct <= viaCols;
}

/** Scratch bytes of the direct kernels for this geometry (the largest of the three). */
export function directWorkBytes(geo: usize): usize {
  const C = g(geo, 1), H = g(geo, 2), W = g(geo, 3), O = g(geo, 4), kH = g(geo, 5), kW = g(geo, 6);
  const pH = g(geo, 9), pW = g(geo, 10), dH = g(geo, 11), dW = g(geo, 12), groups = g(geo, 13), oH = g(geo, 14), oW = g(geo, 15);
  const cg = C / groups, og = O / groups, K = cg * kH * kW, Kt = og * kH * kW;
  const xp = paddedBytes(cg, H + 2 * pH, W + 2 * pW);
  const fwd = (<usize>K << 2) + (<usize>(up(og, 4) * K) << 2) + xp;
  const Hg = oH + 2 * (dH * (kH - 1) - pH), Wg = oW + 2 * (dW * (kW - 1) - pW);
  const bin = (<usize>Kt << 2) + (<usize>(up(cg, 4) * Kt) << 2) + paddedBytes(og, max<i32>(Hg, 0), max<i32>(Wg, 0));
  const bw = (<usize>K << 2) + (<usize>(K * up(og, 8)) << 2) + xp + (<usize>(up(og, 8) * oH * oW) << 2);
  return max<usize>(max<usize>(fwd, bin), bw) + 64;
}

/** Stride-1 forward convolution (see the file comment). */
export function conv2dDirect(x: usize, w: usize, out: usize, geo: usize, work: usize): void {
  const N = g(geo, 0), C = g(geo, 1), H = g(geo, 2), W = g(geo, 3), O = g(geo, 4), kH = g(geo, 5), kW = g(geo, 6);
  const pH = g(geo, 9), pW = g(geo, 10), dH = g(geo, 11), dW = g(geo, 12), groups = g(geo, 13), oH = g(geo, 14), oW = g(geo, 15);
  const cg = C / groups, og = O / groups, K = cg * kH * kW, Hp = H + 2 * pH, Wp = W + 2 * pW, taps = kH * kW, n4 = strips4(og);
  const offs = al16(work), wpack = al16(offs + (<usize>K << 2));
  const xp = al16(wpack + (<usize>(up(og, 4) * K) << 2));
  tapOffsets(cg, kH, kW, dH, dW, Hp, Wp, offs);
  memory.fill(xp, 0, paddedBytes(cg, Hp, Wp));
  for (let grp = 0; grp < groups; grp++) {
    // Strips of output channels (strips4), K × 4 each, taps in the order (ky, c, kx).
    let d = wpack;
    for (let i = 0, s = 0; s < og; i++) {
      const h = min<i32>(i < n4 ? 4 : 3, og - s);
      for (let ky = 0; ky < kH; ky++) for (let c = 0; c < cg; c++) for (let kx = 0; kx < kW; kx++, d += 16) {
        const src = w + (<usize>((grp * og + s) * K + c * taps + ky * kW + kx) << 2);
        for (let t = 0; t < 4; t++) store<f32>(d + (<usize>t << 2), t < h ? load<f32>(src + (<usize>(t * K) << 2)) : <f32>0);
      }
      s += h;
    }
    for (let n = 0; n < N; n++) {
      copyInto(x + (<usize>((n * C + grp * cg) * H * W) << 2), cg, H, W, pH, pW, xp);
      directRows(xp, Wp, wpack, og, K, offs, out + (<usize>((n * O + grp * og) * oH * oW) << 2), oH, oW, cg * kW, kH, dH, pH, pH + H);
    }
  }
}

/** Stride-1 gradient wrt input, as a direct convolution of the padded output gradient (directInputOk). */
export function conv2dBackwardInputDirect(gOut: usize, w: usize, gx: usize, geo: usize, work: usize): void {
  const N = g(geo, 0), C = g(geo, 1), H = g(geo, 2), W = g(geo, 3), O = g(geo, 4), kH = g(geo, 5), kW = g(geo, 6);
  const pH = g(geo, 9), pW = g(geo, 10), dH = g(geo, 11), dW = g(geo, 12), groups = g(geo, 13), oH = g(geo, 14), oW = g(geo, 15);
  const cg = C / groups, og = O / groups, K = cg * kH * kW, Kt = og * kH * kW, taps = kH * kW, n4 = strips4(cg);
  const qH = dH * (kH - 1) - pH, qW = dW * (kW - 1) - pW;
  const Hg = oH + 2 * qH, Wg = oW + 2 * qW;
  const offs = al16(work), wpack = al16(offs + (<usize>Kt << 2));
  const gp = al16(wpack + (<usize>(up(cg, 4) * Kt) << 2));
  tapOffsets(og, kH, kW, dH, dW, Hg, Wg, offs);
  memory.fill(gp, 0, paddedBytes(og, Hg, Wg));
  for (let grp = 0; grp < groups; grp++) {
    // wpack[strip of input channels c][(ky', o, kx')][t] = W[o, c, kH−1−ky', kW−1−kx'].
    let d = wpack;
    for (let i = 0, s = 0; s < cg; i++) {
      const h = min<i32>(i < n4 ? 4 : 3, cg - s);
      for (let ky = 0; ky < kH; ky++) for (let o = 0; o < og; o++) for (let kx = 0; kx < kW; kx++, d += 16) {
        const src = w + (<usize>((grp * og + o) * K + s * taps + (kH - 1 - ky) * kW + kW - 1 - kx) << 2);
        for (let t = 0; t < 4; t++) store<f32>(d + (<usize>t << 2), t < h ? load<f32>(src + (<usize>(t * taps) << 2)) : <f32>0);
      }
      s += h;
    }
    for (let n = 0; n < N; n++) {
      copyInto(gOut + (<usize>((n * O + grp * og) * oH * oW) << 2), og, oH, oW, qH, qW, gp);
      directRows(gp, Wg, wpack, cg, Kt, offs, gx + (<usize>((n * C + grp * cg) * H * W) << 2), H, W, og * kW, kH, dH, qH, qH + oH);
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
  const gpack = al16(xp + paddedBytes(cg, Hp, Wp));
  // Taps in the weight's order (c, ky, kx).
  for (let c = 0; c < cg; c++) for (let ky = 0; ky < kH; ky++) for (let kx = 0; kx < kW; kx++) {
    store<i32>(offs + (<usize>((c * kH + ky) * kW + kx) << 2), (c * planeStride(Hp, Wp) + ky * dH * Wp + kx * dW) << 2);
  }
  memory.fill(xp, 0, paddedBytes(cg, Hp, Wp));
  memory.fill(gpack, 0, <usize>(ldT * P) << 2);
  for (let grp = 0; grp < groups; grp++) {
    memory.fill(gwT, 0, <usize>(K * ldT) << 2);
    for (let n = 0; n < N; n++) {
      copyInto(x + (<usize>((n * C + grp * cg) * H * W) << 2), cg, H, W, pH, pW, xp);
      packChannels(gOut + (<usize>((n * O + grp * og) * P) << 2), og, P, gpack);
      directWeight(xp, Wp, offs, K, gpack, og, P, oH, oW, gwT, ldT);
    }
    const dst = gw + (<usize>(grp * og * K) << 2);
    for (let o = 0; o < og; o++) for (let k = 0; k < K; k++) {
      store<f32>(dst + (<usize>(o * K + k) << 2), load<f32>(gwT + (<usize>(k * ldT + o) << 2)));
    }
  }
}
