#!/usr/bin/env bash
# threads: 2 against threads: 1 on a machine whose cores are taken (docs/reliability.md, "threads: 2
# on a busy machine"): S3 and S4 on native/avx2, idle, with a busy loop on the second core, and
# with one on each core (pinned by taskset, at the benchmark's own priority, as other work of a
# server would run). Medians of `lstm-runtime bench` (20 calls each after warm-up), in ms. Needs
# dist/ (npm run build:ts) and the native addon.
#
#   bash bench/threads-under-load.sh [configs, default S3,S4]
set -uo pipefail
cd "$(dirname "$0")/.."
configs=${1:-S3,S4}
busy=()
stop_busy() {
  for pid in "${busy[@]}"; do kill "$pid" 2>/dev/null; done
  busy=()
}
trap stop_busy EXIT
start_busy() { # cpu
  taskset -c "$1" sh -c 'while :; do :; done' &
  busy+=($!)
}
median_ms() { # threads -> "S3=1.52 S4=14.3"
  node dist/cli/main.js bench --config "$configs" --backend native/avx2 --threads "$1" --json 2>/dev/null |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const row = JSON.parse(s).rows[0];
      console.log(Object.entries(row.cells).map(([id, c]) => `${id}=${c.status === "ok" ? (c.medianUs / 1000).toFixed(2) : c.status}`).join(" "));
    })'
}
printf '%-16s %-28s %-28s\n' load "threads: 1 (ms)" "threads: 2 (ms)"
for load in idle one-core-busy both-cores-busy; do
  case $load in
    one-core-busy) start_busy 1 ;;
    both-cores-busy) start_busy 0 && start_busy 1 ;;
  esac
  printf '%-16s %-28s %-28s\n' "$load" "$(median_ms 1)" "$(median_ms 2)"
  stop_busy
done
