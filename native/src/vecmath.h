// Float32 exp, sigmoid and tanh written without branches or calls (Cephes' expf and tanhf
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
