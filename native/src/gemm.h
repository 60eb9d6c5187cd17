// float32 GEMM shared by the native kernels (matmul, convolutions).
#pragma once
#include <cstdint>

namespace pg {

// C[M,N] (+)= A[M,K] · B[K,N]. Operands are addressed by element strides, so transposed views need
// no copy: A(i,k) = A[i*ars + k*acs], B(k,j) = B[k*brs + j*bcs]. C is row-major with leading
// dimension ldc. accumulate=false overwrites C, true adds to it. Accumulation is float32.
// Called from inside a parallel_for task it runs on the calling thread only.
void sgemm(int64_t M, int64_t N, int64_t K,
           const float* A, int64_t ars, int64_t acs,
           const float* B, int64_t brs, int64_t bcs,
           float* C, int64_t ldc, bool accumulate);

}  // namespace pg
