#!/usr/bin/env bash
# Installs what is missing, then starts the local Cloudflare Images service and the demo
# (`trunk serve`) together; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. scripts/lib.sh

data="${DU_DATA_DIR:-.data}"
mkdir -p "$data"
cargo build -p direct-upload-server
rm -f "$data/addr"
./target/debug/direct-upload-server --data-dir "$data" --addr-file "$data/addr" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT INT TERM
# Trunk proxies /api/ to the service: start it only once the service listens.
for _ in $(seq 300); do
  [ -s "$data/addr" ] && break
  kill -0 $server 2>/dev/null || break
  sleep 0.1
done
[ -s "$data/addr" ] || { echo "the local service did not start (is port 8787 taken?)" >&2; exit 1; }

echo
echo "Demo: http://127.0.0.1:8080  (service: http://127.0.0.1:8787)"
echo
trunk serve --offline
