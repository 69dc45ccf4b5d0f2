# Shared by the scripts: source it, don't run it.

[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# require_tools: stops with a clear message when a tool the tests need is missing, instead of
# installing it (scripts/setup.sh does that, through `test.sh --setup`).
require_tools() {
  local missing=()
  for tool in cc chromium chromedriver npm node python3 trunk wasm-bindgen wasm-opt brotli zopfli openssl; do
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

# npm_ci DIR WHAT: `npm ci` in DIR only when its node_modules is missing or was installed
# from another lockfile.
npm_ci() {
  local dir=$1
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.installed-lock.json"; then
    say "npm ci in $dir ($2)"
    (cd "$dir" && npm ci --no-audit --no-fund --silent)
    cp "$dir/package-lock.json" "$dir/node_modules/.installed-lock.json"
  fi
}

# ensure_node_tools: the build's pinned npm tools (scripts/node: esbuild).
# For bench.sh and chaos.sh: checks dist/ is built, installs the drivers' npm packages, builds
# the server (debug with "quick": only correctness is judged then, and the tests have built it;
# release otherwise) and sets $server to it.
bench_server() {
  [ -f dist/index.html ] && [ -f dist/embed/direct-upload.js ] \
    || { echo "dist/ is missing: run ./scripts/build.sh first" >&2; exit 1; }
  [ -d bench/node_modules ] || (cd bench && npm ci --no-audit --no-fund --silent)
  local target=${CARGO_TARGET_DIR:-target}
  if [ "$1" = quick ]; then
    cargo build -q -p direct-upload-server
    server=$target/debug/direct-upload-server
  else
    cargo build -q --release -p direct-upload-server
    server=$target/release/direct-upload-server
  fi
}

ensure_node_tools() { npm_ci scripts/node esbuild; }

# ensure_axe: axe-core (tests/a11y), which the wasm accessibility test compiles in and the
# end-to-end tests inject into the built pages.
ensure_axe() { npm_ci tests/a11y axe-core; }

# ensure_npm_test_tools: the npm package test's pinned tools (tests/npm).
ensure_npm_test_tools() { npm_ci tests/npm "typescript, vue-tsc, esbuild, playwright-core, React and Vue"; }

# crate_version: the widget crate's version, from the [package] table of Cargo.toml.
crate_version() {
  awk '/^\[/ { package = ($0 == "[package]") } package && /^version *=/ { gsub(/[" ]/, ""); sub(/^version=/, ""); print; exit }' Cargo.toml
}

# npm_package DIR: makes the built bundle in DIR the npm package `direct-upload`: package.json
# (js/package.json with the crate's version filled in), the types (js/*.d.ts), the React and
# Vue entries (js/react.js, js/vue.js: the entry again, for their types), and a README (the
# README's "Install from npm" section).
npm_package() {
  local dir=$1 version
  version=$(crate_version)
  grep -q '"version": "__VERSION__"' js/package.json || { echo 'js/package.json has no "version": "__VERSION__"' >&2; return 1; }
  sed "s|\"version\": \"__VERSION__\"|\"version\": \"$version\"|" js/package.json >"$dir/package.json"
  cp js/direct-upload.d.ts js/direct-upload.css.d.ts js/react.d.ts js/react.js js/vue.d.ts js/vue.js "$dir/"
  {
    printf '# direct-upload\n\nThe `<direct-upload>` element and JavaScript API of direct-upload %s, an upload widget\nfor Cloudflare Images Direct Creator Upload.\n\n' "$version"
    awk '/^## / { on = ($0 == "## Install from npm") } on' README.md | tail -n +3
  } >"$dir/README.md"
  grep -q '^npm install direct-upload' "$dir/README.md" || { echo 'README.md has no "## Install from npm" section with `npm install direct-upload`' >&2; return 1; }
}

# precompress FILE...: writes FILE.gz (zopfli: gzip-compatible, about 5 % smaller than gzip -9)
# and FILE.br (brotli -q 11) beside each file, for a server to send as they are.
precompress() {
  local f
  for f in "$@"; do
    zopfli -c "$f" >"$f.gz"
    brotli -q 11 -f -o "$f.br" "$f"
  done
}

# embed_files DIR: every file a page downloads for the embeddable bundle in DIR: the entry, the
# two content-hashed files it names, the stylesheet. Fails if one is missing.
embed_files() {
  local dir=$1 entry="$1/direct-upload.js" names name
  [ -f "$entry" ] || { echo "no $entry: run ./scripts/build.sh first" >&2; return 1; }
  names=$(grep -oE 'widget-[0-9a-f]+(_bg\.wasm|\.js)' "$entry" | sort -u)
  [ "$(wc -w <<<"$names")" -eq 2 ] || { echo "$entry does not name one widget-<hash>.js and one _bg.wasm" >&2; return 1; }
  echo "$entry"
  for name in $names; do
    [ -f "$dir/$name" ] || { echo "$entry names $name, which is not in $dir" >&2; return 1; }
    echo "$dir/$name"
  done
  [ -f "$dir/direct-upload.css" ] || { echo "no $dir/direct-upload.css" >&2; return 1; }
  echo "$dir/direct-upload.css"
}

# size_table FILE...: raw, gzip -9 and brotli -q 11 bytes of each file (the uncompressed
# originals, compressed here, so the numbers do not depend on the precompressed files), and
# their totals in TOTAL_RAW, TOTAL_GZIP, TOTAL_BROTLI.
size_table() {
  local f raw gz br
  TOTAL_RAW=0 TOTAL_GZIP=0 TOTAL_BROTLI=0
  printf '  %-52s %9s %9s %9s\n' file raw "gzip -9" "brotli 11"
  for f in "$@"; do
    raw=$(stat -c %s "$f")
    gz=$(gzip -9c <"$f" | wc -c) # from stdin: no file name in the header
    br=$(brotli -q 11 -c <"$f" | wc -c)
    TOTAL_RAW=$((TOTAL_RAW + raw)) TOTAL_GZIP=$((TOTAL_GZIP + gz)) TOTAL_BROTLI=$((TOTAL_BROTLI + br))
    printf '  %-52s %9d %9d %9d\n' "$f" "$raw" "$gz" "$br"
  done
}
