// Per-channel kernels over [N, C, P] float32 arrays, for batch normalisation: centred sums in
// float64 and a per-channel affine mix of one or two centred inputs, computed in float64 as the JS
// reference does, with a following ReLU folded in (its output as a mask on the gradient a, and the
// ReLU on the mix's output). Channels are split across threads for the sums — each channel summed by one task,
// image by image in order, so the bits depend on neither timing nor the thread count — and runs of P
// for the mix.
#include <cstring>

#include "nn.h"

namespace pg {
namespace {

typedef double d8 __attribute__((vector_size(64)));
typedef float f8 __attribute__((vector_size(32)));

// a[i], or 0 where mask[i] ≤ 0 (a ReLU's output: its gradient as reluGrad passes it; NaN passes).
PG_INLINE float masked(const float* a, const float* mask, int64_t i) { return mask && mask[i] <= 0.0f ? 0.0f : a[i]; }

// s += Σ (a − ca), s2 += Σ (a − ca)·(b − cb) over a run of P, a masked when mask: eight float64
// lanes, then the lanes and the tail in order (a fixed order for a given P).
PG_INLINE void run_sums_body(const float* a, const float* b, const float* mask, double ca, double cb, int64_t P, double* s, double* s2) {
  d8 acc = {}, acc2 = {};
  int64_t i = 0;
  for (; i + 8 <= P; i += 8) {
    f8 va, vb;
    std::memcpy(&va, a + i, sizeof va);
    std::memcpy(&vb, b + i, sizeof vb);
    if (mask) {
      f8 vm;
      std::memcpy(&vm, mask + i, sizeof vm);
      va = vm <= 0.0f ? f8{} : va;
    }
    const d8 x = __builtin_convertvector(va, d8) - ca;
    acc += x;
    acc2 += x * (__builtin_convertvector(vb, d8) - cb);
  }
  double t = 0, t2 = 0;
  for (int l = 0; l < 8; l++) {
    t += acc[l];
    t2 += acc2[l];
  }
  for (; i < P; i++) {
    const double x = static_cast<double>(masked(a, mask, i)) - ca;
    t += x;
    t2 += x * (static_cast<double>(b[i]) - cb);
  }
  *s += t;
  *s2 += t2;
}
PG_ISA_VARIANTS(run_sums, (const float* a, const float* b, const float* mask, double ca, double cb, int64_t P, double* s, double* s2),
                (a, b, mask, ca, cb, P, s, s2))

// out = (a − ca)·sa (+ (b − cb)·sb when b) + t over a run of P, a masked when mask, then the ReLU when
// relu. The masked runs go eight lanes at a time by hand: the compiler keeps a scalar compare and
// select (it may trap on NaN) out of its own vectorised loops.
PG_INLINE void run_mix_body(const float* a, const float* b, const float* mask, float* out, int64_t P, double ca, double sa, double cb,
                            double sb, double t, bool relu) {
  int64_t i = 0;
  if (mask) {
    for (; i + 8 <= P; i += 8) {
      f8 va, vm;
      std::memcpy(&va, a + i, sizeof va);
      std::memcpy(&vm, mask + i, sizeof vm);
      d8 r = (__builtin_convertvector(vm <= 0.0f ? f8{} : va, d8) - ca) * sa;
      if (b) {
        f8 vb;
        std::memcpy(&vb, b + i, sizeof vb);
        r += (__builtin_convertvector(vb, d8) - cb) * sb;
      }
      const f8 o = __builtin_convertvector(r + t, f8);
      std::memcpy(out + i, &o, sizeof o);
    }
    for (; i < P; i++) {
      const double x = (static_cast<double>(masked(a, mask, i)) - ca) * sa;
      out[i] = static_cast<float>((b ? x + (static_cast<double>(b[i]) - cb) * sb : x) + t);
    }
  } else if (b) {
    for (; i < P; i++)
      out[i] = static_cast<float>((static_cast<double>(a[i]) - ca) * sa + (static_cast<double>(b[i]) - cb) * sb + t);
  } else {
    for (; i < P; i++) out[i] = static_cast<float>((static_cast<double>(a[i]) - ca) * sa + t);
  }
  if (relu)
    for (i = 0; i < P; i++) out[i] = out[i] < 0.0f ? 0.0f : out[i];
}
PG_ISA_VARIANTS(run_mix, (const float* a, const float* b, const float* mask, float* out, int64_t P, double ca, double sa, double cb, double sb, double t, bool relu),
                (a, b, mask, out, P, ca, sa, cb, sb, t, relu))

double at(const float* v, int64_t c) { return v ? v[c] : 0.0; }

}  // namespace

void channel_sums(const float* a, const float* aCenter, const float* b, const float* bCenter,
                  int64_t N, int64_t C, int64_t P, double* sumA, double* sumAB, const float* aMask) {
  if (!b) {
    b = a;
    bCenter = aCenter;
  }
  std::fill(sumA, sumA + C, 0.0);
  std::fill(sumAB, sumAB + C, 0.0);
  parallel_ranges(C, N * C * P, [&](int64_t c0, int64_t c1) {
    for (int64_t n = 0; n < N; n++) {
      for (int64_t c = c0; c < c1; c++) {
        const int64_t off = (n * C + c) * P;
        run_sums(a + off, b + off, aMask ? aMask + off : nullptr, at(aCenter, c), at(bCenter, c), P, sumA + c, sumAB + c);
      }
    }
  });
}

void channel_mix(const float* a, const float* aCenter, const double* aScale, const float* b, const float* bCenter,
                 const double* bScale, const double* shift, int64_t N, int64_t C, int64_t P, float* out, const float* aMask, bool relu) {
  parallel_ranges(N * C, N * C * P, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const int64_t c = r % C, off = r * P;
      run_mix(a + off, b ? b + off : nullptr, aMask ? aMask + off : nullptr, out + off, P, at(aCenter, c), aScale[c], at(bCenter, c),
              bScale ? bScale[c] : 0.0, shift[c], relu);
    }
  });
}

// ---- N-API glue ----

namespace {

// Checks an optional per-channel float32 vector.
void check_channels(const char* arg, const F32& v, int64_t C) {
  if (v.data) check_length(arg, v.length, C, [&] { return dims({{"C", C}}); });
}

std::string data_shape(int64_t N, int64_t C, int64_t P) { return "the data " + dims({{"N", N}, {"C", C}, {"P", P}}); }

// channelSums(a, aCenter | null, b | null, bCenter | null, N, C, P, sumA, sumAB, aMask | null)
napi_value ChannelSums(Args& args) {
  const int64_t N = args.int64(4, "N"), C = args.int64(5, "C"), P = args.int64(6, "P");
  if (N < 0 || C < 0 || P < 0) throw Error("N, C and P must not be negative, got " + dims({{"N", N}, {"C", C}, {"P", P}}));
  const int64_t size = product({N, C, P});
  const F32 a = args.f32(0, "a"), aCenter = args.f32OrNull(1, "aCenter"), b = args.f32OrNull(2, "b"), bCenter = args.f32OrNull(3, "bCenter");
  const F64 sumA = args.f64(7, "sumA"), sumAB = args.f64(8, "sumAB");
  const F32 aMask = args.f32OrNull(9, "aMask");
  check_length("a", a.length, size, [&] { return data_shape(N, C, P); });
  if (b.data) check_length("b", b.length, size, [&] { return data_shape(N, C, P); });
  if (aMask.data) check_length("aMask", aMask.length, size, [&] { return data_shape(N, C, P); });
  check_channels("aCenter", aCenter, C);
  check_channels("bCenter", bCenter, C);
  check_length("sumA", sumA.length, C, [&] { return dims({{"C", C}}); });
  check_length("sumAB", sumAB.length, C, [&] { return dims({{"C", C}}); });
  channel_sums(a.data, aCenter.data, b.data, bCenter.data, N, C, P, sumA.data, sumAB.data, aMask.data);
  return nullptr;
}

// channelMix(a, aCenter | null, aScale, b | null, bCenter | null, bScale | null, shift, N, C, P, out, aMask | null, relu)
napi_value ChannelMix(Args& args) {
  const int64_t N = args.int64(7, "N"), C = args.int64(8, "C"), P = args.int64(9, "P");
  if (N < 0 || C < 0 || P < 0) throw Error("N, C and P must not be negative, got " + dims({{"N", N}, {"C", C}, {"P", P}}));
  const int64_t size = product({N, C, P});
  const F32 a = args.f32(0, "a"), aCenter = args.f32OrNull(1, "aCenter"), b = args.f32OrNull(3, "b"),
            bCenter = args.f32OrNull(4, "bCenter"), out = args.f32(10, "out"), aMask = args.f32OrNull(11, "aMask");
  const bool relu = args.boolean(12, "relu");
  const F64 aScale = args.f64(2, "aScale"), bScale = args.f64OrNull(5, "bScale"), shift = args.f64(6, "shift");
  check_length("a", a.length, size, [&] { return data_shape(N, C, P); });
  if (b.data) check_length("b", b.length, size, [&] { return data_shape(N, C, P); });
  check_length("out", out.length, size, [&] { return data_shape(N, C, P); });
  if (aMask.data) check_length("aMask", aMask.length, size, [&] { return data_shape(N, C, P); });
  check_channels("aCenter", aCenter, C);
  check_channels("bCenter", bCenter, C);
  check_length("aScale", aScale.length, C, [&] { return dims({{"C", C}}); });
  if (bScale.data) check_length("bScale", bScale.length, C, [&] { return dims({{"C", C}}); });
  check_length("shift", shift.length, C, [&] { return dims({{"C", C}}); });
  channel_mix(a.data, aCenter.data, aScale.data, b.data, bCenter.data, bScale.data, shift.data, N, C, P, out.data, aMask.data, relu);
  return nullptr;
}

PG_EXPORT("channelSums", ChannelSums);
PG_EXPORT("channelMix", ChannelMix);

}  // namespace
}  // namespace pg
