#!/usr/bin/env bash
# Runs Debian's arm64 Node (18) under qemu-aarch64, so the linux-arm64 prebuild can be loaded and run
# as an arm64 user would: `scripts/arm64-node.sh file.mjs`. The first call unpacks nodejs:arm64 and
# the libraries it needs into build/arm64-node (apt-get download; no installation on this machine).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)/build/arm64-node"
if [ ! -x "$root/usr/bin/node" ]; then
  command -v qemu-aarch64 >/dev/null || { echo "qemu-aarch64 is missing (apt-get install qemu-user)" >&2; exit 1; }
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    apt-get update -qq
  fi
  debs=$(mktemp -d)
  # nodejs and libnode's dependencies (apt-cache depends --recurse libnode108:arm64), less the
  # packages Node never loads; acorn, cjs-module-lexer and undici are Debian's externalized builtins.
  (cd "$debs" && apt-get download -qq nodejs:arm64 libnode108:arm64 libc6:arm64 libgcc-s1:arm64 libstdc++6:arm64 \
    libbrotli1:arm64 libc-ares2:arm64 libicu72:arm64 libnghttp2-14:arm64 libssl3:arm64 libuv1:arm64 zlib1g:arm64 \
    node-acorn node-cjs-module-lexer node-undici 2>&1 | grep -v 'unsandboxed' || true)
  rm -rf "$root" && mkdir -p "$root"
  for deb in "$debs"/*.deb; do dpkg -x "$deb" "$root"; done
  rm -rf "$debs"
fi
exec qemu-aarch64 -L "$root" "$root/usr/bin/node" "$@"
