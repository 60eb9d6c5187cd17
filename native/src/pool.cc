// 2-D max and average pooling and their gradients, bit for bit as the JS reference: the same window
// order, first-max ties, NaN handling (a NaN wins and ends its window row), the divisor rules and
// float64 window sums. Planes (image, channel) are split across threads; each is written by one
// task. The common 2×2 stride-2 max pool has a branch-free loop the compiler vectorises.
#include <cmath>
#include <limits>

#include "nn.h"

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

// The windows [0, count) of a 2×2 stride-2 output row whose input rows r0 and r1 = r0 + W start at
// input index i0 (windows wholly inside the input).
PG_INLINE void max2x2_row_body(const float* r0, const float* r1, int32_t i0, int32_t W, int64_t count, float* out, int32_t* am) {
  for (int64_t ox = 0; ox < count; ox++) {
    const int32_t i = i0 + 2 * static_cast<int32_t>(ox);
    const float v00 = r0[2 * ox], v10 = r1[2 * ox];
    float best = v00;
    int32_t at = i;
    max_step(r0[2 * ox + 1], i + 1, v00 == v00, best, at);
    max_step(v10, i + W, true, best, at);
    max_step(r1[2 * ox + 1], i + W + 1, v10 == v10, best, at);
    out[ox] = best;
    am[ox] = at;
  }
}
PG_ISA_VARIANTS(max2x2_row, (const float* r0, const float* r1, int32_t i0, int32_t W, int64_t count, float* out, int32_t* am),
                (r0, r1, i0, W, count, out, am))

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
  const bool fast = g.kH == 2 && g.kW == 2 && g.strideH == 2 && g.strideW == 2 && g.padH == 0 && g.padW == 0 &&
                    g.dilationH == 1 && g.dilationW == 1;
  // In fast rows, the windows wholly inside the input (ceil mode may add a partial last row or column).
  const int64_t whole = std::min(oW, W / 2);
  each_plane(g, oH * oW * g.kH * g.kW, [&](int64_t p) {
    const float* plane = x + p * H * W;
    for (int64_t oy = 0; oy < oH; oy++) {
      float* o = out + (p * oH + oy) * oW;
      int32_t* am = argmax + (p * oH + oy) * oW;
      int64_t ox = 0;
      if (fast && 2 * oy + 1 < H) {
        const float* r0 = plane + 2 * oy * W;
        max2x2_row(r0, r0 + W, static_cast<int32_t>(2 * oy * W), static_cast<int32_t>(W), whole, o, am);
        ox = whole;
      }
      for (; ox < oW; ox++) max_window(plane, g, oy, ox, o + ox, am + ox);
    }
  });
}

void max_pool2d_backward(const float* gOut, const int32_t* argmax, float* gx, const PoolGeo& g) {
  const int64_t inPlane = g.inH * g.inW, outPlane = g.outH * g.outW;
  each_plane(g, outPlane, [&](int64_t p) {
    float* dst = gx + p * inPlane;
    const float* src = gOut + p * outPlane;
    const int32_t* am = argmax + p * outPlane;
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
  // The scatter writes where argmax points: every index must lie in its H×W plane.
  const int64_t plane = g.inH * g.inW;
  for (size_t i = 0; i < argmax.length; i++) {
    if (argmax.data[i] < 0 || argmax.data[i] >= plane)
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
