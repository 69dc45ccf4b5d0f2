#!/usr/bin/env bash
# Installs what is missing, then runs every test: the native tests (server and widget
# logic), the official SDKs against the service, and the widget in headless Chromium
# against a real local service started here.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

say "native tests (server and widget logic)"
cargo test --workspace

say "official Cloudflare SDKs against the local service"
./scripts/sdk-tests.sh

say "browser tests (headless Chromium, against a real local service)"
./scripts/browser-tests.sh
