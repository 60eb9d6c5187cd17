// Element-wise kernels, reductions and strided copies of the native backend.
