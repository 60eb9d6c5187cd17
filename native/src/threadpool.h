// The native kernels' thread pool: one pool per process, sized once (PIXELGRAD_THREADS or the
// hardware threads). Work is split by the caller into tasks whose outputs do not overlap, so results
// never depend on which thread ran which task.
#pragma once
#include <cstdint>
#include <functional>

namespace pg {

int num_threads();

// Resizes the pool (1 … 256); called between jobs, from outside any task.
void set_num_threads(int n);

// Runs fn(t) for every t in [0, n) across the pool and returns when all are done. A call made from
// inside a task runs its tasks inline on that thread (no nested parallelism).
void parallel_for(int64_t n, const std::function<void(int64_t)>& fn);

}  // namespace pg
