// Element-wise kernels, reductions and strided copies of the native backend, float32. Operands come
// as collapsed dims with per-operand element strides (0 along broadcast dims), the output is
// contiguous; the TS side does the collapsing (src/backend/native/index.ts). Large calls are cut into
// ranges of the output run on the pool; every element is computed the same way whatever the cut.
// The math is float32, within a few ulp of the float64 JS reference: libm's float functions, except
// exp, log, sigmoid and tanh (vecmath.h), which vectorise; unary and binary loops are compiled for each
// instruction set.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "napi_util.h"
#include "isa.h"
#include "threadpool.h"
#include "vecmath.h"

namespace pg {
namespace {

constexpr int kMaxDims = 16;
constexpr int kMaxOperands = 3;
// Output elements per task of a parallel element-wise call (below twice this, one thread).
constexpr int64_t kChunk = 32 * 1024;

// A collapsed iteration space: dims, and each input operand's element strides along them.
struct Layout {
  int nd = 0;
  int operands = 0;
  int64_t dims[kMaxDims];
  int64_t strides[kMaxOperands][kMaxDims];
  int64_t size() const {
    int64_t n = 1;
    for (int d = 0; d < nd; d++) n *= dims[d];
    return n;
  }
};

// Reads a layout: an Int32Array whose first (operands + 1)·nd entries are the dims, then each
// operand's strides along them, and nd, the next argument. (The caller reuses one array: a fresh small
// typed array lives on V8's heap and must be moved out of it for N-API, which costs more than small kernels.)
Layout readLayout(const Args& a, size_t i, int operands) {
  Layout L;
  I32 meta = a.i32(i, "layout");
  const int64_t nd = a.int64(i + 1, "nd");
  PG_CHECK(nd >= 1 && nd <= kMaxDims, "nd must be in [1, 16], got " + std::to_string(nd));
  PG_CHECK(static_cast<int64_t>(meta.length) >= nd * (operands + 1),
           "layout holds " + std::to_string(meta.length) + " numbers, fewer than " + std::to_string(nd * (operands + 1)));
  L.nd = static_cast<int>(nd);
  L.operands = operands;
  for (int d = 0; d < L.nd; d++) {
    PG_CHECK(meta.data[d] >= 0, "layout: dims must not be negative");
    L.dims[d] = meta.data[d];
  }
  for (int k = 0; k < operands; k++)
    for (int d = 0; d < L.nd; d++) L.strides[k][d] = meta.data[(k + 1) * L.nd + d];
  return L;
}

// The largest element offset an operand reaches (so its length can be checked), or -1 when empty.
int64_t maxOffset(const Layout& L, int k) {
  int64_t m = 0;
  for (int d = 0; d < L.nd; d++) {
    if (L.dims[d] == 0) return -1;
    m += (L.dims[d] - 1) * std::max<int64_t>(L.strides[k][d], 0);
  }
  return m;
}

void checkOperand(const Layout& L, int k, size_t length, const char* name) {
  PG_CHECK(maxOffset(L, k) < static_cast<int64_t>(length),
        std::string("argument '") + name + "' is too short for its dims and strides");
}

// Calls run(off, n, o) for the runs of the innermost dim that cover output elements [lo, hi):
// off[k] is where operand k starts, n the run's length and o the output offset.
template <class Run>
PG_INLINE void forRuns(const Layout& L, int64_t lo, int64_t hi, Run run) {
  const int nd = L.nd, K = L.operands;
  int64_t idx[kMaxDims];
  int64_t off[kMaxOperands] = {0, 0, 0};
  int64_t rem = lo;
  for (int d = nd - 1; d >= 0; d--) {
    idx[d] = rem % L.dims[d];
    rem /= L.dims[d];
    for (int k = 0; k < K; k++) off[k] += idx[d] * L.strides[k][d];
  }
  const int last = nd - 1;
  for (int64_t o = lo; o < hi;) {
    int64_t n = std::min(L.dims[last] - idx[last], hi - o);
    run(off, n, o);
    o += n;
    idx[last] += n;
    for (int k = 0; k < K; k++) off[k] += n * L.strides[k][last];
    for (int d = last; d > 0 && idx[d] == L.dims[d]; d--) {
      idx[d] = 0;
      idx[d - 1]++;
      for (int k = 0; k < K; k++) off[k] += L.strides[k][d - 1] - L.dims[d] * L.strides[k][d];
    }
  }
}

// Runs body(lo, hi) over [0, n), cut into ranges on the pool when n is large.
template <class Body>
void parallelRanges(int64_t n, Body body) {
  int64_t tasks = std::min<int64_t>(n / kChunk, 4 * static_cast<int64_t>(num_threads()));
  if (tasks < 2) return body(0, n);
  parallel_for(tasks, [&](int64_t t) { body(n * t / tasks, n * (t + 1) / tasks); });
}

// The row of a per-ISA kernel table ([avx512, avx2, portable]) for the instruction set in use.
int isaIndex() {
  const Isa chosen = isa();
  return chosen == Isa::Avx512 ? 0 : chosen == Isa::Avx2 ? 1 : 2;
}

// ---- unary ----

enum UnaryCode { kNeg, kExp, kLog, kSqrt, kAbs, kSign, kErf, kRelu, kSigmoid, kTanh, kLeakyRelu, kElu, kGelu,
                 kGeluTanh, kSoftplus, kClamp, kUnaryCount };

template <int Op>
inline float unaryFn(float x, float p0, float p1) {
  switch (Op) {
    case kNeg: return -x;
    case kExp: return expF(x);
    case kLog: return logF(x);
    case kSqrt: return std::sqrt(x);
    case kAbs: return std::fabs(x);
    case kSign: return x > 0 ? 1.0f : x < 0 ? -1.0f : x;  // keeps ±0 and NaN, as Math.sign
    case kErf: return std::erf(x);
    case kRelu: return x < 0 ? 0.0f : x;
    case kSigmoid: return sigmoidF(x);
    case kTanh: return tanhF(x);
    case kLeakyRelu: return x < 0 ? p0 * x : x;
    case kElu: return x > 0 ? x : p0 * std::expm1(x);
    case kGelu: return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
    case kGeluTanh: return 0.5f * x * (1.0f + tanhF(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case kSoftplus: return x * p0 > p1 ? x : std::log1p(std::exp(p0 * x)) / p0;
    default: return x < p0 ? p0 : x > p1 ? p1 : x;  // clamp
  }
}

template <int Op>
PG_INLINE void unaryBody(const float* x, float* out, int64_t lo, int64_t hi, float p0, float p1) {
  for (int64_t i = lo; i < hi; i++) out[i] = unaryFn<Op>(x[i], p0, p1);
}
template <int Op>
PG_TARGET_AVX512 void unaryAvx512(const float* x, float* out, int64_t lo, int64_t hi, float p0, float p1) { unaryBody<Op>(x, out, lo, hi, p0, p1); }
template <int Op>
PG_TARGET_AVX2 void unaryAvx2(const float* x, float* out, int64_t lo, int64_t hi, float p0, float p1) { unaryBody<Op>(x, out, lo, hi, p0, p1); }
template <int Op>
void unaryPortable(const float* x, float* out, int64_t lo, int64_t hi, float p0, float p1) { unaryBody<Op>(x, out, lo, hi, p0, p1); }

using UnaryRange = void (*)(const float*, float*, int64_t, int64_t, float, float);
using UnaryTable = std::array<UnaryRange, kUnaryCount>;
// Each op's loop for each instruction set: [avx512, avx2, portable][op].
template <int... Ops>
constexpr std::array<UnaryTable, 3> unaryTables(std::integer_sequence<int, Ops...>) {
  return {UnaryTable{unaryAvx512<Ops>...}, UnaryTable{unaryAvx2<Ops>...}, UnaryTable{unaryPortable<Ops>...}};
}

// unary(code, x: Float32Array, out: Float32Array, p0, p1)
napi_value Unary(Args& a) {
  static constexpr auto tables = unaryTables(std::make_integer_sequence<int, kUnaryCount>{});
  int64_t code = a.int64(0, "op");
  PG_CHECK(code >= 0 && code < kUnaryCount, "unknown op code " + std::to_string(code));
  F32 x = a.f32(1, "x"), out = a.f32(2, "out");
  PG_CHECK(x.length == out.length, "x has " + std::to_string(x.length) + " elements but out has " + std::to_string(out.length));
  float p0 = static_cast<float>(a.number(3, "p0")), p1 = static_cast<float>(a.number(4, "p1"));
  UnaryRange f = tables[isaIndex()][code];
  parallelRanges(static_cast<int64_t>(x.length), [&](int64_t lo, int64_t hi) { f(x.data, out.data, lo, hi, p0, p1); });
  return nullptr;
}
PG_EXPORT("unary", Unary);

// ---- binary ----

enum BinaryCode { kAdd, kSub, kMul, kDiv, kPow, kMaximum, kMinimum, kEq, kNe, kLt, kLe, kGt, kGe, kReluGrad, kBinaryCount };

template <int Op>
inline auto binaryFn(float a, float b) {
  if constexpr (Op == kAdd) return a + b;
  else if constexpr (Op == kSub) return a - b;
  else if constexpr (Op == kMul) return a * b;
  else if constexpr (Op == kDiv) return a / b;
  else if constexpr (Op == kPow) return std::pow(a, b);
  else if constexpr (Op == kMaximum) return a > b || a != a ? a : b;  // NaN wins, as the reference
  else if constexpr (Op == kMinimum) return a < b || a != a ? a : b;
  else if constexpr (Op == kEq) return int32_t{a == b};
  else if constexpr (Op == kNe) return int32_t{a != b};
  else if constexpr (Op == kLt) return int32_t{a < b};
  else if constexpr (Op == kLe) return int32_t{a <= b};
  else if constexpr (Op == kGt) return int32_t{a > b};
  else if constexpr (Op == kGe) return int32_t{a >= b};
  else return b <= 0 ? 0.0f : a;  // reluGrad
}

template <int Op>
constexpr bool isComparison() { return Op >= kEq && Op <= kGe; }

// One run: the common stride patterns get their own loops so that the compiler vectorises them.
template <int Op, class Out>
PG_INLINE void binaryRun(const float* a, int64_t sa, const float* b, int64_t sb, Out* out, int64_t n) {
  if (sa == 1 && sb == 1) for (int64_t i = 0; i < n; i++) out[i] = binaryFn<Op>(a[i], b[i]);
  else if (sa == 1 && sb == 0) { float v = *b; for (int64_t i = 0; i < n; i++) out[i] = binaryFn<Op>(a[i], v); }
  else if (sa == 0 && sb == 1) { float v = *a; for (int64_t i = 0; i < n; i++) out[i] = binaryFn<Op>(v, b[i]); }
  else for (int64_t i = 0; i < n; i++) out[i] = binaryFn<Op>(a[i * sa], b[i * sb]);
}

template <int Op>
PG_INLINE void binaryBody(const Layout& L, const float* a, const float* b, void* out, int64_t lo, int64_t hi) {
  using Out = std::conditional_t<isComparison<Op>(), int32_t, float>;
  Out* o = static_cast<Out*>(out);
  const int64_t sa = L.strides[0][L.nd - 1], sb = L.strides[1][L.nd - 1];
  forRuns(L, lo, hi, [&](const int64_t* off, int64_t n, int64_t at) { binaryRun<Op>(a + off[0], sa, b + off[1], sb, o + at, n); });
}
template <int Op>
PG_TARGET_AVX512 void binaryAvx512(const Layout& L, const float* a, const float* b, void* out, int64_t lo, int64_t hi) { binaryBody<Op>(L, a, b, out, lo, hi); }
template <int Op>
PG_TARGET_AVX2 void binaryAvx2(const Layout& L, const float* a, const float* b, void* out, int64_t lo, int64_t hi) { binaryBody<Op>(L, a, b, out, lo, hi); }
template <int Op>
void binaryPortable(const Layout& L, const float* a, const float* b, void* out, int64_t lo, int64_t hi) { binaryBody<Op>(L, a, b, out, lo, hi); }

using BinaryRange = void (*)(const Layout&, const float*, const float*, void*, int64_t, int64_t);
using BinaryTable = std::array<BinaryRange, kBinaryCount>;
// Each op's loop for each instruction set: [avx512, avx2, portable][op].
template <int... Ops>
constexpr std::array<BinaryTable, 3> binaryTables(std::integer_sequence<int, Ops...>) {
  return {BinaryTable{binaryAvx512<Ops>...}, BinaryTable{binaryAvx2<Ops>...}, BinaryTable{binaryPortable<Ops>...}};
}

// binary(code, a: Float32Array, b: Float32Array, out: Float32Array (Int32Array for comparisons),
//        layout: Int32Array [dims, a's strides, b's strides], nd)
napi_value Binary(Args& a) {
  static constexpr auto tables = binaryTables(std::make_integer_sequence<int, kBinaryCount>{});
  int64_t code = a.int64(0, "op");
  PG_CHECK(code >= 0 && code < kBinaryCount, "unknown op code " + std::to_string(code));
  F32 x = a.f32(1, "a"), y = a.f32(2, "b");
  bool comparison = code >= kEq && code <= kGe;
  void* out;
  size_t outLength;
  if (comparison) {
    I32 o = a.i32(3, "out");
    out = o.data, outLength = o.length;
  } else {
    F32 o = a.f32(3, "out");
    out = o.data, outLength = o.length;
  }
  Layout L = readLayout(a, 4, 2);
  PG_CHECK(L.size() == static_cast<int64_t>(outLength), "out has " + std::to_string(outLength) + " elements, dims say " + std::to_string(L.size()));
  checkOperand(L, 0, x.length, "a");
  checkOperand(L, 1, y.length, "b");
  BinaryRange f = tables[isaIndex()][code];
  parallelRanges(L.size(), [&](int64_t lo, int64_t hi) { f(L, x.data, y.data, out, lo, hi); });
  return nullptr;
}
PG_EXPORT("binary", Binary);

// ---- strided copy ----

// copyStrided(x: Float32Array, out: Float32Array, layout: Int32Array [dims, strides], nd): out[i] = x[Σ i_d·strides[d]].
// Int32 data travels as Float32Array views of the same bytes: the copy moves bits, never converts them.
napi_value CopyStrided(Args& a) {
  F32 x = a.f32(0, "x"), out = a.f32(1, "out");
  Layout L = readLayout(a, 2, 1);
  PG_CHECK(L.size() == static_cast<int64_t>(out.length), "out has " + std::to_string(out.length) + " elements, dims say " + std::to_string(L.size()));
  checkOperand(L, 0, x.length, "x");
  const uint32_t* src = reinterpret_cast<const uint32_t*>(x.data);
  uint32_t* dst = reinterpret_cast<uint32_t*>(out.data);
  const int64_t s = L.strides[0][L.nd - 1];
  parallelRanges(L.size(), [&](int64_t lo, int64_t hi) {
    forRuns(L, lo, hi, [&](const int64_t* off, int64_t n, int64_t o) {
      const uint32_t* p = src + off[0];
      if (s == 1) std::memcpy(dst + o, p, n * sizeof(uint32_t));
      else for (int64_t i = 0; i < n; i++) dst[o + i] = p[i * s];
    });
  });
  return nullptr;
}
PG_EXPORT("copyStrided", CopyStrided);

// copyRows(x, out, rows, rowLength, outOffset, outStride): out[outOffset + r·outStride + i] =
// x[r·rowLength + i] for r < rows, i < rowLength: one input's share of a concatenation. Moves bits, as
// copyStrided.
napi_value CopyRows(Args& a) {
  F32 x = a.f32(0, "x"), out = a.f32(1, "out");
  const int64_t rows = a.int64(2, "rows"), len = a.int64(3, "rowLength"), at = a.int64(4, "outOffset"), step = a.int64(5, "outStride");
  PG_CHECK(rows >= 0 && len >= 0 && at >= 0 && step >= len, "rows, rowLength and outOffset must not be negative and outStride must be ≥ rowLength, got " +
           std::to_string(rows) + ", " + std::to_string(len) + ", " + std::to_string(at) + ", " + std::to_string(step));
  PG_CHECK(static_cast<int64_t>(x.length) == rows * len,
           "x has " + std::to_string(x.length) + " elements, not rows·rowLength = " + std::to_string(rows * len));
  PG_CHECK(rows == 0 || at + (rows - 1) * step + len <= static_cast<int64_t>(out.length),
           "out (" + std::to_string(out.length) + " elements) is too short for " + std::to_string(rows) + " rows of " +
               std::to_string(len) + " from " + std::to_string(at) + " every " + std::to_string(step));
  parallelRanges(rows * len, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo / std::max<int64_t>(len, 1); r * len < hi; r++) {
      const int64_t i0 = std::max(lo, r * len), i1 = std::min(hi, (r + 1) * len);
      std::memcpy(out.data + at + r * step + (i0 - r * len), x.data + i0, (i1 - i0) * sizeof(float));
    }
  });
  return nullptr;
}
PG_EXPORT("copyRows", CopyRows);

// ---- gather / scatterAdd ----

// The arguments gather and scatterAdd share: the index, and its walk — the layout's dims (index's
// shape, collapsed) with x's strides along them (0 along `axis`), plus x's stride and length along
// `axis`, where each index value says the position. Every index value is checked before any is used.
struct Gathered {
  I32 index;
  Layout L;
  int64_t axisStride;
};
Gathered readGathered(const Args& a, size_t i, size_t xLength, const char* xName) {
  Gathered g{a.i32(i, "index"), readLayout(a, i + 3, 1), a.int64(i + 1, "axisStride")};
  const int64_t axisLength = a.int64(i + 2, "axisLength");
  PG_CHECK(g.L.size() == static_cast<int64_t>(g.index.length),
           "index has " + std::to_string(g.index.length) + " elements, dims say " + std::to_string(g.L.size()));
  PG_CHECK(g.axisStride >= 0 && axisLength >= 1, "axisStride must not be negative and axisLength must be ≥ 1");
  const int64_t reach = maxOffset(g.L, 0);
  PG_CHECK(reach < 0 || reach + (axisLength - 1) * g.axisStride < static_cast<int64_t>(xLength),
           std::string("argument '") + xName + "' is too short for its dims and strides");
  for (size_t k = 0; k < g.index.length; k++) {
    const int32_t v = g.index.data[k];
    PG_CHECK(v >= 0 && v < axisLength, "index holds " + std::to_string(v) + " at flat position " + std::to_string(k) +
                                           ", out of range for an axis of " + std::to_string(axisLength));
  }
  return g;
}

// gather(x, out, index: Int32Array, axisStride, axisLength, layout: Int32Array [dims, x's strides], nd):
// out[o] = x[(o's offset in x) + index[o]·axisStride], out and index contiguous. Moves bits.
napi_value Gather(Args& a) {
  F32 x = a.f32(0, "x"), out = a.f32(1, "out");
  const Gathered g = readGathered(a, 2, x.length, "x");
  PG_CHECK(out.length == g.index.length, "out has " + std::to_string(out.length) + " elements but index has " + std::to_string(g.index.length));
  const auto* src = reinterpret_cast<const uint32_t*>(x.data);
  auto* dst = reinterpret_cast<uint32_t*>(out.data);
  const int64_t s = g.L.strides[0][g.L.nd - 1];
  parallelRanges(g.L.size(), [&](int64_t lo, int64_t hi) {
    forRuns(g.L, lo, hi, [&](const int64_t* off, int64_t n, int64_t o) {
      for (int64_t j = 0; j < n; j++) dst[o + j] = src[off[0] + j * s + g.index.data[o + j] * g.axisStride];
    });
  });
  return nullptr;
}
PG_EXPORT("gather", Gather);

// scatterAdd(src, out, index: Int32Array, axisStride, axisLength, layout: Int32Array [dims, out's
// strides], nd): out[(o's offset in out) + index[o]·axisStride] += src[o], in order on one thread
// (positions may repeat), float32 sums as the reference stores them.
napi_value ScatterAdd(Args& a) {
  F32 src = a.f32(0, "src"), out = a.f32(1, "out");
  const Gathered g = readGathered(a, 2, out.length, "out");
  PG_CHECK(src.length == g.index.length, "src has " + std::to_string(src.length) + " elements but index has " + std::to_string(g.index.length));
  const int64_t s = g.L.strides[0][g.L.nd - 1];
  forRuns(g.L, 0, g.L.size(), [&](const int64_t* off, int64_t n, int64_t o) {
    for (int64_t j = 0; j < n; j++) out.data[off[0] + j * s + g.index.data[o + j] * g.axisStride] += src.data[o + j];
  });
  return nullptr;
}
PG_EXPORT("scatterAdd", ScatterAdd);

// ---- where ----

// out = cond != 0 ? a : b over the layout (operands: cond, a, b), moving bits.
template <class Cond>
void whereAll(const Layout& L, const Cond* cond, size_t condLength, const F32& a, const F32& b, const F32& out) {
  checkOperand(L, 0, condLength, "cond");
  checkOperand(L, 1, a.length, "a");
  checkOperand(L, 2, b.length, "b");
  const auto* pa = reinterpret_cast<const uint32_t*>(a.data);
  const auto* pb = reinterpret_cast<const uint32_t*>(b.data);
  auto* po = reinterpret_cast<uint32_t*>(out.data);
  const int64_t sc = L.strides[0][L.nd - 1], sa = L.strides[1][L.nd - 1], sb = L.strides[2][L.nd - 1];
  parallelRanges(L.size(), [&](int64_t lo, int64_t hi) {
    forRuns(L, lo, hi, [&](const int64_t* off, int64_t n, int64_t o) {
      const Cond* c = cond + off[0];
      const uint32_t *x = pa + off[1], *y = pb + off[2];
      for (int64_t i = 0; i < n; i++) po[o + i] = c[i * sc] != 0 ? x[i * sa] : y[i * sb];
    });
  });
}

// where(cond: Int32Array if intCond else Float32Array, intCond, a, b, out: Float32Array, layout:
// Int32Array [dims, cond's, a's and b's strides], nd): out = cond != 0 ? a : b. Int32 data travels as
// Float32Array views: the select moves bits.
napi_value Where(Args& a) {
  const bool intCond = a.boolean(1, "intCond");
  F32 x = a.f32(2, "a"), y = a.f32(3, "b"), out = a.f32(4, "out");
  Layout L = readLayout(a, 5, 3);
  PG_CHECK(L.size() == static_cast<int64_t>(out.length), "out has " + std::to_string(out.length) + " elements, dims say " + std::to_string(L.size()));
  if (intCond) {
    I32 cond = a.i32(0, "cond");
    whereAll(L, cond.data, cond.length, x, y, out);
  } else {
    F32 cond = a.f32(0, "cond");
    whereAll(L, cond.data, cond.length, x, y, out);
  }
  return nullptr;
}
PG_EXPORT("where", Where);

// ---- reductions ----

enum ReduceCode { kSum, kMax, kMin };

// *s = the float64 sum of p[0..n), in 16 interleaved partial sums added in a fixed order at the end:
// the partials are independent, so the loop vectorises (one chain of dependent adds ran at a quarter
// of the speed), and the bits do not depend on the instruction set.
PG_INLINE void sum_run_body(const float* p, int64_t n, double* s) {
  constexpr int kLanes = 16;
  double part[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; j++) part[j] += p[i + j];
  double t = 0;
  for (int j = 0; j < kLanes; j++) t += part[j];
  for (; i < n; i++) t += p[i];
  *s = t;
}
PG_ISA_VARIANTS(sum_run, (const float* p, int64_t n, double* s), (p, n, s))

// reduce(code, x: Float32Array, out: Float32Array, layout: Int32Array [dims, out's strides], nd): x is
// contiguous over dims; out's strides are 0 along the reduced dims. Sums accumulate in float64, and max /
// min let NaN win, as the reference does.
napi_value Reduce(Args& a) {
  int64_t code = a.int64(0, "op");
  PG_CHECK(code >= kSum && code <= kMin, "unknown op code " + std::to_string(code));
  F32 x = a.f32(1, "x"), out = a.f32(2, "out");
  Layout L = readLayout(a, 3, 1);
  PG_CHECK(L.size() == static_cast<int64_t>(x.length), "x has " + std::to_string(x.length) + " elements, dims say " + std::to_string(L.size()));
  checkOperand(L, 0, out.length, "out");
  std::vector<double> acc(out.length, code == kSum ? 0.0 : code == kMax ? -INFINITY : INFINITY);
  double* r = acc.data();
  const int64_t so = L.strides[0][L.nd - 1];
  forRuns(L, 0, L.size(), [&](const int64_t* off, int64_t n, int64_t at) {
    const float* p = x.data + at;
    double* q = r + off[0];
    if (code == kSum) {
      if (so == 0) {
        double s;
        sum_run(p, n, &s);
        *q += s;
      } else {
        for (int64_t i = 0; i < n; i++) q[i * so] += p[i];
      }
    } else if (code == kMax) {
      for (int64_t i = 0; i < n; i++) {
        double v = p[i];
        if (v > q[i * so] || v != v) q[i * so] = v;
      }
    } else {
      for (int64_t i = 0; i < n; i++) {
        double v = p[i];
        if (v < q[i * so] || v != v) q[i * so] = v;
      }
    }
  });
  for (size_t i = 0; i < out.length; i++) out.data[i] = static_cast<float>(acc[i]);
  return nullptr;
}
PG_EXPORT("reduce", Reduce);

}  // namespace

double sum_floats(const float* p, int64_t n) {
  double s;
  sum_run(p, n, &s);
  return s;
}

}  // namespace pg
