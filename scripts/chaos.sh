#!/usr/bin/env bash
# The chaos run (RELIABILITY.md): distinct images through the real widget (embed bundle,
# headless Chromium) against the local service with 30 % of its requests faulted on every
# route, then with the service killed (SIGKILL) and restarted mid-batch; the server's store is
# then compared with the inputs: each stored exactly once, none lost, none unreported.
#   (no option)   1,000 files, seeds 1, 2 and 3 with faults, then seed 4 with faults and two
#                 SIGKILL restarts (release server)
#   --quick       100 files, fixed seed 7, one SIGKILL restart (debug server; scripts/test.sh)
#   other options go to bench/chaos.mjs: --files N, --rate R, --seeds a,b, --kills K,
#                 --without-check (the comparison: no lookup before a retry)
# Needs ./scripts/build.sh's dist/ (it is not rebuilt here).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

target=${CARGO_TARGET_DIR:-target}
quick=false
[ "${1:-}" = --quick ] && { quick=true; shift; }
bench_server "$($quick && echo quick || echo full)"

static=$(mktemp -d)
trap 'rm -rf "$static"' EXIT
cp -r dist/. "$static/"
cp bench/pages/chaos.html "$static/"

run() { node bench/chaos.mjs --server "$server" --static "$static" --cache "$target/bench/files" "$@"; }
if $quick; then
  say "chaos run (quick): 100 files, 30 % of requests faulted, one SIGKILL restart"
  run --files 100 --seeds 7 --kills 1 "$@"
elif [ $# -gt 0 ]; then
  say "chaos run"
  run "$@"
else
  say "chaos run: 1,000 files, 30 % of requests faulted, seeds 1, 2, 3"
  run --files 1000 --seeds 1,2,3
  say "chaos run: 1,000 files, 30 % of requests faulted, two SIGKILL restarts"
  run --files 1000 --seeds 4 --kills 2
fi
