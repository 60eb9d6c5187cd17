#include "gemm.h"

namespace pg {

void sgemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t ars, int64_t acs, const float* B,
           int64_t brs, int64_t bcs, float* C, int64_t ldc, bool accumulate) {
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      float s = accumulate ? C[i * ldc + j] : 0.0f;
      for (int64_t k = 0; k < K; k++) s += A[i * ars + k * acs] * B[k * brs + j * bcs];
      C[i * ldc + j] = s;
    }
}

}  // namespace pg
