#!/usr/bin/env bash
# Builds everything a site copies into its static files, into dist/:
#   dist/index.html + hashed assets      the demo (Trunk, release; JS and CSS minified)
#   dist/embed/direct-upload.js, .css    the <direct-upload> element and JS API for any page,
#   dist/embed/widget-<hash>.js/_bg.wasm   loading content-hashed, cacheable files
#   dist/plain.html                      an example plain HTML page
# dist/embed is also the npm package `direct-upload` (npm_package in scripts/lib.sh);
# scripts/npm-package-test.sh packs it, installs it and uses it.
# JS and CSS are minified (esbuild, pinned in scripts/node); every served file gets a .gz
# (zopfli) and a .br (brotli -q 11) beside it, which `--static-dir` sends when a browser
# accepts them. Ends with the sizes a page downloads; scripts/size-budget.sh checks them.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

for tool in trunk wasm-bindgen wasm-opt node npm brotli zopfli openssl; do
  command -v "$tool" >/dev/null || { echo "missing: $tool (run ./scripts/setup.sh)" >&2; exit 1; }
done
ensure_node_tools
embed_js() { node scripts/node/embed.mjs "$@"; }

trunk build --offline --release
# Trunk's own JS minifier stops at wasm-bindgen's `export { … as default }`, so esbuild minifies
# the demo's JS and CSS, and the page's integrity hashes follow the new contents.
sri() { openssl dgst -sha384 -binary "$1" | base64 -w0; }
for f in dist/*.js dist/*.css; do
  before=$(sri "$f")
  embed_js minify "$f" "$f.min" && mv "$f.min" "$f"
  grep -qF "sha384-$before" dist/index.html || { echo "dist/index.html has no integrity for $f" >&2; exit 1; }
  sed -i "s|sha384-$before|sha384-$(sri "$f")|" dist/index.html
done

cargo build --release --lib --target wasm32-unknown-unknown
work=target/embed
rm -rf "$work" && mkdir -p "$work"
wasm-bindgen --target web --no-typescript --out-dir "$work" --out-name widget \
  "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/direct_upload.wasm"

# Exports no page calls (see scripts/node/embed.mjs): their classes leave the glue, then the
# exports leave the wasm, and wasm-opt drops the code only they reached.
dead=$(embed_js prune "$work/widget.js" "$work/widget_bg.wasm")
remove_exports=()
for name in $dead; do remove_exports+=("--remove-exports=$name"); done
echo "dead exports removed: ${#remove_exports[@]}"
# The features rustc enables by default for wasm32; wasm-opt must accept what it is given.
# -Os, not -Oz: 6 KB more raw wasm but about 0.2 KB less gzip and 0.4 KB less brotli, and a
# page downloads the compressed file. --low-memory-unused lets it fold constant address
# offsets into loads and stores (−1.3 KB gzip): it assumes nothing lives below address 1024,
# and rustc puts the 1 MB stack there, growing down, so only the last KB of a full stack
# could; its accesses are the stack pointer plus a constant, which the folding leaves
# unchanged. --merge-similar-functions (not part of -Os) turns functions that differ only in
# constants, as many generic instances do, into one with a parameter: −1.3 KB gzip, −0.4 KB
# brotli; --duplicate-function-elimination just before it lets it see more pairs (−0.5 KB
# gzip, −0.3 KB brotli more). Both before -Os, which then cleans up after them; after -Os they
# find less, since it has inlined many of the small copies. --converge repeats the passes until they
# stop shrinking; the producers and target-features sections are tool metadata no browser reads.
wasm-opt --enable-bulk-memory --enable-multivalue --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-reference-types --enable-sign-ext \
  "${remove_exports[@]}" --low-memory-unused \
  --duplicate-function-elimination --merge-similar-functions -Os --converge \
  --strip-producers --strip-target-features "$work/widget_bg.wasm" -o "$work/widget_bg.wasm"
# Short import, export and module names in the wasm and the glue alike (embed.mjs shorten
# says why); on the optimized module, so that the optimization above sees the usual names.
wasm-opt --enable-bulk-memory --enable-multivalue --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-reference-types --enable-sign-ext \
  --minify-imports-and-exports-and-modules "$work/widget_bg.wasm" -o "$work/widget_bg.wasm" \
  >"$work/names.json"
embed_js shorten "$work/widget.js" "$work/widget_bg.wasm" "$work/names.json"
embed_js check "$work/widget.js" "$work/widget_bg.wasm"
# Bundled, so that glue helpers only the removed classes used go too.
embed_js minify "$work/widget.js" "$work/widget.min.js" --bundle

hash() { sha256sum "$1" | cut -c1-16; }
out=dist/embed
rm -rf "$out" && mkdir -p "$out"
wasm_name="widget-$(hash "$work/widget_bg.wasm")_bg.wasm"
js_name="widget-$(hash "$work/widget.min.js").js"
cp "$work/widget_bg.wasm" "$out/$wasm_name"
cp "$work/widget.min.js" "$out/$js_name"
sed -e "s|__WIDGET_JS__|$js_name|" -e "s|__WIDGET_WASM__|$wasm_name|" js/direct-upload.js >"$work/direct-upload.js"
embed_js minify "$work/direct-upload.js" "$out/direct-upload.js"
embed_js minify style/direct-upload.css "$out/direct-upload.css"
cp examples/plain.html dist/plain.html
npm_package "$out"

shopt -s nullglob
precompress "$out"/*.js "$out"/*.css "$out"/*.wasm dist/*.wasm dist/*.js dist/*.css dist/*.html

echo "built: the demo in dist/ (bytes)"
size_table dist/*.wasm dist/*.js dist/*.css
echo "built: what a page downloads for dist/embed (bytes; served as .gz and .br beside each)"
mapfile -t files < <(embed_files "$out")
size_table "${files[@]}"
printf '  %-52s %9d %9d %9d\n' total "$TOTAL_RAW" "$TOTAL_GZIP" "$TOTAL_BROTLI"
