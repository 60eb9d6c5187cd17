/**
 * 2-D max and average pooling with their backward kernels, following the JS reference exactly
 * (window order, first-max ties, NaN handling, divisor rules, float64 window sums). The common
 * 2×2 stride-2 max pool runs four windows at a time with f32x4 compares.
 *
 * The geometry arrives as 14 i32 at `geo`: batch, channels, inH, inW, kH, kW, strideH, strideW,
 * padH, padW, dilationH, dilationW, outH, outW.
 */

@inline function g(geo: usize, i: i32): i32 { return load<i32>(geo + (<usize>i << 2)); }

/** One max window, as the reference: the first valid tap, then strictly larger values; NaN wins. */
@inline function maxWindow(base: usize, geo: usize, oy: i32, ox: i32, o: usize, am: usize): void {
  const H = g(geo, 2), W = g(geo, 3), kH = g(geo, 4), kW = g(geo, 5), sH = g(geo, 6), sW = g(geo, 7);
  const pH = g(geo, 8), pW = g(geo, 9), dH = g(geo, 10), dW = g(geo, 11);
  let best: f32 = -Infinity, at: i32 = -1;
  for (let ky = 0; ky < kH; ky++) {
    const iy = oy * sH - pH + ky * dH;
    if (iy < 0 || iy >= H) continue;
    for (let kx = 0; kx < kW; kx++) {
      const ix = ox * sW - pW + kx * dW;
      if (ix < 0 || ix >= W) continue;
      const v = load<f32>(base + (<usize>(iy * W + ix) << 2));
      if (v > best || v != v || at < 0) { best = v; at = iy * W + ix; if (v != v) break; }
    }
  }
  store<f32>(o, best);
  store<i32>(am, at);
}

/** A 2×2 window wholly inside the input, unrolled with the same tie and NaN rules. */
@inline function max2x2(r0: usize, r1: usize, i00: i32, W: i32, o: usize, am: usize): void {
  const v00 = load<f32>(r0), v01 = load<f32>(r0, 4), v10 = load<f32>(r1), v11 = load<f32>(r1, 4);
  let best = v00, at = i00;
  if (v00 == v00 && (v01 > best || v01 != v01)) { best = v01; at = i00 + 1; }
  if (v10 != v10) { best = v10; at = i00 + W; }
  else {
    if (v10 > best) { best = v10; at = i00 + W; }
    if (v11 > best || v11 != v11) { best = v11; at = i00 + W + 1; }
  }
  store<f32>(o, best);
  store<i32>(am, at);
}

export function maxPool2d(x: usize, out: usize, argmax: usize, geo: usize): void {
  const planes = g(geo, 0) * g(geo, 1), H = g(geo, 2), W = g(geo, 3), oH = g(geo, 12), oW = g(geo, 13);
  const fast = g(geo, 4) == 2 && g(geo, 5) == 2 && g(geo, 6) == 2 && g(geo, 7) == 2 && g(geo, 8) == 0 && g(geo, 9) == 0
    && g(geo, 10) == 1 && g(geo, 11) == 1;
  const lane = i32x4(0, 2, 4, 6);
  // In fast rows, windows wholly inside the input (ceil mode may add a partial last row or column).
  const inside = min<i32>(oW, W >> 1);
  for (let p = 0; p < planes; p++) {
    const base = x + (<usize>(p * H * W) << 2);
    const ob = <usize>(p * oH * oW) << 2;
    for (let oy = 0; oy < oH; oy++) {
      let ox = 0;
      if (fast && 2 * oy + 1 < H) {
        const r0 = base + (<usize>(2 * oy * W) << 2), r1 = r0 + (<usize>W << 2);
        for (; ox + 4 <= inside; ox += 4) {
          const q = <usize>(2 * ox) << 2;
          const a0 = v128.load(r0 + q), a1 = v128.load(r0 + q, 16), b0 = v128.load(r1 + q), b1 = v128.load(r1 + q, 16);
          const e0 = i32x4.shuffle(a0, a1, 0, 2, 4, 6), o0 = i32x4.shuffle(a0, a1, 1, 3, 5, 7);
          const e1 = i32x4.shuffle(b0, b1, 0, 2, 4, 6), o1 = i32x4.shuffle(b0, b1, 1, 3, 5, 7);
          const oo = ob + (<usize>(oy * oW + ox) << 2);
          const nan = v128.or(v128.or(f32x4.ne(e0, e0), f32x4.ne(o0, o0)), v128.or(f32x4.ne(e1, e1), f32x4.ne(o1, o1)));
          if (v128.any_true(nan)) {
            for (let t = 0; t < 4; t++) {
              const qt = q + (<usize>t << 3);
              max2x2(r0 + qt, r1 + qt, 2 * oy * W + 2 * (ox + t), W, out + oo + (<usize>t << 2), argmax + oo + (<usize>t << 2));
            }
            continue;
          }
          const i00 = i32x4.add(i32x4.splat(2 * oy * W + 2 * ox), lane);
          let best = e0, at = i00;
          let m = f32x4.gt(o0, best);
          best = v128.bitselect(o0, best, m); at = v128.bitselect(i32x4.add(i00, i32x4.splat(1)), at, m);
          m = f32x4.gt(e1, best);
          best = v128.bitselect(e1, best, m); at = v128.bitselect(i32x4.add(i00, i32x4.splat(W)), at, m);
          m = f32x4.gt(o1, best);
          best = v128.bitselect(o1, best, m); at = v128.bitselect(i32x4.add(i00, i32x4.splat(W + 1)), at, m);
          v128.store(out + oo, best);
          v128.store(argmax + oo, at);
        }
        for (; ox < inside; ox++) {
          const q = <usize>(2 * ox) << 2, oo = ob + (<usize>(oy * oW + ox) << 2);
          max2x2(r0 + q, r1 + q, 2 * oy * W + 2 * ox, W, out + oo, argmax + oo);
        }
      }
      for (; ox < oW; ox++) {
        const oo = ob + (<usize>(oy * oW + ox) << 2);
        maxWindow(base, geo, oy, ox, out + oo, argmax + oo);
      }
    }
  }
}

/** gx (zeroed here) += gOut scattered to each window's argmax. */
export function maxPool2dBackward(gOut: usize, argmax: usize, gx: usize, geo: usize): void {
  const planes = g(geo, 0) * g(geo, 1), inHW = g(geo, 2) * g(geo, 3), outHW = g(geo, 12) * g(geo, 13);
  memory.fill(gx, 0, <usize>(planes * inHW) << 2);
  for (let p = 0; p < planes; p++) {
    const gp = gx + (<usize>(p * inHW) << 2);
    const o0 = <usize>(p * outHW) << 2;
    for (let o = 0; o < outHW; o++) {
      const q = o0 + (<usize>o << 2);
      const d = gp + (<usize>load<i32>(argmax + q) << 2);
      store<f32>(d, load<f32>(d) + load<f32>(gOut + q));
    }
  }
}

/**
 * Average pooling: each window's float64 sum divided by `divisor` if non-zero, else by the window
 * size with padding (`includePad`) or without. Dilation does not apply, as in the reference.
 * With `backward`, x is gOut and out is gx (zeroed here): each gradient is spread over its window.
 */
function avgPool(x: usize, out: usize, geo: usize, includePad: bool, divisor: f64, backward: bool): void {
  const planes = g(geo, 0) * g(geo, 1), H = g(geo, 2), W = g(geo, 3), kH = g(geo, 4), kW = g(geo, 5);
  const sH = g(geo, 6), sW = g(geo, 7), pH = g(geo, 8), pW = g(geo, 9), oH = g(geo, 12), oW = g(geo, 13);
  if (backward) memory.fill(out, 0, <usize>(planes * H * W) << 2);
  for (let p = 0; p < planes; p++) {
    const plane = (backward ? out : x) + (<usize>(p * H * W) << 2);
    const op = (backward ? x : out) + (<usize>(p * oH * oW) << 2);
    for (let oy = 0; oy < oH; oy++) {
      const ys = oy * sH - pH;
      const yeP = min<i32>(ys + kH, H + pH);
      const y0 = max<i32>(ys, 0), y1 = min<i32>(ys + kH, H);
      for (let ox = 0; ox < oW; ox++) {
        const xs = ox * sW - pW;
        const xeP = min<i32>(xs + kW, W + pW);
        const x0 = max<i32>(xs, 0), x1 = min<i32>(xs + kW, W);
        const div: f64 = divisor != 0 ? divisor : includePad ? <f64>((yeP - ys) * (xeP - xs)) : <f64>((y1 - y0) * (x1 - x0));
        const o = op + (<usize>(oy * oW + ox) << 2);
        if (backward) {
          const v = <f64>load<f32>(o) / div;
          for (let y = y0; y < y1; y++) {
            const row = plane + (<usize>(y * W) << 2);
            for (let xx = x0; xx < x1; xx++) {
              const d = row + (<usize>xx << 2);
              store<f32>(d, <f32>(<f64>load<f32>(d) + v));
            }
          }
        } else {
          let s: f64 = 0;
          for (let y = y0; y < y1; y++) {
            const row = plane + (<usize>(y * W) << 2);
            for (let xx = x0; xx < x1; xx++) s += <f64>load<f32>(row + (<usize>xx << 2));
          }
          store<f32>(o, <f32>(s / div));
        }
      }
    }
  }
}

export function avgPool2d(x: usize, out: usize, geo: usize, includePad: bool, divisor: f64): void {
  avgPool(x, out, geo, includePad, divisor, false);
}

export function avgPool2dBackward(gOut: usize, gx: usize, geo: usize, includePad: bool, divisor: f64): void {
  avgPool(gOut, gx, geo, includePad, divisor, true);
}
