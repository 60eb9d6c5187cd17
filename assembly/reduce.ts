/**
 * sum / max / min over any set of axes of a contiguous float32 array. The host merges adjacent
 * axes that are both kept or both reduced; `meta` holds dims[nd], the output strides[nd] (0 along
 * reduced axes) and nd i32 of scratch. Sums accumulate in float64 (as the JS reference) in `acc`
 * (8 bytes per output element); max and min propagate NaN.
 */

const SUM = 0, MAX = 1;

/** Σ of n contiguous float32 values, in float64. */
@inline function hsum(p: usize, n: i32): f64 {
  let s0 = f64x2.splat(0), s1 = s0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(p + (<usize>i << 2));
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)));
  }
  const t = f64x2.add(s0, s1);
  let s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
  for (; i < n; i++) s += <f64>load<f32>(p + (<usize>i << 2));
  return s;
}

/** acc[i] += x[i] (float64 += float32) for n values. */
@inline function vadd(acc: usize, p: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(p + (<usize>i << 2));
    const a = acc + (<usize>i << 3);
    v128.store(a, f64x2.add(v128.load(a), f64x2.promote_low_f32x4(v)));
    v128.store(a, f64x2.add(v128.load(a, 16), f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1))), 16);
  }
  for (; i < n; i++) {
    const a = acc + (<usize>i << 3);
    store<f64>(a, load<f64>(a) + <f64>load<f32>(p + (<usize>i << 2)));
  }
}

@inline function hext(op: i32, p: usize, n: i32, init: f32): f32 {
  let m = f32x4.splat(init);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(p + (<usize>i << 2));
    m = op == MAX ? f32x4.max(m, v) : f32x4.min(m, v);
  }
  let s = op == MAX
    ? max<f32>(max<f32>(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max<f32>(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)))
    : min<f32>(min<f32>(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), min<f32>(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  for (; i < n; i++) {
    const v = load<f32>(p + (<usize>i << 2));
    s = op == MAX ? max<f32>(s, v) : min<f32>(s, v);
  }
  return s;
}

@inline function vext(op: i32, o: usize, p: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const q = <usize>i << 2;
    const v = v128.load(p + q), a = v128.load(o + q);
    v128.store(o + q, op == MAX ? f32x4.max(a, v) : f32x4.min(a, v));
  }
  for (; i < n; i++) {
    const q = <usize>i << 2;
    const v = load<f32>(p + q), a = load<f32>(o + q);
    store<f32>(o + q, op == MAX ? max<f32>(a, v) : min<f32>(a, v));
  }
}

@inline function reduceLoop(op: i32, x: usize, nd: i32, meta: usize, out: usize, outSize: i32, acc: usize): void {
  const q = <usize>nd << 2;
  const dims = meta, so = meta + q, idx = so + q;
  const last = <usize>(nd - 1) << 2;
  const n = load<i32>(dims + last), sLast = load<i32>(so + last);
  let total: i32 = 1;
  for (let d = 0; d < nd; d++) { total *= load<i32>(dims + (<usize>d << 2)); store<i32>(idx + (<usize>d << 2), 0); }
  const init: f32 = op == MAX ? -Infinity : Infinity;
  if (op == SUM) memory.fill(acc, 0, <usize>outSize << 3);
  else for (let i = 0; i < outSize; i++) store<f32>(out + (<usize>i << 2), init);
  if (total == 0) return;
  let px = x;
  let po: i32 = 0;
  const runs = total / n;
  for (let r = 0; r < runs; r++) {
    if (op == SUM) {
      if (sLast == 0) { const a = acc + (<usize>po << 3); store<f64>(a, load<f64>(a) + hsum(px, n)); }
      else vadd(acc + (<usize>po << 3), px, n);
    } else {
      if (sLast == 0) {
        const a = out + (<usize>po << 2);
        const m = hext(op, px, n, init);
        store<f32>(a, op == MAX ? max<f32>(load<f32>(a), m) : min<f32>(load<f32>(a), m));
      } else vext(op, out + (<usize>po << 2), px, n);
    }
    px += <usize>n << 2;
    for (let d = nd - 2; d >= 0; d--) {
      const dp = <usize>d << 2;
      const i = load<i32>(idx + dp) + 1;
      const sd = load<i32>(so + dp);
      if (i < load<i32>(dims + dp)) { store<i32>(idx + dp, i); po += sd; break; }
      store<i32>(idx + dp, 0);
      po -= sd * (i - 1);
    }
  }
  if (op == SUM) for (let i = 0; i < outSize; i++) store<f32>(out + (<usize>i << 2), <f32>load<f64>(acc + (<usize>i << 3)));
}

/** op: 0 sum, 1 max, 2 min. */
export function reduce(op: i32, x: usize, nd: i32, meta: usize, out: usize, outSize: i32, acc: usize): void {
  if (op == SUM) reduceLoop(SUM, x, nd, meta, out, outSize, acc);
  else if (op == MAX) reduceLoop(MAX, x, nd, meta, out, outSize, acc);
  else reduceLoop(2, x, nd, meta, out, outSize, acc);
}
