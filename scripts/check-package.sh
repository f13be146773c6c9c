#!/usr/bin/env bash
# The package as a user installs it: `npm pack`, then the tarball installed into a new project on a
# PATH with no compiler, make or python, where the prebuilt addon must load (native/avx2 here), ESM
# import and require() work, TypeScript consumers type-check (module nodenext, and moduleResolution
# bundler) and the command line runs. Prints the figures the install targets are judged by: install
# time, packed and unpacked size, cold start. Run scripts/prebuild.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
ls prebuilds/linux-x64/*.node prebuilds/linux-arm64/*.node >/dev/null || { echo "no prebuilds: run scripts/prebuild.sh first" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
checks=0
check() { echo "ok: $*"; checks=$((checks + 1)); }

# Pack (npm runs `prepare`, which builds dist/) and report the sizes.
npm pack --json --pack-destination "$work" >"$work/pack.json" 2>"$work/pack.log" || { cat "$work/pack.log" >&2; exit 1; }
read -r tarball packed unpacked files < <(node -e '
  const [p] = require(process.argv[1]);
  console.log(p.filename, p.size, p.unpackedSize, p.entryCount);' "$work/pack.json")
echo "package: $tarball, $packed bytes packed, $unpacked bytes unpacked, $files files"
# 7.5 MiB: three WebAssembly variants (0.95 MB), two prebuilds (1.2 MB), the live page, and source
# maps (2.8 MB, sources inlined) for the bundled Node entry and the per-module browser entry, which
# hold the TypeScript twice; graphs, convolutions and ONNX graphs added some 0.5 MB of code to both.
[ "$unpacked" -le $((15 * 512 * 1024)) ] || { echo "the unpacked package is over 7.5 MiB" >&2; exit 1; }
check "unpacked size $((unpacked / 1024)) KiB <= 7.5 MiB"
tar -tzf "$work/$tarball" >"$work/files.txt"
grep -q '^package/prebuilds/linux-arm64/.*\.node$' "$work/files.txt" && grep -q '^package/prebuilds/linux-x64/.*\.node$' "$work/files.txt"
check "the tarball holds prebuilds for linux-x64 and linux-arm64"
mkdir -p "$work/unpacked" && tar -xzf "$work/$tarball" -C "$work/unpacked"
node -e '
  const { readFileSync } = require("node:fs");
  const maps = readFileSync(process.argv[1], "utf8").split("\n").filter((f) => f.endsWith(".map"));
  const bare = maps.filter((f) => { const m = JSON.parse(readFileSync(process.argv[2] + "/" + f, "utf8")); return !m.sourcesContent || m.sourcesContent.some((s) => !s); });
  if (bare.length) { console.error("source maps without their sources:", bare.slice(0, 5)); process.exit(1); }
  console.log(maps.length);' "$work/files.txt" "$work/unpacked" >"$work/maps.txt"
check "every source map ships its sources ($(cat "$work/maps.txt") maps)"

# A PATH with node and npm only: no cc, c++, make or python.
mkdir -p "$work/bin"
for tool in node npm npx sh; do ln -s "$(command -v $tool)" "$work/bin/$tool"; done
for tool in cc gcc g++ c++ make python3; do
  if PATH="$work/bin" command -v "$tool" >/dev/null; then echo "$tool is still reachable" >&2; exit 1; fi
done

consumer=$work/consumer
mkdir -p "$consumer"
echo '{ "name": "consumer", "private": true, "type": "module" }' >"$consumer/package.json"
start=$(date +%s.%N)
(cd "$consumer" && env -u npm_config_nodedir PATH="$work/bin" npm install --no-audit --no-fund --loglevel=error "$work/$tarball" >"$work/install.log" 2>&1) || { cat "$work/install.log" >&2; exit 1; }
install_seconds=$(echo "$(date +%s.%N) - $start" | bc)
echo "install: ${install_seconds}s (npm install of the tarball and its dependencies, no compiler on PATH)"
[ ! -d "$consumer/node_modules/lstm-runtime/build" ] || { echo "the install compiled the addon" >&2; exit 1; }
check "installed without compiling"

run() { (cd "$consumer" && PATH="$work/bin" "$@"); }

cat >"$consumer/check.mjs" <<'JS'
import { Lstm, backends } from 'lstm-runtime';
const layer = await Lstm.create({ inputSize: 2, units: 3, activation: 'linear', recurrentActivation: 'linear',
  weights: { kernel: [[2,1,1,0,0,0,0,1,1,0,1,0],[1,1,0,1,1,0,0,1,1,0,0,0]],
             recurrentKernel: [[1,0,0,1,2,1,0,1,2,0,1,0],[1,1,0,0,2,1,0,1,2,2,0,0],[1,0,1,2,0,1,0,1,1,0,1,0]],
             bias: [3,1,0,1,1,0,0,1,0,2,0,0] } });
const { h, c } = layer.forward([[[1, 0]]]);
const native = (await backends()).find((b) => b.name === 'native');
console.log(JSON.stringify({ backend: layer.backend, origin: native.origin, h: Array.from(h.data), c: Array.from(c.data) }));
JS
result=$(run node check.mjs)
node -e '
  const r = JSON.parse(process.argv[1]);
  const want = { backend: "native/avx2", origin: "prebuilt", h: [0, 4, 0], c: [0, 4, 1] };
  if (JSON.stringify(r) !== JSON.stringify(want)) { console.error("got", r, "expected", want); process.exit(1); }' "$result"
check "ESM import runs the prebuilt addon: $result"

# The same program on arm64: Debian's arm64 Node under qemu loads the linux-arm64 prebuild.
arm64=$(cd "$consumer" && "$root/scripts/arm64-node.sh" check.mjs)
node -e '
  const r = JSON.parse(process.argv[1]);
  const want = { backend: "native/neon", origin: "prebuilt", h: [0, 4, 0], c: [0, 4, 1] };
  if (JSON.stringify(r) !== JSON.stringify(want)) { console.error("got", r, "expected", want); process.exit(1); }' "$arm64"
check "on arm64 (Node $("$root/scripts/arm64-node.sh" -p process.version) under qemu) the prebuilt addon runs NEON: $arm64"

cat >"$consumer/check.cjs" <<'JS'
const { Lstm } = require('lstm-runtime');
Lstm.create({ inputSize: 1, units: 1, weights: { kernel: [[1, 1, 1, 1]], recurrentKernel: [[0, 0, 0, 0]], bias: [0, 0, 0, 0] } })
  .then((layer) => console.log(layer.backend));
JS
cjs=$(run node check.cjs 2>"$work/cjs.log") || true
[ "$cjs" = native/avx2 ] || { echo "require() failed on Node $(node -v): $(cat "$work/cjs.log")" >&2; exit 1; }
check "require() (CommonJS) loads the package on Node $(node -v)"

run npx --no-install lstm-runtime --version | grep -qx "$(node -p "require('$root/package.json').version")"
run npx --no-install lstm-runtime info >"$work/info.txt"
grep -q 'prebuilt' "$work/info.txt" && grep -q 'native/avx2' "$work/info.txt"
check "the lstm-runtime command runs (--version, info names the prebuilt native/avx2 addon)"

# TypeScript consumers: the two module resolutions users have.
(cd "$consumer" && PATH="$work/bin" npm install --no-audit --no-fund --loglevel=error typescript@5 @types/node@20 >"$work/ts.log" 2>&1) || { cat "$work/ts.log" >&2; exit 1; }
cat >"$consumer/use.ts" <<'TS'
import { Lstm, loadModel, LstmError, type Tensor, type LstmResult } from 'lstm-runtime';
const layer = await Lstm.create({ weights: { kernel: [[1, 1, 1, 1]], recurrentKernel: [[0, 0, 0, 0]], bias: [0, 0, 0, 0] }, returnSequences: true });
const result: LstmResult = layer.forward([[[0.5]]]);
const output: Tensor = result.output;
const shape: number[] = output.shape;
const model = await loadModel(new Uint8Array(0)).catch((e: unknown) => (e instanceof LstmError ? e.code : 'other'));
console.log(shape, model);
TS
for resolution in nodenext bundler; do
  module=$([ $resolution = nodenext ] && echo nodenext || echo esnext)
  cat >"$consumer/tsconfig.$resolution.json" <<JSON
{ "compilerOptions": { "target": "es2022", "module": "$module", "moduleResolution": "$resolution", "strict": true, "noEmit": true, "types": ["node"] }, "files": ["use.ts"] }
JSON
  run npx --no-install tsc -p "tsconfig.$resolution.json"
  check "a TypeScript consumer type-checks with moduleResolution $resolution"
done

# Cold start: a new node process importing the package, creating the S2 layer (I32 U64) and running
# one forward of 100 steps, against an empty node process. The two run in turns, 21 pairs, so that
# the load of a shared machine weighs on both alike; the medians of each and of the differences.
cat >"$consumer/cold.mjs" <<'JS'
import { Lstm } from 'lstm-runtime';
const I = 32, U = 64, T = 100;
const rand = (n) => Float32Array.from({ length: n }, (_, k) => Math.sin(k) * 0.1);
const layer = await Lstm.create({ weights: { kernel: { data: rand(I * 4 * U), shape: [I, 4 * U] }, recurrentKernel: { data: rand(U * 4 * U), shape: [U, 4 * U] }, bias: rand(4 * U) } });
layer.forward({ data: rand(T * I), shape: [1, T, I] });
JS
echo '' >"$consumer/empty.mjs"
us() { local s=$(date +%s%N); run node "$1"; echo $(( ($(date +%s%N) - s) / 1000 )); }
for _ in $(seq 21); do echo "$(us empty.mjs) $(us cold.mjs)"; done >"$work/cold.txt"
median_ms() { sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] / 1000 }'; }
empty=$(cut -d' ' -f1 "$work/cold.txt" | median_ms)
cold=$(cut -d' ' -f2 "$work/cold.txt" | median_ms)
extra=$(awk '{ print $2 - $1 }' "$work/cold.txt" | median_ms)
echo "cold start: $cold ms (import, create the S2 layer, one forward) against $empty ms for an empty node process: +$extra ms (median of 21 pairs)"
echo "package: $checks passed, 0 failed"
