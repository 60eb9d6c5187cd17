// A fork-join pool of persistent threads. parallel_for publishes a job (a task count and a function),
// every thread — the caller included — takes task indices from a shared counter until none are
// left, and the caller returns once the workers that joined the job have left it. Idle workers spin
// briefly (the next op usually follows within microseconds), yielding the core after a while, and then
// sleep on a condition variable.
#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PG_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define PG_PAUSE() __asm__ __volatile__("yield")
#else
#define PG_PAUSE() ((void)0)
#endif

namespace pg {
namespace {

constexpr int kMaxThreads = 256;
constexpr auto kSpin = std::chrono::microseconds(200);

thread_local bool inTask = false;

int configuredThreads() {
  int n = static_cast<int>(std::thread::hardware_concurrency());
  if (const char* env = std::getenv("PIXELGRAD_THREADS")) {
    int v = std::atoi(env);
    if (v > 0) n = v;
  }
  return std::clamp(n, 1, kMaxThreads);
}

class Pool {
 public:
  explicit Pool(int threads) : threads_(threads) {
    for (int i = 1; i < threads_; i++) workers_.emplace_back([this] { work(); });
  }

  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      state_.fetch_add(kGeneration, std::memory_order_release);
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  int threads() const { return threads_; }

  // The caller never waits for a worker that has not joined: a worker that is asleep, or whose core
  // is taken (on a 2-core machine, often by the engine's own GC threads), joins late or not at all,
  // and the caller runs the tasks it would have taken.
  void run(int64_t n, const std::function<void(int64_t)>& fn) {
    fn_ = &fn;
    n_ = n;
    next_.store(0, std::memory_order_relaxed);
    left_.store(0, std::memory_order_relaxed);
    error_ = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      uint64_t generation = generationOf(state_.load(std::memory_order_relaxed)) + kGeneration;
      state_.store(generation | kOpen, std::memory_order_release);
    }
    wake_.notify_all();
    drain();
    // Close the job to latecomers, then wait for those that joined (they are running its last tasks).
    uint64_t joined = state_.fetch_and(~kOpen, std::memory_order_acq_rel) & kCountMask;
    for (int spins = 0; static_cast<uint64_t>(left_.load(std::memory_order_acquire)) != joined; spins++) {
      if (spins < 2048) PG_PAUSE();
      else std::this_thread::yield();
    }
    fn_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // state_: the job's generation above bit 32, kOpen while it takes workers, and how many joined.
  static constexpr uint64_t kGeneration = uint64_t{1} << 32;
  static constexpr uint64_t kOpen = uint64_t{1} << 31;
  static constexpr uint64_t kCountMask = kOpen - 1;
  static uint64_t generationOf(uint64_t s) { return s & ~kCountMask & ~kOpen; }

  // Runs tasks of the current job until none are left.
  void drain() {
    for (;;) {
      int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
      if (t >= n_) return;
      try {
        (*fn_)(t);
      } catch (...) {
        std::lock_guard<std::mutex> lock(errorMutex_);
        if (!error_) error_ = std::current_exception();
      }
    }
  }

  // Joins the job of generation `generation` if it is still open.
  bool join(uint64_t generation) {
    uint64_t s = state_.load(std::memory_order_acquire);
    while (generationOf(s) == generation && (s & kOpen) != 0) {
      if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) return true;
    }
    return false;
  }

  void work() {
    inTask = true;
    uint64_t seen = 0;
    for (;;) {
      auto until = std::chrono::steady_clock::now() + kSpin;
      int spins = 0;
      while (generationOf(state_.load(std::memory_order_acquire)) == seen) {
        if (++spins < 2048) PG_PAUSE();
        else std::this_thread::yield();
        if (spins % 64 == 0 && std::chrono::steady_clock::now() > until) {
          std::unique_lock<std::mutex> lock(mutex_);
          wake_.wait(lock, [&] { return generationOf(state_.load(std::memory_order_acquire)) != seen; });
        }
      }
      seen = generationOf(state_.load(std::memory_order_acquire));
      if (stop_) return;
      if (join(seen)) {
        drain();
        left_.fetch_add(1, std::memory_order_release);
      }
    }
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> state_{0};
  bool stop_ = false;
  const std::function<void(int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<int> left_{0};
  std::mutex errorMutex_;
  std::exception_ptr error_;
};

std::mutex poolMutex;  // one job at a time (Node worker threads may share the addon)
std::atomic<int> wantedThreads{0};  // 0: not read from the environment yet
Pool* pool = nullptr;  // created on first use; never destroyed at exit, so exit never waits on it

}  // namespace

// Lock-free, as tasks may ask while the caller holds poolMutex.
int num_threads() {
  int n = wantedThreads.load();
  if (n == 0) {
    n = configuredThreads();
    int expected = 0;
    if (!wantedThreads.compare_exchange_strong(expected, n)) n = expected;
  }
  return n;
}

void set_num_threads(int n) {
  std::lock_guard<std::mutex> lock(poolMutex);
  wantedThreads = std::clamp(n, 1, kMaxThreads);
  if (pool != nullptr && pool->threads() != wantedThreads.load()) {
    delete pool;
    pool = nullptr;
  }
}

void parallel_for(int64_t n, const std::function<void(int64_t)>& fn) {
  auto inline_ = [&] {
    bool outer = inTask;
    inTask = true;
    try {
      for (int64_t t = 0; t < n; t++) fn(t);
    } catch (...) {
      inTask = outer;
      throw;
    }
    inTask = outer;
  };
  if (n <= 0) return;
  if (inTask || n == 1) return inline_();
  std::unique_lock<std::mutex> lock(poolMutex, std::try_to_lock);
  if (!lock.owns_lock()) return inline_();  // another thread's job holds the pool
  int threads = num_threads();
  if (threads == 1) {
    lock.unlock();
    return inline_();
  }
  if (pool == nullptr) pool = new Pool(threads);
  inTask = true;
  try {
    pool->run(n, fn);
  } catch (...) {
    inTask = false;
    throw;
  }
  inTask = false;
}

}  // namespace pg
