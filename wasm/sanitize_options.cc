// Linked into the sanitizer test build only (CMakeLists.txt, LSTM_WASM_SANITIZE). The modules run
// without emscripten's JS glue, which is where ASAN_OPTIONS would come from, so they are built in.
// - allocator_may_return_null: the heap is bounded at 2 GiB and the library answers a failed
//   malloc with ERR_LSTM_RESOURCES (tested), where ASan would abort with "out of memory".
// - quarantine_size_mb=16: freed blocks wait there before they are given again (so a use after
//   free is caught); a block larger than the quarantine is given again at once. With the default
//   (256 MiB) the tests that fill the 2 GiB heap and check a failed create freed its 32 MiB copy
//   (test/trust-native.test.ts) found the freed memory held back.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1:quarantine_size_mb=16"; }
