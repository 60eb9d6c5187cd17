// The optimisers' updates (sgdStep, adamStep) as the JS reference (src/backend/js/optim.ts) computes
// them: float64 arithmetic on the stored float32 values, each result rounded once where the
// reference stores it, and read back rounded where the reference reads it back. Element-wise, so
// large parameters are split across the pool without changing a bit.
#include <algorithm>
#include <cmath>
#include <string>

#include "napi_util.h"
#include "isa.h"
#include "threadpool.h"

// No fused multiply-adds: the reference rounds every product before the sum, and a fused one changes
// the last bit (the AVX2 and AVX-512 variants would otherwise contract x − lr·d).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace pg {
namespace {

// Below this many elements an update runs on the calling thread (a few µs of work, less than waking
// the pool can cost).
constexpr int64_t kParallelElements = 1 << 16;

// body(lo, hi) over [0, n), in ranges on the pool when n is large.
template <class Body>
void overElements(int64_t n, Body body) {
  const int64_t tasks = n < kParallelElements ? 1 : std::min<int64_t>(n / (kParallelElements / 2), 4 * int64_t{num_threads()});
  if (tasks < 2) return body(0, n);
  parallel_for(tasks, [&](int64_t t) { body(n * t / tasks, n * (t + 1) / tasks); });
}

void checkSameLength(const char* name, size_t length, size_t want) {
  PG_CHECK(length == want, std::string("'") + name + "' has " + std::to_string(length) + " elements, the parameter " + std::to_string(want));
}

// The SGD update of elements [lo, hi); buf null: no momentum. The arrays are distinct (restrict), so
// the loop vectorises once the compiler unswitches the options.
PG_INLINE void sgd_range_body(float* __restrict__ xs, const float* __restrict__ gs, float* __restrict__ b, int64_t lo, int64_t hi,
                              double lr, double momentum, double keep, double weightDecay, bool nesterov, bool maximize, bool first) {
  for (int64_t i = lo; i < hi; i++) {
    double d = maximize ? -static_cast<double>(gs[i]) : static_cast<double>(gs[i]);
    if (weightDecay != 0) d += weightDecay * xs[i];
    if (b) {
      b[i] = static_cast<float>(first ? d : momentum * b[i] + keep * d);
      d = nesterov ? d + momentum * b[i] : static_cast<double>(b[i]);
    }
    xs[i] = static_cast<float>(xs[i] - lr * d);
  }
}
PG_ISA_VARIANTS(sgd_range, (float* xs, const float* gs, float* b, int64_t lo, int64_t hi, double lr, double momentum, double keep,
                            double weightDecay, bool nesterov, bool maximize, bool first),
                (xs, gs, b, lo, hi, lr, momentum, keep, weightDecay, nesterov, maximize, first))

// sgdStep(x, g, buf | null, lr, momentum, dampening, weightDecay, nesterov, maximize, first)
napi_value SgdStep(Args& a) {
  const F32 x = a.f32(0, "x"), g = a.f32(1, "g"), buf = a.f32OrNull(2, "buf");
  const double lr = a.number(3, "lr"), momentum = a.number(4, "momentum"), dampening = a.number(5, "dampening"),
               weightDecay = a.number(6, "weightDecay");
  const bool nesterov = a.boolean(7, "nesterov"), maximize = a.boolean(8, "maximize"), first = a.boolean(9, "first");
  checkSameLength("g", g.length, x.length);
  if (buf.data) checkSameLength("buf", buf.length, x.length);
  const double keep = 1 - dampening;
  overElements(static_cast<int64_t>(x.length), [&](int64_t lo, int64_t hi) {
    sgd_range(x.data, g.data, buf.data, lo, hi, lr, momentum, keep, weightDecay, nesterov, maximize, first);
  });
  return nullptr;
}
PG_EXPORT("sgdStep", SgdStep);

// Math.max: NaN if either is NaN, +0 over −0.
inline double jsMax(double p, double q) {
  if (std::isnan(p) || std::isnan(q)) return NAN;
  if (p == q) return std::signbit(p) ? q : p;
  return p > q ? p : q;
}

// adamStep(x, g, m, v, vMax | null, lr, beta1, beta2, eps, weightDecay, maximize, decoupled, stepSize, bc2Sqrt)
napi_value AdamStep(Args& a) {
  const F32 x = a.f32(0, "x"), g = a.f32(1, "g"), m = a.f32(2, "m"), v = a.f32(3, "v"), vMax = a.f32OrNull(4, "vMax");
  const double lr = a.number(5, "lr"), beta1 = a.number(6, "beta1"), beta2 = a.number(7, "beta2"), eps = a.number(8, "eps"),
               weightDecay = a.number(9, "weightDecay");
  const bool maximize = a.boolean(10, "maximize"), decoupled = a.boolean(11, "decoupled");
  const double stepSize = a.number(12, "stepSize"), bc2Sqrt = a.number(13, "bc2Sqrt");
  checkSameLength("g", g.length, x.length);
  checkSameLength("m", m.length, x.length);
  checkSameLength("v", v.length, x.length);
  if (vMax.data) checkSameLength("vMax", vMax.length, x.length);
  const double decay = decoupled ? 1 - lr * weightDecay : 1, keep1 = 1 - beta1, keep2 = 1 - beta2;
  overElements(static_cast<int64_t>(x.length), [&](int64_t lo, int64_t hi) {
    float *xs = x.data, *ms = m.data, *vs = v.data, *vm = vMax.data;
    const float* gs = g.data;
    for (int64_t i = lo; i < hi; i++) {
      double gi = maximize ? -static_cast<double>(gs[i]) : static_cast<double>(gs[i]);
      if (weightDecay != 0) {
        if (decoupled) xs[i] = static_cast<float>(xs[i] * decay);
        else gi += weightDecay * xs[i];
      }
      ms[i] = static_cast<float>(beta1 * ms[i] + keep1 * gi);
      vs[i] = static_cast<float>(beta2 * vs[i] + keep2 * gi * gi);
      double second = vs[i];
      if (vm) second = vm[i] = static_cast<float>(jsMax(vm[i], second));
      xs[i] = static_cast<float>(xs[i] - (stepSize * ms[i]) / (std::sqrt(second) / bc2Sqrt + eps));
    }
  });
  return nullptr;
}
PG_EXPORT("adamStep", AdamStep);

}  // namespace
}  // namespace pg
