// The instruction set the native kernels run on, chosen once per process: the best the CPU has
// (AVX-512, AVX2 + FMA, else portable code the compiler vectorises for the build target), lowered
// by PIXELGRAD_NATIVE_ISA=avx2|portable so that every path can be tested on one machine.
#pragma once

namespace pg {

enum class Isa { Portable, Avx2, Avx512 };

Isa isa();
const char* isa_name(Isa isa);

}  // namespace pg

// Function attributes for the per-ISA variants of a hot loop (empty off x86).
#if defined(__x86_64__) || defined(__i386__)
#define PG_X86 1
#define PG_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define PG_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define PG_X86 0
#define PG_TARGET_AVX512
#define PG_TARGET_AVX2
#endif

// Defines `name(params)`, which calls `name##_body(args)` compiled for the chosen instruction set:
// the body is an always-inline function, so each variant is vectorised for its own target.
#define PG_ISA_VARIANTS(name, params, args)                                        \
  PG_TARGET_AVX512 static void name##_avx512 params { name##_body args; }          \
  PG_TARGET_AVX2 static void name##_avx2 params { name##_body args; }              \
  static void name##_portable params { name##_body args; }                         \
  static void name params {                                                        \
    switch (::pg::isa()) {                                                         \
      case ::pg::Isa::Avx512: return name##_avx512 args;                           \
      case ::pg::Isa::Avx2: return name##_avx2 args;                               \
      default: return name##_portable args;                                        \
    }                                                                              \
  }
#define PG_INLINE inline __attribute__((always_inline))
