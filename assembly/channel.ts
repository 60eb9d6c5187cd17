/**
 * Per-channel kernels over [N, C, P] float32 arrays, for batch normalisation: sums (each run of P
 * summed in f32x4 lanes, runs added in f64) and a per-channel affine mix of one or two inputs.
 * Per-channel parameters arrive as float32 vectors of C.
 */

@inline function hsum(v: v128): f64 {
  return <f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1) + <f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3);
}

/** sumA[c] = Σ a, sumAB[c] = Σ a·b (b = a when `b` is 0), as f64 at sumA and sumAB. */
export function channelSums(a: usize, b: usize, N: i32, C: i32, P: i32, sumA: usize, sumAB: usize): void {
  const w = b ? b : a;
  memory.fill(sumA, 0, <usize>C << 3);
  memory.fill(sumAB, 0, <usize>C << 3);
  let off: usize = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      let s = f32x4.splat(0), s2 = s;
      let i = 0;
      for (; i + 4 <= P; i += 4) {
        const o = off + (<usize>i << 2);
        const x = v128.load(a + o);
        s = f32x4.add(s, x);
        s2 = f32x4.add(s2, f32x4.mul(x, v128.load(w + o)));
      }
      let t = hsum(s), t2 = hsum(s2);
      for (; i < P; i++) {
        const o = off + (<usize>i << 2), x = load<f32>(a + o);
        t += <f64>x;
        t2 += <f64>(x * load<f32>(w + o));
      }
      const pc = <usize>c << 3;
      store<f64>(sumA + pc, load<f64>(sumA + pc) + t);
      store<f64>(sumAB + pc, load<f64>(sumAB + pc) + t2);
      off += <usize>P << 2;
    }
  }
}

/** out = a·aScale[c] (+ b·bScale[c] when `b` is not 0) + shift[c]. */
export function channelMix(a: usize, aScale: usize, b: usize, bScale: usize, shift: usize, N: i32, C: i32, P: i32, out: usize): void {
  let off: usize = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const pc = <usize>c << 2;
      const sa = load<f32>(aScale + pc), sb: f32 = b ? load<f32>(bScale + pc) : 0, t = load<f32>(shift + pc);
      const va = f32x4.splat(sa), vb = f32x4.splat(sb), vt = f32x4.splat(t);
      let i = 0;
      if (b) {
        for (; i + 4 <= P; i += 4) {
          const o = off + (<usize>i << 2);
          v128.store(out + o, f32x4.add(f32x4.add(f32x4.mul(v128.load(a + o), va), f32x4.mul(v128.load(b + o), vb)), vt));
        }
        for (; i < P; i++) {
          const o = off + (<usize>i << 2);
          store<f32>(out + o, load<f32>(a + o) * sa + load<f32>(b + o) * sb + t);
        }
      } else {
        for (; i + 4 <= P; i += 4) {
          const o = off + (<usize>i << 2);
          v128.store(out + o, f32x4.add(f32x4.mul(v128.load(a + o), va), vt));
        }
        for (; i < P; i++) {
          const o = off + (<usize>i << 2);
          store<f32>(out + o, load<f32>(a + o) * sa + t);
        }
      }
      off += <usize>P << 2;
    }
  }
}
