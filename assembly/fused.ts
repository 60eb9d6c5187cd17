/**
 * The inference chains of a CNN in one call each, so that no intermediate array crosses the wasm
 * boundary (or is allocated by the host): a convolution + bias (+ ReLU) (+ max pooling), and a
 * dense layer's bias (+ ReLU) after its GEMM. Each stage does the arithmetic of its own kernel in
 * the same order, so the results are those of the composed ops, bit for bit.
 *
 * The convolution runs over chunks of images whose output fits a cache-sized buffer; bias, ReLU and
 * pooling then read it from the cache instead of from memory.
 */
import { conv2d, convWorkBytes } from './conv';
import { maxPool2d } from './pool';

@inline function g(geo: usize, i: i32): i32 { return load<i32>(geo + (<usize>i << 2)); }
@inline function al16(p: usize): usize { return (p + 15) & ~<usize>15; }

/** Bytes of convolution output a chunk of images aims at (about half of a typical L2). */
const CHUNK_BYTES: i32 = 128 * 1024;

/**
 * relu(v + b), bias and ReLU each optional; the ReLU as the unary kernel's, v < 0 ? 0 : v (NaN and
 * −0 stay), which is pmax(v, 0): one instruction.
 */
@inline function act(v: v128, bv: v128, bias: bool, relu: bool): v128 {
  if (bias) v = f32x4.add(v, bv);
  if (relu) v = f32x4.pmax(v, f32x4.splat(0));
  return v;
}
@inline function act1(v: f32, b: f32, bias: bool, relu: bool): f32 {
  if (bias) v += b;
  return relu && v < 0 ? 0 : v;
}

/** p = max(p + bias[c], 0 if relu) over [N, C, P] (bias 0: none, relu 0/1). */
export function channelBiasRelu(p: usize, bias: usize, N: i32, C: i32, P: i32, relu: i32): void {
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const b: f32 = bias != 0 ? load<f32>(bias + (<usize>c << 2)) : 0, bv = f32x4.splat(b);
      let i = 0;
      for (; i + 4 <= P; i += 4) {
        const q = p + (<usize>i << 2);
        v128.store(q, act(v128.load(q), bv, bias != 0, relu != 0));
      }
      for (; i < P; i++) {
        const q = p + (<usize>i << 2);
        let v = load<f32>(q);
        if (bias != 0) v += b;
        if (relu != 0 && v < 0) v = 0;
        store<f32>(q, v);
      }
      p += <usize>P << 2;
    }
  }
}

/** out[m, j] = max(out[m, j] + bias[j], 0 if relu) over [M, N] (bias 0: none): a dense layer after its GEMM. */
export function rowBiasRelu(out: usize, bias: usize, M: i32, N: i32, relu: i32): void {
  for (let m = 0; m < M; m++) {
    const row = out + (<usize>(m * N) << 2);
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const q = row + (<usize>j << 2);
      v128.store(q, act(v128.load(q), bias != 0 ? v128.load(bias + (<usize>j << 2)) : f32x4.splat(0), bias != 0, relu != 0));
    }
    for (; j < N; j++) {
      const q = row + (<usize>j << 2);
      let v = load<f32>(q);
      if (bias != 0) v += load<f32>(bias + (<usize>j << 2));
      if (relu != 0 && v < 0) v = 0;
      store<f32>(q, v);
    }
  }
}

/** Whether a pooling is the common one: 2×2 windows of stride 2, no padding or dilation, every window whole. */
@inline function whole2x2(pgeo: usize): bool {
  return g(pgeo, 4) == 2 && g(pgeo, 5) == 2 && g(pgeo, 6) == 2 && g(pgeo, 7) == 2 && g(pgeo, 8) == 0 && g(pgeo, 9) == 0
    && g(pgeo, 10) == 1 && g(pgeo, 11) == 1 && g(pgeo, 12) == g(pgeo, 2) >> 1 && g(pgeo, 13) == g(pgeo, 3) >> 1;
}

/**
 * out = maxPool2×2(relu(y + bias)) over [N, C, H, W] in one pass (whole2x2 poolings): four windows
 * at a time, each value through bias and ReLU before the max, as in the composed kernels; a window
 * with a NaN gives NaN and ties keep the first value (which tells 0 from −0), as pool.ts. Without a
 * NaN, "the first value, then strictly larger ones" is pmax(pmax(pmax(v00, v01), v10), v11); a row
 * whose width is no multiple of four ends with four windows that overlap the ones before (the same
 * values again), so that only rows narrower than four take the scalar loop.
 */
function biasReluPool2x2(y: usize, bias: usize, relu: bool, N: i32, C: i32, H: i32, W: i32, out: usize): void {
  const oH = H >> 1, oW = W >> 1, withBias = bias != 0;
  for (let p = 0; p < N * C; p++) {
    const b: f32 = withBias ? load<f32>(bias + (<usize>(p % C) << 2)) : 0, bv = f32x4.splat(b);
    const plane = y + (<usize>(p * H * W) << 2);
    let o = out + (<usize>(p * oH * oW) << 2);
    for (let oy = 0; oy < oH; oy++) {
      const r0 = plane + (<usize>(2 * oy * W) << 2), r1 = r0 + (<usize>W << 2);
      let ox = 0;
      for (; oW >= 4 && ox < oW; ox += 4) {
        const at = min<i32>(ox, oW - 4), q = <usize>(2 * at) << 2;
        const a0 = act(v128.load(r0 + q), bv, withBias, relu), a1 = act(v128.load(r0 + q, 16), bv, withBias, relu);
        const b0 = act(v128.load(r1 + q), bv, withBias, relu), b1 = act(v128.load(r1 + q, 16), bv, withBias, relu);
        const e0 = i32x4.shuffle(a0, a1, 0, 2, 4, 6), o0 = i32x4.shuffle(a0, a1, 1, 3, 5, 7);
        const e1 = i32x4.shuffle(b0, b1, 0, 2, 4, 6), o1 = i32x4.shuffle(b0, b1, 1, 3, 5, 7);
        // A NaN among the 16 values makes their sum NaN (so may ∞ − ∞): the windows one by one, below.
        const sum = f32x4.add(f32x4.add(e0, o0), f32x4.add(e1, o1));
        if (v128.any_true(f32x4.ne(sum, sum))) break;
        v128.store(o + (<usize>at << 2), f32x4.pmax(f32x4.pmax(f32x4.pmax(e0, o0), e1), o1));
      }
      ox = min<i32>(ox, oW);
      o += <usize>ox << 2;
      for (; ox < oW; ox++, o += 4) {
        const q = <usize>(2 * ox) << 2;
        const v00 = act1(load<f32>(r0 + q), b, withBias, relu), v01 = act1(load<f32>(r0 + q, 4), b, withBias, relu);
        const v10 = act1(load<f32>(r1 + q), b, withBias, relu), v11 = act1(load<f32>(r1 + q, 4), b, withBias, relu);
        let best = v00;
        if (v00 == v00) {
          if (v01 > best || v01 != v01) best = v01;
          if (best == best) {
            if (v10 > best || v10 != v10) best = v10;
            if (best == best && (v11 > best || v11 != v11)) best = v11;
          }
        }
        store<f32>(o, best);
      }
    }
  }
}

/** Images per chunk: as many as fit CHUNK_BYTES of convolution output, at least one. */
@inline function chunkImages(geo: usize): i32 {
  const perImage = g(geo, 4) * g(geo, 14) * g(geo, 15) * 4;
  return max<i32>(1, min<i32>(g(geo, 0), CHUNK_BYTES / max<i32>(perImage, 1)));
}

/** Bytes of scratch conv2dFused needs at `work` (pgeo 0: no pooling). */
export function convFusedWorkBytes(geo: usize, pgeo: usize): usize {
  const images = chunkImages(geo);
  const chunk = pgeo != 0 ? <usize>(images * g(geo, 4) * g(geo, 14) * g(geo, 15)) << 2 : 0;
  const argmax = pgeo != 0 ? <usize>(images * g(pgeo, 1) * g(pgeo, 12) * g(pgeo, 13)) << 2 : 0;
  return 128 + 64 + al16(chunk) + al16(argmax) + convWorkBytes(geo) + 16;
}

/**
 * out = maxPool(relu(conv2d(x, w) + bias)) for the images of `geo` (16 i32, as conv.ts), each stage
 * optional but the convolution: bias 0 (none), relu 0/1, pgeo 0 (no pooling) or the pooling's 14
 * i32 (as pool.ts; its batch is ignored). Without pooling the convolution writes straight to out.
 */
export function conv2dFused(x: usize, w: usize, bias: usize, out: usize, geo: usize, relu: i32, pgeo: usize, work: usize): void {
  const N = g(geo, 0), C = g(geo, 1), O = g(geo, 4), P = g(geo, 14) * g(geo, 15);
  const inImage = <usize>(C * g(geo, 2) * g(geo, 3)) << 2, convImage = <usize>(O * P) << 2;
  const outImage = pgeo != 0 ? <usize>(g(pgeo, 1) * g(pgeo, 12) * g(pgeo, 13)) << 2 : convImage;
  const images = chunkImages(geo);
  // Scratch: the chunk's convolution and pooling geometries, its convolution output, the pooling's unused argmax, the convolution's own scratch.
  const cgeo = al16(work), cpgeo = cgeo + 64;
  const y = al16(cpgeo + 64);
  const argmax = al16(y + (pgeo != 0 ? <usize>images * convImage : 0));
  const convWork = al16(argmax + (pgeo != 0 ? <usize>images * outImage : 0));
  memory.copy(cgeo, geo, 64);
  if (pgeo != 0) memory.copy(cpgeo, pgeo, 56);
  for (let n0 = 0; n0 < N; n0 += images) {
    const nc = min<i32>(images, N - n0);
    store<i32>(cgeo, nc);
    store<i32>(cpgeo, nc);
    const dst = out + <usize>n0 * outImage, conv = pgeo != 0 ? y : dst;
    conv2d(x + <usize>n0 * inImage, w, conv, cgeo, convWork);
    if (pgeo != 0 && whole2x2(pgeo)) biasReluPool2x2(y, bias, relu != 0, nc, O, g(geo, 14), g(geo, 15), dst);
    else {
      if (bias != 0 || relu != 0) channelBiasRelu(conv, bias, nc, O, P, relu);
      if (pgeo != 0) maxPool2d(y, dst, argmax, cpgeo);
    }
  }
}
