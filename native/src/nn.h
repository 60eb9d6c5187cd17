// The native convolution, pooling and batch-norm kernels (conv.cc, pool.cc, channel.cc): their
// geometries, entry points and the helpers they share. Semantics are those of the JS reference
// kernels (src/backend/js/conv.ts, pool.ts, channel.ts); the outputs listed above `Kernels` in
// src/backend/backend.ts arrive uninitialised and are written whole, the others arrive zero-filled.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>

#include "isa.h"
#include "napi_util.h"
#include "threadpool.h"

namespace pg {

// The fields of ConvGeometry (src/backend/backend.ts), in its order.
struct ConvGeo {
  int64_t batch, inC, inH, inW, outC, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW, groups, outH, outW;
};

// The fields of PoolGeometry, in its order.
struct PoolGeo {
  int64_t batch, channels, inH, inW, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW;
};

void conv2d(const float* x, const float* w, const float* bias, float* out, const ConvGeo& g, bool relu = false);
// out = maxPool(relu(conv2d(x, w) + bias)): the ReLU when `relu`, the pooling (over the convolution's
// output, argmax not kept) when `pool` is not null.
void conv2d_fused(const float* x, const float* w, const float* bias, float* out, const ConvGeo& g, bool relu, const PoolGeo* pool);
void conv2d_backward_input(const float* gOut, const float* w, float* gx, const ConvGeo& g);
void conv2d_backward_weight(const float* x, const float* gOut, float* gw, const ConvGeo& g);

void max_pool2d(const float* x, float* out, int32_t* argmax, const PoolGeo& g);
void max_pool2d_backward(const float* gOut, const int32_t* argmax, float* gx, const PoolGeo& g);
void avg_pool2d(const float* x, float* out, const PoolGeo& g, bool countIncludePad, double divisor);
void avg_pool2d_backward(const float* gOut, float* gx, const PoolGeo& g, bool countIncludePad, double divisor);

// Null centres are 0; a null b means b = a with a's centre; a non-null aMask zeroes a where it is ≤ 0.
void channel_sums(const float* a, const float* aCenter, const float* b, const float* bCenter,
                  int64_t N, int64_t C, int64_t P, double* sumA, double* sumAB, const float* aMask);
// A null b drops the second term (bCenter and bScale are then unused); aMask as in channel_sums;
// relu applies the ReLU to out.
void channel_mix(const float* a, const float* aCenter, const double* aScale, const float* b, const float* bCenter,
                 const double* bScale, const double* shift, int64_t N, int64_t C, int64_t P, float* out, const float* aMask, bool relu);

// The float64 sum of p[0..n) (elementwise.cc: 16 interleaved partials, vectorised, a fixed order).
double sum_floats(const float* p, int64_t n);

// Below this many scalar operations a kernel runs on the calling thread: waking the pool costs more.
constexpr int64_t kMinParallelWork = 1 << 15;

// fn(lo, hi) over [0, n) in contiguous ranges, one per thread, or inline when `work` is small.
// For kernels whose output elements are each computed by one range, so the split never shows.
template <class Fn>
void parallel_ranges(int64_t n, int64_t work, Fn&& fn) {
  const int64_t parts = std::min<int64_t>(num_threads(), n);
  if (parts <= 1 || work < kMinParallelWork) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
  parallel_for(parts, [&](int64_t t) { fn(n * t / parts, n * (t + 1) / parts); });
}

// Reads a geometry object's integer fields, in order, into `fields`, for the N-API glue. Every field
// must be an integer in [0, 2^31); `op` and `arg` name the call in errors.
void read_geometry(const Args& a, size_t i, const char* arg, const char* const* names, int64_t* fields, size_t count);

// The pooling geometry of argument i (named `arg` in errors), checked to be a window.
PoolGeo pool_geometry(const Args& a, size_t i, const char* arg);

// "[N=2, C=3, H=4, W=5]"-style shape strings for error messages.
std::string dims(std::initializer_list<std::pair<const char*, int64_t>> named);

// The product of sizes, checked against overflow (a geometry can name any sizes).
int64_t product(std::initializer_list<int64_t> xs);

// Throws unless a typed array argument has exactly `want` elements; shape() says where `want` came
// from, and is called only on failure (the message costs more than many small kernels).
[[noreturn]] void length_error(const char* arg, size_t length, int64_t want, const std::string& shape);
template <class Shape>
void check_length(const char* arg, size_t length, int64_t want, Shape&& shape) {
  if (static_cast<int64_t>(length) != want) length_error(arg, length, want, shape());
}

}  // namespace pg
