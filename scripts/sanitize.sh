#!/usr/bin/env bash
# Builds the native addon with AddressSanitizer + UndefinedBehaviorSanitizer into build-sanitize/
# and runs the native tests against it (LSTM_RUNTIME_ADDON points the loader there). The regular
# build in build/ is left as it was.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Build in a scratch copy so build/Release keeps the optimised addon.
cp -r binding.gyp package.json native "$work"/
ln -s "$PWD/node_modules" "$work/node_modules"
# npm run puts its bundled node-gyp on PATH and names it in npm_config_node_gyp.
node_gyp=(node-gyp)
[ -n "${npm_config_node_gyp:-}" ] && node_gyp=(node "$npm_config_node_gyp")
(cd "$work" && LSTM_RUNTIME_SANITIZE=1 "${node_gyp[@]}" rebuild --silent >/dev/null)
mkdir -p build-sanitize
cp "$work/build/Release/lstm_runtime.node" build-sanitize/
asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
# Node itself is not built with ASan: preload the runtime, and leave leak checks to the kernel
# (V8 keeps allocations alive at exit that LeakSanitizer would report).
LD_PRELOAD="$asan:$ubsan" \
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
LSTM_RUNTIME_ADDON="$PWD/build-sanitize/lstm_runtime.node" \
LSTM_RUNTIME_SANITIZED=1 \
  npx --no-install vitest run --maxWorkers=1 "$@"
