{
  # The kernel for each instruction set is its own static library, so only that library gets the
  # instruction set's flags; the addon itself is plain x86-64 (or arm64) and picks a kernel at run
  # time (native/lstm_runtime.cc). LSTM_RUNTIME_SANITIZE=1 builds with ASan + UBSan.
  "variables": {
    "sanitize%": "<!(node -p \"process.env.LSTM_RUNTIME_SANITIZE || 0\")"
  },
  "target_defaults": {
    "cflags_cc": ["-std=c++17", "-O3", "-fno-exceptions", "-Wall", "-Wextra"],
    "cflags_cc!": ["-fno-rtti"],
    # NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: in an environment being torn down (a worker
    # terminated mid-call) node-addon-api drops an error it cannot throw instead of aborting.
    "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
    "xcode_settings": {
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "GCC_ENABLE_CPP_EXCEPTIONS": "NO",
      "OTHER_CPLUSPLUSFLAGS": ["-O3"]
    },
    "conditions": [
      ["OS!='win'", { "defines": ["RNN_HAVE_THREADS"] }],
      ["sanitize==1", {
        "cflags_cc": ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer", "-O1", "-g"],
        "ldflags": ["-fsanitize=address,undefined"]
      }]
    ]
  },
  "targets": [
    {
      "target_name": "lstm_runtime",
      "sources": ["native/binding.cc", "native/rnn_runtime.cc", "native/kernel/kernel_scalar.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "conditions": [
        ["target_arch=='x64'", {
          "defines": ["RNN_HAVE_AVX2"],
          "dependencies": ["kernel_avx2"]
        }],
        ["target_arch=='arm64'", {
          "defines": ["RNN_HAVE_NEON"],
          "sources": ["native/kernel/kernel_neon.cc"]
        }]
      ]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "kernel_avx2",
          "type": "static_library",
          "sources": ["native/kernel/kernel_avx2.cc"],
          "cflags_cc": ["-mavx2", "-mfma", "-mf16c"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-mavx2", "-mfma", "-mf16c"] },
          "msvs_settings": { "VCCLCompilerTool": { "EnableEnhancedInstructionSet": "5" } }
        }
      ]
    }]
  ]
}
