/**
 * Per-channel kernels over [N, C, P] float32 arrays, for batch normalisation: centred sums (each
 * run of P summed in f32x4 lanes, runs added in f64) and a per-channel affine mix of one or two
 * centred inputs. Centring by a value near the channel's mean keeps the float32 sums free of
 * cancellation when the mean is large against the spread. Per-channel vectors are float32 of C;
 * a pointer of 0 means "none" (centres 0, no second input).
 */

@inline function hsum(v: v128): f64 {
  return <f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1) + <f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3);
}

@inline function at(p: usize, c: i32): f32 { return p ? load<f32>(p + (<usize>c << 2)) : 0; }

/** a's lanes, 0 where the mask (a ReLU's output) is ≤ 0: the gradient through the ReLU (NaN passes). */
@inline function maskedLanes(a: v128, mask: usize, o: usize): v128 {
  return mask ? v128.andnot(a, f32x4.le(v128.load(mask + o), f32x4.splat(0))) : a;
}

@inline function maskedAt(a: usize, mask: usize, o: usize): f32 {
  return mask && load<f32>(mask + o) <= 0 ? 0 : load<f32>(a + o);
}

/**
 * sumA[c] = Σ (a − ca[c]), sumAB[c] = Σ (a − ca[c])·(b − cb[c]) (b, cb = a, ca when b is 0), as f64;
 * a masked by `mask` when it is not 0.
 */
export function channelSums(a: usize, ca: usize, b: usize, cb: usize, N: i32, C: i32, P: i32, sumA: usize, sumAB: usize, mask: usize): void {
  if (!b) { b = a; cb = ca; }
  memory.fill(sumA, 0, <usize>C << 3);
  memory.fill(sumAB, 0, <usize>C << 3);
  let off: usize = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const sa = at(ca, c), sb = at(cb, c), va = f32x4.splat(sa), vb = f32x4.splat(sb);
      let s = f32x4.splat(0), s2 = s;
      let i = 0;
      for (; i + 4 <= P; i += 4) {
        const o = off + (<usize>i << 2);
        const x = f32x4.sub(maskedLanes(v128.load(a + o), mask, o), va);
        s = f32x4.add(s, x);
        s2 = f32x4.add(s2, f32x4.mul(x, f32x4.sub(v128.load(b + o), vb)));
      }
      let t = hsum(s), t2 = hsum(s2);
      for (; i < P; i++) {
        const o = off + (<usize>i << 2), x = maskedAt(a, mask, o) - sa;
        t += <f64>x;
        t2 += <f64>(x * (load<f32>(b + o) - sb));
      }
      const pc = <usize>c << 3;
      store<f64>(sumA + pc, load<f64>(sumA + pc) + t);
      store<f64>(sumAB + pc, load<f64>(sumAB + pc) + t2);
      off += <usize>P << 2;
    }
  }
}

/** out = (a − ca[c])·sa[c] (+ (b − cb[c])·sb[c] when b is not 0) + shift[c], a masked by `mask` when it is not 0. */
export function channelMix(a: usize, ca: usize, sa: usize, b: usize, cb: usize, sb: usize, shift: usize, N: i32, C: i32, P: i32, out: usize, mask: usize): void {
  let off: usize = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const a0 = at(ca, c), a1 = at(sa, c), b0 = at(cb, c), b1 = at(sb, c), t = at(shift, c);
      const va0 = f32x4.splat(a0), va1 = f32x4.splat(a1), vb0 = f32x4.splat(b0), vb1 = f32x4.splat(b1), vt = f32x4.splat(t);
      let i = 0;
      if (b) {
        for (; i + 4 <= P; i += 4) {
          const o = off + (<usize>i << 2);
          const u = f32x4.mul(f32x4.sub(maskedLanes(v128.load(a + o), mask, o), va0), va1), w = f32x4.mul(f32x4.sub(v128.load(b + o), vb0), vb1);
          v128.store(out + o, f32x4.add(f32x4.add(u, w), vt));
        }
        for (; i < P; i++) {
          const o = off + (<usize>i << 2);
          store<f32>(out + o, (maskedAt(a, mask, o) - a0) * a1 + (load<f32>(b + o) - b0) * b1 + t);
        }
      } else {
        for (; i + 4 <= P; i += 4) {
          const o = off + (<usize>i << 2);
          v128.store(out + o, f32x4.add(f32x4.mul(f32x4.sub(maskedLanes(v128.load(a + o), mask, o), va0), va1), vt));
        }
        for (; i < P; i++) {
          const o = off + (<usize>i << 2);
          store<f32>(out + o, (maskedAt(a, mask, o) - a0) * a1 + t);
        }
      }
      off += <usize>P << 2;
    }
  }
}
