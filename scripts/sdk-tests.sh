#!/usr/bin/env bash
# Cloudflare's official SDKs (PyPI `cloudflare`, npm `cloudflare`), unchanged, pointed at a
# fresh local service with base_url=http://127.0.0.1:PORT/client/v4.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

PYTHON_SDK_VERSION=5.9.0
venv=target/sdk-venv
if ! "$venv/bin/python" -c "import cloudflare, sys; sys.exit(cloudflare.__version__ != '$PYTHON_SDK_VERSION')" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "cloudflare==$PYTHON_SDK_VERSION"
fi
[ -d tests/sdk/node_modules/cloudflare ] || (cd tests/sdk && npm ci --no-audit --no-fund --silent)

cargo build -q -p direct-upload-server
data=$(mktemp -d)
./target/debug/direct-upload-server --listen 127.0.0.1:0 --data-dir "$data" >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$data/server.log" && break; sleep 0.1; done
export DU_SERVICE=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$data/server.log" | head -n1)
[ -n "$DU_SERVICE" ] || { cat "$data/server.log"; exit 1; }

"$venv/bin/python" tests/sdk/test_python_sdk.py
node --test tests/sdk/
