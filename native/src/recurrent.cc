// One LSTM step after its matrix products, forward and backward, as the JS reference kernels
// (src/backend/js/recurrent.ts) compute it: gate order i, f, g, o; the sums and products in float64
// and each stored value rounded to float32 where the reference stores it. The forward activations
// are the float32 functions of vecmath.h, which the compiler vectorises for each instruction set.
// Rows are split across the pool.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

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

// lstmCellBackward(gates, c | null, hOut, gH, gC, B, H, dPre, dc | null): float64 arithmetic on the
// stored float32 values, as the reference.
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
  overRows(B, H, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++) {
      const float* gt = gates.data + r * G;
      float* d = dPre.data + r * G;
      for (int64_t j = 0; j < H; j++) {
        const int64_t q = r * H + j;
        const double i = gt[j], f = gt[j + H], g = gt[j + 2 * H], o = gt[j + 3 * H];
        // tanh(c') = h'/o without a second tanh; where o is 0, every term with tanh(c') is too.
        const double t = o == 0 ? 0 : hOut.data[q] / o;
        // The gradient of c' through both of its uses: h' = o ⊙ tanh(c') and the next step's c'.
        const double dC = gC.data[q] + gH.data[q] * o * (1 - t * t);
        d[j] = static_cast<float>(dC * g * i * (1 - i));
        d[j + H] = c.data ? static_cast<float>(dC * c.data[q] * f * (1 - f)) : 0.0f;
        d[j + 2 * H] = static_cast<float>(dC * i * (1 - g * g));
        d[j + 3 * H] = static_cast<float>(gH.data[q] * t * o * (1 - o));
        if (dc.data) dc.data[q] = static_cast<float>(dC * f);
      }
    }
  });
  return nullptr;
}
PG_EXPORT("lstmCellBackward", LstmCellBackward);

}  // namespace
}  // namespace pg
