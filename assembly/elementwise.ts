/**
 * Element-wise kernels on float32: unary maths over a contiguous run, binary ops and `where` over
 * a collapsed broadcast iteration. The host collapses shapes so that the innermost dim is a
 * contiguous run in which every operand steps by 0 (broadcast) or 1; the outer dims are walked
 * with an odometer whose sizes and strides (in elements) sit in a metadata block of i32:
 *   dims[nd], then each operand's strides[nd], then nd i32 of scratch for the indices.
 *
 * Op codes match the order of the host's tables (src/backend/wasm/kernels.ts).
 */
import { vexp, vexpm1, vlog, vlog1p, vsigmoid, vtanh } from './vmath';

// Unary op codes.
const NEG = 0, EXP = 1, LOG = 2, SQRT = 3, ABS = 4, SIGN = 5, RELU = 7, SIGMOID = 8, TANH = 9,
  LEAKY = 10, ELU = 11, GELU_TANH = 13, SOFTPLUS = 14, CLAMP = 15;
// Binary op codes.
const ADD = 0, SUB = 1, MUL = 2, DIV = 3, POW = 4, MAXIMUM = 5, MINIMUM = 6, EQ = 7, NE = 8, LT = 9,
  LE = 10, GT = 11, GE = 12, RELU_GRAD = 13;

@inline function splat(x: f32): v128 { return f32x4.splat(x); }

@inline function vunary(op: i32, x: v128, p0: v128, p1: v128): v128 {
  switch (op) {
    case NEG: return f32x4.neg(x);
    case EXP: return vexp(x);
    case LOG: return vlog(x);
    case SQRT: return f32x4.sqrt(x);
    case ABS: return f32x4.abs(x);
    case SIGN: {
      // -1, 0 (keeping -0), 1; NaN stays NaN.
      const one = v128.or(splat(1), v128.and(x, i32x4.splat(0x80000000)));
      const r = v128.bitselect(x, one, f32x4.eq(x, splat(0)));
      return v128.bitselect(x, r, f32x4.ne(x, x));
    }
    case RELU: return v128.bitselect(splat(0), x, f32x4.lt(x, splat(0)));
    case SIGMOID: return vsigmoid(x);
    case TANH: return vtanh(x);
    case LEAKY: return v128.bitselect(f32x4.mul(x, p0), x, f32x4.lt(x, splat(0)));
    case ELU: return v128.bitselect(x, f32x4.mul(p0, vexpm1(x)), f32x4.gt(x, splat(0)));
    case GELU_TANH: {
      const inner = f32x4.mul(splat(0.7978845608028654), f32x4.add(x, f32x4.mul(splat(0.044715), f32x4.mul(x, f32x4.mul(x, x)))));
      return f32x4.mul(f32x4.mul(splat(0.5), x), f32x4.add(splat(1), vtanh(inner)));
    }
    case SOFTPLUS: {
      const bx = f32x4.mul(x, p0);
      const soft = f32x4.div(vlog1p(vexp(bx)), p0);
      return v128.bitselect(x, soft, f32x4.gt(bx, p1));
    }
    default: { // CLAMP: x < lo ? lo : x > hi ? hi : x (NaN passes through)
      const r = v128.bitselect(p1, x, f32x4.gt(x, p1));
      return v128.bitselect(p0, r, f32x4.lt(x, p0));
    }
  }
}

@inline function unaryRun(op: i32, x: usize, out: usize, n: i32, a: f32, b: f32): void {
  const p0 = splat(a), p1 = splat(b);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, vunary(op, v128.load(x + o), p0, p1));
  }
  if (i < n) {
    // Tail: pad a vector with the remaining values.
    let v = splat(0);
    const r = n - i, o = <usize>i << 2;
    v = f32x4.replace_lane(v, 0, load<f32>(x + o));
    if (r > 1) v = f32x4.replace_lane(v, 1, load<f32>(x + o, 4));
    if (r > 2) v = f32x4.replace_lane(v, 2, load<f32>(x + o, 8));
    const y = vunary(op, v, p0, p1);
    store<f32>(out + o, f32x4.extract_lane(y, 0));
    if (r > 1) store<f32>(out + o, f32x4.extract_lane(y, 1), 4);
    if (r > 2) store<f32>(out + o, f32x4.extract_lane(y, 2), 8);
  }
}

/** out[i] = f(x[i]) for n contiguous float32 values; p0, p1 are the op's parameters. */
export function unary(op: i32, x: usize, out: usize, n: i32, p0: f32, p1: f32): void {
  switch (op) {
    case NEG: unaryRun(NEG, x, out, n, p0, p1); break;
    case EXP: unaryRun(EXP, x, out, n, p0, p1); break;
    case LOG: unaryRun(LOG, x, out, n, p0, p1); break;
    case SQRT: unaryRun(SQRT, x, out, n, p0, p1); break;
    case ABS: unaryRun(ABS, x, out, n, p0, p1); break;
    case SIGN: unaryRun(SIGN, x, out, n, p0, p1); break;
    case RELU: unaryRun(RELU, x, out, n, p0, p1); break;
    case SIGMOID: unaryRun(SIGMOID, x, out, n, p0, p1); break;
    case TANH: unaryRun(TANH, x, out, n, p0, p1); break;
    case LEAKY: unaryRun(LEAKY, x, out, n, p0, p1); break;
    case ELU: unaryRun(ELU, x, out, n, p0, p1); break;
    case GELU_TANH: unaryRun(GELU_TANH, x, out, n, p0, p1); break;
    case SOFTPLUS: unaryRun(SOFTPLUS, x, out, n, p0, p1); break;
    case CLAMP: unaryRun(CLAMP, x, out, n, p0, p1); break;
    default: unreachable();
  }
}

// ---- binary ----

@inline function vbin(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case ADD: return f32x4.add(a, b);
    case SUB: return f32x4.sub(a, b);
    case MUL: return f32x4.mul(a, b);
    case DIV: return f32x4.div(a, b);
    // As the reference: a > b || a is NaN ? a : b (so ties give b, and NaN propagates).
    case MAXIMUM: return v128.bitselect(a, b, v128.or(f32x4.gt(a, b), f32x4.ne(a, a)));
    case MINIMUM: return v128.bitselect(a, b, v128.or(f32x4.lt(a, b), f32x4.ne(a, a)));
    case EQ: return v128.and(f32x4.eq(a, b), i32x4.splat(1));
    case NE: return v128.and(f32x4.ne(a, b), i32x4.splat(1));
    case LT: return v128.and(f32x4.lt(a, b), i32x4.splat(1));
    case LE: return v128.and(f32x4.le(a, b), i32x4.splat(1));
    case GT: return v128.and(f32x4.gt(a, b), i32x4.splat(1));
    case RELU_GRAD: return v128.andnot(a, f32x4.le(b, splat(0)));
    default: return v128.and(f32x4.ge(a, b), i32x4.splat(1));
  }
}

/** One element; comparisons store int32 0/1, the rest float32. */
@inline function sbin(op: i32, a: f32, b: f32, p: usize): void {
  switch (op) {
    case ADD: store<f32>(p, a + b); break;
    case SUB: store<f32>(p, a - b); break;
    case MUL: store<f32>(p, a * b); break;
    case DIV: store<f32>(p, a / b); break;
    case POW: store<f32>(p, <f32>Math.pow(<f64>a, <f64>b)); break;
    case MAXIMUM: store<f32>(p, a > b || a != a ? a : b); break;
    case MINIMUM: store<f32>(p, a < b || a != a ? a : b); break;
    case EQ: store<i32>(p, a == b ? 1 : 0); break;
    case NE: store<i32>(p, a != b ? 1 : 0); break;
    case LT: store<i32>(p, a < b ? 1 : 0); break;
    case LE: store<i32>(p, a <= b ? 1 : 0); break;
    case GT: store<i32>(p, a > b ? 1 : 0); break;
    case RELU_GRAD: store<f32>(p, b <= 0 ? 0 : a); break;
    default: store<i32>(p, a >= b ? 1 : 0);
  }
}

/** A run of n outputs; `sa`, `sb` (0 or 1) are the operands' steps, constant after inlining. */
@inline function binRun(op: i32, sa: i32, sb: i32, a: usize, b: usize, out: usize, n: i32): void {
  let i = 0;
  if (op != POW) {
    const va0 = sa ? splat(0) : v128.load32_splat(a), vb0 = sb ? splat(0) : v128.load32_splat(b);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const va = sa ? v128.load(a + o) : va0;
      const vb = sb ? v128.load(b + o) : vb0;
      v128.store(out + o, vbin(op, va, vb));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    sbin(op, load<f32>(a + (sa ? o : 0)), load<f32>(b + (sb ? o : 0)), out + o);
  }
}

@inline function binLoop(op: i32, a: usize, b: usize, out: usize, nd: i32, meta: usize): void {
  const dims = meta, sA = meta + (<usize>nd << 2), sB = sA + (<usize>nd << 2), idx = sB + (<usize>nd << 2);
  const last = <usize>(nd - 1) << 2;
  const n = load<i32>(dims + last), ia = load<i32>(sA + last), ib = load<i32>(sB + last);
  let total: i32 = 1;
  for (let d = 0; d < nd; d++) { total *= load<i32>(dims + (<usize>d << 2)); store<i32>(idx + (<usize>d << 2), 0); }
  if (total == 0) return;
  let pa = a, pb = b, po = out;
  const runs = total / n;
  for (let r = 0; r < runs; r++) {
    if (ia && ib) binRun(op, 1, 1, pa, pb, po, n);
    else if (ia) binRun(op, 1, 0, pa, pb, po, n);
    else if (ib) binRun(op, 0, 1, pa, pb, po, n);
    else binRun(op, 0, 0, pa, pb, po, n);
    po += <usize>n << 2;
    for (let d = nd - 2; d >= 0; d--) {
      const dp = <usize>d << 2;
      const i = load<i32>(idx + dp) + 1;
      const sa = load<i32>(sA + dp), sb = load<i32>(sB + dp);
      if (i < load<i32>(dims + dp)) {
        store<i32>(idx + dp, i);
        pa += <usize>sa << 2; pb += <usize>sb << 2;
        break;
      }
      store<i32>(idx + dp, 0);
      pa -= <usize>(sa * (i - 1)) << 2; pb -= <usize>(sb * (i - 1)) << 2;
    }
  }
}

/** out = a ∘ b over the collapsed broadcast described by `meta` (see the file comment). */
export function binary(op: i32, a: usize, b: usize, out: usize, nd: i32, meta: usize): void {
  switch (op) {
    case ADD: binLoop(ADD, a, b, out, nd, meta); break;
    case SUB: binLoop(SUB, a, b, out, nd, meta); break;
    case MUL: binLoop(MUL, a, b, out, nd, meta); break;
    case DIV: binLoop(DIV, a, b, out, nd, meta); break;
    case POW: binLoop(POW, a, b, out, nd, meta); break;
    case MAXIMUM: binLoop(MAXIMUM, a, b, out, nd, meta); break;
    case MINIMUM: binLoop(MINIMUM, a, b, out, nd, meta); break;
    case EQ: binLoop(EQ, a, b, out, nd, meta); break;
    case NE: binLoop(NE, a, b, out, nd, meta); break;
    case LT: binLoop(LT, a, b, out, nd, meta); break;
    case LE: binLoop(LE, a, b, out, nd, meta); break;
    case GT: binLoop(GT, a, b, out, nd, meta); break;
    case GE: binLoop(GE, a, b, out, nd, meta); break;
    case RELU_GRAD: binLoop(RELU_GRAD, a, b, out, nd, meta); break;
    default: unreachable();
  }
}

// ---- where ----

@inline function ld(p: usize, s: i32): v128 { return s ? v128.load(p) : v128.load32_splat(p); }

/**
 * out = cond != 0 ? a : b over a collapsed broadcast (meta: dims, then strides of cond, a, b, then
 * scratch). a, b and out are any 32-bit type (the values are only moved); cond is int32, or
 * float32 when `condFloat` (so that -0 counts as zero and NaN as true).
 */
export function where(cond: usize, condFloat: bool, a: usize, b: usize, out: usize, nd: i32, meta: usize): void {
  const q = <usize>nd << 2;
  const dims = meta, sC = meta + q, sA = sC + q, sB = sA + q, idx = sB + q;
  const last = <usize>(nd - 1) << 2;
  const n = load<i32>(dims + last), ic = load<i32>(sC + last), ia = load<i32>(sA + last), ib = load<i32>(sB + last);
  let total: i32 = 1;
  for (let d = 0; d < nd; d++) { total *= load<i32>(dims + (<usize>d << 2)); store<i32>(idx + (<usize>d << 2), 0); }
  if (total == 0) return;
  let pc = cond, pa = a, pb = b, po = out;
  const runs = total / n;
  const zero = i32x4.splat(0);
  for (let r = 0; r < runs; r++) {
    let c = pc, x = pa, y = pb, o = po;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const vc = ld(c, ic);
      const m = condFloat ? f32x4.ne(vc, zero) : i32x4.ne(vc, zero);
      v128.store(o, v128.bitselect(ld(x, ia), ld(y, ib), m));
      c += <usize>ic << 4; x += <usize>ia << 4; y += <usize>ib << 4; o += 16;
    }
    for (; i < n; i++) {
      const t = condFloat ? load<f32>(c) != 0 : load<i32>(c) != 0;
      store<i32>(o, t ? load<i32>(x) : load<i32>(y));
      c += <usize>ic << 2; x += <usize>ia << 2; y += <usize>ib << 2; o += 4;
    }
    po += <usize>n << 2;
    for (let d = nd - 2; d >= 0; d--) {
      const dp = <usize>d << 2;
      const i = load<i32>(idx + dp) + 1;
      const s0 = load<i32>(sC + dp), s1 = load<i32>(sA + dp), s2 = load<i32>(sB + dp);
      if (i < load<i32>(dims + dp)) {
        store<i32>(idx + dp, i);
        pc += <usize>s0 << 2; pa += <usize>s1 << 2; pb += <usize>s2 << 2;
        break;
      }
      store<i32>(idx + dp, 0);
      pc -= <usize>(s0 * (i - 1)) << 2; pa -= <usize>(s1 * (i - 1)) << 2; pb -= <usize>(s2 * (i - 1)) << 2;
    }
  }
}

// ---- copyStrided ----

/**
 * out[i] = x[Σ_d i_d · strides[d]] for 32-bit values (meta: dims, strides, scratch). The innermost
 * dim is copied with SIMD when its stride is 1, splatted when 0, gathered otherwise; a transpose
 * of the two innermost dims goes through 4×4 register transposes.
 */
export function copyStrided(x: usize, out: usize, nd: i32, meta: usize): void {
  const q = <usize>nd << 2;
  const dims = meta, st = meta + q, idx = st + q;
  const last = <usize>(nd - 1) << 2;
  const n = load<i32>(dims + last), s = load<i32>(st + last);
  let total: i32 = 1;
  for (let d = 0; d < nd; d++) { total *= load<i32>(dims + (<usize>d << 2)); store<i32>(idx + (<usize>d << 2), 0); }
  if (total == 0) return;
  // Transpose fast path: the second innermost dim has stride 1 in x, the innermost a larger one.
  if (nd >= 2 && s > 1 && load<i32>(st + last - 4) == 1) {
    const m = load<i32>(dims + last - 4);
    transposeLoop(x, out, nd - 2, meta, q, m, n, s);
    return;
  }
  let px = x, po = out;
  const runs = total / n;
  for (let r = 0; r < runs; r++) {
    let i = 0;
    if (s == 1) {
      for (; i + 4 <= n; i += 4) v128.store(po + (<usize>i << 2), v128.load(px + (<usize>i << 2)));
      for (; i < n; i++) store<i32>(po + (<usize>i << 2), load<i32>(px + (<usize>i << 2)));
    } else if (s == 0) {
      const v = v128.load32_splat(px);
      for (; i + 4 <= n; i += 4) v128.store(po + (<usize>i << 2), v);
      const w = load<i32>(px);
      for (; i < n; i++) store<i32>(po + (<usize>i << 2), w);
    } else {
      let p = px;
      const step = <usize>s << 2;
      for (; i < n; i++) { store<i32>(po + (<usize>i << 2), load<i32>(p)); p += step; }
    }
    po += <usize>n << 2;
    for (let d = nd - 2; d >= 0; d--) {
      const dp = <usize>d << 2;
      const i = load<i32>(idx + dp) + 1;
      const sd = load<i32>(st + dp);
      if (i < load<i32>(dims + dp)) { store<i32>(idx + dp, i); px += <usize>sd << 2; break; }
      store<i32>(idx + dp, 0);
      px -= <usize>(sd * (i - 1)) << 2;
    }
  }
}

/** Outer dims [0, ndOuter) by odometer; each step transposes an m×n block: out[i, j] = x[i + j·s]. */
function transposeLoop(x: usize, out: usize, ndOuter: i32, meta: usize, q: usize, m: i32, n: i32, s: i32): void {
  const dims = meta, st = meta + q, idx = st + q;
  let outer: i32 = 1;
  for (let d = 0; d < ndOuter; d++) outer *= load<i32>(dims + (<usize>d << 2));
  let px = x, po = out;
  const rowB = <usize>n << 2, sB = <usize>s << 2;
  for (let r = 0; r < outer; r++) {
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      let j = 0;
      const o0 = po + <usize>i * rowB, o1 = o0 + rowB, o2 = o1 + rowB, o3 = o2 + rowB;
      for (; j + 4 <= n; j += 4) {
        const src = px + (<usize>i << 2) + <usize>j * sB;
        const x0 = v128.load(src), x1 = v128.load(src + sB), x2 = v128.load(src + 2 * sB), x3 = v128.load(src + 3 * sB);
        const l01 = i32x4.shuffle(x0, x1, 0, 4, 1, 5), l23 = i32x4.shuffle(x2, x3, 0, 4, 1, 5);
        const h01 = i32x4.shuffle(x0, x1, 2, 6, 3, 7), h23 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
        const jo = <usize>j << 2;
        v128.store(o0 + jo, i32x4.shuffle(l01, l23, 0, 1, 4, 5));
        v128.store(o1 + jo, i32x4.shuffle(l01, l23, 2, 3, 6, 7));
        v128.store(o2 + jo, i32x4.shuffle(h01, h23, 0, 1, 4, 5));
        v128.store(o3 + jo, i32x4.shuffle(h01, h23, 2, 3, 6, 7));
      }
      for (; j < n; j++) {
        const src = px + (<usize>i << 2) + <usize>j * sB, jo = <usize>j << 2;
        store<i32>(o0 + jo, load<i32>(src)); store<i32>(o1 + jo, load<i32>(src, 4));
        store<i32>(o2 + jo, load<i32>(src, 8)); store<i32>(o3 + jo, load<i32>(src, 12));
      }
    }
    for (; i < m; i++) {
      const o = po + <usize>i * rowB;
      let src = px + (<usize>i << 2);
      for (let j = 0; j < n; j++) { store<i32>(o + (<usize>j << 2), load<i32>(src)); src += sB; }
    }
    po += <usize>(m * n) << 2;
    for (let d = ndOuter - 1; d >= 0; d--) {
      const dp = <usize>d << 2;
      const i = load<i32>(idx + dp) + 1;
      const sd = load<i32>(st + dp);
      if (i < load<i32>(dims + dp)) { store<i32>(idx + dp, i); px += <usize>sd << 2; break; }
      store<i32>(idx + dp, 0);
      px -= <usize>(sd * (i - 1)) << 2;
    }
  }
}
