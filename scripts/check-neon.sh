#!/usr/bin/env bash
# Cross-compiles the kernel for AArch64 and runs the NEON kernel against the scalar one under
# qemu (Debian's g++-aarch64-linux-gnu and qemu-user): the NEON path has no machine of its own here.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install -y g++-aarch64-linux-gnu qemu-user)" >&2; exit 1; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
aarch64-linux-gnu-g++ -std=c++17 -O2 -static -pthread -fno-exceptions -DRNN_HAVE_NEON -DRNN_HAVE_THREADS -Inative \
  test/native/neon_check.cc native/rnn_runtime.cc native/kernel/kernel_scalar.cc native/kernel/kernel_neon.cc \
  -o "$out/neon_check"
qemu-aarch64 "$out/neon_check"
