// The addon's entry point: argument helpers and the export registry of napi_util.h, and the exports
// of the core (isa, threads, setThreads).
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "isa.h"
#include "napi_util.h"
#include "threadpool.h"

namespace pg {
namespace {

struct Export {
  const char* name;
  Handler fn;
};

// Function-local so that it exists before any file's PG_EXPORT runs, whatever the link order.
std::vector<Export>& registry() {
  static std::vector<Export> exports;
  return exports;
}

// Every export is called through here: C++ errors become JS Errors naming the export.
napi_value Trampoline(napi_env env, napi_callback_info info) {
  void* data = nullptr;  // the Export, read with the arguments
  try {
    Args args(env, info, &data);
    napi_value result = static_cast<const Export*>(data)->fn(args);
    if (result == nullptr) napi_get_undefined(env, &result);
    return result;
  } catch (const std::exception& err) {
    const Export* e = static_cast<const Export*>(data);
    std::string message = std::string("pixelgrad native ") + (e ? e->name : "call") + ": " + err.what();
    napi_throw_error(env, nullptr, message.c_str());
    return nullptr;
  }
}

napi_value Isa(Args& a) { return a.makeString(isa_name(isa())); }
napi_value Threads(Args& a) { return a.makeNumber(num_threads()); }
napi_value SetThreads(Args& a) {
  int64_t n = a.int64(0, "threads");
  PG_CHECK(n >= 1 && n <= 256, "threads must be in [1, 256], got " + std::to_string(n));
  set_num_threads(static_cast<int>(n));
  return nullptr;
}
PG_EXPORT("isa", Isa);
PG_EXPORT("threads", Threads);
PG_EXPORT("setThreads", SetThreads);

void status(napi_env env, napi_status s, const char* what) {
  if (s != napi_ok) throw Error(what);
}

}  // namespace

Register::Register(const char* name, Handler fn) { registry().push_back({name, fn}); }

Args::Args(napi_env env, napi_callback_info info, void** data) : env_(env) {
  status(env, napi_get_cb_info(env, info, &argc_, argv_, nullptr, data), "cannot read the arguments");
  PG_CHECK(argc_ <= kMaxArgs, "too many arguments (" + std::to_string(argc_) + ")");
}

napi_value Args::raw(size_t i) const {
  PG_CHECK(i < argc_, "missing argument " + std::to_string(i));
  return argv_[i];
}

void* Args::typedArray(size_t i, const char* name, napi_typedarray_type type, const char* typeName,
                       size_t* length) const {
  napi_value v = raw(i);
  bool is = false;
  napi_is_typedarray(env_, v, &is);
  napi_typedarray_type actual;
  void* data = nullptr;
  if (is) napi_get_typedarray_info(env_, v, &actual, length, &data, nullptr, nullptr);
  PG_CHECK(is && actual == type, std::string("argument '") + name + "' must be a " + typeName);
  return data;
}

F32 Args::f32(size_t i, const char* name) const {
  size_t n = 0;
  float* p = static_cast<float*>(typedArray(i, name, napi_float32_array, "Float32Array", &n));
  return {p, n};
}

I32 Args::i32(size_t i, const char* name) const {
  size_t n = 0;
  int32_t* p = static_cast<int32_t*>(typedArray(i, name, napi_int32_array, "Int32Array", &n));
  return {p, n};
}

F64 Args::f64(size_t i, const char* name) const {
  size_t n = 0;
  double* p = static_cast<double*>(typedArray(i, name, napi_float64_array, "Float64Array", &n));
  return {p, n};
}

static bool isNullish(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_null || t == napi_undefined;
}

F32 Args::f32OrNull(size_t i, const char* name) const {
  if (i >= argc_ || isNullish(env_, argv_[i])) return {nullptr, 0};
  return f32(i, name);
}

F64 Args::f64OrNull(size_t i, const char* name) const {
  if (i >= argc_ || isNullish(env_, argv_[i])) return {nullptr, 0};
  return f64(i, name);
}

double Args::number(size_t i, const char* name) const {
  double v = 0;
  PG_CHECK(napi_get_value_double(env_, raw(i), &v) == napi_ok,
        std::string("argument '") + name + "' must be a number");
  return v;
}

int64_t Args::int64(size_t i, const char* name) const {
  double v = number(i, name);
  PG_CHECK(std::isfinite(v) && v == std::floor(v) && std::fabs(v) <= 9007199254740992.0,
        std::string("argument '") + name + "' must be an integer, got " + std::to_string(v));
  return static_cast<int64_t>(v);
}

bool Args::boolean(size_t i, const char* name) const {
  bool v = false;
  PG_CHECK(napi_get_value_bool(env_, raw(i), &v) == napi_ok,
        std::string("argument '") + name + "' must be a boolean");
  return v;
}

std::string Args::string(size_t i, const char* name) const {
  size_t n = 0;
  napi_value v = raw(i);
  PG_CHECK(napi_get_value_string_utf8(env_, v, nullptr, 0, &n) == napi_ok,
        std::string("argument '") + name + "' must be a string");
  std::string s(n, '\0');
  napi_get_value_string_utf8(env_, v, s.data(), n + 1, &n);
  return s;
}

napi_value Args::undefined() const {
  napi_value v;
  napi_get_undefined(env_, &v);
  return v;
}

napi_value Args::makeString(const std::string& s) const {
  napi_value v;
  napi_create_string_utf8(env_, s.data(), s.size(), &v);
  return v;
}

napi_value Args::makeNumber(double d) const {
  napi_value v;
  napi_create_double(env_, d, &v);
  return v;
}

}  // namespace pg

// A training step frees its tensors and allocates them again at the next step, megabytes at a time.
// glibc returns blocks of that size to the kernel on free and maps fresh pages on the next
// allocation, each faulting on first touch; keeping them in the heap (PyTorch's tuned setting: the
// same two thresholds) lets the next step reuse that memory while it is still in cache. Settings of
// the user's own (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_) win.
static void keep_freed_memory_in_heap() {
#if defined(__GLIBC__)
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 64 << 20);
  if (std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
}

static napi_value Init(napi_env env, napi_value exports) {
  keep_freed_memory_in_heap();
  for (const pg::Export& e : pg::registry()) {
    napi_value fn;
    napi_create_function(env, e.name, NAPI_AUTO_LENGTH, pg::Trampoline, const_cast<pg::Export*>(&e), &fn);
    napi_set_named_property(env, exports, e.name, fn);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
