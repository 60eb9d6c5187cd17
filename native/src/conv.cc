// Filled in by the native convolution/pooling/batch-norm kernels (see native/src/napi_util.h for the export registry).
