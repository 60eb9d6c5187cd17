// Log-softmax and its gradient over float32 x viewed as [outer, axisLength, inner], contiguous; the
// semantics of the JS reference (src/backend/js/softmax.ts): m, the axis's largest value (an
// infinite m makes the column NaN, as in PyTorch); out = x − m − log Σ exp(x − m);
// gx = g − exp(out)·Σ g. Sums are float64; exp and log are vecmath.h's float32 ones, which
// vectorise. With inner = 1 (class scores in rows) each row is one contiguous run; otherwise tiles of
// columns are walked row by row, each column's values kept per lane. Rows (tiles) are split across
// threads, each computed by one thread in a fixed order.
#include <cmath>

#include "nn.h"
#include "vecmath.h"

namespace pg {
namespace {

// Columns per tile when inner > 1: the tile's per-column state (m, the sum, log of the sum) stays in L1.
constexpr int64_t kTile = 256;
// Rough scalar operations per element (exp's polynomial, the passes), for parallel_ranges.
constexpr int64_t kWorkPerElement = 16;

// The largest value of p[0..n) other than NaN (−∞ when none), in 16 interleaved partial maxima. It
// skips NaN (a plain select, which vectorises): a NaN makes the sum, hence its whole row, NaN anyway.
PG_INLINE float row_max(const float* p, int64_t n) {
  constexpr int kLanes = 16;
  float part[kLanes];
  for (int j = 0; j < kLanes; j++) part[j] = -INFINITY;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; j++) part[j] = p[i + j] > part[j] ? p[i + j] : part[j];
  float m = -INFINITY;
  for (int j = 0; j < kLanes; j++) m = part[j] > m ? part[j] : m;
  for (; i < n; i++) m = p[i] > m ? p[i] : m;
  return m;
}

// exp(x − m) goes through `out` first, so that each pass is a plain vectorised loop.
PG_INLINE void rows_forward_body(const float* x, float* out, int64_t rows, int64_t L) {
  for (int64_t r = 0; r < rows; r++, x += L, out += L) {
    const float m = row_max(x, L);
    for (int64_t j = 0; j < L; j++) out[j] = expF(x[j] - m);
    const float ls = logF(static_cast<float>(sum_floats(out, L)));
    for (int64_t j = 0; j < L; j++) out[j] = (x[j] - m) - ls;
  }
}
PG_ISA_VARIANTS(rows_forward, (const float* x, float* out, int64_t rows, int64_t L), (x, out, rows, L))

// Columns [0, n) of one [L, inner] block, n ≤ kTile.
PG_INLINE void tile_forward_body(const float* x, float* out, int64_t L, int64_t inner, int64_t n) {
  float m[kTile], ls[kTile];
  double s[kTile];
  for (int64_t i = 0; i < n; i++) m[i] = -INFINITY;
  for (int64_t j = 0; j < L; j++) {
    const float* row = x + j * inner;
    for (int64_t i = 0; i < n; i++) m[i] = row[i] > m[i] ? row[i] : m[i];
  }
  for (int64_t i = 0; i < n; i++) s[i] = 0;
  for (int64_t j = 0; j < L; j++) {
    const float* row = x + j * inner;
    for (int64_t i = 0; i < n; i++) s[i] += expF(row[i] - m[i]);
  }
  for (int64_t i = 0; i < n; i++) ls[i] = logF(static_cast<float>(s[i]));
  for (int64_t j = 0; j < L; j++) {
    const float* row = x + j * inner;
    float* o = out + j * inner;
    for (int64_t i = 0; i < n; i++) o[i] = (row[i] - m[i]) - ls[i];
  }
}
PG_ISA_VARIANTS(tile_forward, (const float* x, float* out, int64_t L, int64_t inner, int64_t n), (x, out, L, inner, n))

PG_INLINE void rows_backward_body(const float* g, const float* out, float* gx, int64_t rows, int64_t L) {
  for (int64_t r = 0; r < rows; r++, g += L, out += L, gx += L) {
    const float s = static_cast<float>(sum_floats(g, L));
    for (int64_t j = 0; j < L; j++) gx[j] = g[j] - expF(out[j]) * s;
  }
}
PG_ISA_VARIANTS(rows_backward, (const float* g, const float* out, float* gx, int64_t rows, int64_t L), (g, out, gx, rows, L))

PG_INLINE void tile_backward_body(const float* g, const float* out, float* gx, int64_t L, int64_t inner, int64_t n) {
  double s[kTile];
  float sf[kTile];
  for (int64_t i = 0; i < n; i++) s[i] = 0;
  for (int64_t j = 0; j < L; j++) {
    const float* row = g + j * inner;
    for (int64_t i = 0; i < n; i++) s[i] += row[i];
  }
  for (int64_t i = 0; i < n; i++) sf[i] = static_cast<float>(s[i]);
  for (int64_t j = 0; j < L; j++) {
    const int64_t at = j * inner;
    for (int64_t i = 0; i < n; i++) gx[at + i] = g[at + i] - expF(out[at + i]) * sf[i];
  }
}
PG_ISA_VARIANTS(tile_backward, (const float* g, const float* out, float* gx, int64_t L, int64_t inner, int64_t n),
                (g, out, gx, L, inner, n))

// fn(offset, columns) for every tile of every block, split across threads.
template <class Fn>
void for_tiles(int64_t outer, int64_t L, int64_t inner, Fn&& fn) {
  const int64_t tiles = (inner + kTile - 1) / kTile;
  parallel_ranges(outer * tiles, outer * L * inner * kWorkPerElement, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; t++) {
      const int64_t o = t / tiles, i0 = (t % tiles) * kTile;
      fn(o * L * inner + i0, std::min(kTile, inner - i0));
    }
  });
}

void log_softmax(const float* x, float* out, int64_t outer, int64_t L, int64_t inner) {
  if (inner == 1) {
    parallel_ranges(outer, outer * L * kWorkPerElement, [&](int64_t r0, int64_t r1) {
      rows_forward(x + r0 * L, out + r0 * L, r1 - r0, L);
    });
  } else {
    for_tiles(outer, L, inner, [&](int64_t at, int64_t n) { tile_forward(x + at, out + at, L, inner, n); });
  }
}

void log_softmax_backward(const float* g, const float* out, float* gx, int64_t outer, int64_t L, int64_t inner) {
  if (inner == 1) {
    parallel_ranges(outer, outer * L * kWorkPerElement, [&](int64_t r0, int64_t r1) {
      rows_backward(g + r0 * L, out + r0 * L, gx + r0 * L, r1 - r0, L);
    });
  } else {
    for_tiles(outer, L, inner, [&](int64_t at, int64_t n) { tile_backward(g + at, out + at, gx + at, L, inner, n); });
  }
}

// ---- N-API glue ----

// outer, axisLength and inner from arguments i, i + 1, i + 2, checked; returns their product.
int64_t read_view(const Args& a, size_t i, int64_t* outer, int64_t* L, int64_t* inner) {
  *outer = a.int64(i, "outer");
  *L = a.int64(i + 1, "axisLength");
  *inner = a.int64(i + 2, "inner");
  if (*outer < 0 || *L < 0 || *inner < 0)
    throw Error("outer, axisLength and inner must not be negative, got " + dims({{"outer", *outer}, {"axisLength", *L}, {"inner", *inner}}));
  return product({*outer, *L, *inner});
}

std::string view_shape(int64_t outer, int64_t L, int64_t inner) {
  return "the view " + dims({{"outer", outer}, {"axisLength", L}, {"inner", inner}});
}

// logSoftmax(x, outer, axisLength, inner, out)
napi_value LogSoftmax(Args& args) {
  int64_t outer, L, inner;
  const int64_t size = read_view(args, 1, &outer, &L, &inner);
  const F32 x = args.f32(0, "x"), out = args.f32(4, "out");
  check_length("x", x.length, size, [&] { return view_shape(outer, L, inner); });
  check_length("out", out.length, size, [&] { return view_shape(outer, L, inner); });
  log_softmax(x.data, out.data, outer, L, inner);
  return nullptr;
}

// logSoftmaxBackward(g, out, outer, axisLength, inner, gx)
napi_value LogSoftmaxBackward(Args& args) {
  int64_t outer, L, inner;
  const int64_t size = read_view(args, 2, &outer, &L, &inner);
  const F32 g = args.f32(0, "g"), out = args.f32(1, "out"), gx = args.f32(5, "gx");
  check_length("g", g.length, size, [&] { return view_shape(outer, L, inner); });
  check_length("out", out.length, size, [&] { return view_shape(outer, L, inner); });
  check_length("gx", gx.length, size, [&] { return view_shape(outer, L, inner); });
  log_softmax_backward(g.data, out.data, gx.data, outer, L, inner);
  return nullptr;
}

PG_EXPORT("logSoftmax", LogSoftmax);
PG_EXPORT("logSoftmaxBackward", LogSoftmaxBackward);

}  // namespace
}  // namespace pg
