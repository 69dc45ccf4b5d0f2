#!/usr/bin/env bash
# The widget's browser tests: headless Chromium (wasm-bindgen-test-runner + ChromeDriver;
# webdriver.json holds the browser flags) against a real local service started here.
# Extra arguments go to the test harness, e.g. a test name to run only that one.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

# axe-core for the accessibility test, compiled into it from npm.
[ -f tests/a11y/node_modules/axe-core/axe.min.js ] || (cd tests/a11y && npm ci --no-audit --no-fund --silent)

cargo build -q -p direct-upload-server
data=$(mktemp -d)
./target/debug/direct-upload-server --listen 127.0.0.1:0 --data-dir "$data" --enable-test-controls >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$data/server.log" && break; sleep 0.1; done
service=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$data/server.log" | head -n1)
[ -n "$service" ] || { cat "$data/server.log"; echo "the local service did not start"; exit 1; }
echo "local service at $service"

# The runner gives the whole suite 20 s by default; the suites take longer on two cores.
WASM_BINDGEN_TEST_TIMEOUT=600 \
DU_TEST_SERVICE="$service" \
CHROMEDRIVER="$(command -v chromedriver)" \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --target wasm32-unknown-unknown --test browser --test experience --test accessibility -- "$@"
