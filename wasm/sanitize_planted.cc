// Deliberate bugs, built with the sanitizer test build's flags (CMakeLists.txt, lstm-planted.wasm;
// never shipped): test/wasm-sanitize.test.ts calls each and expects its report, which shows the
// sanitizers are live in this toolchain and that their reports reach the tests.
#include <cstdlib>
#include <emscripten.h>

extern "C" {

// Writes one float past a block of n (AddressSanitizer: heap-buffer-overflow).
EMSCRIPTEN_KEEPALIVE float planted_heap_overflow(int n) {
  float* block = static_cast<float*>(malloc(sizeof(float) * n));
  volatile int at = n;
  block[at] = 1.0f;
  float first = block[0];
  free(block);
  return first;
}

// Reads a block after freeing it (AddressSanitizer: heap-use-after-free).
EMSCRIPTEN_KEEPALIVE int planted_use_after_free(int n) {
  int* block = static_cast<int*>(malloc(sizeof(int) * n));
  block[0] = n;
  free(block);
  return *static_cast<volatile int*>(block);
}

// x + INT32_MAX for x > 0 (UBSan: signed-integer-overflow).
EMSCRIPTEN_KEEPALIVE int planted_signed_overflow(int x) {
  volatile int big = 2147483647;
  return x + big;
}

// A float out of int16's range converted to it (UBSan: float-cast-overflow, as F1 was).
EMSCRIPTEN_KEEPALIVE int planted_float_cast(float x) { return static_cast<short>(x); }
}
