#!/usr/bin/env bash
# Prebuilt N-API binaries for the package, made with prebuildify: prebuilds/linux-x64 (this machine)
# and prebuilds/linux-arm64 (Debian's g++-aarch64-linux-gnu). Each compiles in a scratch copy of the
# sources, so the development build in build/Release is left as it is. Node's own headers are used
# (npm_config_nodedir), never downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
[ -f /usr/include/node/node_api.h ] && export npm_config_nodedir="${npm_config_nodedir:-/usr}"

prebuild() { # arch, then the environment that selects its compiler
  local arch=$1 dir=build/prebuild-$1
  shift
  rm -rf "$dir" "prebuilds/linux-$arch"
  mkdir -p "$dir"
  cp -r binding.gyp package.json native "$dir/"
  (cd "$dir" && env PREBUILD_NODE_GYP="$root/node_modules/.bin/node-gyp" "$@" "$root/node_modules/.bin/prebuildify" --napi --tag-libc --strip --arch "$arch" --target "node@$(node -p process.versions.node)" --out "$root" >"$root/$dir.log" 2>&1) || { tail -30 "$root/$dir.log" >&2; exit 1; }
}

prebuild x64
if command -v aarch64-linux-gnu-g++ >/dev/null; then
  prebuild arm64 CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ PREBUILD_STRIP_BIN=aarch64-linux-gnu-strip
else
  echo "prebuild: no aarch64-linux-gnu-g++ (apt-get install g++-aarch64-linux-gnu), so no linux-arm64 binary" >&2
  exit 1
fi
for f in prebuilds/*/*.node; do echo "$f: $(stat -c %s "$f") bytes, $(file -b "$f" | cut -d, -f1-2)"; done
