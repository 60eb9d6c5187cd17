/**
 * float32 GEMM in the GotoBLAS layout: B is packed into KC×NR panels, A into MR×KC strips, and a
 * 4×8 register-blocked f32x4 micro-kernel (8 accumulators, 2 B vectors, 1 broadcast A value: it
 * fits the 16 xmm registers V8 gives wasm on x64) walks them. Edges are zero-padded in the packs
 * and written back through a small tile buffer.
 *
 * Operands are addressed by element strides, so transposed inputs need no copy: element (i, k) of
 * A is at a + 4·(i·ars + k·acs), element (k, j) of B at b + 4·(k·brs + j·bcs). C is row-major
 * with leading dimension ldc. Accumulation is float32 (as in BLAS and PyTorch). Narrow products
 * (N ≤ 16, e.g. im2col-shaped convolutions and small classifier heads) read A in place instead of
 * packing it.
 */

export const MR: i32 = 4;
export const NR: i32 = 8;
export const KC: i32 = 256;
export const MC: i32 = 128;
export const NC: i32 = 2048;

/** Bytes of scratch `gemm` needs at `work` (pack buffers and the edge tile). */
export function gemmWorkBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 4 + 64;
}

@inline function imin(a: i32, b: i32): i32 { return a < b ? a : b; }

/** 4×4 transpose of rows r0..r3 (as 32-bit lanes); results in c0..c3 via the callback-free form. */
@inline function tlo(a: v128, b: v128): v128 { return i32x4.shuffle(a, b, 0, 4, 1, 5); }
@inline function thi(a: v128, b: v128): v128 { return i32x4.shuffle(a, b, 2, 6, 3, 7); }
@inline function t64lo(a: v128, b: v128): v128 { return i32x4.shuffle(a, b, 0, 1, 4, 5); }
@inline function t64hi(a: v128, b: v128): v128 { return i32x4.shuffle(a, b, 2, 3, 6, 7); }

/** A[mc, kc] → strips of MR rows, each kc groups of MR contiguous values (zero-padded rows). */
function packA(a: usize, ars: i32, acs: i32, mc: i32, kc: i32, dst: usize): void {
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const h = imin(MR, mc - i0);
    const base = a + (<usize>(i0 * ars) << 2);
    if (h == MR && acs == 1) {
      const r0 = base, r1 = base + (<usize>ars << 2), r2 = r1 + (<usize>ars << 2), r3 = r2 + (<usize>ars << 2);
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const o = <usize>k << 2;
        const x0 = v128.load(r0 + o), x1 = v128.load(r1 + o), x2 = v128.load(r2 + o), x3 = v128.load(r3 + o);
        const l01 = tlo(x0, x1), l23 = tlo(x2, x3), h01 = thi(x0, x1), h23 = thi(x2, x3);
        const d = dst + (o << 2);
        v128.store(d, t64lo(l01, l23));
        v128.store(d, t64hi(l01, l23), 16);
        v128.store(d, t64lo(h01, h23), 32);
        v128.store(d, t64hi(h01, h23), 48);
      }
      for (; k < kc; k++) {
        const o = <usize>k << 2, d = dst + (o << 2);
        store<f32>(d, load<f32>(r0 + o));
        store<f32>(d, load<f32>(r1 + o), 4);
        store<f32>(d, load<f32>(r2 + o), 8);
        store<f32>(d, load<f32>(r3 + o), 12);
      }
    } else if (h == MR && ars == 1) {
      for (let k = 0; k < kc; k++) v128.store(dst + (<usize>k << 4), v128.load(base + (<usize>(k * acs) << 2)));
    } else {
      for (let k = 0; k < kc; k++) {
        const d = dst + (<usize>k << 4);
        for (let t = 0; t < MR; t++) {
          store<f32>(d + (<usize>t << 2), t < h ? load<f32>(base + (<usize>(t * ars + k * acs) << 2)) : <f32>0);
        }
      }
    }
    dst += <usize>(kc * MR) << 2;
  }
}

/** B[kc, nc] → panels of NR columns, each kc groups of NR contiguous values (zero-padded columns). */
function packB(b: usize, brs: i32, bcs: i32, kc: i32, nc: i32, dst: usize): void {
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const w = imin(NR, nc - j0);
    const base = b + (<usize>(j0 * bcs) << 2);
    if (w == NR && bcs == 1) {
      for (let k = 0; k < kc; k++) {
        const s = base + (<usize>(k * brs) << 2), d = dst + (<usize>k << 5);
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
      }
    } else if (w == NR && brs == 1) {
      // Columns are contiguous in k: transpose 4×4 blocks of two column quads.
      const cs = <usize>bcs << 2;
      const c0 = base, c1 = c0 + cs, c2 = c1 + cs, c3 = c2 + cs, c4 = c3 + cs, c5 = c4 + cs, c6 = c5 + cs, c7 = c6 + cs;
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const o = <usize>k << 2;
        const d = dst + (<usize>k << 5);
        let x0 = v128.load(c0 + o), x1 = v128.load(c1 + o), x2 = v128.load(c2 + o), x3 = v128.load(c3 + o);
        let l01 = tlo(x0, x1), l23 = tlo(x2, x3), h01 = thi(x0, x1), h23 = thi(x2, x3);
        v128.store(d, t64lo(l01, l23));
        v128.store(d, t64hi(l01, l23), 32);
        v128.store(d, t64lo(h01, h23), 64);
        v128.store(d, t64hi(h01, h23), 96);
        x0 = v128.load(c4 + o); x1 = v128.load(c5 + o); x2 = v128.load(c6 + o); x3 = v128.load(c7 + o);
        l01 = tlo(x0, x1); l23 = tlo(x2, x3); h01 = thi(x0, x1); h23 = thi(x2, x3);
        v128.store(d, t64lo(l01, l23), 16);
        v128.store(d, t64hi(l01, l23), 48);
        v128.store(d, t64lo(h01, h23), 80);
        v128.store(d, t64hi(h01, h23), 112);
      }
      for (; k < kc; k++) {
        const o = <usize>k << 2, d = dst + (<usize>k << 5);
        store<f32>(d, load<f32>(c0 + o)); store<f32>(d, load<f32>(c1 + o), 4);
        store<f32>(d, load<f32>(c2 + o), 8); store<f32>(d, load<f32>(c3 + o), 12);
        store<f32>(d, load<f32>(c4 + o), 16); store<f32>(d, load<f32>(c5 + o), 20);
        store<f32>(d, load<f32>(c6 + o), 24); store<f32>(d, load<f32>(c7 + o), 28);
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const d = dst + (<usize>k << 5);
        const row = base + (<usize>(k * brs) << 2);
        for (let t = 0; t < NR; t++) {
          store<f32>(d + (<usize>t << 2), t < w ? load<f32>(row + (<usize>(t * bcs) << 2)) : <f32>0);
        }
      }
    }
    dst += <usize>(kc * NR) << 2;
  }
}

/**
 * c + a·b per lane: a fused multiply-add in the relaxed-SIMD builds (one instruction where the
 * hardware has FMA; the engine may also round twice), a multiply and an add otherwise.
 */
@inline export function fma4(c: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** Spills a 4×8 tile of accumulators to `tile` (row i at byte 32·i), for edge handling. */
@inline function spillTile(tile: usize, c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128): void {
  v128.store(tile, c00); v128.store(tile, c01, 16);
  v128.store(tile, c10, 32); v128.store(tile, c11, 48);
  v128.store(tile, c20, 64); v128.store(tile, c21, 80);
  v128.store(tile, c30, 96); v128.store(tile, c31, 112);
}

/** Writes (or adds) a 4×8 tile of accumulators to C: full tiles directly, edge tiles through `tile`. */
@inline export function storeTile(c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128,
  c: usize, ldc: usize, h: i32, w: i32, add: bool, tile: usize): void {
  if (h == MR && w == NR) {
    let r = c;
    if (add) {
      v128.store(r, f32x4.add(v128.load(r), c00)); v128.store(r, f32x4.add(v128.load(r, 16), c01), 16); r += ldc;
      v128.store(r, f32x4.add(v128.load(r), c10)); v128.store(r, f32x4.add(v128.load(r, 16), c11), 16); r += ldc;
      v128.store(r, f32x4.add(v128.load(r), c20)); v128.store(r, f32x4.add(v128.load(r, 16), c21), 16); r += ldc;
      v128.store(r, f32x4.add(v128.load(r), c30)); v128.store(r, f32x4.add(v128.load(r, 16), c31), 16);
    } else {
      v128.store(r, c00); v128.store(r, c01, 16); r += ldc;
      v128.store(r, c10); v128.store(r, c11, 16); r += ldc;
      v128.store(r, c20); v128.store(r, c21, 16); r += ldc;
      v128.store(r, c30); v128.store(r, c31, 16);
    }
    return;
  }
  spillTile(tile, c00, c01, c10, c11, c20, c21, c30, c31);
  for (let i = 0; i < h; i++) {
    const row = c + <usize>i * ldc, trow = tile + (<usize>i << 5);
    for (let j = 0; j < w; j++) {
      const p = row + (<usize>j << 2);
      const v = load<f32>(trow + (<usize>j << 2));
      store<f32>(p, add ? load<f32>(p) + v : v);
    }
  }
}


/**
 * C[h, w] (+)= Apanel · Bpanel over kc. Full tiles go straight to C; edge tiles through `tile`.
 * ldc is in bytes.
 */
function micro(kc: i32, pa: usize, pb: usize, c: usize, ldc: usize, h: i32, w: i32, add: bool, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const end = pb + (<usize>kc << 5);
  while (pb < end) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = fma4(c00, a, b0); c01 = fma4(c01, a, b1);
    a = v128.load32_splat(pa, 4);
    c10 = fma4(c10, a, b0); c11 = fma4(c11, a, b1);
    a = v128.load32_splat(pa, 8);
    c20 = fma4(c20, a, b0); c21 = fma4(c21, a, b1);
    a = v128.load32_splat(pa, 12);
    c30 = fma4(c30, a, b0); c31 = fma4(c31, a, b1);
    pa += 16; pb += 32;
  }
  storeTile(c00, c01, c10, c11, c20, c21, c30, c31, c, ldc, h, w, add, tile);
}

/**
 * The micro-kernel reading A in place (row-major, unit column stride) instead of from a pack: rows
 * r0..r3 (byte pointers at the block's first column). For narrow products (N ≤ 2·NR), where each
 * element of A is used by at most two B panels and packing A would cost about as much as the
 * arithmetic. Rows past the edge repeat the last row; their results are not stored.
 */
function microRows(kc: i32, r0: usize, r1: usize, r2: usize, r3: usize, pb: usize, c: usize, ldc: usize, h: i32, w: i32, add: bool, tile: usize): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const end = <usize>kc << 2;
  for (let q: usize = 0; q < end; q += 4) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let a = v128.load32_splat(r0 + q);
    c00 = fma4(c00, a, b0); c01 = fma4(c01, a, b1);
    a = v128.load32_splat(r1 + q);
    c10 = fma4(c10, a, b0); c11 = fma4(c11, a, b1);
    a = v128.load32_splat(r2 + q);
    c20 = fma4(c20, a, b0); c21 = fma4(c21, a, b1);
    a = v128.load32_splat(r3 + q);
    c30 = fma4(c30, a, b0); c31 = fma4(c31, a, b1);
    pb += 32;
  }
  storeTile(c00, c01, c10, c11, c20, c21, c30, c31, c, ldc, h, w, add, tile);
}

/** Floats of B[K, N] packed whole by packBWhole: K × N rounded up to whole panels. */
export function packedBFloats(K: i32, N: i32): i32 {
  return K * ((N + NR - 1) / NR) * NR;
}

/** Where packBWhole puts the KC×NC block of B at (pc, jc) that is nc columns wide, in floats. */
@inline function packedBlock(K: i32, jc: i32, pc: i32, nc: i32): i32 {
  return jc * K + pc * ((nc + NR - 1) / NR) * NR;
}

/**
 * Packs B[K, N] (element (k, j) at b + 4·(k·brs + j·bcs)) once, block by block as gemm would, for
 * products that share it (gemmPacked): a recurrent weight is the right-hand side of every step.
 */
export function packBWhole(b: usize, brs: i32, bcs: i32, K: i32, N: i32, dst: usize): void {
  for (let jc = 0; jc < N; jc += NC) {
    const nc = imin(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      packB(b + (<usize>(pc * brs + jc * bcs) << 2), brs, bcs, imin(KC, K - pc), nc, dst + (<usize>packedBlock(K, jc, pc, nc) << 2));
    }
  }
}

/** C[M, N] = A·B, or C += A·B when `accumulate`. See the file comment for the operand layout. */
export function gemm(M: i32, N: i32, K: i32, a: usize, ars: i32, acs: i32, b: usize, brs: i32, bcs: i32,
  c: usize, ldc: i32, accumulate: bool, work: usize): void {
  product(M, N, K, a, ars, acs, b, brs, bcs, 0, c, ldc, accumulate, work);
}

/** gemm with B packed beforehand by packBWhole: the same bits, without packing B again. */
export function gemmPacked(M: i32, N: i32, K: i32, a: usize, ars: i32, acs: i32, packed: usize,
  c: usize, ldc: i32, accumulate: bool, work: usize): void {
  product(M, N, K, a, ars, acs, 0, 0, 0, packed, c, ldc, accumulate, work);
}

/** gemm, reading B's blocks from `packed` when it is not 0 instead of packing them from b. */
@inline function product(M: i32, N: i32, K: i32, a: usize, ars: i32, acs: i32, b: usize, brs: i32, bcs: i32, packed: usize,
  c: usize, ldc: i32, accumulate: bool, work: usize): void {
  if (M <= 0 || N <= 0) return;
  const ldcB = <usize>ldc << 2;
  if (K <= 0) {
    if (!accumulate) for (let i = 0; i < M; i++) memory.fill(c + <usize>i * ldcB, 0, <usize>N << 2);
    return;
  }
  const pA = (work + 15) & ~<usize>15;
  const packs = pA + (<usize>(MC * KC) << 2);
  const tile = packs + (<usize>(KC * NC) << 2);
  const inPlaceA = acs == 1 && N <= 2 * NR;
  for (let jc = 0; jc < N; jc += NC) {
    const nc = imin(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = imin(KC, K - pc);
      const pB = packed ? packed + (<usize>packedBlock(K, jc, pc, nc) << 2) : packs;
      if (!packed) packB(b + (<usize>(pc * brs + jc * bcs) << 2), brs, bcs, kc, nc, pB);
      const add = accumulate || pc > 0;
      if (inPlaceA) {
        const lastRow = a + (<usize>((M - 1) * ars + pc) << 2);
        for (let jr = 0; jr < nc; jr += NR) {
          const w = imin(NR, nc - jr);
          const pbj = pB + (<usize>(jr * kc) << 2);
          for (let ir = 0; ir < M; ir += MR) {
            const r0 = a + (<usize>(ir * ars + pc) << 2), rs = <usize>ars << 2;
            const r1 = ir + 1 < M ? r0 + rs : lastRow, r2 = ir + 2 < M ? r0 + 2 * rs : lastRow, r3 = ir + 3 < M ? r0 + 3 * rs : lastRow;
            microRows(kc, r0, r1, r2, r3, pbj, c + (<usize>(ir * ldc + jc + jr) << 2), ldcB, imin(MR, M - ir), w, add, tile);
          }
        }
        continue;
      }
      for (let ic = 0; ic < M; ic += MC) {
        const mc = imin(MC, M - ic);
        packA(a + (<usize>(ic * ars + pc * acs) << 2), ars, acs, mc, kc, pA);
        for (let jr = 0; jr < nc; jr += NR) {
          const w = imin(NR, nc - jr);
          const pbj = pB + (<usize>(jr * kc) << 2);
          const cj = c + (<usize>(ic * ldc + jc + jr) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            micro(kc, pA + (<usize>(ir * kc) << 2), pbj, cj + <usize>ir * ldcB, ldcB, imin(MR, mc - ir), w, add, tile);
          }
        }
      }
    }
  }
}
