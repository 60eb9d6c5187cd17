// Packed, cache-blocked float32 GEMM in the BLIS design. For each NC-wide block of columns and
// KC-deep slice of K, B is packed into KC×NR panels (one copy shared by the threads, or, on several
// threads with enough panels, by each task the panels it alone uses), MC×KC blocks of A are packed
// into MR×KC strips (or read in place, see Kernel::inPlaceA), and a register-blocked micro-kernel
// computes MR×NR tiles of C from one strip and one panel. Packing reads through the element strides
// (a transposed B by 8×8 register transposes), so transposed operands cost little extra. Tiles are
// aligned to a global MR×NR grid and every tile sums its KC slices in the same order, so the result
// does not depend on the thread count or on how work was split.
#include "gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "isa.h"
#include "napi_util.h"
#include "threadpool.h"

#if PG_X86
#include <immintrin.h>
#endif

namespace pg {
namespace {

// C[MR×NR] (+)= A[MR×KC]·B[KC×NR]. A(i, k) is Ap[k·acs + i] (a packed strip: acs = MR; or A in
// place with its rows adjacent), or, in the RowsApart variant, Ap[i·ars + k] (A in place, row-major).
// B's rows of NR values are ldb apart (NR in a packed panel, B's own row stride in place).
using MicroKernel = void (*)(int64_t kc, const float* Ap, int64_t ars, int64_t acs, const float* Bp, int64_t ldb,
                             float* C, int64_t ldc, bool accumulate);

struct Kernel {
  int mr, nr;
  MicroKernel fn, fnRowsApart;
  // Reads A in place as fast as a packed strip, so a strip is never packed when A's rows or columns
  // are contiguous. True for SIMD tiles of at most 8 rows: even rows a multiple of 4 KiB apart (one
  // cache set) then fit the 8-way L1 and L2 together; taller tiles' rows would evict each other.
  // Skipping the copy made the AVX-512 6×64 tile's 1024³ ~5 % and 256³ ~20 % faster on one thread,
  // AVX2's 6×16 ~4 % and ~15 %; the portable tile runs 2× slower on rows in place.
  bool inPlaceA;
};

// A(i, k) for the kernels, after Ap has moved to column k.
template <bool RowsApart>
inline __attribute__((always_inline)) const float* aAt(const float* Ap, int64_t ars, int i) {
  return RowsApart ? Ap + i * ars : Ap + i;
}

// Portable: plain loops over a small tile that the compiler vectorises for the build's target (SSE2
// on x86-64, NEON on ARM).
constexpr int kPortableMR = 4, kPortableNR = 16;
template <bool RowsApart>
void kernelPortable(int64_t kc, const float* Ap, int64_t ars, int64_t acs, const float* Bp, int64_t ldb, float* C,
                    int64_t ldc, bool accumulate) {
  float acc[kPortableMR][kPortableNR] = {};
  for (int64_t k = 0; k < kc; k++) {
    for (int i = 0; i < kPortableMR; i++)
      for (int j = 0; j < kPortableNR; j++) acc[i][j] += *aAt<RowsApart>(Ap, ars, i) * Bp[j];
    Ap += acs;
    Bp += ldb;
  }
  for (int i = 0; i < kPortableMR; i++)
    for (int j = 0; j < kPortableNR; j++) C[i * ldc + j] = accumulate ? C[i * ldc + j] + acc[i][j] : acc[i][j];
}

#if PG_X86
// AVX2 + FMA: MR×(8·NV) tiles (6×16 by default), MR·NV ymm accumulators, NV B vectors and a
// broadcast of A per step.
template <int MR, int NV, bool RowsApart>
PG_TARGET_AVX2 void kernelAvx2(int64_t kc, const float* Ap, int64_t ars, int64_t acs, const float* Bp, int64_t ldb,
                               float* C, int64_t ldc, bool accumulate) {
  __m256 c[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) c[i][v] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; k++) {
    __m256 b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) b[v] = _mm256_loadu_ps(Bp + 8 * v);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      __m256 a = _mm256_broadcast_ss(aAt<RowsApart>(Ap, ars, i));
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) c[i][v] = _mm256_fmadd_ps(a, b[v], c[i][v]);
    }
    Ap += acs;
    Bp += ldb;
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
      float* p = C + i * ldc + 8 * v;
      _mm256_storeu_ps(p, accumulate ? _mm256_add_ps(c[i][v], _mm256_loadu_ps(p)) : c[i][v]);
    }
}

// AVX-512: MR×(16·NV) tiles (6×64 by default), MR·NV zmm accumulators, NV B vectors and a
// broadcast of A per step.
template <int MR, int NV, bool RowsApart>
PG_TARGET_AVX512 void kernelAvx512(int64_t kc, const float* Ap, int64_t ars, int64_t acs, const float* Bp, int64_t ldb,
                                   float* C, int64_t ldc, bool accumulate) {
  __m512 c[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
      c[i][v] = _mm512_setzero_ps();
      _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc + 16 * v), _MM_HINT_T0);
    }
  }
  for (int64_t k = 0; k < kc; k++) {
    __m512 b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) b[v] = _mm512_loadu_ps(Bp + 16 * v);
    _mm_prefetch(reinterpret_cast<const char*>(Bp + 8 * ldb), _MM_HINT_T0);
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {
      __m512 a = _mm512_set1_ps(*aAt<RowsApart>(Ap, ars, i));
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) c[i][v] = _mm512_fmadd_ps(a, b[v], c[i][v]);
    }
    Ap += acs;
    Bp += ldb;
  }
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
      float* p = C + i * ldc + 16 * v;
      _mm512_storeu_ps(p, accumulate ? _mm512_add_ps(c[i][v], _mm512_loadu_ps(p)) : c[i][v]);
    }
}
#endif

// The micro-kernels of the chosen ISA, the default first. A product takes the one that pads its
// M×N least (small M: short tiles; small N: narrow ones), which depends on M and N only. AVX-512's
// default 6×64 loads 10 values per 24 FMAs where 14×32 loads 16 per 28: ~4 % faster on one thread
// with both packed, and it reads A in place.
struct KernelSet {
  Kernel kernels[3];
  int count;
};

const KernelSet& kernels() {
  static const KernelSet chosen = []() -> KernelSet {
#if PG_X86
    if (isa() == Isa::Avx512)
      return {{{6, 64, kernelAvx512<6, 4, false>, kernelAvx512<6, 4, true>, true},
               {14, 32, kernelAvx512<14, 2, false>, kernelAvx512<14, 2, true>, false},
               {28, 16, kernelAvx512<28, 1, false>, kernelAvx512<28, 1, true>, false}}, 3};
    if (isa() == Isa::Avx2)
      return {{{6, 16, kernelAvx2<6, 2, false>, kernelAvx2<6, 2, true>, true},
               {12, 8, kernelAvx2<12, 1, false>, kernelAvx2<12, 1, true>, false}}, 2};
#endif
    return {{{kPortableMR, kPortableNR, kernelPortable<false>, kernelPortable<true>, false}}, 1};
  }();
  return chosen;
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

const Kernel& kernelFor(int64_t M, int64_t N) {
  const KernelSet& set = kernels();
  const Kernel* best = &set.kernels[0];
  // The default kernel is the fastest per useful flop; another must pad at least 1/8 less to win.
  int64_t bestArea = ceilDiv(M, best->mr) * best->mr * ceilDiv(N, best->nr) * best->nr * 7 / 8;
  for (int i = 1; i < set.count; i++) {
    const Kernel& k = set.kernels[i];
    int64_t area = ceilDiv(M, k.mr) * k.mr * ceilDiv(N, k.nr) * k.nr;
    if (area < bestArea) best = &k, bestArea = area;
  }
  return *best;
}

// Cache blocking for cores with ≥ 32 KiB L1d and ≥ 512 KiB L2 (Zen 4/5: 32/48 KiB, 1 MiB): a row
// block's MC×KC slice of A (packed or in place) stays in L2 while the KC×NR panels of B stream
// through it.
constexpr int64_t KC = 512;
constexpr int64_t MC_ROWS = 168;  // rounded down to a multiple of MR per kernel
constexpr int64_t NC = 3072;
// Below this many multiply-adds a product runs on one thread: fork-join would cost more than it saves.
constexpr int64_t kParallelMacs = int64_t{96} * 96 * 96;

// A 64-byte aligned scratch buffer per thread and purpose, grown on demand.
struct Scratch {
  float* data = nullptr;
  size_t size = 0;
  float* get(size_t n) {
    if (n > size) {
      std::free(data);
      size = (n + 1023) & ~size_t{1023};
      data = static_cast<float*>(std::aligned_alloc(64, size * sizeof(float)));
      if (data == nullptr) throw std::bad_alloc();
    }
    return data;
  }
  ~Scratch() { std::free(data); }
};
thread_local Scratch scratchA, scratchB;

#if PG_X86
// dst[k·ld + c] = src[c·cs + k] for an 8×8 block: 8 columns, each contiguous along k, to 8 rows.
PG_TARGET_AVX2 PG_INLINE void transpose8x8(const float* src, int64_t cs, float* dst, int64_t ld) {
  __m256 r[8], t[8], u[8];
  for (int c = 0; c < 8; c++) r[c] = _mm256_loadu_ps(src + c * cs);
  for (int c = 0; c < 8; c += 2) {  // pairs of columns interleaved: k 0, 1 | 4, 5 and k 2, 3 | 6, 7
    t[c] = _mm256_unpacklo_ps(r[c], r[c + 1]);
    t[c + 1] = _mm256_unpackhi_ps(r[c], r[c + 1]);
  }
  for (int h = 0; h < 8; h += 4) {  // columns h … h+3 of k 0 | 4, 1 | 5, 2 | 6, 3 | 7
    u[h] = _mm256_shuffle_ps(t[h], t[h + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[h + 1] = _mm256_shuffle_ps(t[h], t[h + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[h + 2] = _mm256_shuffle_ps(t[h + 1], t[h + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[h + 3] = _mm256_shuffle_ps(t[h + 1], t[h + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int k = 0; k < 4; k++) {
    _mm256_storeu_ps(dst + k * ld, _mm256_permute2f128_ps(u[k], u[k + 4], 0x20));
    _mm256_storeu_ps(dst + (k + 4) * ld, _mm256_permute2f128_ps(u[k], u[k + 4], 0x31));
  }
}

// dst[k·ld + c] = src[c·cs + k] for c < cols, k < kc: vectors contiguous along k (a transposed B's
// columns, a row-major A's rows) to the rows of a panel or strip, in 8×8 blocks, a cache line (16
// values) of 8 vectors at a time; the last block overlaps the one before when 8 does not divide
// cols, and the k tail (or all, under 8 vectors) goes by element. By element throughout, this copy
// took ~30 % of the time of linear's x·Wᵀ at batch 64, and packing A's 28-row strips ~45 % of
// 2048×512·512×48.
PG_TARGET_AVX2 void transposeAvx2(const float* src, int64_t cs, int64_t cols, int64_t kc, float* dst, int64_t ld) {
  const int64_t k8 = cols >= 8 ? kc / 8 * 8 : 0;
  for (int64_t kb = 0; kb < k8; kb += 16)
    for (int64_t c = 0; c < cols; c += 8) {
      const int64_t c0 = std::min(c, cols - 8);
      for (int64_t k = kb; k < std::min(kb + 16, k8); k += 8) transpose8x8(src + c0 * cs + k, cs, dst + k * ld + c0, ld);
    }
  for (int64_t k = k8; k < kc; k++)
    for (int64_t c = 0; c < cols; c++) dst[k * ld + c] = src[c * cs + k];
}
#endif

// Packs rows [i0, i0+mc) × k [k0, k0+kc) of A into MR-row strips (rows past M are zeros).
void packA(const Kernel& kn, const float* A, int64_t ars, int64_t acs, int64_t M, int64_t i0, int64_t mc,
           int64_t k0, int64_t kc, float* Ap) {
  const int mr = kn.mr;
  for (int64_t s = 0; s < mc; s += mr, Ap += mr * kc) {
    int64_t rows = std::min<int64_t>(mr, M - (i0 + s));
    const float* src = A + (i0 + s) * ars + k0 * acs;
    if (acs != 1) {
      for (int64_t k = 0; k < kc; k++)
        for (int64_t i = 0; i < rows; i++) Ap[k * mr + i] = src[i * ars + k * acs];
#if PG_X86
    } else if (isa() != Isa::Portable) {
      transposeAvx2(src, ars, rows, kc, Ap, mr);
#endif
    } else {  // rows contiguous in k: read along k
      for (int64_t i = 0; i < rows; i++)
        for (int64_t k = 0; k < kc; k++) Ap[k * mr + i] = src[i * ars + k];
    }
    if (rows < mr)
      for (int64_t k = 0; k < kc; k++)
        for (int64_t i = rows; i < mr; i++) Ap[k * mr + i] = 0.0f;
  }
}

// Packs NR-column panels [p0, p1) of B's block (k [k0, k0+kc), columns from j0); columns past N are zeros.
void packB(const Kernel& kn, const float* B, int64_t brs, int64_t bcs, int64_t N, int64_t j0, int64_t k0,
           int64_t kc, int64_t p0, int64_t p1, float* Bp) {
  const int nr = kn.nr;
  for (int64_t p = p0; p < p1; p++) {
    float* dst = Bp + p * nr * kc;
    int64_t j = j0 + p * nr;
    int64_t cols = std::min<int64_t>(nr, N - j);
    const float* src = B + k0 * brs + j * bcs;
    if (bcs == 1) {
      for (int64_t k = 0; k < kc; k++) std::memcpy(dst + k * nr, src + k * brs, cols * sizeof(float));
#if PG_X86
    } else if (brs == 1 && isa() != Isa::Portable) {
      transposeAvx2(src, bcs, cols, kc, dst, nr);
#endif
    } else {
      // 16 rows of the panel at a time: the panel is larger than L1, and writing it whole column by
      // column would reload each of its lines once per column.
      for (int64_t kb = 0; kb < kc; kb += 16)
        for (int64_t c = 0; c < cols; c++)
          for (int64_t k = kb; k < std::min(kb + 16, kc); k++) dst[k * nr + c] = src[c * bcs + k * brs];
    }
    if (cols < nr)
      for (int64_t k = 0; k < kc; k++) std::fill(dst + k * nr + cols, dst + (k + 1) * nr, 0.0f);
  }
}

// Where each NR-column panel of a KC-deep block of B is read from: its packed copy, or in place
// (full panels of a B with contiguous rows, when few row tiles would reuse a copy).
struct PanelSource {
  const float* packed;  // panel p at packed + p·NR·kc
  const float* inPlace;  // B at the block's first row and column, or null: every panel is packed
  int64_t brs;
};

// Where each MR-row strip of an MC×KC block of A is read from: its packed copy, or in place (full
// strips of an A with contiguous rows or columns, when few panels would reuse a copy).
struct StripSource {
  const float* packed;   // strip s (its first row's offset in the block) at packed + s·kc; in place: the partial strip at packed
  const float* inPlace;  // A at the block's first row and column, or null: every strip is packed
  int64_t ars, acs;
};

// C tiles of rows [i0, i0+mc) × panels [p0, p1) of the block.
void macroKernel(const Kernel& kn, int64_t M, int64_t N, int64_t i0, int64_t mc, int64_t j0, int64_t p0,
                 int64_t p1, int64_t kc, const StripSource& a, const PanelSource& b, float* C, int64_t ldc, bool accumulate) {
  const int mr = kn.mr, nr = kn.nr;
  alignas(64) float edge[16 * 64];
  for (int64_t p = p0; p < p1; p++) {
    int64_t j = j0 + p * nr;
    int64_t cols = std::min<int64_t>(nr, N - j);
    const bool bInPlace = b.inPlace != nullptr && cols == nr;
    const float* panel = bInPlace ? b.inPlace + p * nr : b.packed + p * nr * kc;
    const int64_t ldb = bInPlace ? b.brs : nr;
    for (int64_t s = 0; s < mc; s += mr) {
      int64_t i = i0 + s;
      int64_t rows = std::min<int64_t>(mr, M - i);
      const bool aInPlace = a.inPlace != nullptr && rows == mr;
      MicroKernel fn = aInPlace && a.acs == 1 ? kn.fnRowsApart : kn.fn;
      const float* strip = aInPlace ? a.inPlace + s * a.ars : a.inPlace ? a.packed : a.packed + s * kc;
      const int64_t ars = aInPlace ? a.ars : 1, acs = aInPlace ? a.acs : mr;
      float* c = C + i * ldc + j;
      if (rows == mr && cols == nr) {
        fn(kc, strip, ars, acs, panel, ldb, c, ldc, accumulate);
      } else {  // partial tile: compute in full into a buffer, then add (or copy) the valid part
        fn(kc, strip, ars, acs, panel, ldb, edge, nr, false);
        for (int64_t r = 0; r < rows; r++)
          for (int64_t q = 0; q < cols; q++)
            c[r * ldc + q] = accumulate ? c[r * ldc + q] + edge[r * nr + q] : edge[r * nr + q];
      }
    }
  }
}

}  // namespace

void sgemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t ars, int64_t acs, const float* B,
           int64_t brs, int64_t bcs, float* C, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; i++) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    return;
  }
  const Kernel& kn = kernelFor(M, N);
  const int64_t mr = kn.mr, nr = kn.nr;
  const int64_t mcMax = MC_ROWS / mr * mr;
  const int64_t rowTiles = ceilDiv(M, mr);

  // C rows [i0, i0+mc) × panels [p0, p1) (columns from j0) of the KC slice at pc; A's strips packed
  // into this thread's scratch unless read in place.
  auto rowBlock = [&](int64_t i0, int64_t mc, int64_t j0, int64_t p0, int64_t p1, int64_t pc, int64_t kc,
                      const PanelSource& src, bool aInPlace, bool acc) {
    float* Ap = scratchA.get(static_cast<size_t>(ceilDiv(mc, mr) * mr * kc));
    if (!aInPlace) packA(kn, A, ars, acs, M, i0, mc, pc, kc, Ap);
    else if (mc % mr != 0) packA(kn, A, ars, acs, M, i0 + mc / mr * mr, mc % mr, pc, kc, Ap);  // the partial strip
    const StripSource strips{Ap, aInPlace ? A + i0 * ars + pc * acs : nullptr, ars, acs};
    macroKernel(kn, M, N, i0, mc, j0, p0, p1, kc, strips, src, C, ldc, acc);
  };
  // A's strips are read in place when its rows or its columns are contiguous and the kernel reads
  // them as fast as a copy, or a strip serves only one or two panels (a copy would hardly be reused).
  const auto readAInPlace = [&](int64_t panelsPerTask) {
    return (acs == 1 || ars == 1) && (kn.inPlaceA || panelsPerTask <= 2);
  };

  // Several tasks per thread let a thread that got more of the CPU take more of the work; on a busy
  // machine an even split would wait for the slowest thread.
  const int64_t threads = M * N * K >= kParallelMacs ? num_threads() : 1;
  // Row block b holds row tiles [rowTiles·b/rowBlocks, rowTiles·(b+1)/rowBlocks): blocks differ by
  // at most one tile, and their count is a multiple of the thread count where there are enough
  // tiles, so the threads' shares of a KC slice differ by at most one tile too (two threads took
  // ~6 % longer on 13 blocks of a 2048-row product than on 14).
  const int64_t fewestBlocks = ceilDiv(rowTiles, std::clamp<int64_t>(ceilDiv(rowTiles, 4 * threads), 1, mcMax / mr));
  const int64_t rowBlocks = std::min(rowTiles, ceilDiv(fewestBlocks, threads) * threads);
  const int64_t colGroups = rowBlocks >= 2 * threads ? 1 : ceilDiv(4 * threads, rowBlocks);
  // With one or two row tiles a packed copy of B would be read once or twice: cheaper to read B
  // where it is when its rows are contiguous (the last, partial panel is still packed, zero-padded).
  const bool bInPlace = bcs == 1 && rowTiles <= 2;

  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    const int64_t panels = ceilDiv(nc, nr);
    if (threads > 1 && panels >= 2 * threads && M < 64 * rowBlocks) {
      // Row blocks under 64 rows would read each panel of a shared packed B for only a few tiles:
      // instead, tasks are groups of panels over all rows, each packing its own panels. A panel
      // packed by one core and read by another moves between their caches, which cost such
      // products up to a third of their time on 2 threads (64×128·128×1024: 128 → 156–173 GFLOP/s,
      // 64×128·128×512: 139 → 168, 256³: 180 → 190). With taller blocks the shared copy measured as
      // fast with AVX-512, and with AVX2's 6×16 tile at 1024³ the groups were up to ~8 % slower.
      const int64_t groups = std::min(panels, 4 * threads);
      for (int64_t pc = 0; pc < K; pc += KC) {
        const int64_t kc = std::min(KC, K - pc);
        parallel_for(groups, [&](int64_t g) {
          const int64_t p0 = panels * g / groups, np = panels * (g + 1) / groups - p0, j0 = jc + p0 * nr;
          float* Bp = scratchB.get(static_cast<size_t>(np * nr * kc));
          if (!bInPlace) packB(kn, B, brs, bcs, N, j0, pc, kc, 0, np, Bp);
          else if (p0 + np == panels && nc % nr != 0) packB(kn, B, brs, bcs, N, j0, pc, kc, np - 1, np, Bp);
          const PanelSource src{Bp, bInPlace ? B + pc * brs + j0 * bcs : nullptr, brs};
          for (int64_t i0 = 0; i0 < M; i0 += mcMax)
            rowBlock(i0, std::min(mcMax, M - i0), j0, 0, np, pc, kc, src, readAInPlace(np), accumulate || pc > 0);
        });
      }
      continue;
    }
    // Otherwise tasks form a grid of row blocks by column groups over one packed copy of B, shared.
    const int64_t groups = std::min(colGroups, panels);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      float* Bp = scratchB.get(static_cast<size_t>(panels * nr * kc));
      const PanelSource src{Bp, bInPlace ? B + pc * brs + jc * bcs : nullptr, brs};
      if (bInPlace) {
        if (nc % nr != 0) packB(kn, B, brs, bcs, N, jc, pc, kc, panels - 1, panels, Bp);
      } else {
        // Several tasks per thread, as for the tiles: a worker that joins late still takes a share.
        const int64_t packTasks = std::min(4 * threads, panels);
        parallel_for(packTasks, [&](int64_t t) {
          packB(kn, B, brs, bcs, N, jc, pc, kc, panels * t / packTasks, panels * (t + 1) / packTasks, Bp);
        });
      }
      const bool aInPlace = readAInPlace(ceilDiv(panels, groups));
      parallel_for(rowBlocks * groups, [&](int64_t t) {
        const int64_t rb = t / groups, g = t % groups;
        const int64_t i0 = rowTiles * rb / rowBlocks * mr, mc = std::min(rowTiles * (rb + 1) / rowBlocks * mr, M) - i0;
        rowBlock(i0, mc, jc, panels * g / groups, panels * (g + 1) / groups, pc, kc, src, aInPlace, accumulate || pc > 0);
      });
    }
  }
}

namespace {

// The last element a strided operand reaches must lie inside its array (strides are ≥ 0).
void checkExtent(const char* name, size_t length, int64_t offset, int64_t rows, int64_t rs, int64_t cols, int64_t cs) {
  PG_CHECK(rs >= 0 && cs >= 0 && offset >= 0, std::string("the strides and offset of '") + name + "' must not be negative");
  if (rows == 0 || cols == 0) return;
  PG_CHECK(offset + (rows - 1) * rs + (cols - 1) * cs < static_cast<int64_t>(length),
        std::string("'") + name + "' (" + std::to_string(length) + " elements) is too short for a " + std::to_string(rows) + "×" +
            std::to_string(cols) + " operand with strides " + std::to_string(rs) + ", " + std::to_string(cs));
}

// sgemm(a, ars, acs, b, brs, bcs, c, ldc, M, N, K, accumulate): pg::sgemm on whole arrays.
napi_value Sgemm(Args& a) {
  F32 A = a.f32(0, "a"), B = a.f32(3, "b"), C = a.f32(6, "c");
  int64_t ars = a.int64(1, "ars"), acs = a.int64(2, "acs"), brs = a.int64(4, "brs"), bcs = a.int64(5, "bcs");
  int64_t ldc = a.int64(7, "ldc"), M = a.int64(8, "M"), N = a.int64(9, "N"), K = a.int64(10, "K");
  bool accumulate = a.boolean(11, "accumulate");
  PG_CHECK(M >= 0 && N >= 0 && K >= 0, "M, N and K must not be negative");
  PG_CHECK(ldc >= N, "ldc must be at least N");
  checkExtent("a", A.length, 0, M, ars, K, acs);
  checkExtent("b", B.length, 0, K, brs, N, bcs);
  checkExtent("c", C.length, 0, M, ldc, N, 1);
  sgemm(M, N, K, A.data, ars, acs, B.data, brs, bcs, C.data, ldc, accumulate);
  return nullptr;
}
PG_EXPORT("sgemm", Sgemm);

// matmul(a, b, out, M, N, K, offsets: Float64Array, batches): for each batch t, out[t] =
// a[offsets[t] …] · b[offsets[batches + t] …], row-major M×K and K×N matrices (broadcast batch dims
// give repeated offsets). Many small products run as tasks of their own, a few large ones each
// across the pool; the bits are the same either way.
napi_value Matmul(Args& a) {
  F32 A = a.f32(0, "a"), B = a.f32(1, "b"), C = a.f32(2, "out");
  int64_t M = a.int64(3, "M"), N = a.int64(4, "N"), K = a.int64(5, "K");
  F64 offsets = a.f64(6, "offsets");
  const int64_t batches = a.int64(7, "batches");
  PG_CHECK(M >= 0 && N >= 0 && K >= 0 && batches >= 0, "M, N, K and batches must not be negative");
  PG_CHECK(static_cast<int64_t>(offsets.length) >= 2 * batches, "offsets holds fewer than 2 × batches numbers");
  PG_CHECK(static_cast<int64_t>(C.length) == batches * M * N,
           "out has " + std::to_string(C.length) + " elements, not " + std::to_string(batches) + "×" + std::to_string(M) + "×" + std::to_string(N));
  const double* ao = offsets.data;
  const double* bo = offsets.data + batches;
  for (int64_t t = 0; t < batches; t++) {
    checkExtent("a", A.length, static_cast<int64_t>(ao[t]), M, K, K, 1);
    checkExtent("b", B.length, static_cast<int64_t>(bo[t]), K, N, N, 1);
  }
  auto product = [&](int64_t t) {
    sgemm(M, N, K, A.data + static_cast<int64_t>(ao[t]), K, 1, B.data + static_cast<int64_t>(bo[t]), N, 1,
          C.data + t * M * N, N, false);
  };
  if (batches >= num_threads() && M * N * K < kParallelMacs * 8) parallel_for(batches, product);
  else for (int64_t t = 0; t < batches; t++) product(t);
  return nullptr;
}
PG_EXPORT("matmul", Matmul);

// linear(x, w, bias | null, out, M, K, N, relu): out[M, N] = x[M, K]·w[N, K]ᵀ (+ bias[N]), then ReLU
// when relu (x < 0 → 0, NaN kept, as the reference). The weight is read transposed in place.
napi_value Linear(Args& a) {
  F32 x = a.f32(0, "x"), w = a.f32(1, "w"), bias = a.f32OrNull(2, "bias"), out = a.f32(3, "out");
  const int64_t M = a.int64(4, "M"), K = a.int64(5, "K"), N = a.int64(6, "N");
  const bool relu = a.boolean(7, "relu");
  PG_CHECK(M >= 0 && K >= 0 && N >= 0, "M, K and N must not be negative");
  const auto sizes = [&](const char* what, size_t length, int64_t rows, int64_t cols) {
    PG_CHECK(static_cast<int64_t>(length) == rows * cols, std::string("'") + what + "' has " + std::to_string(length) +
                                                              " elements, not " + std::to_string(rows) + "×" + std::to_string(cols));
  };
  sizes("x", x.length, M, K);
  sizes("w", w.length, N, K);
  sizes("out", out.length, M, N);
  PG_CHECK(!bias.data || static_cast<int64_t>(bias.length) == N,
           "'bias' has " + std::to_string(bias.length) + " elements, not N = " + std::to_string(N));
  sgemm(M, N, K, x.data, K, 1, w.data, 1, K, out.data, N, false);
  if (!bias.data && !relu) return nullptr;
  const float* b = bias.data;
  auto rows = [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) {
      float* o = out.data + i * N;
      for (int64_t j = 0; j < N; j++) {
        float v = b ? o[j] + b[j] : o[j];
        o[j] = relu && v < 0 ? 0.0f : v;
      }
    }
  };
  const int64_t tasks = std::min<int64_t>(M, std::min<int64_t>(M * N / (32 * 1024), 4 * int64_t{num_threads()}));
  if (tasks < 2) rows(0, M);
  else parallel_for(tasks, [&](int64_t t) { rows(M * t / tasks, M * (t + 1) / tasks); });
  return nullptr;
}
PG_EXPORT("linear", Linear);

}  // namespace
}  // namespace pg
