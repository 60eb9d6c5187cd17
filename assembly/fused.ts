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

/** p = max(p + bias[c], 0 if relu) over [N, C, P] (bias 0: none, relu 0/1), ReLU as the unary kernel's (NaN stays). */
export function channelBiasRelu(p: usize, bias: usize, N: i32, C: i32, P: i32, relu: i32): void {
  const zero = f32x4.splat(0);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const b: f32 = bias != 0 ? load<f32>(bias + (<usize>c << 2)) : 0, bv = f32x4.splat(b);
      let i = 0;
      for (; i + 4 <= P; i += 4) {
        const q = p + (<usize>i << 2);
        let v = v128.load(q);
        if (bias != 0) v = f32x4.add(v, bv);
        if (relu != 0) v = v128.bitselect(zero, v, f32x4.lt(v, zero));
        v128.store(q, v);
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
  const zero = f32x4.splat(0);
  for (let m = 0; m < M; m++) {
    const row = out + (<usize>(m * N) << 2);
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const q = row + (<usize>j << 2);
      let v = v128.load(q);
      if (bias != 0) v = f32x4.add(v, v128.load(bias + (<usize>j << 2)));
      if (relu != 0) v = v128.bitselect(zero, v, f32x4.lt(v, zero));
      v128.store(q, v);
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
    if (bias != 0 || relu != 0) channelBiasRelu(conv, bias, nc, O, P, relu);
    if (pgeo != 0) maxPool2d(y, dst, argmax, cpgeo);
  }
}
