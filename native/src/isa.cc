#include "isa.h"

#include <cstdlib>
#include <cstring>

namespace pg {
namespace {

Isa detect() {
  Isa best = Isa::Portable;
#if PG_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = Isa::Avx2;
  if (best == Isa::Avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    best = Isa::Avx512;
#endif
  // The environment can only lower the choice: a higher one would crash on this CPU.
  const char* env = std::getenv("PIXELGRAD_NATIVE_ISA");
  if (env != nullptr) {
    Isa wanted = best;
    if (std::strcmp(env, "portable") == 0) wanted = Isa::Portable;
    else if (std::strcmp(env, "avx2") == 0) wanted = Isa::Avx2;
    else if (std::strcmp(env, "avx512") == 0) wanted = Isa::Avx512;
    if (wanted < best) best = wanted;
  }
  return best;
}

}  // namespace

Isa isa() {
  static const Isa chosen = detect();
  return chosen;
}

const char* isa_name(Isa i) {
  switch (i) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "portable";
  }
}

}  // namespace pg
