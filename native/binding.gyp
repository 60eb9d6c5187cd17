{
  "targets": [
    {
      "target_name": "pixelgrad",
      "sources": [
        "src/addon.cc",
        "src/isa.cc",
        "src/threadpool.cc",
        "src/gemm.cc",
        "src/elementwise.cc",
        "src/recurrent.cc",
        "src/optim.cc",
        "src/conv.cc",
        "src/pool.cc",
        "src/channel.cc",
        "src/softmax.cc"
      ],
      "cflags!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++1y", "-std=gnu++17", "-O2", "-O0"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fno-math-errno", "-Wall", "-Wno-unused-function"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_OPTIMIZATION_LEVEL": "3"
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/O2"] } }
    }
  ]
}
