// 2-D convolution (NCHW input, OIHW weight, groups, stride, padding, dilation) and its two
// gradients, as the JS reference computes them. With AVX-512 or AVX2, direct register tiles with no
// GEMM packing (at the small channel counts of image models, packing cost more than the arithmetic),
// written once in GCC's generic vectors and compiled for each instruction set:
//
// - stride 1 (every 3×3 "same" convolution): the image is copied into a zero-bordered buffer and
//   the tiles read it in place, no column matrix;
// - any other (strides, 1×1, a transposed convolution's output padding): the tiles run over the
//   column matrix (im2col) as the planes of a 1×1 convolution; for the 2×2 stride-2 up-convolution
//   of a U-Net the column matrix is the image rearranged, no larger.
//
// Portable builds (and images whose column matrix would pass 64 MB): im2col + GEMM per image and
// group, col2im for the input gradient (which is also the transposed convolution); 1×1
// convolutions with stride 1 and no padding multiply the image itself. The column matrix is built
// for a block of output rows at a time so that it stays in the per-core cache between im2col and
// the GEMM, and its size stays bounded.
//
// Threads: forward and input gradient split the batch (each image written by one task); when the
// batch is smaller than the pool, images run one after another with the work inside each image
// parallel. The weight gradient sums over images: the batch is cut into a fixed number of slices
// (independent of the thread count), each slice accumulates its own partial gradient, and the
// partials are added in slice order — so the bits depend on neither timing nor the number of threads.
#include <array>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "gemm.h"
#include "nn.h"

#if PG_X86
#include <immintrin.h>
#endif

namespace pg {
namespace {

// Floats of column matrix per block: 512 KB, half the per-core L2 of current x86 cores.
constexpr int64_t kColBlock = 1 << 17;
// The weight gradient's slices: at most this many, and their partial gradients at most kMaxPartials floats.
constexpr int64_t kMaxSlices = 16;
constexpr int64_t kMaxPartials = 1 << 22;

struct Sizes {
  int64_t cg, og, K, P, inPlane;
  explicit Sizes(const ConvGeo& g)
      : cg(g.inC / g.groups), og(g.outC / g.groups), K(cg * g.kH * g.kW), P(g.outH * g.outW), inPlane(g.inH * g.inW) {}
};

// A 1×1 convolution whose planes are the image's, so that it is a plain product: not one whose output
// a transposed convolution's output padding cut short (1×1 with dilation 2 and output padding 1).
bool pointwise(const ConvGeo& g) {
  return g.kH == 1 && g.kW == 1 && g.strideH == 1 && g.strideW == 1 && g.padH == 0 && g.padW == 0 && g.outH == g.inH && g.outW == g.inW;
}

// Output rows per column block.
int64_t block_rows(const ConvGeo& g, int64_t K) { return std::clamp<int64_t>(kColBlock / std::max<int64_t>(1, K * g.outW), 1, g.outH); }

// First o ≥ 0 with o·s + off ≥ 0.
int64_t first_at_least(int64_t off, int64_t s) { return off >= 0 ? 0 : (-off + s - 1) / s; }

// The output columns [lo, hi) whose tap kx reads inside the image, at ix = ox·strideW + off.
struct Span {
  int64_t lo, hi, off;
};
Span inside(const ConvGeo& g, int64_t kx) {
  const int64_t off = kx * g.dilationW - g.padW;
  const int64_t lo = std::min(first_at_least(off, g.strideW), g.outW);
  return {lo, std::max(lo, std::min(g.outW, first_at_least(off - g.inW, g.strideW))), off};
}

// Unfolds output rows [oy0, oy1) of the cg planes at x into col[K, (oy1 − oy0)·outW]: row
// (c, ky, kx), one column per output pixel, zeros for taps outside the image.
void im2col(const float* x, int64_t cg, const ConvGeo& g, int64_t oy0, int64_t oy1, float* col) {
  const int64_t H = g.inH, W = g.inW, oW = g.outW;
  float* dst = col;
  for (int64_t c = 0; c < cg; c++) {
    const float* plane = x + c * H * W;
    for (int64_t ky = 0; ky < g.kH; ky++) {
      for (int64_t kx = 0; kx < g.kW; kx++) {
        const Span s = inside(g, kx);
        for (int64_t oy = oy0; oy < oy1; oy++, dst += oW) {
          const int64_t iy = oy * g.strideH - g.padH + ky * g.dilationH;
          if (iy < 0 || iy >= H) {
            std::fill(dst, dst + oW, 0.0f);
            continue;
          }
          const float* row = plane + iy * W + s.off;
          std::fill(dst, dst + s.lo, 0.0f);
          if (g.strideW == 1) std::memcpy(dst + s.lo, row + s.lo, (s.hi - s.lo) * sizeof(float));
          else if (g.strideW == 2) for (int64_t ox = s.lo; ox < s.hi; ox++) dst[ox] = row[2 * ox];  // vectorised as a constant stride
          else for (int64_t ox = s.lo; ox < s.hi; ox++) dst[ox] = row[ox * g.strideW];
          std::fill(dst + s.hi, dst + oW, 0.0f);
        }
      }
    }
  }
}

// The adjoint of im2col: adds col[K, (oy1 − oy0)·outW] back into the cg planes at x.
void col2im(const float* col, int64_t cg, const ConvGeo& g, int64_t oy0, int64_t oy1, float* x) {
  const int64_t H = g.inH, W = g.inW, oW = g.outW;
  const float* src = col;
  for (int64_t c = 0; c < cg; c++) {
    float* plane = x + c * H * W;
    for (int64_t ky = 0; ky < g.kH; ky++) {
      for (int64_t kx = 0; kx < g.kW; kx++) {
        const Span s = inside(g, kx);
        for (int64_t oy = oy0; oy < oy1; oy++, src += oW) {
          const int64_t iy = oy * g.strideH - g.padH + ky * g.dilationH;
          if (iy < 0 || iy >= H) continue;
          float* row = plane + iy * W + s.off;
          if (g.strideW == 1) for (int64_t ox = s.lo; ox < s.hi; ox++) row[ox] += src[ox];
          else if (g.strideW == 2) for (int64_t ox = s.lo; ox < s.hi; ox++) row[2 * ox] += src[ox];
          else for (int64_t ox = s.lo; ox < s.hi; ox++) row[ox * g.strideW] += src[ox];
        }
      }
    }
  }
}

// The calling thread's buffer number `slot` (0 to 4), at least n floats; reused across calls, so
// that MB-sized buffers are not mapped and faulted in afresh at each call. Slots 0 and 1 belong to
// the kernels below, 2 to the pooled convolutions of conv2d_fused (their output before pooling), 3 and 4 to the weight gradient's
// partials (4: a slice's lane sums, for few output channels).
// Aligned to 64 bytes: a vector load that straddles two cache lines costs two, and where the
// allocator put a buffer changed the speed of whole kernels by half.
float* scratch(int64_t n, int slot = 0) {
  thread_local std::vector<float> buffers[5];
  std::vector<float>& b = buffers[slot];
  constexpr int64_t kSlack = 64 / sizeof(float);
  if (static_cast<int64_t>(b.size()) < n + kSlack) b.resize(n + kSlack);
  const uintptr_t at = reinterpret_cast<uintptr_t>(b.data());
  return reinterpret_cast<float*>((at + 63) & ~uintptr_t{63});
}

// image(n) for every image: one task per image when the batch fills the pool, else in turn (each
// image's GEMMs then use the pool).
template <class Fn>
void each_image(int64_t N, Fn&& image) {
  if (N >= num_threads()) parallel_for(N, [&](int64_t n) { image(n); });
  else for (int64_t n = 0; n < N; n++) image(n);
}

// ---- Direct stride-1 convolution (AVX-512, AVX2): no column matrix, no packing of the image ----
//
// The input planes of one image and group are copied into a zero-bordered buffer; then output
// pixel (y, x) of tap k = (c, ky, kx) reads xp[off[k] + y·Wp + x]. A tile is MR output channels ×
// NV segments of one row's output pixels, a vector wide (a row's last segment cut short), so each
// tap costs NV vector loads and MR broadcasts for MR·NV fused multiply-adds: the GEMM's register
// tile with its B operand read straight from the image. The input gradient is the same kernel on the
// zero-bordered output gradient with the weights flipped and their channel axes swapped.

// Floats per vector: 16 (AVX-512) or 8 (AVX2); kLanes, the larger, sizes the buffers' slack and the
// channel padding of the weight gradient.
constexpr int kLanes = 16, kMaxTileRows = 6;
int lanes() { return isa() == Isa::Avx512 ? 16 : 8; }
// Output channels per tile: 4, or 6 where that divides the channels and 4 does not (LeNet's 6
// channels: two tiles of 4 and 2 rows would cost half again as many loads per multiply-add).
int tile_rows(int64_t channels) { return channels % 4 != 0 && channels % 6 == 0 ? 6 : 4; }
// Segments per tile: as many as leave registers for the loads (32 vector registers, or 16 with AVX2).
int tile_segments(int rows) { return isa() == Isa::Avx512 ? (rows == 6 ? 4 : 6) : (rows == 6 ? 2 : 3); }

typedef float f16v __attribute__((vector_size(64)));
typedef float f8v __attribute__((vector_size(32)));

// Vectors pass by reference: by value they would change the ABI of these (inlined) helpers, and GCC warns.
template <class V>
PG_INLINE void load(V& v, const float* p) {
  std::memcpy(&v, p, sizeof v);
}

// The first n lanes of v to p (n = all lanes: one store).
template <class V>
PG_INLINE void store(float* p, const V& v, int n) {
  constexpr int L = sizeof(V) / sizeof(float);
  if (n == L) {
    std::memcpy(p, &v, sizeof v);
  } else {  // through memory, without a call: around one, every accumulator of the tile would live in memory
    float lanes[L];
    std::memcpy(lanes, &v, sizeof v);
#pragma GCC unroll 16
    for (int l = 0; l < L; l++)
      if (l < n) p[l] = lanes[l];
  }
}

// A zero-bordered copy of `planes` planes of H×W, padded by (pH, pW): planes ps floats apart, with a
// vector of slack after the last, which masked lanes of the last segments may read.
struct Padded {
  int64_t Hp, Wp, ps;
  Padded(int64_t H, int64_t W, int64_t pH, int64_t pW) : Hp(H + 2 * pH), Wp(W + 2 * pW), ps((H + 2 * pH) * (W + 2 * pW)) {}
  int64_t floats(int64_t planes) const { return planes * ps + 2 * kLanes; }
  void fill(const float* src, int64_t planes, int64_t H, int64_t W, int64_t pH, int64_t pW, float* dst) const {
    std::fill(dst, dst + floats(planes), 0.0f);
    for (int64_t c = 0; c < planes; c++)
      for (int64_t y = 0; y < H; y++) std::memcpy(dst + c * ps + (y + pH) * Wp + pW, src + (c * H + y) * W, W * sizeof(float));
  }
};

// What the tiles of one direct convolution share: taps' offsets into the padded buffer, weights
// packed per block of `rows` output channels ([block][k][row], rows past the channel count zero),
// the output plane, and the tiles' shape: `rows` channels × up to `segs` segments. Taps run kernel
// row by kernel row (ky, plane, kx), so that the taps which read rows of data (not only zero
// padding) from a segment group's output rows are one range, [taps[2g], taps[2g + 1]) for group g:
// the rest are skipped (the 5×5 input gradient of a 10×10 image pads it to 18×18).
struct DirectPlan {
  int64_t K, channels, oH, oW, Wp;
  std::vector<int32_t> off;
  std::vector<float> wpack;
  int rows, segs;
  std::vector<int64_t> taps;
};

// One tile, in GCC's generic vectors (compiled per instruction set by the wrappers below).
template <class V, int MR, int NV>
PG_INLINE void direct_tile_body(const float* xp, const DirectPlan& d, const float* wp, const int64_t* base, float* const* dst,
                                const int* count, const float* bias, int64_t plane, int64_t k0, int64_t k1) {
  V acc[MR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++) {
    const V b0 = V{} + (bias ? bias[i] : 0.0f);
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) acc[i][v] = b0;
  }
  const int32_t* off = d.off.data();
  // The weights' block size (d.rows), known here: plans of 6-row blocks have only whole blocks.
  constexpr int kBlock = MR > 4 ? 6 : 4;
  wp += k0 * kBlock;
  for (int64_t k = k0; k < k1; k++, wp += kBlock) {
    const float* p = xp + off[k];
    V x[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) load(x[v], p + base[v]);
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
      const float w = wp[i];
#pragma GCC unroll 8
      for (int v = 0; v < NV; v++) acc[i][v] += w * x[v];
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) store(dst[v] + i * plane, acc[i][v], count[v]);
}

template <int MR, int NV>
PG_TARGET_AVX512 void direct_tile_avx512(const float* xp, const DirectPlan& d, const float* wp, const int64_t* base, float* const* dst,
                                         const int* count, const float* bias, int64_t plane, int64_t k0, int64_t k1) {
  direct_tile_body<f16v, MR, NV>(xp, d, wp, base, dst, count, bias, plane, k0, k1);
}
template <int MR, int NV>
PG_TARGET_AVX2 void direct_tile_avx2(const float* xp, const DirectPlan& d, const float* wp, const int64_t* base, float* const* dst,
                                     const int* count, const float* bias, int64_t plane, int64_t k0, int64_t k1) {
  direct_tile_body<f8v, MR, NV>(xp, d, wp, base, dst, count, bias, plane, k0, k1);
}

using DirectTile = void (*)(const float*, const DirectPlan&, const float*, const int64_t*, float* const*, const int*, const float*,
                            int64_t, int64_t, int64_t);
constexpr int kMaxSegs = 6;

using DirectTiles = std::array<std::array<DirectTile, kMaxSegs>, kMaxTileRows>;  // [mr − 1][nv − 1], null where unused

template <bool Avx512, int MR, int... NV>
constexpr std::array<DirectTile, kMaxSegs> tiles_for_rows(std::integer_sequence<int, NV...>) {
  if constexpr (Avx512) return {&direct_tile_avx512<MR, NV + 1>...};
  else return {&direct_tile_avx2<MR, NV + 1>...};
}
// Tiles of 1 to 4 rows × up to Segs segments, and of 6 rows × up to SixSegs.
template <bool Avx512, int Segs, int SixSegs>
constexpr DirectTiles tiles_for() {
  const auto segs = std::make_integer_sequence<int, Segs>();
  return {tiles_for_rows<Avx512, 1>(segs), tiles_for_rows<Avx512, 2>(segs), tiles_for_rows<Avx512, 3>(segs), tiles_for_rows<Avx512, 4>(segs),
          {}, tiles_for_rows<Avx512, 6>(std::make_integer_sequence<int, SixSegs>())};
}
const DirectTiles avx512_tiles = tiles_for<true, 6, 4>(), avx2_tiles = tiles_for<false, 3, 2>();

// Segment groups [g0, g1) of out[channels, oH, oW] (+ bias per channel when given) from the padded
// planes at xp; a segment group is d.segs consecutive segments in row-major order.
void direct_conv(const float* xp, const DirectPlan& d, const float* bias, float* out, int64_t g0, int64_t g1) {
  const int L = lanes(), S = d.segs;
  const auto& tiles = L == 16 ? avx512_tiles : avx2_tiles;
  const int64_t plane = d.oH * d.oW, perRow = (d.oW + L - 1) / L, segs = d.oH * perRow;
  int64_t base[kMaxSegs];
  float* dst[kMaxSegs];
  int count[kMaxSegs];
  for (int64_t s0 = g0 * S; s0 < std::min(segs, g1 * S); s0 += S) {
    const int nv = static_cast<int>(std::min<int64_t>(S, segs - s0));
    for (int v = 0; v < nv; v++) {
      const int64_t y = (s0 + v) / perRow, x = (s0 + v) % perRow * L;
      base[v] = y * d.Wp + x;
      dst[v] = out + y * d.oW + x;
      count[v] = static_cast<int>(std::min<int64_t>(L, d.oW - x));
    }
    const int64_t k0 = d.taps[2 * (s0 / S)], k1 = d.taps[2 * (s0 / S) + 1];
    for (int64_t o = 0; o < d.channels; o += d.rows) {
      const int mr = static_cast<int>(std::min<int64_t>(d.rows, d.channels - o));
      tiles[mr - 1][nv - 1](xp, d, d.wpack.data() + o * d.K, base, dst, count, bias ? bias + o : nullptr, plane, k0, k1);
      for (int v = 0; v < nv; v++) dst[v] += d.rows * plane;
    }
  }
}

int64_t segment_groups(const DirectPlan& d) {
  const int64_t L = lanes(), S = d.segs, segs = d.oH * ((d.oW + L - 1) / L);
  return (segs + S - 1) / S;
}

// The plan of a direct convolution of `planes` planes (ps floats apart, rows Wp wide, data in rows
// [r0, r1)) into `channels` planes of oH×oW: taps (ky, plane, kx) in that order, weight(channel,
// plane, ky, kx) the weight of each.
template <class Weight>
DirectPlan make_plan(int64_t ps, int64_t Wp, int64_t r0, int64_t r1, int64_t planes, int64_t kH, int64_t kW, int64_t dH, int64_t dW,
                     int64_t channels, int64_t oH, int64_t oW, Weight&& weight) {
  const int rows = tile_rows(channels);
  DirectPlan d{planes * kH * kW, channels, oH, oW, Wp, std::vector<int32_t>(planes * kH * kW), {}, rows, tile_segments(rows), {}};
  d.wpack.assign((channels + rows - 1) / rows * rows * d.K, 0.0f);
  // Per segment group, the kernel rows that reach a row of data from one of its output rows y0 … y1.
  const int64_t perRow = (oW + lanes() - 1) / lanes(), segs = oH * perRow;
  for (int64_t s0 = 0; s0 < segs; s0 += d.segs) {
    const int64_t y0 = s0 / perRow, y1 = std::min(segs - 1, s0 + d.segs - 1) / perRow;
    const int64_t ky0 = r0 - y1 <= 0 ? 0 : (r0 - y1 + dH - 1) / dH, ky1 = r1 - 1 - y0 < 0 ? 0 : std::min(kH, (r1 - 1 - y0) / dH + 1);
    d.taps.push_back(std::min(ky0, ky1) * planes * kW);
    d.taps.push_back(ky1 * planes * kW);
  }
  int64_t k = 0;
  for (int64_t ky = 0; ky < kH; ky++)
    for (int64_t c = 0; c < planes; c++)
      for (int64_t kx = 0; kx < kW; kx++, k++) {
        d.off[k] = static_cast<int32_t>(c * ps + ky * dH * Wp + kx * dW);
        for (int64_t ch = 0; ch < channels; ch++) d.wpack[(ch / rows * d.K + k) * rows + ch % rows] = weight(ch, c, ky, kx);
      }
  return d;
}

// For every image n and group: prepare(n, grp, buf) fills a buffer of `bufFloats` with the planes the
// group's plan reads, direct_conv writes out(n, grp, buf), then finish(n, grp, out) runs. Images are
// split across threads, or, for a batch smaller than the pool, the segments of each image.
template <class Prepare, class Out, class Finish>
void run_direct(int64_t batch, const std::vector<DirectPlan>& plans, int64_t bufFloats, const float* bias, Prepare&& prepare,
                Out&& out, Finish&& finish) {
  const int64_t groups = static_cast<int64_t>(plans.size()), channels = plans[0].channels;
  const int64_t groupsOfSegs = segment_groups(plans[0]), work = plans[0].K * channels * plans[0].oH * plans[0].oW;
  auto groupBias = [&](int64_t grp) { return bias ? bias + grp * channels : nullptr; };
  if (batch >= num_threads()) {
    parallel_for(batch, [&](int64_t n) {
      float* buf = scratch(bufFloats);
      for (int64_t grp = 0; grp < groups; grp++) {
        prepare(n, grp, buf);
        float* o = out(n, grp);
        direct_conv(buf, plans[grp], groupBias(grp), o, 0, groupsOfSegs);
        finish(n, grp, o);
      }
    });
    return;
  }
  float* buf = scratch(bufFloats);  // the caller's, read by every task
  for (int64_t n = 0; n < batch; n++) {
    for (int64_t grp = 0; grp < groups; grp++) {
      prepare(n, grp, buf);
      float* o = out(n, grp);
      parallel_ranges(groupsOfSegs, work, [&](int64_t g0, int64_t g1) { direct_conv(buf, plans[grp], groupBias(grp), o, g0, g1); });
      finish(n, grp, o);
    }
  }
}

// ---- Direct stride-1 weight gradient (AVX-512, AVX2) ----
//
// gwᵀ[k, o] += Σ_p xp[off[k] + y·Wp + x] · gT[p, o] over the pixels p = (y, x) of one image, with
// gT the output gradient transposed to [P, og padded to 16]: a tile is MR taps × NV vectors of
// output channels, each pixel costing NV vector loads and MR broadcasts for MR·NV multiply-adds.

// Rows of the per-slice gwᵀ are padded to a multiple of every tile's MR, its columns to whole vectors.
constexpr int64_t kWeightTapAlign = 24;
int64_t padded_taps(int64_t K) { return (K + kWeightTapAlign - 1) / kWeightTapAlign * kWeightTapAlign; }
int64_t padded_channels(int64_t og) { return (og + kLanes - 1) / kLanes * kLanes; }

// Taps come in runs of KW consecutive offsets (a kernel row with dilation 1, or KW = 1): one
// pointer per run keeps the tile's addresses in registers (24 separate taps would not fit).
template <class V, int MR, int NV, int KW>
PG_INLINE void weight_tile_body(const float* xp, const int32_t* off, int64_t Wp, const float* gT, int64_t ogp, int64_t oH, int64_t oW,
                                float* dst) {
  static_assert(MR % KW == 0, "a tile holds whole runs of taps");
  constexpr int kRuns = MR / KW, L = sizeof(V) / sizeof(float);
  V acc[MR][NV];
#pragma GCC unroll 24
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) acc[i][v] = V{};
  for (int64_t y = 0; y < oH; y++) {
    const float* run[kRuns];
#pragma GCC unroll 24
    for (int r = 0; r < kRuns; r++) run[r] = xp + off[r * KW] + y * Wp;
    const float* grow = gT + y * oW * ogp;
    for (int64_t x = 0; x < oW; x++) {
      V gv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) load(gv[v], grow + x * ogp + v * L);
#pragma GCC unroll 24
      for (int i = 0; i < MR; i++) {
        const float a = run[i / KW][x + i % KW];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[i][v] += a * gv[v];
      }
    }
  }
#pragma GCC unroll 24
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
      float* d = dst + i * ogp + v * L;
      V sum;
      load(sum, d);
      sum += acc[i][v];
      store(d, sum, L);
    }
}

// Without predictive commoning: GCC would keep each broadcast for the neighbouring pixel's next tap
// of the run, and the registers that takes spill the accumulators.
#define PG_WEIGHT_TILE_OPTIONS __attribute__((optimize("no-predictive-commoning")))
template <int MR, int NV, int KW>
PG_TARGET_AVX512 PG_WEIGHT_TILE_OPTIONS void weight_tile_avx512(const float* xp, const int32_t* off, int64_t Wp, const float* gT,
                                                                 int64_t ogp, int64_t oH, int64_t oW, float* dst) {
  weight_tile_body<f16v, MR, NV, KW>(xp, off, Wp, gT, ogp, oH, oW, dst);
}
template <int MR, int NV, int KW>
PG_TARGET_AVX2 PG_WEIGHT_TILE_OPTIONS void weight_tile_avx2(const float* xp, const int32_t* off, int64_t Wp, const float* gT,
                                                             int64_t ogp, int64_t oH, int64_t oW, float* dst) {
  weight_tile_body<f8v, MR, NV, KW>(xp, off, Wp, gT, ogp, oH, oW, dst);
}
#undef PG_WEIGHT_TILE_OPTIONS

using WeightTile = void (*)(const float*, const int32_t*, int64_t, const float*, int64_t, int64_t, int64_t, float*);

// The tile of mr taps × nv vectors for this instruction set (one of the shapes weight_tiles picks).
template <int KW>
WeightTile weight_tile(int mr, int nv) {
  if (isa() == Isa::Avx512) {
    switch (nv * 100 + mr) {
      case 124: return &weight_tile_avx512<24, 1, KW>;
      case 112: return &weight_tile_avx512<12, 1, KW>;
      case 106: return &weight_tile_avx512<6, 1, KW>;
      case 212: return &weight_tile_avx512<12, 2, KW>;
      case 206: return &weight_tile_avx512<6, 2, KW>;
      case 203: return &weight_tile_avx512<3, 2, KW>;
      case 406: return &weight_tile_avx512<6, 4, KW>;
      case 403: return &weight_tile_avx512<3, 4, KW>;
    }
  } else {
    switch (nv * 100 + mr) {
      case 112: return &weight_tile_avx2<12, 1, KW>;
      case 106: return &weight_tile_avx2<6, 1, KW>;
      case 103: return &weight_tile_avx2<3, 1, KW>;
      case 206: return &weight_tile_avx2<6, 2, KW>;
      case 203: return &weight_tile_avx2<3, 2, KW>;
      case 403: return &weight_tile_avx2<3, 4, KW>;
    }
  }
  throw Error("no weight-gradient tile of " + std::to_string(mr) + " taps × " + std::to_string(nv) + " vectors");
}

// Kernel rows of 5 (LeNet's 5×5), AVX-512 only: 4 runs of 5 taps where 24 single taps would not
// keep their pointers in registers.
template <>
WeightTile weight_tile<5>(int mr, int nv) {
  switch (nv * 100 + mr) {
    case 120: return &weight_tile_avx512<20, 1, 5>;
    case 110: return &weight_tile_avx512<10, 1, 5>;
    case 105: return &weight_tile_avx512<5, 1, 5>;
    case 210: return &weight_tile_avx512<10, 2, 5>;
    case 205: return &weight_tile_avx512<5, 2, 5>;
    case 405: return &weight_tile_avx512<5, 4, 5>;
  }
  throw Error("no weight-gradient tile of " + std::to_string(mr) + " taps × " + std::to_string(nv) + " vectors in rows of 5");
}

// Tiles of up to B / NV taps × NV channel vectors (B = 24 accumulators with AVX-512, 12 with AVX2;
// NV = 4, 2 or 1 as the channels allow); the last taps take the smallest of B / NV, half and a quarter
// of it (a multiple of 3) that holds them (LeNet's 25 taps: 24 + 6 rows, not 48). In runs of 5 taps,
// tiles of 20, 10 or 5 rows, the largest that does not pass K (a multiple of 5). The tiles write
// disjoint parts of dst, so they split across the pool when the caller is not a task already (a
// batch smaller than the pool).
template <int KW>
void weight_tiles(const float* xp, const int32_t* off, int64_t K, int64_t Wp, const float* gT, int64_t ogp, int64_t oH, int64_t oW,
                  float* dst) {
  struct Tile {
    int64_t o, k;
    int mr, nv;
  };
  std::vector<Tile> tiles;
  const int L = lanes(), budget = L == 16 ? 24 : 12;
  const int64_t vectors = ogp / L;
  for (int64_t o = 0; o < vectors;) {
    const int nv = vectors - o >= 4 ? 4 : vectors - o >= 2 ? 2 : 1, most = KW == 5 ? budget / nv / 5 * 5 : budget / nv;
    for (int64_t k = 0; k < K;) {
      const int64_t left = K - k;
      int mr = most;
      if (KW == 5) {
        while (mr > left && mr % 10 == 0) mr /= 2;
      } else {
        if (left <= most / 2 && most / 2 % 3 == 0) mr = most / 2;
        if (left <= most / 4 && most / 4 % 3 == 0) mr = most / 4;
      }
      tiles.push_back({o, k, mr, nv});
      k += mr;
    }
    o += nv;
  }
  const int64_t n = static_cast<int64_t>(tiles.size());
  parallel_ranges(n, ogp * K * oH * oW, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; t++) {
      const Tile& u = tiles[t];
      weight_tile<KW>(u.mr, u.nv)(xp, off + u.k, Wp, gT + u.o * L, ogp, oH, oW, dst + u.k * ogp + u.o * L);
    }
  });
}

// ---- Weight gradient for few output channels per group (at most 8): vectors along the pixels ----
//
// With few output channels, the tiles above would waste most of their lanes (LeNet's conv1: 6 of
// 16, a depthwise convolution 15 of 16). Here a lane is an output pixel: gwᵀ[k, o] gets
// Σ_y Σ_x xp[off[k] + y·Wp + x] · g[o, y, x] in MT taps × NO channels of vector accumulators, each
// step loading NO vectors of the gradient (its rows padded with zeros to whole vectors) and MT of
// the image. A row's last vector clears the image's lanes past the row: their products with the
// zero gradient could be NaN. The lanes' sums are kept per slice, as vectors, and added up at its end.

// Channels per tile at most: the accumulators, NO gradient vectors and the image's vector must fit
// in the registers (32, or 16 with AVX2).
int pixel_channels() { return isa() == Isa::Avx512 ? 8 : 4; }
// Taps per tile for NO channels.
template <bool Avx512>
constexpr int pixel_taps(int no) {
  return Avx512 ? (no == 1 ? 16 : no == 2 ? 8 : no == 3 ? 6 : no == 4 ? 5 : no == 5 ? 4 : no == 8 ? 2 : 3)
                : (no == 1 ? 8 : no == 2 ? 4 : no == 3 ? 3 : 2);
}

// The integer vector of V's shape, for masks.
template <class V>
struct IntLanes;
template <>
struct IntLanes<f16v> {
  typedef int32_t type __attribute__((vector_size(64)));
};
template <>
struct IntLanes<f8v> {
  typedef int32_t type __attribute__((vector_size(32)));
};

// gp: the output gradient as [oH][rowVectors][og] vectors (see interleave_rows_*), NO channels from
// the tile's first; dst: [taps][og] vectors of lane sums.
template <class V, int MT, int NO>
PG_INLINE void pixel_tile_body(const float* xp, const int32_t* off, int64_t Wp, const float* gp, int64_t og, int64_t oH,
                               int64_t rowVectors, int lastLanes, float* dst) {
  constexpr int L = sizeof(V) / sizeof(float);
  typedef typename IntLanes<V>::type I;
  I keep;
  for (int l = 0; l < L; l++) keep[l] = l < lastLanes ? -1 : 0;
  const float* x[MT];
#pragma GCC unroll 16
  for (int t = 0; t < MT; t++) x[t] = xp + off[t];
  V acc[MT][NO];
#pragma GCC unroll 16
  for (int t = 0; t < MT; t++)
#pragma GCC unroll 8
    for (int o = 0; o < NO; o++) acc[t][o] = V{};
  // The products of the vector at x[t] + i and the gradient's at g.
  auto step = [&](int64_t i, const float* g, bool last) __attribute__((always_inline)) {
    V gv[NO];
#pragma GCC unroll 8
    for (int o = 0; o < NO; o++) load(gv[o], g + o * L);
#pragma GCC unroll 16
    for (int t = 0; t < MT; t++) {
      V xv;
      load(xv, x[t] + i);
      if (last) xv = reinterpret_cast<V>(reinterpret_cast<I>(xv) & keep);
#pragma GCC unroll 8
      for (int o = 0; o < NO; o++) acc[t][o] += xv * gv[o];
    }
  };
  const float* g = gp;
  for (int64_t y = 0; y < oH; y++) {
    int64_t i = y * Wp;
    for (int64_t v = 0; v + 1 < rowVectors; v++, i += L, g += og * L) step(i, g, false);
    step(i, g, true);
    g += og * L;
  }
#pragma GCC unroll 16
  for (int t = 0; t < MT; t++)
#pragma GCC unroll 8
    for (int o = 0; o < NO; o++) {
      float* d = dst + (t * og + o) * L;
      V sum;
      load(sum, d);
      sum += acc[t][o];
      store(d, sum, L);
    }
}

using PixelTile = void (*)(const float*, const int32_t*, int64_t, const float*, int64_t, int64_t, int64_t, int, float*);

template <int NO>
PG_TARGET_AVX512 void pixel_tile_avx512(const float* xp, const int32_t* off, int64_t Wp, const float* gp, int64_t og, int64_t oH,
                                        int64_t rowVectors, int lastLanes, float* dst) {
  pixel_tile_body<f16v, pixel_taps<true>(NO), NO>(xp, off, Wp, gp, og, oH, rowVectors, lastLanes, dst);
}
template <int NO>
PG_TARGET_AVX2 void pixel_tile_avx2(const float* xp, const int32_t* off, int64_t Wp, const float* gp, int64_t og, int64_t oH,
                                    int64_t rowVectors, int lastLanes, float* dst) {
  pixel_tile_body<f8v, pixel_taps<false>(NO), NO>(xp, off, Wp, gp, og, oH, rowVectors, lastLanes, dst);
}
const PixelTile avx512_pixel_tiles[8] = {&pixel_tile_avx512<1>, &pixel_tile_avx512<2>, &pixel_tile_avx512<3>, &pixel_tile_avx512<4>,
                                         &pixel_tile_avx512<5>, &pixel_tile_avx512<6>, &pixel_tile_avx512<7>, &pixel_tile_avx512<8>};
const PixelTile avx2_pixel_tiles[4] = {&pixel_tile_avx2<1>, &pixel_tile_avx2<2>, &pixel_tile_avx2<3>, &pixel_tile_avx2<4>};

// Taps a tile of NO channels covers, for this instruction set.
int pixel_tile_taps(int no) { return isa() == Isa::Avx512 ? pixel_taps<true>(no) : pixel_taps<false>(no); }

// gp[y][v][o] = the vector of gs[o, y, v·L …] (og channels, oH rows of oW, L lanes; zeros past the
// row): the channels' vectors of one step side by side, so that a tile addresses them from one pointer.
// (The tiles run only with AVX-512 or AVX2: vector copies, a row's last through a lane mask.)
PG_TARGET_AVX512 void interleave_rows_avx512(const float* gs, int64_t og, int64_t oH, int64_t oW, float* gp) {
  const int64_t rowVectors = (oW + 15) / 16;
  const __mmask16 last = static_cast<__mmask16>((1u << (oW - (rowVectors - 1) * 16)) - 1);
  for (int64_t y = 0; y < oH; y++)
    for (int64_t v = 0; v < rowVectors; v++)
      for (int64_t o = 0; o < og; o++, gp += 16)
        _mm512_storeu_ps(gp, _mm512_maskz_loadu_ps(v + 1 < rowVectors ? 0xffff : last, gs + (o * oH + y) * oW + v * 16));
}
PG_TARGET_AVX2 void interleave_rows_avx2(const float* gs, int64_t og, int64_t oH, int64_t oW, float* gp) {
  const int64_t rowVectors = (oW + 7) / 8;
  const __m256i all = _mm256_set1_epi32(-1);
  const __m256i last = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(oW - (rowVectors - 1) * 8)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  for (int64_t y = 0; y < oH; y++)
    for (int64_t v = 0; v < rowVectors; v++)
      for (int64_t o = 0; o < og; o++, gp += 8)
        _mm256_storeu_ps(gp, _mm256_maskload_ps(gs + (o * oH + y) * oW + v * 8, v + 1 < rowVectors ? all : last));
}

// dst[k, o] (vectors of lane sums, [K + slack][og]) += the products of one image's taps (off: K
// of them, then slack entries repeating tap 0 for the last tile's spare rows) with its gradient gp
// (interleave_rows_*).
void pixel_tiles(const float* xp, const int32_t* off, int64_t K, int64_t Wp, const float* gp, int64_t og, int64_t oH, int64_t oW,
                 float* dst) {
  if (oH == 0 || oW == 0) return;  // no pixels (a row's last vector would be read past its end)
  const int L = lanes(), most = pixel_channels();
  const int64_t rowVectors = (oW + L - 1) / L;
  const int lastLanes = static_cast<int>(oW - (rowVectors - 1) * L);
  // Channels in equal chunks of at most `most`.
  const int64_t chunks = (og + most - 1) / most;
  for (int64_t c = 0, o0 = 0; c < chunks; c++) {
    const int no = static_cast<int>(og * (c + 1) / chunks - o0), mt = pixel_tile_taps(no);
    const PixelTile tile = L == 16 ? avx512_pixel_tiles[no - 1] : avx2_pixel_tiles[no - 1];
    for (int64_t k = 0; k < K; k += mt) tile(xp, off + k, Wp, gp + o0 * L, og, oH, rowVectors, lastLanes, dst + (k * og + o0) * L);
    o0 += no;
  }
}

// gT[P, ogp] = gs[og, P]ᵀ (columns past og untouched), in blocks of pixels that stay in L1 (a row at
// a time would read og streams a plane apart).
void transpose_into(const float* gs, int64_t og, int64_t P, int64_t ogp, float* gT) {
  constexpr int64_t kBlock = 64;
  for (int64_t p0 = 0; p0 < P; p0 += kBlock) {
    const int64_t p1 = std::min(P, p0 + kBlock);
    for (int64_t o = 0; o < og; o++)
      for (int64_t p = p0; p < p1; p++) gT[p * ogp + o] = gs[o * P + p];
  }
}

// Stride-1 convolutions that are not plain products, when the machine runs AVX-512 or AVX2 and the padded
// planes of a group have int32 offsets.
bool direct_forward(const ConvGeo& g) {
  return isa() != Isa::Portable && g.strideH == 1 && g.strideW == 1 && !pointwise(g) &&
         Padded(g.inH, g.inW, g.padH, g.padW).floats(g.inC / g.groups) < (int64_t{1} << 31);
}

bool direct_weight_ok(const ConvGeo& g) {
  return isa() != Isa::Portable && g.strideH == 1 && g.strideW == 1 &&
         Padded(g.inH, g.inW, g.padH, g.padW).floats(g.inC / g.groups) < (int64_t{1} << 31);
}

// The input gradient pads the output gradient by dilation·(kernel − 1) − padding, which must not be
// negative, and reads it whole: an output cut short by a transposed convolution's output padding
// takes the GEMM path.
bool direct_backward(const ConvGeo& g) {
  const int64_t qH = g.dilationH * (g.kH - 1) - g.padH, qW = g.dilationW * (g.kW - 1) - g.padW;
  return isa() != Isa::Portable && g.strideH == 1 && g.strideW == 1 && !pointwise(g) && qH >= 0 && qW >= 0 &&
         g.outH + g.dilationH * (g.kH - 1) == g.inH + 2 * g.padH && g.outW + g.dilationW * (g.kW - 1) == g.inW + 2 * g.padW &&
         Padded(g.outH, g.outW, qH, qW).floats(g.outC / g.groups) < (int64_t{1} << 31);
}

// max(v, 0) over n floats, NaN kept (the reference's ReLU): run on an image's output while in cache.
void relu_in_place(float* p, int64_t n) {
  for (int64_t i = 0; i < n; i++) p[i] = p[i] < 0.0f ? 0.0f : p[i];
}

// What runs on an image's output planes of one group while they are in cache: the ReLU, then with
// `pool` (over those planes: batch 1, the group's channels) max pooling into `pooled`, the
// convolution's output then living in a per-thread buffer instead of `out`.
struct Epilogue {
  bool relu;
  const PoolGeo* pool;
  float* pooled;
};

// Where the convolution writes `count` planes of P floats, from plane `first` (n·C + channel) on.
float* epilogue_target(const Epilogue& e, float* out, int64_t first, int64_t count, int64_t P) {
  return e.pool ? scratch(count * P, 2) : out + first * P;
}

void epilogue_finish(const Epilogue& e, float* o, int64_t first, int64_t count, int64_t P) {
  if (e.relu) relu_in_place(o, count * P);
  if (!e.pool) return;
  const int64_t pooledPlane = e.pool->outH * e.pool->outW;
  thread_local std::vector<int32_t> argmax;  // not kept: inference
  if (static_cast<int64_t>(argmax.size()) < count * pooledPlane) argmax.resize(count * pooledPlane);
  max_pool2d(o, e.pooled + first * pooledPlane, argmax.data(), *e.pool);
}

void conv2d_direct(const float* x, const float* w, const float* bias, float* out, const ConvGeo& g, const Epilogue& e) {
  const Sizes s(g);
  const Padded pad(g.inH, g.inW, g.padH, g.padW);
  std::vector<DirectPlan> plans;
  for (int64_t grp = 0; grp < g.groups; grp++) {
    const float* wg = w + grp * s.og * s.K;
    plans.push_back(make_plan(pad.ps, pad.Wp, g.padH, g.padH + g.inH, s.cg, g.kH, g.kW, g.dilationH, g.dilationW, s.og, g.outH, g.outW,
                              [&](int64_t o, int64_t c, int64_t ky, int64_t kx) { return wg[((o * s.cg + c) * g.kH + ky) * g.kW + kx]; }));
  }
  run_direct(
      g.batch, plans, pad.floats(s.cg), bias,
      [&](int64_t n, int64_t grp, float* xp) { pad.fill(x + (n * g.inC + grp * s.cg) * s.inPlane, s.cg, g.inH, g.inW, g.padH, g.padW, xp); },
      [&](int64_t n, int64_t grp) { return epilogue_target(e, out, n * g.outC + grp * s.og, s.og, s.P); },
      [&](int64_t n, int64_t grp, float* o) { epilogue_finish(e, o, n * g.outC + grp * s.og, s.og, s.P); });
}

// gx[c, y, x] = Σ W[o, c, kH−1−ky, kW−1−kx] · gp[o, y + ky·dH, x + kx·dW] over the output gradient gp
// padded by dilation·(kernel − 1) − padding: the transposed convolution of stride 1.
void conv2d_backward_input_direct(const float* gOut, const float* w, float* gx, const ConvGeo& g) {
  const Sizes s(g);
  const int64_t qH = g.dilationH * (g.kH - 1) - g.padH, qW = g.dilationW * (g.kW - 1) - g.padW;
  const Padded pad(g.outH, g.outW, qH, qW);
  std::vector<DirectPlan> plans;
  for (int64_t grp = 0; grp < g.groups; grp++) {
    const float* wg = w + grp * s.og * s.K;
    plans.push_back(make_plan(pad.ps, pad.Wp, qH, qH + g.outH, s.og, g.kH, g.kW, g.dilationH, g.dilationW, s.cg, g.inH, g.inW,
                              [&](int64_t c, int64_t o, int64_t ky, int64_t kx) {
                                return wg[((o * s.cg + c) * g.kH + (g.kH - 1 - ky)) * g.kW + (g.kW - 1 - kx)];
                              }));
  }
  run_direct(
      g.batch, plans, pad.floats(s.og), nullptr,
      [&](int64_t n, int64_t grp, float* gp) { pad.fill(gOut + (n * g.outC + grp * s.og) * s.P, s.og, g.outH, g.outW, qH, qW, gp); },
      [&](int64_t n, int64_t grp) { return gx + (n * g.inC + grp * s.cg) * s.inPlane; }, [](int64_t, int64_t, float*) {});
}

// ---- The other convolutions: the column matrix as the planes of a 1×1 direct convolution ----
//
// With a stride (the 2×2 stride-2 of a U-Net's up-convolution, where the column matrix is the image
// rearranged, no larger), or an output cut short by output padding: im2col, then the direct tiles
// over its K rows as K planes of outH×outW; the input gradient runs them over the output gradient
// into the column matrix and adds it back with col2im. No GEMM packing.

// The whole column matrix of an image is a per-thread buffer: beyond 64 MB the row-blocked GEMM
// path bounds the memory instead.
constexpr int64_t kMaxColumnFloats = int64_t{1} << 24;

bool column_direct(const ConvGeo& g) {
  const Sizes s(g);
  return isa() != Isa::Portable && s.K * s.P <= kMaxColumnFloats && s.og * s.P <= kMaxColumnFloats;
}

// The column matrix of one image and group with a vector of zeros after it, for the tiles' masked lanes.
void column_planes(const float* xs, const Sizes& s, const ConvGeo& g, float* col) {
  im2col(xs, s.cg, g, 0, g.outH, col);
  std::fill(col + s.K * s.P, col + s.K * s.P + 2 * kLanes, 0.0f);
}

void conv2d_column_direct(const float* x, const float* w, const float* bias, float* out, const ConvGeo& g, const Epilogue& e) {
  const Sizes s(g);
  std::vector<DirectPlan> plans;
  for (int64_t grp = 0; grp < g.groups; grp++) {
    const float* wg = w + grp * s.og * s.K;
    plans.push_back(make_plan(s.P, g.outW, 0, g.outH, s.K, 1, 1, 1, 1, s.og, g.outH, g.outW,
                              [&](int64_t o, int64_t k, int64_t, int64_t) { return wg[o * s.K + k]; }));
  }
  run_direct(
      g.batch, plans, s.K * s.P + 2 * kLanes, bias,
      [&](int64_t n, int64_t grp, float* col) { column_planes(x + (n * g.inC + grp * s.cg) * s.inPlane, s, g, col); },
      [&](int64_t n, int64_t grp) { return epilogue_target(e, out, n * g.outC + grp * s.og, s.og, s.P); },
      [&](int64_t n, int64_t grp, float* o) { epilogue_finish(e, o, n * g.outC + grp * s.og, s.og, s.P); });
}

// The convolution on the direct tiles (stride 1) or over the column matrix, when the build has them;
// false, having done nothing, on portable builds and for column matrices too large.
bool conv2d_tiles(const float* x, const float* w, const float* bias, float* out, const ConvGeo& g, const Epilogue& e) {
  if (direct_forward(g)) conv2d_direct(x, w, bias, out, g, e);
  else if (column_direct(g)) conv2d_column_direct(x, w, bias, out, g, e);
  else return false;
  return true;
}

void conv2d_backward_input_column_direct(const float* gOut, const float* w, float* gx, const ConvGeo& g) {
  const Sizes s(g);
  const Padded copy(g.outH, g.outW, 0, 0);
  std::vector<DirectPlan> plans;
  for (int64_t grp = 0; grp < g.groups; grp++) {
    const float* wg = w + grp * s.og * s.K;
    plans.push_back(make_plan(s.P, g.outW, 0, g.outH, s.og, 1, 1, 1, 1, s.K, g.outH, g.outW,
                              [&](int64_t k, int64_t o, int64_t, int64_t) { return wg[o * s.K + k]; }));
  }
  run_direct(
      g.batch, plans, copy.floats(s.og), nullptr,
      [&](int64_t n, int64_t grp, float* gp) { copy.fill(gOut + (n * g.outC + grp * s.og) * s.P, s.og, g.outH, g.outW, 0, 0, gp); },
      [&](int64_t, int64_t) { return scratch(s.K * s.P, 1); },
      [&](int64_t n, int64_t grp, float* col) {
        float* xs = gx + (n * g.inC + grp * s.cg) * s.inPlane;
        std::fill(xs, xs + s.cg * s.inPlane, 0.0f);  // gx arrives uninitialised; col2im adds
        col2im(col, s.cg, g, 0, g.outH, xs);
      });
}

}  // namespace

void conv2d(const float* x, const float* w, const float* bias, float* out, const ConvGeo& g, bool relu) {
  if (conv2d_tiles(x, w, bias, out, g, Epilogue{relu, nullptr, nullptr})) return;
  const Sizes s(g);
  const int64_t rows = block_rows(g, s.K);
  each_image(g.batch, [&](int64_t n) {
    float* col = pointwise(g) ? nullptr : scratch(s.K * rows * g.outW);
    for (int64_t grp = 0; grp < g.groups; grp++) {
      const float* xs = x + (n * g.inC + grp * s.cg) * s.inPlane;
      const float* wg = w + grp * s.og * s.K;
      float* os = out + (n * g.outC + grp * s.og) * s.P;
      if (!col) {
        sgemm(s.og, s.P, s.K, wg, s.K, 1, xs, s.P, 1, os, s.P, false);
        continue;
      }
      for (int64_t oy0 = 0; oy0 < g.outH; oy0 += rows) {
        const int64_t oy1 = std::min(g.outH, oy0 + rows), np = (oy1 - oy0) * g.outW;
        im2col(xs, s.cg, g, oy0, oy1, col);
        sgemm(s.og, np, s.K, wg, s.K, 1, col, np, 1, os + oy0 * g.outW, s.P, false);
      }
    }
    if (bias) {
      for (int64_t o = 0; o < g.outC; o++) {
        float* p = out + (n * g.outC + o) * s.P;
        const float b = bias[o];
        for (int64_t i = 0; i < s.P; i++) p[i] += b;
      }
    }
    if (relu) relu_in_place(out + n * g.outC * s.P, g.outC * s.P);
  });
}

void conv2d_fused(const float* x, const float* w, const float* bias, float* out, const ConvGeo& g, bool relu, const PoolGeo* pool) {
  // Without pooling: the whole batch at once (the ReLU on each image's output as it is done).
  if (!pool) return conv2d(x, w, bias, out, g, relu);
  // The tiles: the whole batch at once, each image's planes of a group pooled as they are done.
  PoolGeo planes = *pool;
  planes.batch = 1;
  planes.channels = g.outC / g.groups;
  if (conv2d_tiles(x, w, bias, nullptr, g, Epilogue{relu, &planes, out})) return;
  // Portable builds (im2col + GEMM): image by image, so that the convolution's output is still in
  // cache for the ReLU and the pooling.
  ConvGeo one = g;
  one.batch = 1;
  PoolGeo onePool = *pool;
  onePool.batch = 1;
  const int64_t convSize = g.outC * g.outH * g.outW, poolSize = g.outC * pool->outH * pool->outW;
  each_image(g.batch, [&](int64_t n) {
    float* y = scratch(convSize, 2);
    conv2d(x + n * g.inC * g.inH * g.inW, w, bias, y, one, relu);
    thread_local std::vector<int32_t> argmax;
    if (static_cast<int64_t>(argmax.size()) < poolSize) argmax.resize(poolSize);
    max_pool2d(y, out + n * poolSize, argmax.data(), onePool);
  });
}

void conv2d_backward_input(const float* gOut, const float* w, float* gx, const ConvGeo& g) {
  if (direct_backward(g)) return conv2d_backward_input_direct(gOut, w, gx, g);
  if (column_direct(g)) return conv2d_backward_input_column_direct(gOut, w, gx, g);
  const Sizes s(g);
  const int64_t rows = block_rows(g, s.K);
  each_image(g.batch, [&](int64_t n) {
    float* col = pointwise(g) ? nullptr : scratch(s.K * rows * g.outW);
    for (int64_t grp = 0; grp < g.groups; grp++) {
      const float* gs = gOut + (n * g.outC + grp * s.og) * s.P;
      const float* wg = w + grp * s.og * s.K;  // read transposed: element (k, o) of wgᵀ is wg[o·K + k]
      float* xs = gx + (n * g.inC + grp * s.cg) * s.inPlane;
      if (!col) {
        sgemm(s.K, s.P, s.og, wg, 1, s.K, gs, s.P, 1, xs, s.P, false);
        continue;
      }
      // gx arrives uninitialised; col2im adds, and skips pixels no window reads (stride > kernel).
      std::fill(xs, xs + s.cg * s.inPlane, 0.0f);
      for (int64_t oy0 = 0; oy0 < g.outH; oy0 += rows) {
        const int64_t oy1 = std::min(g.outH, oy0 + rows), np = (oy1 - oy0) * g.outW;
        sgemm(s.K, np, s.og, wg, 1, s.K, gs + oy0 * g.outW, s.P, 1, col, np, false);
        col2im(col, s.cg, g, oy0, oy1, xs);
      }
    }
  });
}

void conv2d_backward_weight(const float* x, const float* gOut, float* gw, const ConvGeo& g) {
  const Sizes s(g);
  // Each slice sums gwᵀ, per group [K, og] padded to [Kp, ogp] for the direct tiles.
  const int64_t Kp = padded_taps(s.K), ogp = padded_channels(s.og), size = g.groups * Kp * ogp;
  const int64_t slices = std::max<int64_t>(1, std::min({g.batch, kMaxSlices, kMaxPartials / std::max<int64_t>(1, size)}));
  float* partials = scratch(slices * size, 3);
  std::fill(partials, partials + slices * size, 0.0f);
  const Padded pad(g.inH, g.inW, g.padH, g.padW);
  // The direct tiles read the padded image (stride 1) or else the column matrix as K planes; with
  // few output channels, in vectors along the pixels.
  const bool direct = direct_weight_ok(g), columns = !direct && column_direct(g), few = (direct || columns) && s.og <= 8;
  const int64_t Wp = direct ? pad.Wp : g.outW, L = lanes(), rowFloats = (g.outW + L - 1) / L * L;
  // The direct tiles' taps in the weight's order (c, ky, kx); the padding taps read tap 0 and land in rows past K.
  std::vector<int32_t> off(direct || columns ? std::max(Kp, s.K + kLanes) : 0, 0);
  for (int64_t c = 0, k = 0; direct && c < s.cg; c++)
    for (int64_t ky = 0; ky < g.kH; ky++)
      for (int64_t kx = 0; kx < g.kW; kx++) off[k++] = static_cast<int32_t>(c * pad.ps + ky * g.dilationH * pad.Wp + kx * g.dilationW);
  for (int64_t k = 0; columns && k < s.K; k++) off[k] = static_cast<int32_t>(k * s.P);
  const int64_t rows = block_rows(g, s.K);
  // A slice's lane sums with few channels: per group [K + kLanes][og] vectors (the rows past K take the spare taps of the last tile).
  const int64_t laneSums = few ? g.groups * (s.K + kLanes) * s.og * L : 0;
  auto slice = [&](int64_t t) {
    // The transposed output gradient's columns past og stay zero for all the slice's images.
    float* gT = (direct || columns) && !few ? scratch(s.P * ogp, 1) : nullptr;
    if (gT) std::fill(gT, gT + s.P * ogp, 0.0f);
    float* sums = few ? scratch(laneSums, 4) : nullptr;
    if (sums) std::fill(sums, sums + laneSums, 0.0f);
    for (int64_t n = g.batch * t / slices; n < g.batch * (t + 1) / slices; n++) {
      for (int64_t grp = 0; grp < g.groups; grp++) {
        const float* xs = x + (n * g.inC + grp * s.cg) * s.inPlane;
        const float* gs = gOut + (n * g.outC + grp * s.og) * s.P;
        float* d = partials + t * size + grp * Kp * ogp;
        if (direct || columns) {
          // The column matrix gets a vector of slack too: the pixel tiles' last vectors read past it.
          float* xp = scratch(direct ? pad.floats(s.cg) : s.K * s.P + 2 * kLanes, 0);
          if (direct) pad.fill(xs, s.cg, g.inH, g.inW, g.padH, g.padW, xp);
          else im2col(xs, s.cg, g, 0, g.outH, xp);
          if (few) {
            float* gp = scratch(s.og * g.outH * rowFloats, 1);
            if (L == 16) interleave_rows_avx512(gs, s.og, g.outH, g.outW, gp);
            else interleave_rows_avx2(gs, s.og, g.outH, g.outW, gp);
            pixel_tiles(xp, off.data(), s.K, Wp, gp, s.og, g.outH, g.outW, sums + grp * (s.K + kLanes) * s.og * L);
            continue;
          }
          transpose_into(gs, s.og, s.P, ogp, gT);
          if (direct && g.kW == 3 && g.dilationW == 1) weight_tiles<3>(xp, off.data(), s.K, Wp, gT, ogp, g.outH, g.outW, d);
          else if (direct && g.kW == 5 && g.dilationW == 1 && isa() == Isa::Avx512) weight_tiles<5>(xp, off.data(), s.K, Wp, gT, ogp, g.outH, g.outW, d);
          else weight_tiles<1>(xp, off.data(), s.K, Wp, gT, ogp, g.outH, g.outW, d);
          continue;
        }
        // d[K, og] += col[K, P] · gsᵀ (element (p, o) of gsᵀ is gs[o·P + p]): the GEMM packs the
        // small gradient and reads the column matrix as its A operand, in rows.
        if (pointwise(g)) {
          sgemm(s.K, s.og, s.P, xs, s.P, 1, gs, 1, s.P, d, ogp, true);
          continue;
        }
        float* col = scratch(s.K * rows * g.outW);
        for (int64_t oy0 = 0; oy0 < g.outH; oy0 += rows) {
          const int64_t oy1 = std::min(g.outH, oy0 + rows), np = (oy1 - oy0) * g.outW;
          im2col(xs, s.cg, g, oy0, oy1, col);
          sgemm(s.K, s.og, np, col, np, 1, gs + oy0 * g.outW, 1, s.P, d, ogp, true);
        }
      }
    }
    // The lane sums, lane by lane, into the slice's partial gradient.
    for (int64_t grp = 0; few && grp < g.groups; grp++)
      for (int64_t k = 0; k < s.K; k++)
        for (int64_t o = 0; o < s.og; o++) {
          const float* v = sums + ((grp * (s.K + kLanes) + k) * s.og + o) * L;
          float sum = 0;
          for (int64_t l = 0; l < L; l++) sum += v[l];
          partials[t * size + grp * Kp * ogp + k * ogp + o] = sum;
        }
  };
  if (slices >= num_threads()) parallel_for(slices, slice);
  else for (int64_t t = 0; t < slices; t++) slice(t);
  // gw = the slices' sums in slice order, transposed back per group (gw arrives uninitialised).
  for (int64_t grp = 0; grp < g.groups; grp++) {
    for (int64_t o = 0; o < s.og; o++) {
      float* dst = gw + (grp * s.og + o) * s.K;
      std::fill(dst, dst + s.K, 0.0f);
      for (int64_t t = 0; t < slices; t++) {
        const float* src = partials + t * size + grp * Kp * ogp + o;
        for (int64_t k = 0; k < s.K; k++) dst[k] += src[k * ogp];
      }
    }
  }
}

// ---- N-API glue and the argument checks shared by the pooling and batch-norm glue ----

std::string dims(std::initializer_list<std::pair<const char*, int64_t>> named) {
  std::string s = "[";
  for (const auto& [name, v] : named) s += (s.size() > 1 ? ", " : "") + std::string(name) + "=" + std::to_string(v);
  return s + "]";
}

void length_error(const char* arg, size_t length, int64_t want, const std::string& shape) {
  throw Error(std::string("'") + arg + "' has " + std::to_string(length) + " elements, but " + shape + " needs " +
              std::to_string(want));
}

void read_geometry(const Args& a, size_t i, const char* arg, const char* const* names, int64_t* fields, size_t count) {
  napi_env env = a.env();
  napi_value obj = a.raw(i);
  napi_valuetype type;
  napi_typeof(env, obj, &type);
  if (type != napi_object) throw Error(std::string("argument '") + arg + "' must be a geometry object");
  for (size_t f = 0; f < count; f++) {
    napi_value v;
    double d = NAN;
    if (napi_get_named_property(env, obj, names[f], &v) != napi_ok || napi_get_value_double(env, v, &d) != napi_ok ||
        !(d >= 0 && d < 2147483648.0 && d == std::floor(d)))
      throw Error(std::string("'") + arg + "." + names[f] + "' must be an integer in [0, 2^31)");
    fields[f] = static_cast<int64_t>(d);
  }
}

int64_t product(std::initializer_list<int64_t> xs) {
  int64_t p = 1;
  for (int64_t x : xs)
    if (__builtin_mul_overflow(p, x, &p)) throw Error("sizes overflow int64");
  return p;
}

namespace {

// Output size along one axis (0 when the dilated window does not fit).
int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  const int64_t span = in + 2 * p - d * (k - 1) - 1;
  return span < 0 ? 0 : span / s + 1;
}

// The geometry of argument i, checked to be a convolution and to match the arrays' lengths.
ConvGeo conv_geometry(const Args& a, size_t i) {
  static const char* const names[] = {"batch", "inChannels", "inH", "inW", "outChannels", "kH", "kW", "strideH",
                                      "strideW", "padH", "padW", "dilationH", "dilationW", "groups", "outH", "outW"};
  ConvGeo g;
  read_geometry(a, i, "geometry", names, &g.batch, 16);
  if (g.kH < 1 || g.kW < 1 || g.strideH < 1 || g.strideW < 1 || g.dilationH < 1 || g.dilationW < 1)
    throw Error("kernel, stride and dilation must be at least 1, got " +
                dims({{"kH", g.kH}, {"kW", g.kW}, {"strideH", g.strideH}, {"strideW", g.strideW},
                      {"dilationH", g.dilationH}, {"dilationW", g.dilationW}}));
  if (g.groups < 1 || g.inC % g.groups != 0 || g.outC % g.groups != 0)
    throw Error("groups must divide both channel counts, got " + dims({{"groups", g.groups}, {"inChannels", g.inC}, {"outChannels", g.outC}}));
  const int64_t oH = conv_out(g.inH, g.kH, g.strideH, g.padH, g.dilationH), oW = conv_out(g.inW, g.kW, g.strideW, g.padW, g.dilationW);
  // Smaller is the transposed convolution's output padding (up to max(stride, dilation) − 1).
  if (g.outH > oH || g.outW > oW)
    throw Error("output size " + dims({{"outH", g.outH}, {"outW", g.outW}}) + " exceeds what the input " +
                dims({{"inH", g.inH}, {"inW", g.inW}}) + " and the window give " + dims({{"outH", oH}, {"outW", oW}}));
  return g;
}

std::string input_shape(const ConvGeo& g) { return "the input " + dims({{"N", g.batch}, {"C", g.inC}, {"H", g.inH}, {"W", g.inW}}); }
std::string output_shape(const ConvGeo& g) { return "the output " + dims({{"N", g.batch}, {"C", g.outC}, {"H", g.outH}, {"W", g.outW}}); }
std::string weight_shape(const ConvGeo& g) {
  return "the weight " + dims({{"O", g.outC}, {"I/groups", g.inC / g.groups}, {"kH", g.kH}, {"kW", g.kW}});
}
int64_t input_size(const ConvGeo& g) { return product({g.batch, g.inC, g.inH, g.inW}); }
int64_t output_size(const ConvGeo& g) { return product({g.batch, g.outC, g.outH, g.outW}); }
int64_t weight_size(const ConvGeo& g) { return product({g.outC, g.inC / g.groups, g.kH, g.kW}); }

// conv2d(x, w, bias | null, out, geometry)
napi_value Conv2d(Args& a) {
  const ConvGeo g = conv_geometry(a, 4);
  const F32 x = a.f32(0, "x"), w = a.f32(1, "w"), bias = a.f32OrNull(2, "bias"), out = a.f32(3, "out");
  check_length("x", x.length, input_size(g), [&] { return input_shape(g); });
  check_length("w", w.length, weight_size(g), [&] { return weight_shape(g); });
  if (bias.data) check_length("bias", bias.length, g.outC, [&] { return dims({{"outChannels", g.outC}}); });
  check_length("out", out.length, output_size(g), [&] { return output_shape(g); });
  conv2d(x.data, w.data, bias.data, out.data, g);
  return nullptr;
}

// conv2dBackwardInput(gOut, w, gx, geometry)
napi_value Conv2dBackwardInput(Args& a) {
  const ConvGeo g = conv_geometry(a, 3);
  const F32 gOut = a.f32(0, "gOut"), w = a.f32(1, "w"), gx = a.f32(2, "gx");
  check_length("gOut", gOut.length, output_size(g), [&] { return output_shape(g); });
  check_length("w", w.length, weight_size(g), [&] { return weight_shape(g); });
  check_length("gx", gx.length, input_size(g), [&] { return input_shape(g); });
  conv2d_backward_input(gOut.data, w.data, gx.data, g);
  return nullptr;
}

// conv2dBackwardWeight(x, gOut, gw, geometry)
napi_value Conv2dBackwardWeight(Args& a) {
  const ConvGeo g = conv_geometry(a, 3);
  const F32 x = a.f32(0, "x"), gOut = a.f32(1, "gOut"), gw = a.f32(2, "gw");
  check_length("x", x.length, input_size(g), [&] { return input_shape(g); });
  check_length("gOut", gOut.length, output_size(g), [&] { return output_shape(g); });
  check_length("gw", gw.length, weight_size(g), [&] { return weight_shape(g); });
  conv2d_backward_weight(x.data, gOut.data, gw.data, g);
  return nullptr;
}

// conv2dFused(x, w, bias | null, out, geometry, relu, pool | null)
napi_value Conv2dFused(Args& a) {
  const ConvGeo g = conv_geometry(a, 4);
  const bool relu = a.boolean(5, "relu");
  napi_valuetype type = napi_undefined;
  if (a.size() > 6) napi_typeof(a.env(), a.raw(6), &type);
  const bool pooled = type != napi_null && type != napi_undefined;
  const PoolGeo p = pooled ? pool_geometry(a, 6, "pool") : PoolGeo{};
  if (pooled && (p.batch != g.batch || p.channels != g.outC || p.inH != g.outH || p.inW != g.outW))
    throw Error("the pool's input " + dims({{"N", p.batch}, {"C", p.channels}, {"H", p.inH}, {"W", p.inW}}) +
                " must be the convolution's output " + dims({{"N", g.batch}, {"C", g.outC}, {"H", g.outH}, {"W", g.outW}}));
  const F32 x = a.f32(0, "x"), w = a.f32(1, "w"), bias = a.f32OrNull(2, "bias"), out = a.f32(3, "out");
  check_length("x", x.length, input_size(g), [&] { return input_shape(g); });
  check_length("w", w.length, weight_size(g), [&] { return weight_shape(g); });
  if (bias.data) check_length("bias", bias.length, g.outC, [&] { return dims({{"outChannels", g.outC}}); });
  if (pooled)
    check_length("out", out.length, product({g.batch, g.outC, p.outH, p.outW}), [&] { return "the pooled output " + dims({{"N", g.batch}, {"C", g.outC}, {"H", p.outH}, {"W", p.outW}}); });
  else check_length("out", out.length, output_size(g), [&] { return output_shape(g); });
  conv2d_fused(x.data, w.data, bias.data, out.data, g, relu, pooled ? &p : nullptr);
  return nullptr;
}

PG_EXPORT("conv2d", Conv2d);
PG_EXPORT("conv2dFused", Conv2dFused);
PG_EXPORT("conv2dBackwardInput", Conv2dBackwardInput);
PG_EXPORT("conv2dBackwardWeight", Conv2dBackwardWeight);

}  // namespace
}  // namespace pg
