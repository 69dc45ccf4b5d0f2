#!/usr/bin/env bash
# Installs what is missing, then runs every test: the native tests (widget logic, server,
# and the built pages driven over WebDriver), the official SDKs against the service, and the
# widget's wasm tests in headless Chromium against a real local service started here.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

say "build the demo and the embeddable bundle (the end-to-end tests drive them)"
./scripts/build.sh

say "native tests: widget logic, server, end-to-end pages over WebDriver"
cargo test --workspace

say "official Cloudflare SDKs against the local service"
./scripts/sdk-tests.sh

say "browser tests (headless Chromium, against a real local service)"
./scripts/browser-tests.sh
