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
cargo build -p direct-upload-server
data=$(mktemp -d)
log="$data/server.log"
./target/debug/direct-upload-server --listen 127.0.0.1:0 --data-dir "$data" --enable-test-controls >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
service=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$log" | head -n1)
[ -n "$service" ] || { cat "$log"; echo "the local service did not start"; exit 1; }
echo "local service at $service"
# webdriver.json (repo root) gives Chromium its headless, no-sandbox flags.
DU_TEST_SERVICE="$service" \
CHROMEDRIVER="$(command -v chromedriver)" \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --target wasm32-unknown-unknown --test browser
