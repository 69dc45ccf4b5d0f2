#!/usr/bin/env bash
# Where a run's memory goes, per process and allocator, from Chromium's memory-infra dumps
# (a diagnosis, not a benchmark; BENCHMARKS.md, "Seventh session"). Arguments go to
# bench/memory.mjs, e.g.: ./scripts/memory-dump.sh --page /embed.html --files 200x110KB
# (pages: /floor.html, /embed.html and its ?persist=off&previews=off&list=hidden variants).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

target=${CARGO_TARGET_DIR:-target}
bench_server full
static=$(mktemp -d)
trap 'rm -rf "$static"' EXIT
cp -r dist/. "$static/"
cp bench/pages/*.html bench/pages/backend.js "$static/"
mkdir -p "$target/bench"
node bench/memory.mjs --server "$server" --static "$static" --cache "$target/bench/files" "$@"
