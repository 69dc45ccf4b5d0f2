#!/usr/bin/env bash
# Builds everything a site copies into its static files, into dist/:
#   dist/index.html + hashed assets      the demo (Trunk, release)
#   dist/embed/direct-upload.js, .css    the <direct-upload> element and JS API for any page,
#   dist/embed/widget-<hash>.js/_bg.wasm   loading content-hashed, cacheable files
#   dist/plain.html                      an example plain HTML page
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

trunk build --offline --release

cargo build --release --lib --target wasm32-unknown-unknown
work=target/embed
rm -rf "$work" && mkdir -p "$work"
wasm-bindgen --target web --no-typescript --out-dir "$work" --out-name widget \
  target/wasm32-unknown-unknown/release/direct_upload.wasm
# The features rustc enables by default for wasm32; wasm-opt must accept what it is given.
wasm-opt -Oz --enable-bulk-memory --enable-multivalue --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-reference-types --enable-sign-ext \
  "$work/widget_bg.wasm" -o "$work/widget_bg.wasm"

hash() { sha256sum "$1" | cut -c1-16; }
out=dist/embed
mkdir -p "$out"
wasm_name="widget-$(hash "$work/widget_bg.wasm")_bg.wasm"
js_name="widget-$(hash "$work/widget.js").js"
cp "$work/widget_bg.wasm" "$out/$wasm_name"
cp "$work/widget.js" "$out/$js_name"
sed -e "s|__WIDGET_JS__|$js_name|" -e "s|__WIDGET_WASM__|$wasm_name|" js/direct-upload.js > "$out/direct-upload.js"
cp style/direct-upload.css "$out/direct-upload.css"
cp examples/plain.html dist/plain.html

echo "built:"
for f in "$out"/* dist/*.wasm; do
  [ -f "$f" ] && printf '  %-60s %8d bytes, %7d gzip\n' "$f" "$(stat -c %s "$f")" "$(gzip -9c "$f" | wc -c)"
done
