# Shared by the scripts: source it, don't run it.

[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# require_tools: stops with a clear message when a tool the tests need is missing, instead of
# installing it (scripts/setup.sh does that, through `test.sh --setup`).
require_tools() {
  local missing=()
  for tool in cc chromium chromedriver npm node python3 trunk wasm-bindgen wasm-opt; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || missing+=("the wasm32 target")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "missing: ${missing[*]}" >&2
    echo "run ./scripts/test.sh --setup to install what is missing" >&2
    exit 1
  fi
}

# start_service DATA_DIR [FLAGS...]: builds and starts the local service on a free port with
# its data in DATA_DIR, stops it when the calling script exits, and sets SERVICE to its base
# URL. The port is read from --addr-file, not from the human-readable banner.
start_service() {
  local data=$1
  shift
  cargo build -q -p direct-upload-server
  rm -f "$data/addr"
  ./target/debug/direct-upload-server --listen 127.0.0.1:0 --data-dir "$data" \
    --addr-file "$data/addr" "$@" >"$data/server.log" 2>&1 &
  SERVICE_PID=$!
  trap 'kill $SERVICE_PID 2>/dev/null; wait $SERVICE_PID 2>/dev/null; rm -rf "'"$data"'"' EXIT
  for _ in $(seq 300); do [ -s "$data/addr" ] && break; sleep 0.1; done
  [ -s "$data/addr" ] || { cat "$data/server.log"; echo "the local service did not start" >&2; exit 1; }
  SERVICE="http://$(cat "$data/addr")"
  echo "local service at $SERVICE"
}
