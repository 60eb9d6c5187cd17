// N-API helpers shared by every native kernel file: typed argument access with errors that name the
// op and the argument, and a registry through which each .cc file exports its functions.
//
//   static napi_value Conv2d(pg::Args& a) {
//     pg::F32 x = a.f32(0, "x");            // Float32Array: data pointer and length
//     int64_t batch = a.int64(3, "batch");  // integral JS number
//     ...
//     return nullptr;                       // undefined
//   }
//   PG_EXPORT("conv2d", Conv2d);
//
// Handlers may throw pg::Error (e.g. via PG_CHECK); the registry turns it into a JS Error whose
// message starts with "pixelgrad native <export name>: ".
#pragma once
#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace pg {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};



struct F32 {
  float* data;
  size_t length;
};
struct I32 {
  int32_t* data;
  size_t length;
};
struct F64 {
  double* data;
  size_t length;
};

// The arguments of one call. Accessors take the argument's position and its name (for messages).
class Args {
 public:
  static constexpr size_t kMaxArgs = 24;
  // Reads the call's arguments and the data pointer its function was created with.
  Args(napi_env env, napi_callback_info info, void** data);

  napi_env env() const { return env_; }
  size_t size() const { return argc_; }
  napi_value raw(size_t i) const;

  F32 f32(size_t i, const char* name) const;
  I32 i32(size_t i, const char* name) const;
  F64 f64(size_t i, const char* name) const;
  // null or undefined → {nullptr, 0}; otherwise as f32 / f64.
  F32 f32OrNull(size_t i, const char* name) const;
  F64 f64OrNull(size_t i, const char* name) const;
  double number(size_t i, const char* name) const;
  // A JS number holding an integer (throws on fractions, NaN, beyond ±2^53).
  int64_t int64(size_t i, const char* name) const;
  bool boolean(size_t i, const char* name) const;
  std::string string(size_t i, const char* name) const;

  napi_value undefined() const;
  napi_value makeString(const std::string& s) const;
  napi_value makeNumber(double v) const;

 private:
  void* typedArray(size_t i, const char* name, napi_typedarray_type type, const char* typeName,
                   size_t* length) const;
  napi_env env_;
  size_t argc_ = kMaxArgs;
  napi_value argv_[kMaxArgs];
};

using Handler = napi_value (*)(Args& args);

// Adds an export to the addon; run by PG_EXPORT during static initialisation.
struct Register {
  Register(const char* name, Handler fn);
};

}  // namespace pg

#define PG_CONCAT2(a, b) a##b
#define PG_CONCAT(a, b) PG_CONCAT2(a, b)
#define PG_EXPORT(name, fn) static ::pg::Register PG_CONCAT(pg_export_, __COUNTER__)(name, fn)

// Throws pg::Error(message) unless cond holds; the message is only built when it fails (kernel calls
// are sub-microsecond: a string built per check would cost more than small kernels themselves).
#define PG_CHECK(cond, message)                       \
  do {                                                \
    if (!(cond)) throw ::pg::Error(message);          \
  } while (0)
