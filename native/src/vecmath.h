// Float32 exp, log, sigmoid and tanh written without branches or calls (Cephes' expf, logf and tanhf
// polynomials, within a few ulp of the float64 reference rounded to float32), so that a loop over
// them vectorises for each instruction set it is compiled for (libm's are scalar calls).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "nn.h"

namespace pg {

// 2^n for an integral float n in [−150, 128], as the product of two normal powers so that results in
// float's subnormal range come out (gradually) instead of as 0.
PG_INLINE float pow2Product(float p, float n) {
  const int32_t ni = static_cast<int32_t>(n), a = ni >> 1, b = ni - a;
  const int32_t ba = (a + 127) << 23, bb = (b + 127) << 23;
  float sa, sb;
  std::memcpy(&sa, &ba, sizeof sa);
  std::memcpy(&sb, &bb, sizeof sb);
  return p * sa * sb;
}

// e^x: 2^n · e^r with n = round(x·log2 e), r reduced in two steps, Cephes' polynomial for e^r. x is
// clamped to [−104, 89] first, beyond which e^x rounds to 0 or overflows to ∞ anyway; NaN stays NaN.
PG_INLINE float expF(float x) {
  const float xc = std::min(std::max(x, -104.0f), 89.0f);
  const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest
  const float r = (xc - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const float y = pow2Product(p, n);
  return x != x ? x : y;
}

// log x: x = 2^e · m with m in [√½, √2), log m from Cephes' polynomial in m − 1 (exact, so values
// near 1 keep their precision), e·log 2 added in two parts. Subnormal x is scaled by 2^23 first;
// 0 gives −∞, negative x and NaN give NaN, ∞ gives ∞.
PG_INLINE float logF(float x) {
  const bool tiny = x < 1.17549435e-38f;
  const float xs = tiny ? x * 8388608.0f : x;
  int32_t bits;
  std::memcpy(&bits, &xs, sizeof bits);
  int32_t e = ((bits >> 23) & 0xff) - 126;
  const int32_t mbits = (bits & 0x007fffff) | 0x3f000000;  // m in [0.5, 1)
  float m;
  std::memcpy(&m, &mbits, sizeof m);
  const bool low = m < 0.707106781186547524f;
  e -= low ? 1 : 0;
  const float f = low ? m + m - 1.0f : m - 1.0f;
  const float ef = static_cast<float>(e) - (tiny ? 23.0f : 0.0f);
  const float z = f * f;
  float y = 7.0376836292e-2f;
  y = y * f - 1.1514610310e-1f;
  y = y * f + 1.1676998740e-1f;
  y = y * f - 1.2420140846e-1f;
  y = y * f + 1.4249322787e-1f;
  y = y * f - 1.6668057665e-1f;
  y = y * f + 2.0000714765e-1f;
  y = y * f - 2.4999993993e-1f;
  y = y * f + 3.3333331174e-1f;
  y = y * f * z;
  y += -2.12194440e-4f * ef;
  y += -0.5f * z;
  const float r = (f + y) + 0.693359375f * ef;
  // Special inputs last, as selects: x = 0 → −∞, x < 0 or NaN → NaN, ∞ → ∞.
  return x == 0.0f ? -INFINITY : !(x > 0.0f) ? NAN : x == INFINITY ? x : r;
}

// The reference's sigmoid: 1/(1 + e^−x) for x ≥ 0, e^x/(1 + e^x) below; NaN stays NaN.
PG_INLINE float sigmoidF(float x) {
  const float e = expF(-std::fabs(x));
  const float y = x >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e);
  return x != x ? x : y;
}

// tanh: Cephes' odd polynomial below 0.625, 1 − 2/(e^2|x| + 1) (from e^−2|x|) above; NaN stays NaN.
PG_INLINE float tanhF(float x) {
  const float a = std::fabs(x), z = x * x;
  const float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
                       3.33332819422e-1f) * z * x + x;
  const float e = expF(-2.0f * a);
  const float large = std::copysign((1.0f - e) / (1.0f + e), x);
  return a < 0.625f ? small : x != x ? x : large;
}

}  // namespace pg
