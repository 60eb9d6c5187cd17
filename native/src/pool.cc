// 2-D max and average pooling and their gradients, bit for bit as the JS reference: the same window
// order, first-max ties, NaN handling (a NaN wins and ends its window row), the divisor rules and
// float64 window sums. Planes (image, channel) are split across threads; each is written by one
// task. The common 2×2 stride-2 max pool has explicit AVX-512 and AVX2 loops (the compiler
// vectorised neither the stride-2 loads nor the short rows of small images well: 9× faster on
// LeNet's pooling) and a portable scalar loop. Its gradient stays a scatter: a dense vector form
// (each input gets at most one gradient) measured slower at LeNet's widths.
#include <cmath>
#include <limits>

#include "nn.h"

#if PG_X86
#include <immintrin.h>
#endif

namespace pg {
namespace {

// The reference's rule for the next tap v of a window row: it wins if larger or NaN, and a NaN
// ends its row (later rows may still replace it with a NaN of their own). `open` says the row has
// not ended.
PG_INLINE void max_step(float v, int32_t i, bool open, float& best, int32_t& at) {
  const bool take = open && (v > best || v != v);
  best = take ? v : best;
  at = take ? i : at;
}

// The 2×2 stride-2 windows [0, whole) of output rows [0, rows) of one plane (W wide), each window
// wholly inside the input; out and am are the plane's output rows, oW apart. Per window: the top
// left tap, then the step rule for top right (unless top left is NaN), bottom left, and bottom right
// (unless bottom left is NaN).
void max2x2_portable(const float* plane, int64_t W, int64_t rows, int64_t whole, int64_t oW, float* out, int32_t* am) {
  for (int64_t oy = 0; oy < rows; oy++) {
    const float *r0 = plane + 2 * oy * W, *r1 = r0 + W;
    const int32_t i0 = static_cast<int32_t>(2 * oy * W), w = static_cast<int32_t>(W);
    for (int64_t ox = 0; ox < whole; ox++) {
      const int32_t i = i0 + 2 * static_cast<int32_t>(ox);
      const float v00 = r0[2 * ox], v10 = r1[2 * ox];
      float best = v00;
      int32_t at = i;
      max_step(r0[2 * ox + 1], i + 1, v00 == v00, best, at);
      max_step(v10, i + w, true, best, at);
      max_step(r1[2 * ox + 1], i + w + 1, v10 == v10, best, at);
      out[oy * oW + ox] = best;
      am[oy * oW + ox] = at;
    }
  }
}

#if PG_X86
// The vector loops take each window row's winner on its own — its second tap if the first is not
// NaN and the second is larger or NaN — and then the bottom row's winner if it is larger than the
// top row's or NaN: the same result as the step rule tap by tap, with shorter dependency chains.
// Lanes carry the winner's offset in its window, {0, 1, W, W + 1}.

// Where `open`: v > best or v NaN.
PG_TARGET_AVX512 PG_INLINE __mmask16 wins_avx512(__mmask16 open, __m512 v, __m512 best) {
  return static_cast<__mmask16>(_mm512_mask_cmp_ps_mask(open, v, best, _CMP_GT_OQ) | _mm512_mask_cmp_ps_mask(open, v, v, _CMP_UNORD_Q));
}

// 16 windows from their taps; `down` is W, `diag` W + 1.
PG_TARGET_AVX512 PG_INLINE __m512 max2x2_avx512_step(__m512 v00, __m512 v01, __m512 v10, __m512 v11, __m512i down, __m512i diag,
                                                     __m512i& off) {
  const __mmask16 t0 = wins_avx512(_mm512_cmp_ps_mask(v00, v00, _CMP_ORD_Q), v01, v00);
  const __mmask16 t1 = wins_avx512(_mm512_cmp_ps_mask(v10, v10, _CMP_ORD_Q), v11, v10);
  const __m512 b0 = _mm512_mask_mov_ps(v00, t0, v01), b1 = _mm512_mask_mov_ps(v10, t1, v11);
  const __mmask16 t = wins_avx512(0xffff, b1, b0);
  off = _mm512_mask_mov_epi32(_mm512_maskz_mov_epi32(t0, _mm512_set1_epi32(1)), t, _mm512_mask_mov_epi32(down, t1, diag));
  return _mm512_mask_mov_ps(b0, t, b1);
}

// 16 windows a step: each input row's 32 floats split into even and odd columns by two permutes. A
// row's last step loads and stores through lane masks; rows of at most 8 windows go two at a time,
// the second in the upper lanes.
PG_TARGET_AVX512 void max2x2_avx512(const float* plane, int64_t W, int64_t rows, int64_t whole, int64_t oW, float* out, int32_t* am) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512i down = _mm512_set1_epi32(static_cast<int32_t>(W)), diag = _mm512_set1_epi32(static_cast<int32_t>(W + 1));
  int64_t oy = 0;
  if (whole <= 8) {
    const __mmask16 in = static_cast<__mmask16>((1u << (2 * whole)) - 1), m = static_cast<__mmask16>((1u << whole) - 1);
    // The upper lanes' windows start 2W floats further, less the 16 of their lane position.
    const __m512i shift = _mm512_add_epi32(even, _mm512_mask_set1_epi32(_mm512_setzero_si512(), 0xff00, static_cast<int32_t>(2 * W - 16)));
    for (; oy + 1 < rows; oy += 2) {
      const float *r0 = plane + 2 * oy * W, *r1 = r0 + W, *r2 = r1 + W, *r3 = r2 + W;
      const __m512 a0 = _mm512_maskz_loadu_ps(in, r0), a1 = _mm512_maskz_loadu_ps(in, r2);
      const __m512 b0 = _mm512_maskz_loadu_ps(in, r1), b1 = _mm512_maskz_loadu_ps(in, r3);
      __m512i off;
      const __m512 best = max2x2_avx512_step(_mm512_permutex2var_ps(a0, even, a1), _mm512_permutex2var_ps(a0, odd, a1),
                                             _mm512_permutex2var_ps(b0, even, b1), _mm512_permutex2var_ps(b0, odd, b1), down, diag, off);
      const __m512i at = _mm512_add_epi32(_mm512_add_epi32(off, shift), _mm512_set1_epi32(static_cast<int32_t>(2 * oy * W)));
      _mm512_mask_storeu_ps(out + oy * oW, m, best);
      _mm512_mask_storeu_epi32(am + oy * oW, m, at);
      _mm256_mask_storeu_ps(out + (oy + 1) * oW, m, _mm512_extractf32x8_ps(best, 1));
      _mm256_mask_storeu_epi32(am + (oy + 1) * oW, m, _mm512_extracti32x8_epi32(at, 1));
    }
  }
  for (; oy < rows; oy++) {
    const float *r0 = plane + 2 * oy * W, *r1 = r0 + W;
    for (int64_t ox = 0; ox < whole; ox += 16) {
      const int64_t n = std::min<int64_t>(16, whole - ox);
      const uint32_t in = n == 16 ? ~0u : (1u << (2 * n)) - 1;  // the 2n floats of each row
      const __mmask16 lo = static_cast<__mmask16>(in), hi = static_cast<__mmask16>(in >> 16);
      const __m512 a0 = _mm512_maskz_loadu_ps(lo, r0 + 2 * ox), a1 = _mm512_maskz_loadu_ps(hi, r0 + 2 * ox + 16);
      const __m512 b0 = _mm512_maskz_loadu_ps(lo, r1 + 2 * ox), b1 = _mm512_maskz_loadu_ps(hi, r1 + 2 * ox + 16);
      __m512i off;
      const __m512 best = max2x2_avx512_step(_mm512_permutex2var_ps(a0, even, a1), _mm512_permutex2var_ps(a0, odd, a1),
                                             _mm512_permutex2var_ps(b0, even, b1), _mm512_permutex2var_ps(b0, odd, b1), down, diag, off);
      const __m512i at = _mm512_add_epi32(_mm512_add_epi32(off, even), _mm512_set1_epi32(static_cast<int32_t>(2 * oy * W + 2 * ox)));
      const __mmask16 m = static_cast<__mmask16>((1u << n) - 1);
      _mm512_mask_storeu_ps(out + oy * oW + ox, m, best);
      _mm512_mask_storeu_epi32(am + oy * oW + ox, m, at);
    }
  }
}

// Even and odd columns of the 16 floats x0, x1: a shuffle within 128-bit lanes, then a permute of 64-bit pairs.
PG_TARGET_AVX2 PG_INLINE void split_avx2(__m256 x0, __m256 x1, __m256& e, __m256& o) {
  e = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(x0, x1, 0x88)), 0xD8));
  o = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(x0, x1, 0xDD)), 0xD8));
}
// v > best or v NaN, as an all-ones lane mask.
PG_TARGET_AVX2 PG_INLINE __m256 wins_avx2(__m256 v, __m256 best) {
  return _mm256_or_ps(_mm256_cmp_ps(v, best, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}
PG_TARGET_AVX2 PG_INLINE __m256i blendi_avx2(__m256i a, __m256i b, __m256 m) {
  return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), m));
}

// 8 windows a step, as the AVX-512 loop (row by row), the masks as compare results and blends.
PG_TARGET_AVX2 void max2x2_avx2(const float* plane, int64_t W, int64_t rows, int64_t whole, int64_t oW, float* out, int32_t* am) {
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), even = _mm256_add_epi32(iota, iota);
  const __m256i one = _mm256_set1_epi32(1), down = _mm256_set1_epi32(static_cast<int32_t>(W)),
                diag = _mm256_set1_epi32(static_cast<int32_t>(W + 1));
  for (int64_t oy = 0; oy < rows; oy++) {
    const float *r0 = plane + 2 * oy * W, *r1 = r0 + W;
    float* o = out + oy * oW;
    int32_t* a = am + oy * oW;
    for (int64_t ox = 0; ox < whole; ox += 8) {
      const int64_t n = std::min<int64_t>(8, whole - ox);
      __m256 a0, a1, b0, b1;
      __m256i m = _mm256_set1_epi32(-1);
      if (n == 8) {
        a0 = _mm256_loadu_ps(r0 + 2 * ox), a1 = _mm256_loadu_ps(r0 + 2 * ox + 8);
        b0 = _mm256_loadu_ps(r1 + 2 * ox), b1 = _mm256_loadu_ps(r1 + 2 * ox + 8);
      } else {  // the 2n floats of each row, through lane masks
        const __m256i lo = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(2 * n)), iota);
        const __m256i hi = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(2 * n - 8)), iota);
        a0 = _mm256_maskload_ps(r0 + 2 * ox, lo), a1 = _mm256_maskload_ps(r0 + 2 * ox + 8, hi);
        b0 = _mm256_maskload_ps(r1 + 2 * ox, lo), b1 = _mm256_maskload_ps(r1 + 2 * ox + 8, hi);
        m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(n)), iota);
      }
      __m256 v00, v01, v10, v11;
      split_avx2(a0, a1, v00, v01);
      split_avx2(b0, b1, v10, v11);
      const __m256 t0 = _mm256_and_ps(_mm256_cmp_ps(v00, v00, _CMP_ORD_Q), wins_avx2(v01, v00));
      const __m256 t1 = _mm256_and_ps(_mm256_cmp_ps(v10, v10, _CMP_ORD_Q), wins_avx2(v11, v10));
      const __m256 w0 = _mm256_blendv_ps(v00, v01, t0), w1 = _mm256_blendv_ps(v10, v11, t1), t = wins_avx2(w1, w0);
      const __m256 best = _mm256_blendv_ps(w0, w1, t);
      const __m256i off = blendi_avx2(_mm256_and_si256(_mm256_castps_si256(t0), one), blendi_avx2(down, diag, t1), t);
      const __m256i at = _mm256_add_epi32(_mm256_add_epi32(off, even), _mm256_set1_epi32(static_cast<int32_t>(2 * oy * W + 2 * ox)));
      if (n == 8) {
        _mm256_storeu_ps(o + ox, best);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(a + ox), at);
      } else {
        _mm256_maskstore_ps(o + ox, m, best);
        _mm256_maskstore_epi32(a + ox, m, at);
      }
    }
  }
}
#endif

void max2x2(const float* plane, int64_t W, int64_t rows, int64_t whole, int64_t oW, float* out, int32_t* am) {
#if PG_X86
  if (isa() == Isa::Avx512) return max2x2_avx512(plane, W, rows, whole, oW, out, am);
  if (isa() == Isa::Avx2) return max2x2_avx2(plane, W, rows, whole, oW, out, am);
#endif
  max2x2_portable(plane, W, rows, whole, oW, out, am);
}

// One window of any geometry, as the reference: the first valid tap, then the step rule row by row.
void max_window(const float* plane, const PoolGeo& g, int64_t oy, int64_t ox, float* out, int32_t* am) {
  float best = -std::numeric_limits<float>::infinity();
  int32_t at = -1;
  for (int64_t ky = 0; ky < g.kH; ky++) {
    const int64_t iy = oy * g.strideH - g.padH + ky * g.dilationH;
    if (iy < 0 || iy >= g.inH) continue;
    for (int64_t kx = 0; kx < g.kW; kx++) {
      const int64_t ix = ox * g.strideW - g.padW + kx * g.dilationW;
      if (ix < 0 || ix >= g.inW) continue;
      const int32_t i = static_cast<int32_t>(iy * g.inW + ix);
      const float v = plane[i];
      if (v > best || v != v || at < 0) {
        best = v;
        at = i;
        if (v != v) break;
      }
    }
  }
  *out = best;
  *am = at;
}

// For a 2×2 stride-2 pooling (no padding or dilation), the windows wholly inside the input: output
// rows [0, rows), columns [0, whole); none for other geometries. Ceil mode may add a partial last row
// or column.
struct Whole2x2 {
  int64_t rows = 0, whole = 0;
  explicit Whole2x2(const PoolGeo& g) {
    if (g.kH == 2 && g.kW == 2 && g.strideH == 2 && g.strideW == 2 && g.padH == 0 && g.padW == 0 && g.dilationH == 1 && g.dilationW == 1) {
      rows = std::min(g.outH, g.inH / 2);
      whole = std::min(g.outW, g.inW / 2);
    }
  }
  // fn(oy, ox) for every other window.
  template <class Fn>
  void each_partial(const PoolGeo& g, Fn&& fn) const {
    for (int64_t oy = 0; oy < g.outH; oy++)
      for (int64_t ox = oy < rows ? whole : 0; ox < g.outW; ox++) fn(oy, ox);
  }
};

int64_t planes(const PoolGeo& g) { return g.batch * g.channels; }

// fn(plane) for every plane, split across threads when the work (about `perPlane` each) pays.
template <class Fn>
void each_plane(const PoolGeo& g, int64_t perPlane, Fn&& fn) {
  parallel_ranges(planes(g), planes(g) * perPlane, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; p++) fn(p);
  });
}

}  // namespace

void max_pool2d(const float* x, float* out, int32_t* argmax, const PoolGeo& g) {
  const int64_t H = g.inH, W = g.inW, oH = g.outH, oW = g.outW;
  const Whole2x2 w(g);
  each_plane(g, oH * oW * g.kH * g.kW, [&](int64_t p) {
    const float* plane = x + p * H * W;
    float* o = out + p * oH * oW;
    int32_t* am = argmax + p * oH * oW;
    max2x2(plane, W, w.rows, w.whole, oW, o, am);
    w.each_partial(g, [&](int64_t oy, int64_t ox) { max_window(plane, g, oy, ox, o + oy * oW + ox, am + oy * oW + ox); });
  });
}

void max_pool2d_backward(const float* gOut, const int32_t* argmax, float* gx, const PoolGeo& g) {
  const int64_t inPlane = g.inH * g.inW, outPlane = g.outH * g.outW;
  each_plane(g, inPlane + outPlane, [&](int64_t p) {
    float* dst = gx + p * inPlane;
    const float* src = gOut + p * outPlane;
    const int32_t* am = argmax + p * outPlane;
    std::fill(dst, dst + inPlane, 0.0f);  // gx arrives uninitialised; inputs that win no window get 0
    for (int64_t o = 0; o < outPlane; o++) dst[am[o]] += src[o];
  });
}

namespace {

// Average pooling, forward (x → out) or backward (gOut → gx, spreading each gradient over its
// window), with the reference's window clipping and divisor; dilation does not apply, as there.
template <bool Backward>
void avg_pool(const float* from, float* to, const PoolGeo& g, bool countIncludePad, double divisor) {
  const int64_t H = g.inH, W = g.inW, oH = g.outH, oW = g.outW;
  each_plane(g, oH * oW * g.kH * g.kW, [&](int64_t p) {
    const float* src = from + p * (Backward ? oH * oW : H * W);
    float* dst = to + p * (Backward ? H * W : oH * oW);
    if (Backward) std::fill(dst, dst + H * W, 0.0f);  // gx arrives uninitialised; windows add into it
    for (int64_t oy = 0; oy < oH; oy++) {
      const int64_t ys = oy * g.strideH - g.padH, yeP = std::min(ys + g.kH, H + g.padH);
      const int64_t y0 = std::max<int64_t>(ys, 0), y1 = std::min(ys + g.kH, H);
      for (int64_t ox = 0; ox < oW; ox++) {
        const int64_t xs = ox * g.strideW - g.padW, xeP = std::min(xs + g.kW, W + g.padW);
        const int64_t x0 = std::max<int64_t>(xs, 0), x1 = std::min(xs + g.kW, W);
        const double div = divisor != 0 ? divisor
                           : countIncludePad ? static_cast<double>((yeP - ys) * (xeP - xs))
                                             : static_cast<double>((y1 - y0) * (x1 - x0));
        if (Backward) {
          const double v = src[oy * oW + ox] / div;
          for (int64_t y = y0; y < y1; y++)
            for (int64_t xx = x0; xx < x1; xx++) dst[y * W + xx] = static_cast<float>(dst[y * W + xx] + v);
        } else {
          double s = 0;
          for (int64_t y = y0; y < y1; y++)
            for (int64_t xx = x0; xx < x1; xx++) s += src[y * W + xx];
          dst[oy * oW + ox] = static_cast<float>(s / div);
        }
      }
    }
  });
}

}  // namespace

void avg_pool2d(const float* x, float* out, const PoolGeo& g, bool countIncludePad, double divisor) {
  avg_pool<false>(x, out, g, countIncludePad, divisor);
}

void avg_pool2d_backward(const float* gOut, float* gx, const PoolGeo& g, bool countIncludePad, double divisor) {
  avg_pool<true>(gOut, gx, g, countIncludePad, divisor);
}

// ---- N-API glue ----

PoolGeo pool_geometry(const Args& a, size_t i, const char* arg) {
  static const char* const names[] = {"batch", "channels", "inH", "inW", "kH", "kW", "strideH",
                                      "strideW", "padH", "padW", "dilationH", "dilationW", "outH", "outW"};
  PoolGeo g;
  read_geometry(a, i, arg, names, &g.batch, 14);
  if (g.kH < 1 || g.kW < 1 || g.strideH < 1 || g.strideW < 1 || g.dilationH < 1 || g.dilationW < 1)
    throw Error("kernel, stride and dilation must be at least 1, got " +
                dims({{"kH", g.kH}, {"kW", g.kW}, {"strideH", g.strideH}, {"strideW", g.strideW},
                      {"dilationH", g.dilationH}, {"dilationW", g.dilationW}}));
  // Plane indices are int32 (the argmax), and the window arithmetic stays far from overflow.
  if (g.inH * g.inW >= (int64_t{1} << 31) || g.outH * g.outW >= (int64_t{1} << 31))
    throw Error("planes too large: " + dims({{"inH", g.inH}, {"inW", g.inW}, {"outH", g.outH}, {"outW", g.outW}}));
  return g;
}

namespace {

int64_t in_size(const PoolGeo& g) { return product({g.batch, g.channels, g.inH, g.inW}); }
int64_t out_size(const PoolGeo& g) { return product({g.batch, g.channels, g.outH, g.outW}); }
std::string in_shape(const PoolGeo& g) { return "the input " + dims({{"N", g.batch}, {"C", g.channels}, {"H", g.inH}, {"W", g.inW}}); }
std::string out_shape(const PoolGeo& g) { return "the output " + dims({{"N", g.batch}, {"C", g.channels}, {"H", g.outH}, {"W", g.outW}}); }

// maxPool2d(x, out, argmax, geometry)
napi_value MaxPool2d(Args& a) {
  const PoolGeo g = pool_geometry(a, 3, "geometry");
  const F32 x = a.f32(0, "x"), out = a.f32(1, "out");
  const I32 argmax = a.i32(2, "argmax");
  check_length("x", x.length, in_size(g), [&] { return in_shape(g); });
  check_length("out", out.length, out_size(g), [&] { return out_shape(g); });
  check_length("argmax", argmax.length, out_size(g), [&] { return out_shape(g); });
  max_pool2d(x.data, out.data, argmax.data, g);
  return nullptr;
}

// maxPool2dBackward(gOut, argmax, gx, geometry)
napi_value MaxPool2dBackward(Args& a) {
  const PoolGeo g = pool_geometry(a, 3, "geometry");
  const F32 gOut = a.f32(0, "gOut"), gx = a.f32(2, "gx");
  const I32 argmax = a.i32(1, "argmax");
  check_length("gOut", gOut.length, out_size(g), [&] { return out_shape(g); });
  check_length("argmax", argmax.length, out_size(g), [&] { return out_shape(g); });
  check_length("gx", gx.length, in_size(g), [&] { return in_shape(g); });
  // The scatter writes where argmax points: every index must lie in its H×W plane. A branch-free
  // pass (it vectorises; a loop that stops at the first bad index does not), then the first one for the message.
  const uint32_t plane = static_cast<uint32_t>(g.inH * g.inW);
  uint32_t outside = 0;
  for (size_t i = 0; i < argmax.length; i++) outside |= static_cast<uint32_t>(argmax.data[i]) >= plane;
  for (size_t i = 0; outside && i < argmax.length; i++) {
    if (static_cast<uint32_t>(argmax.data[i]) >= plane)
      throw Error("'argmax' holds " + std::to_string(argmax.data[i]) + " at " + std::to_string(i) +
                  ", outside the input plane " + dims({{"H", g.inH}, {"W", g.inW}}));
  }
  max_pool2d_backward(gOut.data, argmax.data, gx.data, g);
  return nullptr;
}

// avgPool2d(x, out, geometry, countIncludePad, divisor)
napi_value AvgPool2d(Args& a) {
  const PoolGeo g = pool_geometry(a, 2, "geometry");
  const F32 x = a.f32(0, "x"), out = a.f32(1, "out");
  check_length("x", x.length, in_size(g), [&] { return in_shape(g); });
  check_length("out", out.length, out_size(g), [&] { return out_shape(g); });
  avg_pool2d(x.data, out.data, g, a.boolean(3, "countIncludePad"), a.number(4, "divisor"));
  return nullptr;
}

// avgPool2dBackward(gOut, gx, geometry, countIncludePad, divisor)
napi_value AvgPool2dBackward(Args& a) {
  const PoolGeo g = pool_geometry(a, 2, "geometry");
  const F32 gOut = a.f32(0, "gOut"), gx = a.f32(1, "gx");
  check_length("gOut", gOut.length, out_size(g), [&] { return out_shape(g); });
  check_length("gx", gx.length, in_size(g), [&] { return in_shape(g); });
  avg_pool2d_backward(gOut.data, gx.data, g, a.boolean(3, "countIncludePad"), a.number(4, "divisor"));
  return nullptr;
}

PG_EXPORT("maxPool2d", MaxPool2d);
PG_EXPORT("maxPool2dBackward", MaxPool2dBackward);
PG_EXPORT("avgPool2d", AvgPool2d);
PG_EXPORT("avgPool2dBackward", AvgPool2dBackward);

}  // namespace
}  // namespace pg
