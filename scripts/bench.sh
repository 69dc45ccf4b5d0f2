#!/usr/bin/env bash
# Throughput benchmark (BENCHMARKS.md, "Throughput"): headless Chromium uploads the same
# generated PNGs through a bare XHR page (the floor), the embed bundle on a plain page, the
# Leptos demo and Uppy, each against a fresh release server that serves page, backend and
# upload host on one origin. Prints a table; raw figures go to target/bench/.
#   --quick        one small workload, one run of the floor and the embed widget: fails only
#                  if a file is not stored, never on timing (scripts/test.sh runs this)
#   --base DIR     another build's dist/embed (an earlier commit built in a worktree:
#                  `git worktree add /tmp/base REV && (cd /tmp/base && ./scripts/build.sh)`,
#                  then `--base /tmp/base/dist/embed`), served as /embed-base/ and run as the
#                  contender `embed-base` beside this build's `embed`, turn by turn (the
#                  contenders are floor,embed-base,embed unless --contenders names them)
#   other options  go to bench/run.mjs: --runs N, --workloads a,b, --contenders a,b
# Needs ./scripts/build.sh's dist/ (it is not rebuilt here).
set -euo pipefail

quick=false
base=
contenders=
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=true; pass+=("$1") ;;
    --base) base=$(realpath -e "${2:?--base needs a directory}") || exit 2; shift ;;
    --contenders) contenders=${2:?--contenders needs a list}; pass+=("$1" "$2"); shift ;;
    *) pass+=("$1") ;;
  esac
  shift
done
cd "$(dirname "$0")/.."
. scripts/lib.sh
target=${CARGO_TARGET_DIR:-target}
if [ -n "$base" ]; then
  [ -f "$base/direct-upload.js" ] || { echo "--base $base: not a built dist/embed (no direct-upload.js)" >&2; exit 2; }
  [ -n "$contenders" ] || pass+=(--contenders floor,embed-base,embed)
fi
# Each of --base and the contender embed-base needs the other.
case ",$contenders," in
  *,embed-base,*) [ -n "$base" ] || { echo "the contender embed-base needs --base DIR" >&2; exit 2; } ;;
  *) [ -z "$base" ] || [ -z "$contenders" ] || { echo "--base: add embed-base to --contenders" >&2; exit 2; } ;;
esac
bench_server "$($quick && echo quick || echo full)"

# The pages the server serves: dist/ (demo and embed bundle), the bench pages, Uppy's bundle.
static=$(mktemp -d)
trap 'rm -rf "$static"' EXIT
cp -r dist/. "$static/"
cp bench/pages/*.html bench/pages/backend.js "$static/"
if [ -n "$base" ]; then
  cp -r "$base" "$static/embed-base"
  sed 's#/embed/#/embed-base/#g' bench/pages/embed.html >"$static/embed-base.html"
fi
(cd bench && node_modules/.bin/esbuild pages/uppy.js --bundle --minify --format=esm \
  --log-level=warning --outfile="$static/uppy.js")

mkdir -p "$target/bench"
say "throughput benchmark ($($quick && echo quick || echo full))"
node bench/run.mjs --server "$server" --static "$static" --cache "$target/bench/files" \
  --out "$target/bench/results-$(date +%Y%m%d-%H%M%S).json" ${pass[@]+"${pass[@]}"}
