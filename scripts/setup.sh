#!/usr/bin/env bash
# Installs whatever this project needs and is missing, and skips what is present, so it is
# safe to run again and again. Debian/Ubuntu with rustup; as root or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first (https://rustup.rs)"; exit 1; }

# Debian packages: a C compiler for SQLite, Chromium and its driver for the browser tests,
# Node for wasm-opt, esbuild and the SDK compatibility tests, Python's venv for the Python SDK.
missing=()
command -v cc >/dev/null || missing+=(build-essential)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v npm >/dev/null || missing+=(nodejs npm)
command -v curl >/dev/null || missing+=(curl)
# The build's precompressed files (zopfli for .gz, brotli for .br) and the demo's SRI hashes.
command -v brotli >/dev/null || missing+=(brotli)
command -v zopfli >/dev/null || missing+=(zopfli)
command -v openssl >/dev/null || missing+=(openssl)
# OpenSSL headers for the WebDriver client of the end-to-end tests.
{ command -v pkg-config >/dev/null && pkg-config --exists openssl; } || missing+=(pkg-config libssl-dev)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen-cli must be exactly the version in Cargo.lock.
wbg=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/"/, "", $3); print $3}' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg" ]; then
  say "cargo install wasm-bindgen-cli $wbg (about 4 minutes)"
  cargo install wasm-bindgen-cli --version "$wbg" --force
fi

# Trunk 0.22 needs a newer rustc than these machines have; 0.21.14 works. Thin LTO-free
# release build: 3x faster to install, the same tool.
if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "0.21.14" ]; then
  say "cargo install trunk 0.21.14 (a few minutes)"
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo install --locked trunk@0.21.14
fi

# Debian's binaryen is too old for what rustc emits; npm's is current. Trunk finds it on PATH.
if ! wasm-opt --version 2>/dev/null | grep -q "version 132"; then
  say "npm install -g binaryen@132"
  $SUDO npm install -g binaryen@132 >/dev/null
fi

# The build's pinned npm tools (esbuild, scripts/node/package-lock.json), and the npm package
# test's (tests/npm/package-lock.json).
. scripts/lib.sh
ensure_node_tools

# The throughput benchmark's driver (playwright-core, which drives the Chromium above; Uppy
# and esbuild for its reference contender).
if [ ! -d bench/node_modules ]; then
  say "npm ci in bench/"
  (cd bench && npm ci --no-audit --no-fund --silent)
fi

ensure_npm_test_tools
