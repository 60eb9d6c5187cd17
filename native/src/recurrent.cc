// One LSTM step after its matrix products, forward and backward, as the JS reference kernels
// (src/backend/js/recurrent.ts) compute it: gate order i, f, g, o; the sums and products in float64
// and each stored value rounded to float32 where the reference stores it. The forward activations
// are the float32 functions of vecmath.h, which the compiler vectorises for each instruction set.
// Rows are split across the pool.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "gemm.h"
#include "napi_util.h"
#include "nn.h"
#include "threadpool.h"
#include "vecmath.h"

namespace pg {
namespace {

// Below this many cells a step runs on the calling thread (W7's 64×128 takes ~50 µs alone, less than
// waking the pool can cost on a busy machine).
constexpr int64_t kParallelCells = 1 << 16;

// The forward step on rows [lo, hi): gates (may be xw itself), then c' and h'.
PG_INLINE void lstm_rows_body(const float* xw, const float* hw, const float* bias, const float* c, int64_t lo, int64_t hi,
                              int64_t H, float* gates, float* hOut, float* cOut) {
  const int64_t G = 4 * H;
  for (int64_t r = lo; r < hi; r++) {
    const int64_t row = r * G;
    float* gt = gates + row;
    for (int64_t j = 0; j < G; j++) {
      const double v = static_cast<double>(xw[row + j]) + (hw ? hw[row + j] : 0.0) + (bias ? bias[j] : 0.0);
      gt[j] = static_cast<float>(v);
    }
    for (int64_t j = 0; j < H; j++) gt[j] = sigmoidF(gt[j]);
    for (int64_t j = H; j < 2 * H; j++) gt[j] = sigmoidF(gt[j]);
    for (int64_t j = 2 * H; j < 3 * H; j++) gt[j] = tanhF(gt[j]);
    for (int64_t j = 3 * H; j < G; j++) gt[j] = sigmoidF(gt[j]);
    float* cn = cOut + r * H;
    float* hn = hOut + r * H;
    const float* cr = c ? c + r * H : nullptr;
    for (int64_t j = 0; j < H; j++)
      cn[j] = static_cast<float>(static_cast<double>(gt[j]) * gt[j + 2 * H] + (cr ? static_cast<double>(gt[j + H]) * cr[j] : 0.0));
    for (int64_t j = 0; j < H; j++) hn[j] = static_cast<float>(static_cast<double>(gt[j + 3 * H]) * tanhF(cn[j]));
  }
}
PG_ISA_VARIANTS(lstm_rows, (const float* xw, const float* hw, const float* bias, const float* c, int64_t lo, int64_t hi,
                            int64_t H, float* gates, float* hOut, float* cOut),
                (xw, hw, bias, c, lo, hi, H, gates, hOut, cOut))

// rows(lo, hi) over [0, B), in ranges on the pool when the step is large.
template <class Rows>
void overRows(int64_t B, int64_t H, Rows rows) {
  const int64_t tasks = B * H < kParallelCells ? 1 : std::min<int64_t>(B, 4 * int64_t{num_threads()});
  if (tasks < 2) return rows(0, B);
  parallel_for(tasks, [&](int64_t t) { rows(B * t / tasks, B * (t + 1) / tasks); });
}

void checkLength(const char* name, size_t length, int64_t want, const char* shape) {
  PG_CHECK(static_cast<int64_t>(length) == want,
           std::string("'") + name + "' has " + std::to_string(length) + " elements, not " + shape + " = " + std::to_string(want));
}

// lstmCell(xw, hw | null, bias | null, c | null, B, H, gates, hOut, cOut); gates may be xw itself.
napi_value LstmCell(Args& a) {
  const F32 xw = a.f32(0, "xw"), hw = a.f32OrNull(1, "hw"), bias = a.f32OrNull(2, "bias"), c = a.f32OrNull(3, "c");
  const int64_t B = a.int64(4, "B"), H = a.int64(5, "H");
  const F32 gates = a.f32(6, "gates"), hOut = a.f32(7, "hOut"), cOut = a.f32(8, "cOut");
  PG_CHECK(B >= 0 && H >= 0, "B and H must not be negative");
  const int64_t G = 4 * H;
  checkLength("xw", xw.length, B * G, "B·4H");
  if (hw.data) checkLength("hw", hw.length, B * G, "B·4H");
  if (bias.data) checkLength("bias", bias.length, G, "4H");
  if (c.data) checkLength("c", c.length, B * H, "B·H");
  checkLength("gates", gates.length, B * G, "B·4H");
  checkLength("hOut", hOut.length, B * H, "B·H");
  checkLength("cOut", cOut.length, B * H, "B·H");
  overRows(B, H, [&](int64_t lo, int64_t hi) { lstm_rows(xw.data, hw.data, bias.data, c.data, lo, hi, H, gates.data, hOut.data, cOut.data); });
  return nullptr;
}
PG_EXPORT("lstmCell", LstmCell);

// The backward step on rows [lo, hi): float64 arithmetic on the stored float32 values, as the reference.
// One loop per presence of c and dc, free of branches and of possible aliasing, so that it vectorises;
// without trapping maths, since GCC will not compute h'/o in every lane when it might divide by zero
// (the lanes where o = 0 discard it). Nothing here reads the floating-point exception flags.
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")
template <bool HasC, bool HasDc>
PG_INLINE void lstm_backward_rows_loop(const float* __restrict gates, const float* __restrict c, const float* __restrict hOut,
                                       const float* __restrict gH, const float* __restrict gC, int64_t lo, int64_t hi, int64_t H,
                                       float* __restrict dPre, float* __restrict dc) {
  const int64_t G = 4 * H;
  for (int64_t r = lo; r < hi; r++) {
    const float* gt = gates + r * G;
    float* d = dPre + r * G;
    const int64_t q0 = r * H;
    for (int64_t j = 0; j < H; j++) {
      const int64_t q = q0 + j;
      const double i = gt[j], f = gt[j + H], g = gt[j + 2 * H], o = gt[j + 3 * H];
      // tanh(c') = h'/o without a second tanh; where o is 0, every term with tanh(c') is too.
      const double ratio = hOut[q] / o;
      const double t = o == 0 ? 0 : ratio;
      // The gradient of c' through both of its uses: h' = o ⊙ tanh(c') and the next step's c'.
      const double dC = gC[q] + gH[q] * o * (1 - t * t);
      d[j] = static_cast<float>(dC * g * i * (1 - i));
      d[j + H] = HasC ? static_cast<float>(dC * c[q] * f * (1 - f)) : 0.0f;
      d[j + 2 * H] = static_cast<float>(dC * i * (1 - g * g));
      d[j + 3 * H] = static_cast<float>(gH[q] * t * o * (1 - o));
      if (HasDc) dc[q] = static_cast<float>(dC * f);
    }
  }
}
PG_INLINE void lstm_backward_rows_body(const float* gates, const float* c, const float* hOut, const float* gH, const float* gC,
                                       int64_t lo, int64_t hi, int64_t H, float* dPre, float* dc) {
  if (c && dc) lstm_backward_rows_loop<true, true>(gates, c, hOut, gH, gC, lo, hi, H, dPre, dc);
  else if (c) lstm_backward_rows_loop<true, false>(gates, c, hOut, gH, gC, lo, hi, H, dPre, dc);
  else if (dc) lstm_backward_rows_loop<false, true>(gates, c, hOut, gH, gC, lo, hi, H, dPre, dc);
  else lstm_backward_rows_loop<false, false>(gates, c, hOut, gH, gC, lo, hi, H, dPre, dc);
}
PG_ISA_VARIANTS(lstm_backward_rows, (const float* gates, const float* c, const float* hOut, const float* gH, const float* gC,
                                     int64_t lo, int64_t hi, int64_t H, float* dPre, float* dc),
                (gates, c, hOut, gH, gC, lo, hi, H, dPre, dc))
#pragma GCC pop_options

// lstmCellBackward(gates, c | null, hOut, gH, gC, B, H, dPre, dc | null).
napi_value LstmCellBackward(Args& a) {
  const F32 gates = a.f32(0, "gates"), c = a.f32OrNull(1, "c"), hOut = a.f32(2, "hOut"), gH = a.f32(3, "gH"), gC = a.f32(4, "gC");
  const int64_t B = a.int64(5, "B"), H = a.int64(6, "H");
  const F32 dPre = a.f32(7, "dPre"), dc = a.f32OrNull(8, "dc");
  PG_CHECK(B >= 0 && H >= 0, "B and H must not be negative");
  const int64_t G = 4 * H;
  checkLength("gates", gates.length, B * G, "B·4H");
  if (c.data) checkLength("c", c.length, B * H, "B·H");
  checkLength("hOut", hOut.length, B * H, "B·H");
  checkLength("gH", gH.length, B * H, "B·H");
  checkLength("gC", gC.length, B * H, "B·H");
  checkLength("dPre", dPre.length, B * G, "B·4H");
  if (dc.data) checkLength("dc", dc.length, B * H, "B·H");
  overRows(B, H, [&](int64_t lo, int64_t hi) { lstm_backward_rows(gates.data, c.data, hOut.data, gH.data, gC.data, lo, hi, H, dPre.data, dc.data); });
  return nullptr;
}
PG_EXPORT("lstmCellBackward", LstmCellBackward);

// A whole sequence runs each block of batch rows through every step as one task: rows never
// exchange anything, so the steps need no barrier between them (two fork-joins a step before).
// Below this many multiply-adds in all, one task.
constexpr int64_t kParallelSequenceMacs = int64_t{1} << 22;

// fn(lo, hi) over row blocks of [0, B), one per thread, or inline for a small sequence. Each row's
// result does not depend on the split (each element of sgemm's product sums K in one order).
template <class Rows>
void overRowBlocks(int64_t L, int64_t B, int64_t H, Rows fn) {
  const int64_t tasks = L * B * 4 * H * H < kParallelSequenceMacs ? 1 : std::min<int64_t>(B, num_threads());
  if (tasks < 2) return fn(int64_t{0}, B);
  parallel_for(tasks, [&](int64_t t) { fn(B * t / tasks, B * (t + 1) / tasks); });
}

// The arrays of a sequence: L steps of B rows, in time order.
void checkSequence(const char* name, size_t length, int64_t L, int64_t B, int64_t cols, const char* shape) {
  checkLength(name, length, L * B * cols, shape);
}

// The arguments both sequence kernels take: W_hh, the initial state and every step's h and c.
void checkSequenceState(const F32& wHh, const F32& h0, const F32& c0, const F32& hs, const F32& cs, int64_t L, int64_t B, int64_t H) {
  checkLength("wHh", wHh.length, 4 * H * H, "4H·H");
  if (h0.data) checkLength("h0", h0.length, B * H, "B·H");
  if (c0.data) checkLength("c0", c0.length, B * H, "B·H");
  checkSequence("hs", hs.length, L, B, H, "L·B·H");
  checkSequence("cs", cs.length, L, B, H, "L·B·H");
}

// lstmSequence(gates, wHh, bias | null, h0 | null, c0 | null, L, B, H, reverse, hs, cs): gates
// [L, B, 4H] holds every step's x·W_ihᵀ and receives the activated gates; per step (t from L−1 down
// when reverse) hw = h·W_hhᵀ and the lstmCell step, h' and c' written to hs[t], cs[t].
napi_value LstmSequence(Args& a) {
  const F32 gates = a.f32(0, "gates"), wHh = a.f32(1, "wHh"), bias = a.f32OrNull(2, "bias"), h0 = a.f32OrNull(3, "h0"), c0 = a.f32OrNull(4, "c0");
  const int64_t L = a.int64(5, "L"), B = a.int64(6, "B"), H = a.int64(7, "H");
  const bool reverse = a.boolean(8, "reverse");
  const F32 hs = a.f32(9, "hs"), cs = a.f32(10, "cs");
  PG_CHECK(L >= 0 && B >= 0 && H >= 0, "L, B and H must not be negative");
  const int64_t G = 4 * H, n = B * H;
  checkSequence("gates", gates.length, L, B, G, "L·B·4H");
  checkSequenceState(wHh, h0, c0, hs, cs, L, B, H);
  if (bias.data) checkLength("bias", bias.length, G, "4H");
  // W_hhᵀ once, so that every step's product reads contiguous rows of it; hw rows belong to their block.
  // In 16×16 tiles: a column of wT walks 4H floats a step, and a whole one would evict itself from L1.
  std::vector<float> wT(static_cast<size_t>(H * G)), hw(static_cast<size_t>(B * G));
  constexpr int64_t kTile = 16;
  for (int64_t j0 = 0; j0 < G; j0 += kTile)
    for (int64_t k0 = 0; k0 < H; k0 += kTile)
      for (int64_t j = j0; j < std::min(j0 + kTile, G); j++)
        for (int64_t k = k0; k < std::min(k0 + kTile, H); k++) wT[k * G + j] = wHh.data[j * H + k];
  overRowBlocks(L, B, H, [&](int64_t lo, int64_t hi) {
    const float *h = h0.data, *c = c0.data;
    for (int64_t s = 0; s < L; s++) {
      const int64_t t = reverse ? L - 1 - s : s;
      float* g = gates.data + t * B * G;
      if (h) sgemm(hi - lo, G, H, h + lo * H, H, 1, wT.data(), G, 1, hw.data() + lo * G, G, false);
      float *hOut = hs.data + t * n, *cOut = cs.data + t * n;
      lstm_rows(g, h ? hw.data() : nullptr, bias.data, c, lo, hi, H, g, hOut, cOut);
      h = hOut, c = cOut;
    }
  });
  return nullptr;
}
PG_EXPORT("lstmSequence", LstmSequence);

// lstmSequenceBackward(gates, wHh, h0 | null, c0 | null, hs, cs, gHs, gCs, L, B, H, reverse, dPre,
// dWhh | null, dh0 | null, dc0 | null): the gradient of lstmSequence from the gradients gHs, gCs of
// its outputs (read only): dPre [L, B, 4H] (of every step's x·W_ihᵀ and hw), then dWhh = Σ_t dPre[t]ᵀ·h
// (the h step t read) as one product over all steps, and the gradients of h0 and c0.
napi_value LstmSequenceBackward(Args& a) {
  const F32 gates = a.f32(0, "gates"), wHh = a.f32(1, "wHh"), h0 = a.f32OrNull(2, "h0"), c0 = a.f32OrNull(3, "c0");
  const F32 hs = a.f32(4, "hs"), cs = a.f32(5, "cs"), gHs = a.f32(6, "gHs"), gCs = a.f32(7, "gCs");
  const int64_t L = a.int64(8, "L"), B = a.int64(9, "B"), H = a.int64(10, "H");
  const bool reverse = a.boolean(11, "reverse");
  const F32 dPre = a.f32(12, "dPre"), dWhh = a.f32OrNull(13, "dWhh"), dh0 = a.f32OrNull(14, "dh0"), dc0 = a.f32OrNull(15, "dc0");
  PG_CHECK(L >= 0 && B >= 0 && H >= 0, "L, B and H must not be negative");
  const int64_t G = 4 * H, n = B * H;
  checkSequence("gates", gates.length, L, B, G, "L·B·4H");
  checkSequenceState(wHh, h0, c0, hs, cs, L, B, H);
  checkSequence("gHs", gHs.length, L, B, H, "L·B·H");
  checkSequence("gCs", gCs.length, L, B, H, "L·B·H");
  checkSequence("dPre", dPre.length, L, B, G, "L·B·4H");
  if (dWhh.data) checkLength("dWhh", dWhh.length, G * H, "4H·H");
  if (dh0.data) checkLength("dh0", dh0.length, n, "B·H");
  if (dc0.data) checkLength("dc0", dc0.length, n, "B·H");
  // The gradients step s carries back to the previous step, and the sums with that step's own.
  std::vector<float> dh(static_cast<size_t>(n)), dc(static_cast<size_t>(n)), gH(static_cast<size_t>(n)), gC(static_cast<size_t>(n));
  const auto timeOf = [&](int64_t s) { return reverse ? L - 1 - s : s; };
  overRowBlocks(L, B, H, [&](int64_t lo, int64_t hi) {
    for (int64_t s = L - 1; s >= 0; s--) {
      const int64_t t = timeOf(s), prev = s > 0 ? timeOf(s - 1) : -1;
      const float *gHt = gHs.data + t * n, *gCt = gCs.data + t * n;
      if (s < L - 1) {
        for (int64_t q = lo * H; q < hi * H; q++) gH[q] = gHt[q] + dh[q], gC[q] = gCt[q] + dc[q];
        gHt = gH.data(), gCt = gC.data();
      }
      float* d = dPre.data + t * B * G;
      float* dcOut = prev >= 0 ? dc.data() : dc0.data;
      lstm_backward_rows(gates.data + t * B * G, prev >= 0 ? cs.data + prev * n : c0.data, hs.data + t * n, gHt, gCt, lo, hi, H, d,
                         dcOut);
      float* dhOut = prev >= 0 ? dh.data() : dh0.data;
      if (dhOut) sgemm(hi - lo, H, G, d + lo * G, G, 1, wHh.data, H, 1, dhOut + lo * H, H, false);
    }
  });
  if (dWhh.data && L == 0) std::fill(dWhh.data, dWhh.data + G * H, 0.0f);
  if (dWhh.data && L > 0) {
    // Step t read hs[t − 1] (hs[t + 1] in reverse) and, at the first step, h0 (nothing when it was
    // zero). A product over no rows (L = 1) writes zeros.
    const int64_t first = reverse ? L - 1 : 0;
    const float* dp = dPre.data + (reverse ? 0 : B * G);
    const float* hp = hs.data + (reverse ? n : 0);
    sgemm(G, H, (L - 1) * B, dp, 1, G, hp, H, 1, dWhh.data, H, false);
    if (h0.data) sgemm(G, H, B, dPre.data + first * B * G, 1, G, h0.data, H, 1, dWhh.data, H, true);
  }
  return nullptr;
}
PG_EXPORT("lstmSequenceBackward", LstmSequenceBackward);

}  // namespace
}  // namespace pg
