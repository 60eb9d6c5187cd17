/**
 * The LSTM step after its matrix products, and whole sequences each way, as the JS reference
 * (src/backend/js/recurrent.ts) computes them: gate order i, f, g, o; the gate sums, c' and the
 * whole backward step in float64 on the stored float32 values (f64x2, in the reference's order of
 * operations, so those are its bits), σ and tanh in float32 (vmath.ts, a few ulps), h' = o·tanh(c')
 * as one float32 product (the float64 product of two float32 values, rounded, is that product).
 *
 * A sequence runs a block of batch rows through every step in one call: rows never exchange
 * anything, so the host runs one task per block on the pool, and W_hh is packed once for every
 * step's product (gemmPacked) instead of once per step. Each row's result does not depend on the
 * blocks (gemm sums K in one order whatever M is).
 */
import { gemmPacked, gemmWorkBytes } from './gemm';
import { vsigmoid, vtanh } from './vmath';

/** Up to 4 float32 at p (n < 4: the rest of the lanes 0). */
@inline function load4(p: usize, n: i32): v128 {
  if (n >= 4) return v128.load(p);
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

@inline function store4(p: usize, v: v128, n: i32): void {
  if (n >= 4) { v128.store(p, v); return; }
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** Lanes 0, 1 and 2, 3 of a float32 vector as float64 pairs, and back (each rounded to float32). */
@inline function lo64(v: v128): v128 { return f64x2.promote_low_f32x4(v); }
@inline function hi64(v: v128): v128 { return f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 2, 3)); }
@inline function to32(lo: v128, hi: v128): v128 {
  return i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/** float32(x + h + b) with the sum in float64, as the reference; a pointer of 0 adds nothing. */
@inline function gateSum(xw: usize, hw: usize, bias: usize, o: usize, ob: usize, n: i32): v128 {
  const x = load4(xw + o, n), zero = f64x2.splat(0);
  const h = hw ? load4(hw + o, n) : f32x4.splat(0), b = bias ? load4(bias + ob, n) : f32x4.splat(0);
  const sl = f64x2.add(f64x2.add(lo64(x), hw ? lo64(h) : zero), bias ? lo64(b) : zero);
  const sh = f64x2.add(f64x2.add(hi64(x), hw ? hi64(h) : zero), bias ? hi64(b) : zero);
  return to32(sl, sh);
}

/** Units [j, j + n) of one row (pointers at the row's start; byte offset o = 4j). */
@inline function cellUnits(xw: usize, hw: usize, bias: usize, c: usize, H4: usize, o: usize, n: i32,
  gates: usize, hOut: usize, cOut: usize): void {
  // Every gate is read before any is written: gates may be xw.
  const si = gateSum(xw, hw, bias, o, o, n), sf = gateSum(xw, hw, bias, o + H4, o + H4, n);
  const sg = gateSum(xw, hw, bias, o + 2 * H4, o + 2 * H4, n), so = gateSum(xw, hw, bias, o + 3 * H4, o + 3 * H4, n);
  const i = vsigmoid(si), f = vsigmoid(sf), g = vtanh(sg), og = vsigmoid(so);
  store4(gates + o, i, n); store4(gates + o + H4, f, n); store4(gates + o + 2 * H4, g, n); store4(gates + o + 3 * H4, og, n);
  let cl = f64x2.mul(lo64(i), lo64(g)), ch = f64x2.mul(hi64(i), hi64(g));
  if (c) {
    const cv = load4(c + o, n);
    cl = f64x2.add(cl, f64x2.mul(lo64(f), lo64(cv)));
    ch = f64x2.add(ch, f64x2.mul(hi64(f), hi64(cv)));
  } else {
    cl = f64x2.add(cl, f64x2.splat(0)); // the reference's "+ 0": −0 becomes 0
    ch = f64x2.add(ch, f64x2.splat(0));
  }
  const cn = to32(cl, ch);
  store4(cOut + o, cn, n);
  store4(hOut + o, f32x4.mul(og, vtanh(cn)), n);
}

/** lstmCell on `rows` rows, every pointer at the first row (hw, bias, c: 0 for none). */
function cellRows(xw: usize, hw: usize, bias: usize, c: usize, rows: i32, H: i32, gates: usize, hOut: usize, cOut: usize): void {
  const H4 = <usize>H << 2, G4 = H4 << 2;
  for (let r = 0; r < rows; r++) {
    const x = xw + <usize>r * G4, hr = hw ? hw + <usize>r * G4 : 0, cr = c ? c + <usize>r * H4 : 0;
    const gt = gates + <usize>r * G4, ho = hOut + <usize>r * H4, co = cOut + <usize>r * H4;
    let j = 0;
    for (; j + 4 <= H; j += 4) cellUnits(x, hr, bias, cr, H4, <usize>j << 2, 4, gt, ho, co);
    if (j < H) cellUnits(x, hr, bias, cr, H4, <usize>j << 2, H - j, gt, ho, co);
  }
}

/** lstmCell(xw, hw, bias, c, B, H, gates, hOut, cOut): the kernel of backend.ts on wasm pointers. */
export function lstmCell(xw: usize, hw: usize, bias: usize, c: usize, B: i32, H: i32, gates: usize, hOut: usize, cOut: usize): void {
  cellRows(xw, hw, bias, c, B, H, gates, hOut, cOut);
}

/** Two float32 at p (n = 1: one, the other lane 0) as float64, and back. */
@inline function load2(p: usize, n: i32): v128 {
  return f64x2.promote_low_f32x4(n > 1 ? v128.load64_zero(p) : v128.load32_zero(p));
}
@inline function store2(p: usize, v: v128, n: i32): void {
  const f = f32x4.demote_f64x2_zero(v);
  if (n > 1) v128.store64_lane(p, f, 0);
  else v128.store32_lane(p, f, 0);
}

/** The backward step on units [j, j + n) of one row, n ≤ 2, in float64 (the reference's expressions). */
@inline function cellBackwardUnits(gates: usize, c: usize, hOut: usize, gH: usize, gC: usize, H4: usize, o: usize, n: i32,
  dPre: usize, dc: usize): void {
  const one = f64x2.splat(1), zero = f64x2.splat(0);
  const i = load2(gates + o, n), f = load2(gates + o + H4, n), g = load2(gates + o + 2 * H4, n), og = load2(gates + o + 3 * H4, n);
  const gh = load2(gH + o, n), gc = load2(gC + o, n);
  // tanh(c') = h'/o without a second tanh; where o is 0, every term with tanh(c') is too.
  const t = v128.bitselect(zero, f64x2.div(load2(hOut + o, n), og), f64x2.eq(og, zero));
  // The gradient of c' through both of its uses: h' = o ⊙ tanh(c') and the next step's c'.
  const dC = f64x2.add(gc, f64x2.mul(f64x2.mul(gh, og), f64x2.sub(one, f64x2.mul(t, t))));
  store2(dPre + o, f64x2.mul(f64x2.mul(f64x2.mul(dC, g), i), f64x2.sub(one, i)), n);
  store2(dPre + o + H4, c ? f64x2.mul(f64x2.mul(f64x2.mul(dC, load2(c + o, n)), f), f64x2.sub(one, f)) : zero, n);
  store2(dPre + o + 2 * H4, f64x2.mul(f64x2.mul(dC, i), f64x2.sub(one, f64x2.mul(g, g))), n);
  store2(dPre + o + 3 * H4, f64x2.mul(f64x2.mul(f64x2.mul(gh, t), og), f64x2.sub(one, og)), n);
  if (dc) store2(dc + o, f64x2.mul(dC, f), n);
}

/** lstmCellBackward on `rows` rows, every pointer at the first row (c, dc: 0 for none). */
function cellBackwardRows(gates: usize, c: usize, hOut: usize, gH: usize, gC: usize, rows: i32, H: i32, dPre: usize, dc: usize): void {
  const H4 = <usize>H << 2, G4 = H4 << 2;
  for (let r = 0; r < rows; r++) {
    const q = <usize>r * H4, gt = gates + <usize>r * G4, d = dPre + <usize>r * G4;
    const cr = c ? c + q : 0, dcr = dc ? dc + q : 0;
    let j = 0;
    for (; j + 2 <= H; j += 2) cellBackwardUnits(gt, cr, hOut + q, gH + q, gC + q, H4, <usize>j << 2, 2, d, dcr);
    if (j < H) cellBackwardUnits(gt, cr, hOut + q, gH + q, gC + q, H4, <usize>j << 2, 1, d, dcr);
  }
}

/** lstmCellBackward(gates, c, hOut, gH, gC, B, H, dPre, dc): the kernel of backend.ts on wasm pointers. */
export function lstmCellBackward(gates: usize, c: usize, hOut: usize, gH: usize, gC: usize, B: i32, H: i32, dPre: usize, dc: usize): void {
  cellBackwardRows(gates, c, hOut, gH, gC, B, H, dPre, dc);
}

/** The i-th 32-bit word of an argument block. */
@inline function arg(args: usize, i: i32): u32 { return load<u32>(args + (<usize>i << 2)); }

/**
 * Rows [lo, hi) of lstmSequence, with `work` the product's scratch (gemmWorkBytes) and then hw for
 * up to B rows (B·4H floats; the host sizes it). args (32-bit words): gates [L, B, 4H] (x·W_ihᵀ in, activated gates
 * out), W_hhᵀ packed by packBWhole, bias, h0, c0 (0: none), L, B, H, reverse, hs, cs [L, B, H].
 */
export function lstmSequence(args: usize, lo: i32, hi: i32, work: usize): void {
  const gates: usize = arg(args, 0), wT: usize = arg(args, 1), bias: usize = arg(args, 2);
  const h0: usize = arg(args, 3), c0: usize = arg(args, 4), L = <i32>arg(args, 5), B = <i32>arg(args, 6), H = <i32>arg(args, 7);
  const reverse = arg(args, 8) != 0, hs: usize = arg(args, 9), cs: usize = arg(args, 10);
  const rows = hi - lo, G = 4 * H, hw = work + <usize>gemmWorkBytes();
  let h: usize = h0 ? h0 + (<usize>(lo * H) << 2) : 0, c: usize = c0 ? c0 + (<usize>(lo * H) << 2) : 0;
  for (let s = 0; s < L; s++) {
    const t = reverse ? L - 1 - s : s, row = t * B + lo;
    const g = gates + (<usize>(row * G) << 2), hOut = hs + (<usize>(row * H) << 2), cOut = cs + (<usize>(row * H) << 2);
    if (h) gemmPacked(rows, G, H, h, H, 1, wT, hw, G, false, work);
    cellRows(g, h ? hw : 0, bias, c, rows, H, g, hOut, cOut);
    h = hOut; c = cOut;
  }
}

/**
 * Rows [lo, hi) of lstmSequenceBackward, without dWhh (the host's product over all steps and rows);
 * `work` as lstmSequence's, its B·4H floats dh, dc, gH, gC of B·H each.
 * args: gates, W_hh packed by packBWhole (as the [4H, H] right-hand side), c0, hs, cs, gHs, gCs, L, B,
 * H, reverse, dPre, dh0, dc0 (0: none).
 */
export function lstmSequenceBackward(args: usize, lo: i32, hi: i32, work: usize): void {
  const gates: usize = arg(args, 0), w: usize = arg(args, 1), c0: usize = arg(args, 2), hs: usize = arg(args, 3), cs: usize = arg(args, 4);
  const gHs: usize = arg(args, 5), gCs: usize = arg(args, 6), L = <i32>arg(args, 7), B = <i32>arg(args, 8), H = <i32>arg(args, 9);
  const reverse = arg(args, 10) != 0, dPre: usize = arg(args, 11), dh0: usize = arg(args, 12), dc0: usize = arg(args, 13);
  const rows = hi - lo, G = 4 * H, nb = <usize>(rows * H) << 2, first = <usize>(lo * H) << 2;
  // What each step carries back to the previous one (dh, dc), and its sum with that step's own gradients.
  const dh = work + <usize>gemmWorkBytes(), dc = dh + nb, gH = dc + nb, gC = gH + nb;
  for (let s = L - 1; s >= 0; s--) {
    const t = reverse ? L - 1 - s : s, prev = s > 0 ? (reverse ? L - s : s - 1) : -1;
    const at = <usize>((t * B + lo) * H) << 2;
    let gHt = gHs + at, gCt = gCs + at;
    if (s < L - 1) {
      // float32 sums: the reference's float64 sum of two float32 values, rounded, is the same.
      let q: usize = 0;
      for (; q + 16 <= nb; q += 16) {
        v128.store(gH + q, f32x4.add(v128.load(gHt + q), v128.load(dh + q)));
        v128.store(gC + q, f32x4.add(v128.load(gCt + q), v128.load(dc + q)));
      }
      for (; q < nb; q += 4) {
        store<f32>(gH + q, load<f32>(gHt + q) + load<f32>(dh + q));
        store<f32>(gC + q, load<f32>(gCt + q) + load<f32>(dc + q));
      }
      gHt = gH; gCt = gC;
    }
    const d = dPre + (<usize>((t * B + lo) * G) << 2);
    const cPrev = prev >= 0 ? cs + (<usize>((prev * B + lo) * H) << 2) : c0 ? c0 + first : 0;
    const dcOut = prev >= 0 ? dc : dc0 ? dc0 + first : 0;
    cellBackwardRows(gates + (<usize>((t * B + lo) * G) << 2), cPrev, hs + at, gHt, gCt, rows, H, d, dcOut);
    const dhOut = prev >= 0 ? dh : dh0 ? dh0 + first : 0;
    if (dhOut) gemmPacked(rows, H, G, d, G, 1, w, dhOut, H, false, work);
  }
}
