// 2-D convolution (NCHW input, OIHW weight, groups, stride, padding, dilation) and its two
// gradients, as the JS reference computes them: im2col + GEMM per image and group, col2im for the
// input gradient (which is also the transposed convolution). 1×1 convolutions with stride 1 and no
// padding multiply the image itself. The column matrix is built for a block of output rows at a time
// so that it stays in the per-core cache between im2col and the GEMM, and its size stays bounded.
//
// Threads: forward and input gradient split the batch (each image written by one task); when the
// batch is smaller than the pool, images run one after another with the GEMM itself parallel. The
// weight gradient sums over images: the batch is cut into a fixed number of slices (independent of
// the thread count), each slice accumulates its own partial gradient, and the partials are added in
// slice order — so the bits depend on neither timing nor the number of threads.
#include <cmath>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "nn.h"

namespace pg {
namespace {

// Floats of column matrix per block: 512 KB, half the per-core L2 of current x86 cores.
constexpr int64_t kColBlock = 1 << 17;
// The weight gradient's slices: at most this many, and their partial gradients at most kMaxPartials floats.
constexpr int64_t kMaxSlices = 16;
constexpr int64_t kMaxPartials = 1 << 22;

struct Sizes {
  int64_t cg, og, K, P, inPlane;
  explicit Sizes(const ConvGeo& g)
      : cg(g.inC / g.groups), og(g.outC / g.groups), K(cg * g.kH * g.kW), P(g.outH * g.outW), inPlane(g.inH * g.inW) {}
};

bool pointwise(const ConvGeo& g) {
  return g.kH == 1 && g.kW == 1 && g.strideH == 1 && g.strideW == 1 && g.padH == 0 && g.padW == 0;
}

// Output rows per column block.
int64_t block_rows(const ConvGeo& g, int64_t K) { return std::clamp<int64_t>(kColBlock / std::max<int64_t>(1, K * g.outW), 1, g.outH); }

// First o ≥ 0 with o·s + off ≥ 0.
int64_t first_at_least(int64_t off, int64_t s) { return off >= 0 ? 0 : (-off + s - 1) / s; }

// The output columns [lo, hi) whose tap kx reads inside the image, at ix = ox·strideW + off.
struct Span {
  int64_t lo, hi, off;
};
Span inside(const ConvGeo& g, int64_t kx) {
  const int64_t off = kx * g.dilationW - g.padW;
  const int64_t lo = std::min(first_at_least(off, g.strideW), g.outW);
  return {lo, std::max(lo, std::min(g.outW, first_at_least(off - g.inW, g.strideW))), off};
}

// Unfolds output rows [oy0, oy1) of the cg planes at x into col[K, (oy1 − oy0)·outW]: row
// (c, ky, kx), one column per output pixel, zeros for taps outside the image.
void im2col(const float* x, int64_t cg, const ConvGeo& g, int64_t oy0, int64_t oy1, float* col) {
  const int64_t H = g.inH, W = g.inW, oW = g.outW;
  float* dst = col;
  for (int64_t c = 0; c < cg; c++) {
    const float* plane = x + c * H * W;
    for (int64_t ky = 0; ky < g.kH; ky++) {
      for (int64_t kx = 0; kx < g.kW; kx++) {
        const Span s = inside(g, kx);
        for (int64_t oy = oy0; oy < oy1; oy++, dst += oW) {
          const int64_t iy = oy * g.strideH - g.padH + ky * g.dilationH;
          if (iy < 0 || iy >= H) {
            std::fill(dst, dst + oW, 0.0f);
            continue;
          }
          const float* row = plane + iy * W + s.off;
          std::fill(dst, dst + s.lo, 0.0f);
          if (g.strideW == 1) std::memcpy(dst + s.lo, row + s.lo, (s.hi - s.lo) * sizeof(float));
          else for (int64_t ox = s.lo; ox < s.hi; ox++) dst[ox] = row[ox * g.strideW];
          std::fill(dst + s.hi, dst + oW, 0.0f);
        }
      }
    }
  }
}

// The adjoint of im2col: adds col[K, (oy1 − oy0)·outW] back into the cg planes at x.
void col2im(const float* col, int64_t cg, const ConvGeo& g, int64_t oy0, int64_t oy1, float* x) {
  const int64_t H = g.inH, W = g.inW, oW = g.outW;
  const float* src = col;
  for (int64_t c = 0; c < cg; c++) {
    float* plane = x + c * H * W;
    for (int64_t ky = 0; ky < g.kH; ky++) {
      for (int64_t kx = 0; kx < g.kW; kx++) {
        const Span s = inside(g, kx);
        for (int64_t oy = oy0; oy < oy1; oy++, src += oW) {
          const int64_t iy = oy * g.strideH - g.padH + ky * g.dilationH;
          if (iy < 0 || iy >= H) continue;
          float* row = plane + iy * W + s.off;
          if (g.strideW == 1) for (int64_t ox = s.lo; ox < s.hi; ox++) row[ox] += src[ox];
          else for (int64_t ox = s.lo; ox < s.hi; ox++) row[ox * g.strideW] += src[ox];
        }
      }
    }
  }
}

// The calling thread's column buffer, at least n floats; reused across calls.
float* scratch(int64_t n) {
  thread_local std::vector<float> buffer;
  if (static_cast<int64_t>(buffer.size()) < n) buffer.resize(n);
  return buffer.data();
}

// image(n) for every image: one task per image when the batch fills the pool, else in turn (each
// image's GEMMs then use the pool).
template <class Fn>
void each_image(int64_t N, Fn&& image) {
  if (N >= num_threads()) parallel_for(N, [&](int64_t n) { image(n); });
  else for (int64_t n = 0; n < N; n++) image(n);
}

}  // namespace

void conv2d(const float* x, const float* w, const float* bias, float* out, const ConvGeo& g) {
  const Sizes s(g);
  const int64_t rows = block_rows(g, s.K);
  each_image(g.batch, [&](int64_t n) {
    float* col = pointwise(g) ? nullptr : scratch(s.K * rows * g.outW);
    for (int64_t grp = 0; grp < g.groups; grp++) {
      const float* xs = x + (n * g.inC + grp * s.cg) * s.inPlane;
      const float* wg = w + grp * s.og * s.K;
      float* os = out + (n * g.outC + grp * s.og) * s.P;
      if (!col) {
        sgemm(s.og, s.P, s.K, wg, s.K, 1, xs, s.P, 1, os, s.P, false);
        continue;
      }
      for (int64_t oy0 = 0; oy0 < g.outH; oy0 += rows) {
        const int64_t oy1 = std::min(g.outH, oy0 + rows), np = (oy1 - oy0) * g.outW;
        im2col(xs, s.cg, g, oy0, oy1, col);
        sgemm(s.og, np, s.K, wg, s.K, 1, col, np, 1, os + oy0 * g.outW, s.P, false);
      }
    }
    if (bias) {
      for (int64_t o = 0; o < g.outC; o++) {
        float* p = out + (n * g.outC + o) * s.P;
        const float b = bias[o];
        for (int64_t i = 0; i < s.P; i++) p[i] += b;
      }
    }
  });
}

void conv2d_backward_input(const float* gOut, const float* w, float* gx, const ConvGeo& g) {
  const Sizes s(g);
  const int64_t rows = block_rows(g, s.K);
  each_image(g.batch, [&](int64_t n) {
    float* col = pointwise(g) ? nullptr : scratch(s.K * rows * g.outW);
    for (int64_t grp = 0; grp < g.groups; grp++) {
      const float* gs = gOut + (n * g.outC + grp * s.og) * s.P;
      const float* wg = w + grp * s.og * s.K;  // read transposed: element (k, o) of wgᵀ is wg[o·K + k]
      float* xs = gx + (n * g.inC + grp * s.cg) * s.inPlane;
      if (!col) {
        sgemm(s.K, s.P, s.og, wg, 1, s.K, gs, s.P, 1, xs, s.P, false);
        continue;
      }
      for (int64_t oy0 = 0; oy0 < g.outH; oy0 += rows) {
        const int64_t oy1 = std::min(g.outH, oy0 + rows), np = (oy1 - oy0) * g.outW;
        sgemm(s.K, np, s.og, wg, 1, s.K, gs + oy0 * g.outW, s.P, 1, col, np, false);
        col2im(col, s.cg, g, oy0, oy1, xs);
      }
    }
  });
}

void conv2d_backward_weight(const float* x, const float* gOut, float* gw, const ConvGeo& g) {
  const Sizes s(g);
  const int64_t rows = block_rows(g, s.K), size = g.outC * s.K;
  const int64_t slices = std::max<int64_t>(1, std::min({g.batch, kMaxSlices, kMaxPartials / std::max<int64_t>(1, size)}));
  // Each slice sums gwᵀ (per group [K, og]): the GEMM then packs the small gOut rather than the
  // column matrix, which it reads as its A operand in rows (no strided gather of colᵀ).
  std::vector<float> partials(slices * size, 0.0f);
  auto slice = [&](int64_t t) {
    float* dst = partials.data() + t * size;
    float* col = pointwise(g) ? nullptr : scratch(s.K * rows * g.outW);
    for (int64_t n = g.batch * t / slices; n < g.batch * (t + 1) / slices; n++) {
      for (int64_t grp = 0; grp < g.groups; grp++) {
        const float* xs = x + (n * g.inC + grp * s.cg) * s.inPlane;
        const float* gs = gOut + (n * g.outC + grp * s.og) * s.P;
        float* d = dst + grp * s.K * s.og;
        // d[K, og] += col[K, P] · gsᵀ: element (p, o) of gsᵀ is gs[o·P + p].
        if (!col) {
          sgemm(s.K, s.og, s.P, xs, s.P, 1, gs, 1, s.P, d, s.og, true);
          continue;
        }
        for (int64_t oy0 = 0; oy0 < g.outH; oy0 += rows) {
          const int64_t oy1 = std::min(g.outH, oy0 + rows), np = (oy1 - oy0) * g.outW;
          im2col(xs, s.cg, g, oy0, oy1, col);
          sgemm(s.K, s.og, np, col, np, 1, gs + oy0 * g.outW, 1, s.P, d, s.og, true);
        }
      }
    }
  };
  if (slices >= num_threads()) parallel_for(slices, slice);
  else for (int64_t t = 0; t < slices; t++) slice(t);
  // gw (zero-filled by the caller) += the slices' sums in slice order, transposed back per group.
  for (int64_t grp = 0; grp < g.groups; grp++) {
    for (int64_t o = 0; o < s.og; o++) {
      float* dst = gw + (grp * s.og + o) * s.K;
      for (int64_t t = 0; t < slices; t++) {
        const float* src = partials.data() + t * size + grp * s.K * s.og + o;
        for (int64_t k = 0; k < s.K; k++) dst[k] += src[k * s.og];
      }
    }
  }
}

// ---- N-API glue and the argument checks shared by the pooling and batch-norm glue ----

std::string dims(std::initializer_list<std::pair<const char*, int64_t>> named) {
  std::string s = "[";
  for (const auto& [name, v] : named) s += (s.size() > 1 ? ", " : "") + std::string(name) + "=" + std::to_string(v);
  return s + "]";
}

void check_length(const char* arg, size_t length, int64_t want, const std::string& shape) {
  check(static_cast<int64_t>(length) == want, std::string("'") + arg + "' has " + std::to_string(length) +
                                                   " elements, but " + shape + " needs " + std::to_string(want));
}

void read_geometry(const Args& a, size_t i, const char* arg, const char* const* names, int64_t* fields, size_t count) {
  napi_env env = a.env();
  napi_value obj = a.raw(i);
  napi_valuetype type;
  napi_typeof(env, obj, &type);
  check(type == napi_object, std::string("argument '") + arg + "' must be a geometry object");
  for (size_t f = 0; f < count; f++) {
    napi_value v;
    double d = NAN;
    if (napi_get_named_property(env, obj, names[f], &v) != napi_ok || napi_get_value_double(env, v, &d) != napi_ok ||
        !(d >= 0 && d < 2147483648.0 && d == std::floor(d)))
      throw Error(std::string("'") + arg + "." + names[f] + "' must be an integer in [0, 2^31)");
    fields[f] = static_cast<int64_t>(d);
  }
}

int64_t product(std::initializer_list<int64_t> xs) {
  int64_t p = 1;
  for (int64_t x : xs) check(!__builtin_mul_overflow(p, x, &p), "sizes overflow int64");
  return p;
}

namespace {

// Output size along one axis (0 when the dilated window does not fit).
int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  const int64_t span = in + 2 * p - d * (k - 1) - 1;
  return span < 0 ? 0 : span / s + 1;
}

// The geometry of argument i, checked to be a convolution and to match the arrays' lengths.
ConvGeo conv_geometry(const Args& a, size_t i) {
  static const char* const names[] = {"batch", "inChannels", "inH", "inW", "outChannels", "kH", "kW", "strideH",
                                      "strideW", "padH", "padW", "dilationH", "dilationW", "groups", "outH", "outW"};
  ConvGeo g;
  read_geometry(a, i, "geometry", names, &g.batch, 16);
  check(g.kH >= 1 && g.kW >= 1 && g.strideH >= 1 && g.strideW >= 1 && g.dilationH >= 1 && g.dilationW >= 1,
        "kernel, stride and dilation must be at least 1, got " +
            dims({{"kH", g.kH}, {"kW", g.kW}, {"strideH", g.strideH}, {"strideW", g.strideW},
                  {"dilationH", g.dilationH}, {"dilationW", g.dilationW}}));
  check(g.groups >= 1 && g.inC % g.groups == 0 && g.outC % g.groups == 0,
        "groups must divide both channel counts, got " + dims({{"groups", g.groups}, {"inChannels", g.inC}, {"outChannels", g.outC}}));
  const int64_t oH = conv_out(g.inH, g.kH, g.strideH, g.padH, g.dilationH), oW = conv_out(g.inW, g.kW, g.strideW, g.padW, g.dilationW);
  check(g.outH == oH && g.outW == oW,
        "output size " + dims({{"outH", g.outH}, {"outW", g.outW}}) + " does not follow from the input " +
            dims({{"inH", g.inH}, {"inW", g.inW}}) + " and the window (expected " + dims({{"outH", oH}, {"outW", oW}}) + ")");
  return g;
}

std::string input_shape(const ConvGeo& g) { return "the input " + dims({{"N", g.batch}, {"C", g.inC}, {"H", g.inH}, {"W", g.inW}}); }
std::string output_shape(const ConvGeo& g) { return "the output " + dims({{"N", g.batch}, {"C", g.outC}, {"H", g.outH}, {"W", g.outW}}); }
std::string weight_shape(const ConvGeo& g) {
  return "the weight " + dims({{"O", g.outC}, {"I/groups", g.inC / g.groups}, {"kH", g.kH}, {"kW", g.kW}});
}
int64_t input_size(const ConvGeo& g) { return product({g.batch, g.inC, g.inH, g.inW}); }
int64_t output_size(const ConvGeo& g) { return product({g.batch, g.outC, g.outH, g.outW}); }
int64_t weight_size(const ConvGeo& g) { return product({g.outC, g.inC / g.groups, g.kH, g.kW}); }

// conv2d(x, w, bias | null, out, geometry)
napi_value Conv2d(Args& a) {
  const ConvGeo g = conv_geometry(a, 4);
  const F32 x = a.f32(0, "x"), w = a.f32(1, "w"), bias = a.f32OrNull(2, "bias"), out = a.f32(3, "out");
  check_length("x", x.length, input_size(g), input_shape(g));
  check_length("w", w.length, weight_size(g), weight_shape(g));
  if (bias.data) check_length("bias", bias.length, g.outC, dims({{"outChannels", g.outC}}));
  check_length("out", out.length, output_size(g), output_shape(g));
  conv2d(x.data, w.data, bias.data, out.data, g);
  return nullptr;
}

// conv2dBackwardInput(gOut, w, gx, geometry)
napi_value Conv2dBackwardInput(Args& a) {
  const ConvGeo g = conv_geometry(a, 3);
  const F32 gOut = a.f32(0, "gOut"), w = a.f32(1, "w"), gx = a.f32(2, "gx");
  check_length("gOut", gOut.length, output_size(g), output_shape(g));
  check_length("w", w.length, weight_size(g), weight_shape(g));
  check_length("gx", gx.length, input_size(g), input_shape(g));
  conv2d_backward_input(gOut.data, w.data, gx.data, g);
  return nullptr;
}

// conv2dBackwardWeight(x, gOut, gw, geometry)
napi_value Conv2dBackwardWeight(Args& a) {
  const ConvGeo g = conv_geometry(a, 3);
  const F32 x = a.f32(0, "x"), gOut = a.f32(1, "gOut"), gw = a.f32(2, "gw");
  check_length("x", x.length, input_size(g), input_shape(g));
  check_length("gOut", gOut.length, output_size(g), output_shape(g));
  check_length("gw", gw.length, weight_size(g), weight_shape(g));
  conv2d_backward_weight(x.data, gOut.data, gw.data, g);
  return nullptr;
}

PG_EXPORT("conv2d", Conv2d);
PG_EXPORT("conv2dBackwardInput", Conv2dBackwardInput);
PG_EXPORT("conv2dBackwardWeight", Conv2dBackwardWeight);

}  // namespace
}  // namespace pg
