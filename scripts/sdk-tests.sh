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

. scripts/lib.sh
start_service "$(mktemp -d)"
export DU_SERVICE=$SERVICE

"$venv/bin/python" tests/sdk/test_python_sdk.py
node --test tests/sdk/
