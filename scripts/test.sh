#!/usr/bin/env bash
# Runs every test: the native tests (widget logic, server), the built pages driven over
# WebDriver, the npm package in a fresh project, the official SDKs against the service, the
# widget's wasm tests in headless Chromium against a real local service started here, the
# chaos run's quick mode (faults on every route and a SIGKILL restart; every file stored
# exactly once), then the throughput benchmark's quick mode (every file stored; timings are
# not judged).
#   --setup   first install what is missing (scripts/setup.sh); without it nothing is installed
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

case "${1:-}" in
  --setup) ./scripts/setup.sh; . scripts/lib.sh ;;
  "") ;;
  *) echo "usage: $0 [--setup]" >&2; exit 2 ;;
esac
require_tools
# A one-off build gains nothing from incremental state; without it CI's target is gigabytes smaller.
if [[ -n "${CI:-}" ]]; then export CARGO_INCREMENTAL=0; fi

say "build the demo and the embeddable bundle (the end-to-end tests drive them)"
./scripts/build.sh

say "size budget of the embeddable bundle (scripts/size-budget.txt)"
./scripts/size-budget.sh

say "native tests: widget logic, server"
cargo test --workspace

say "the crates document without warnings and package (cargo package builds each from its packed files)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p direct-upload -p direct-upload-server
cargo package -p direct-upload -p direct-upload-server --allow-dirty

say "end-to-end pages over WebDriver (axe-core runs in them)"
ensure_axe
cargo test -p direct-upload-e2e --features e2e

say "the npm package: packed, installed, type-checked, bundled, uploaded through in headless Chromium"
./scripts/npm-package-test.sh

say "official Cloudflare SDKs against the local service"
./scripts/sdk-tests.sh

say "browser tests (headless Chromium, against a real local service)"
./scripts/browser-tests.sh

say "chaos run, quick: 100 files, 30 % of requests faulted, one SIGKILL restart; each stored exactly once"
./scripts/chaos.sh --quick

say "throughput benchmark, quick mode (fails only if a file is not stored, never on timing)"
./scripts/bench.sh --quick
