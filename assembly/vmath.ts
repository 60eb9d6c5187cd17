/**
 * f32x4 special functions (Cephes-style range reduction and polynomials, as in sse_mathfun).
 * Each is within a few float32 ulps of the correctly rounded value, well inside the conformance
 * tolerance (relative 1e-5, absolute 1e-6) against the float64 JS reference.
 */

@inline function splat(x: f32): v128 { return f32x4.splat(x); }
@inline function madd(a: v128, b: v128, c: v128): v128 { return f32x4.add(f32x4.mul(a, b), c); }

/** e^x: +inf above 88.72, 0 below -87.33 (the JS reference gives a subnormal there, < 1e-38). */
@inline export function vexp(x: v128): v128 {
  const big = f32x4.gt(x, splat(88.72283)), tiny = f32x4.lt(x, splat(-87.33654));
  // pmin/pmax (one instruction each, where min/max take several) keep a NaN x: it is their first operand.
  const xc = f32x4.pmax(f32x4.pmin(x, splat(88.72283)), splat(-87.33654));
  const fx = f32x4.floor(madd(xc, splat(1.44269504088896341), splat(0.5)));
  let r = f32x4.sub(xc, f32x4.mul(fx, splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(fx, splat(-2.12194440e-4)));
  const z = f32x4.mul(r, r);
  let y = splat(1.9875691500e-4);
  y = madd(y, r, splat(1.3981999507e-3));
  y = madd(y, r, splat(8.3334519073e-3));
  y = madd(y, r, splat(4.1665795894e-2));
  y = madd(y, r, splat(1.6666665459e-1));
  y = madd(y, r, splat(5.0000001201e-1));
  y = f32x4.add(madd(y, z, r), splat(1));
  // 2^fx for fx in [-126, 128]: split in two factors so 128 does not overflow the exponent field.
  // fx is a whole number in [-127, 128]: adding 1.5·2^23 puts it in the low mantissa bits (exactly
  // what trunc_sat gives, in two instructions instead of several).
  const n = i32x4.sub(f32x4.add(fx, splat(12582912)), i32x4.splat(0x4b400000));
  const n1 = i32x4.shr_s(n, 1), n2 = i32x4.sub(n, n1);
  const p1 = i32x4.shl(i32x4.add(n1, i32x4.splat(127)), 23);
  const p2 = i32x4.shl(i32x4.add(n2, i32x4.splat(127)), 23);
  y = f32x4.mul(f32x4.mul(y, p1), p2);
  y = v128.bitselect(splat(Infinity), y, big);
  return v128.bitselect(splat(0), y, tiny);
}

/** Natural log: NaN below 0, -inf at 0, subnormals handled. */
@inline export function vlog(x0: v128): v128 {
  const invalid = f32x4.lt(x0, splat(0));
  const zero = f32x4.eq(x0, splat(0));
  const inf = f32x4.eq(x0, splat(Infinity));
  // Scale subnormals up by 2^23.
  const sub = f32x4.lt(x0, splat(1.17549435e-38));
  let x = v128.bitselect(f32x4.mul(x0, splat(8388608.0)), x0, sub);
  let e = i32x4.sub(i32x4.shr_u(x, 23), i32x4.splat(126));
  e = i32x4.sub(e, v128.and(sub, i32x4.splat(23)));
  // Mantissa in [0.5, 1).
  x = v128.or(v128.and(x, i32x4.splat(0x807fffff)), i32x4.splat(0x3f000000));
  let ef = f32x4.convert_i32x4_s(e);
  const lo = f32x4.lt(x, splat(0.707106781186547524));
  const tmp = v128.and(x, lo);
  ef = f32x4.sub(ef, v128.and(splat(1), lo));
  x = f32x4.add(f32x4.sub(x, splat(1)), tmp);
  const z = f32x4.mul(x, x);
  let y = splat(7.0376836292e-2);
  y = madd(y, x, splat(-1.1514610310e-1));
  y = madd(y, x, splat(1.1676998740e-1));
  y = madd(y, x, splat(-1.2420140846e-1));
  y = madd(y, x, splat(1.4249322787e-1));
  y = madd(y, x, splat(-1.6668057665e-1));
  y = madd(y, x, splat(2.0000714765e-1));
  y = madd(y, x, splat(-2.4999993993e-1));
  y = madd(y, x, splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, x), z);
  y = madd(ef, splat(-2.12194440e-4), y);
  y = f32x4.sub(y, f32x4.mul(z, splat(0.5)));
  x = f32x4.add(x, y);
  x = madd(ef, splat(0.693359375), x);
  x = v128.bitselect(splat(NaN), x, invalid);
  x = v128.bitselect(splat(-Infinity), x, zero);
  x = v128.bitselect(splat(Infinity), x, inf);
  // NaN inputs: every comparison above was false, but the bit tricks lost the NaN; restore it.
  return v128.bitselect(x0, x, f32x4.ne(x0, x0));
}

/** e^x − 1, accurate near 0 (Taylor series below |x| = 0.35). */
@inline export function vexpm1(x: v128): v128 {
  const e = f32x4.sub(vexp(x), splat(1));
  let p = splat(1.0 / 5040.0);
  p = madd(p, x, splat(1.0 / 720.0));
  p = madd(p, x, splat(1.0 / 120.0));
  p = madd(p, x, splat(1.0 / 24.0));
  p = madd(p, x, splat(1.0 / 6.0));
  p = madd(p, x, splat(0.5));
  p = madd(p, x, splat(1));
  p = f32x4.mul(p, x);
  return v128.bitselect(p, e, f32x4.lt(f32x4.abs(x), splat(0.35)));
}

/** log(1 + u) for u ≥ 0 (or > -1), with the (w − 1) correction trick. */
@inline export function vlog1p(u: v128): v128 {
  const w = f32x4.add(u, splat(1));
  const d = f32x4.sub(w, splat(1));
  const r = f32x4.div(f32x4.mul(vlog(w), u), d);
  // w == 1: log1p(u) = u to working precision. Infinite u: log(inf) = inf.
  const exact = f32x4.eq(d, splat(0));
  return v128.bitselect(u, v128.bitselect(vlog(w), r, f32x4.eq(u, splat(Infinity))), exact);
}

/** tanh: odd polynomial below |x| = 0.625, 1 − 2/(e^{2|x|} + 1) above. */
@inline export function vtanh(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = splat(-5.70498872745e-3);
  p = madd(p, z, splat(2.06390887954e-2));
  p = madd(p, z, splat(-5.37397155531e-2));
  p = madd(p, z, splat(1.33314422036e-1));
  p = madd(p, z, splat(-3.33332819422e-1));
  const small = madd(f32x4.mul(p, z), x, x);
  const e = vexp(f32x4.add(ax, ax));
  let big = f32x4.sub(splat(1), f32x4.div(splat(2), f32x4.add(e, splat(1))));
  big = v128.or(big, v128.and(x, i32x4.splat(0x80000000))); // copy the sign
  const r = v128.bitselect(small, big, f32x4.lt(ax, splat(0.625)));
  return v128.bitselect(x, r, f32x4.ne(x, x));
}

/** 1/(1 + e^{-x}), computed from e^{-|x|} so neither side overflows. */
@inline export function vsigmoid(x: v128): v128 {
  const e = vexp(f32x4.neg(f32x4.abs(x)));
  const d = f32x4.add(splat(1), e);
  return v128.bitselect(f32x4.div(splat(1), d), f32x4.div(e, d), f32x4.ge(x, splat(0)));
}
