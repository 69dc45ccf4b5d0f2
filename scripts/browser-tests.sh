#!/usr/bin/env bash
# The widget's browser tests: headless Chromium (wasm-bindgen-test-runner + ChromeDriver;
# webdriver.json holds the browser flags) against a real local service started here.
# Extra arguments go to the test harness, e.g. a test name to run only that one.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

. scripts/lib.sh
# axe-core for the accessibility test, compiled into it from npm.
ensure_axe
start_service "$(mktemp -d)" --enable-test-controls
service=$SERVICE

# The runner gives the whole suite 20 s by default; the suites take longer on two cores.
WASM_BINDGEN_TEST_TIMEOUT=600 \
DU_TEST_SERVICE="$service" \
CHROMEDRIVER="$(command -v chromedriver)" \
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --target wasm32-unknown-unknown --test browser --test experience --test accessibility --test list --test faults -- "$@"
