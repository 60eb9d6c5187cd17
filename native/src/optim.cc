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

// The SGD update of elements [lo, hi), with a momentum buffer b when Momentum. The arrays are distinct
// (restrict) and the options fixed at compile time or taken out of the loop by the compiler
// (weight decay; ±1·g is exactly ±g), so the loop vectorises.
template <bool Momentum, bool First, bool Nesterov>
PG_INLINE void sgd_loop(float* __restrict__ xs, const float* __restrict__ gs, float* __restrict__ b, int64_t lo, int64_t hi,
                        double lr, double momentum, double keep, double weightDecay, double sign) {
  for (int64_t i = lo; i < hi; i++) {
    double d = sign * gs[i];
    if (weightDecay != 0) d += weightDecay * xs[i];
    if (Momentum) {
      b[i] = static_cast<float>(First ? d : momentum * b[i] + keep * d);
      d = Nesterov ? d + momentum * b[i] : static_cast<double>(b[i]);
    }
    xs[i] = static_cast<float>(xs[i] - lr * d);
  }
}

// b null: no momentum.
PG_INLINE void sgd_range_body(float* xs, const float* gs, float* b, int64_t lo, int64_t hi, double lr, double momentum, double keep,
                              double weightDecay, bool nesterov, bool maximize, bool first) {
  const double sign = maximize ? -1.0 : 1.0;
  if (!b) return sgd_loop<false, false, false>(xs, gs, b, lo, hi, lr, momentum, keep, weightDecay, sign);
  if (first && nesterov) return sgd_loop<true, true, true>(xs, gs, b, lo, hi, lr, momentum, keep, weightDecay, sign);
  if (first) return sgd_loop<true, true, false>(xs, gs, b, lo, hi, lr, momentum, keep, weightDecay, sign);
  if (nesterov) return sgd_loop<true, false, true>(xs, gs, b, lo, hi, lr, momentum, keep, weightDecay, sign);
  sgd_loop<true, false, false>(xs, gs, b, lo, hi, lr, momentum, keep, weightDecay, sign);
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

// Math.max: NaN if either is NaN, +0 over −0; selects without branches, so the loop still vectorises.
PG_INLINE double jsMax(double p, double q) {
  return (p > q) | std::isnan(p) | ((p == q) & std::signbit(q)) ? p : q;
}

// The Adam / AdamW update of elements [lo, hi), with an L2 penalty when L2 and AMSGrad when Ams. No
// branch in the loop, so it vectorises: ±1·g is exactly ±g, and x·1 rounds back to x, so maximize
// and a decay of 1 (Adam, or no weight decay) need none.
template <bool L2, bool Ams>
PG_INLINE void adam_loop(float* __restrict__ xs, const float* __restrict__ gs, float* __restrict__ ms, float* __restrict__ vs,
                         float* __restrict__ vm, int64_t lo, int64_t hi, double beta1, double beta2, double eps, double weightDecay,
                         double sign, double stepSize, double bc2Sqrt, double decay) {
  const double keep1 = 1 - beta1, keep2 = 1 - beta2;
  for (int64_t i = lo; i < hi; i++) {
    double gi = sign * gs[i];
    xs[i] = static_cast<float>(xs[i] * decay);
    if (L2) gi += weightDecay * xs[i];
    ms[i] = static_cast<float>(beta1 * ms[i] + keep1 * gi);
    vs[i] = static_cast<float>(beta2 * vs[i] + keep2 * gi * gi);
    double second = vs[i];
    if (Ams) second = vm[i] = static_cast<float>(jsMax(vm[i], second));
    xs[i] = static_cast<float>(xs[i] - (stepSize * ms[i]) / (std::sqrt(second) / bc2Sqrt + eps));
  }
}

// vm null: no AMSGrad.
PG_INLINE void adam_range_body(float* xs, const float* gs, float* ms, float* vs, float* vm, int64_t lo, int64_t hi, double beta1,
                               double beta2, double eps, double weightDecay, bool maximize, bool decoupled, double stepSize,
                               double bc2Sqrt, double decay) {
  const double sign = maximize ? -1.0 : 1.0;
  const bool l2 = !decoupled && weightDecay != 0;
  if (vm && l2) return adam_loop<true, true>(xs, gs, ms, vs, vm, lo, hi, beta1, beta2, eps, weightDecay, sign, stepSize, bc2Sqrt, decay);
  if (vm) return adam_loop<false, true>(xs, gs, ms, vs, vm, lo, hi, beta1, beta2, eps, weightDecay, sign, stepSize, bc2Sqrt, decay);
  if (l2) return adam_loop<true, false>(xs, gs, ms, vs, vm, lo, hi, beta1, beta2, eps, weightDecay, sign, stepSize, bc2Sqrt, decay);
  adam_loop<false, false>(xs, gs, ms, vs, vm, lo, hi, beta1, beta2, eps, weightDecay, sign, stepSize, bc2Sqrt, decay);
}
PG_ISA_VARIANTS(adam_range, (float* xs, const float* gs, float* ms, float* vs, float* vm, int64_t lo, int64_t hi, double beta1, double beta2,
                             double eps, double weightDecay, bool maximize, bool decoupled, double stepSize, double bc2Sqrt, double decay),
                (xs, gs, ms, vs, vm, lo, hi, beta1, beta2, eps, weightDecay, maximize, decoupled, stepSize, bc2Sqrt, decay))

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
  const double decay = decoupled ? 1 - lr * weightDecay : 1;
  overElements(static_cast<int64_t>(x.length), [&](int64_t lo, int64_t hi) {
    adam_range(x.data, g.data, m.data, v.data, vMax.data, lo, hi, beta1, beta2, eps, weightDecay, maximize, decoupled, stepSize, bc2Sqrt, decay);
  });
  return nullptr;
}
PG_EXPORT("adamStep", AdamStep);

}  // namespace
}  // namespace pg
