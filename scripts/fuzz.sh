#!/usr/bin/env bash
# Fuzzing, simdjson's way: one libFuzzer harness per C entry point (native/fuzz/fuzz_*.cc: create,
# forward, stream, conv1d), built with clang's libFuzzer, AddressSanitizer (LeakSanitizer on) and
# UndefinedBehaviorSanitizer together with the kernel sources they call (the AVX2 kernel with its
# own -mavx2 -mfma -mf16c, as binding.gyp builds it), then each run for a bounded time from its
# committed corpus (native/fuzz/corpus/<harness>/, read only: new inputs go to build/fuzz/work/);
# then the model readers' fuzzer (scripts/fuzz-readers.mjs), one harness per reader.
#
#   scripts/fuzz.sh [seconds per harness, default 10] [harness ...]
#   FUZZ_RUNS=1000000 scripts/fuzz.sh 0 fuzz_forward    # a number of executions instead of a time
#   FUZZ_READERS=0 scripts/fuzz.sh 30                     # the C harnesses only
#   FUZZ_ARGS=-max_len=64 scripts/fuzz.sh 30 fuzz_stream  # more libFuzzer flags
#
# Prints the executions of each harness and, last, "fuzz: N passed, M failed" (N = harnesses that ran
# clean). A finding leaves its input in build/fuzz/artifacts/<harness>/ and the report in
# build/fuzz/<harness>.log. Builds only in build/fuzz/ (never the addon).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
shift || true
wanted=("$@")
out=${FUZZ_OUT:-build/fuzz}  # node-gyp rebuild deletes build/: long campaigns may want another place
mkdir -p "$out/obj"
cxx=${CXX_FUZZ:-clang++-19}
passed=0
failed=0
failures=()

if ! command -v "$cxx" >/dev/null; then
  echo "fuzz: $cxx not found (Debian: apt-get install clang-19 libclang-rt-19-dev)"
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi

# The kernel sources (FUZZ_NATIVE=dir builds another copy of native/, e.g. a commit's).
native=${FUZZ_NATIVE:-native}
# Every check stops the run; float-cast-overflow and signed-integer-overflow stay recoverable only
# so that native/fuzz/known-findings.supp can name a reported finding (with halt_on_error, an
# unlisted one still stops the run).
flags=(-std=c++17 -g -O1 -fno-omit-frame-pointer -pthread -DRNN_HAVE_THREADS -DRNN_HAVE_AVX2
  -fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize-recover=float-cast-overflow,signed-integer-overflow)
build() { # object, source, extra flags...: compiled again only when a source or header is newer
  local obj=$1 src=$2
  shift 2
  if [ ! -f "$obj" ] || [ -n "$(find "$native" scripts/fuzz.sh -path "*/corpus" -prune -o -type f -newer "$obj" -print -quit)" ] ||
    [ "$(cat "$out/obj/.native" 2>/dev/null)" != "$native" ]; then
    "$cxx" "${flags[@]}" "$@" -c "$src" -o "$obj" || return 1
  fi
}
build_start=$SECONDS
ok=1
build "$out/obj/rnn_runtime.o" "$native/rnn_runtime.cc" -fsanitize=fuzzer-no-link || ok=0
build "$out/obj/kernel_scalar.o" "$native/kernel/kernel_scalar.cc" -fsanitize=fuzzer-no-link || ok=0
build "$out/obj/kernel_avx2.o" "$native/kernel/kernel_avx2.cc" -fsanitize=fuzzer-no-link -mavx2 -mfma -mf16c || ok=0
harnesses=()
for src in "$native"/fuzz/fuzz_*.cc; do
  name=$(basename "$src" .cc)
  if [ ${#wanted[@]} -gt 0 ] && [[ ! " ${wanted[*]} " == *" $name "* ]]; then continue; fi
  harnesses+=("$name")
  build "$out/obj/$name.o" "$src" -fsanitize=fuzzer || ok=0
  if [ $ok -eq 1 ]; then
    "$cxx" "${flags[@]}" -fsanitize=fuzzer "$out/obj/$name.o" "$out/obj/rnn_runtime.o" "$out/obj/kernel_scalar.o" \
      "$out/obj/kernel_avx2.o" -o "$out/$name" || ok=0
  fi
done
build "$out/obj/regress.o" "$native/fuzz/regress.cc" || ok=0
[ $ok -eq 1 ] && { "$cxx" "${flags[@]}" "$out/obj/regress.o" "$out/obj/rnn_runtime.o" "$out/obj/kernel_scalar.o" \
  "$out/obj/kernel_avx2.o" -o "$out/regress" || ok=0; }
echo "$native" >"$out/obj/.native"
if [ $ok -ne 1 ]; then
  echo "fuzz: the harnesses did not build"
  echo "fuzz: 0 passed, ${#harnesses[@]} failed"
  exit 1
fi
echo "fuzz: built ${#harnesses[@]} harnesses in $((SECONDS - build_start)) s ($out)"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=1}
ubsan=halt_on_error=1:print_stacktrace=1
if [ "${FUZZ_KNOWN:-1}" != 0 ] && grep -qv '^#' native/fuzz/known-findings.supp 2>/dev/null; then
  ubsan=$ubsan:suppressions=$PWD/native/fuzz/known-findings.supp
  echo "fuzz: reported findings not fixed yet are suppressed: $(grep -v '^#' native/fuzz/known-findings.supp | grep . | paste -sd ' ')"
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-$ubsan}
# The findings as plain tests (native/fuzz/regress.cc), once, before the campaigns.
if [ ${#wanted[@]} -eq 0 ]; then
  if "$out/regress" >"$out/regress.log" 2>&1; then
    passed=$((passed + 1))
    echo "regress: $(grep -Eo '[0-9]+ passed' "$out/regress.log") (native/fuzz/regress.cc), clean"
  else
    failed=$((failed + 1))
    failures+=(regress)
    echo "regress: FAILED; its report:"
    grep -E 'FAILED|ERROR|SUMMARY|runtime error' "$out/regress.log" | head -10
  fi
fi
for name in "${harnesses[@]}"; do
  mkdir -p "$out/work/$name" "$out/artifacts/$name" "native/fuzz/corpus/$name"
  bound=(-max_total_time="$seconds")
  [ -n "${FUZZ_RUNS:-}" ] && bound=(-runs="$FUZZ_RUNS")
  start=$(date +%s%N)
  # shellcheck disable=SC2086  # FUZZ_ARGS: more libFuzzer flags, word-split on purpose
  "$out/$name" "${bound[@]}" ${FUZZ_ARGS:-} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/$name/" "$out/work/$name" "native/fuzz/corpus/$name" >"$out/$name.log" 2>&1
  status=$?
  wall=$((($(date +%s%N) - start) / 1000000000))
  execs=$(grep -Eo 'stat::number_of_executed_units: [0-9]+' "$out/$name.log" | grep -Eo '[0-9]+$' | tail -1)
  rate=$(grep -Eo 'stat::average_exec_per_sec: *[0-9]+' "$out/$name.log" | grep -Eo '[0-9]+$' | tail -1)
  if [ $status -eq 0 ]; then
    passed=$((passed + 1))
    printf '%s: %s executions in %d s (%s/s), clean\n' "$name" "${execs:-?}" "$wall" "${rate:-?}"
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf '%s: FAILED after %s executions in %d s (exit %s); its report:\n' "$name" "${execs:-?}" "$wall" "$status"
    grep -E 'ERROR|SUMMARY|contract broken|runtime error|Test unit written|timeout' "$out/$name.log" | head -20
  fi
done

if [ "${FUZZ_READERS:-1}" != 0 ] && [ ${#wanted[@]} -eq 0 ]; then
  # The readers' fuzzer prints "fuzz-readers: N passed, M failed": counted with the harnesses above.
  reader_bound=(--seconds "$seconds")
  [ -n "${FUZZ_RUNS:-}" ] && reader_bound=(--runs "$FUZZ_RUNS")
  node scripts/fuzz-readers.mjs "${reader_bound[@]}" --out "$out/readers" | tee "$out/readers.log"
  counts=$(grep -Eo '^fuzz-readers: [0-9]+ passed, [0-9]+ failed' "$out/readers.log" | tail -1)
  if [ -n "$counts" ]; then
    passed=$((passed + $(echo "$counts" | sed -E 's/.*: ([0-9]+) passed.*/\1/')))
    failed=$((failed + $(echo "$counts" | sed -E 's/.* ([0-9]+) failed/\1/')))
  else
    failed=$((failed + 1))
  fi
fi

[ ${#failures[@]} -gt 0 ] && echo "fuzz: findings in ${failures[*]} (inputs in $out/artifacts/)"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
