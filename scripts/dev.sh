#!/usr/bin/env bash
# Installs what is missing, then starts the local Cloudflare Images service and the demo
# (`trunk serve`) together; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

cargo build -p direct-upload-server
./target/debug/direct-upload-server --data-dir "${DU_DATA_DIR:-.data}" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT INT TERM

echo
echo "Demo: http://127.0.0.1:8080  (service: http://127.0.0.1:8787)"
echo
trunk serve --offline
