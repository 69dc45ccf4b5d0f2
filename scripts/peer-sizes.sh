#!/usr/bin/env bash
# Measures the JavaScript upload widgets this one is compared with, the way
# scripts/size-budget.sh measures dist/embed: each bundled and minified by esbuild into one ES
# module, plus its CSS, then gzip -9 and brotli -q 11 of each file. Installs into a temporary
# directory from npm and leaves nothing behind; not part of the tests (it needs the registry).
#   ./scripts/peer-sizes.sh    prints one table per widget
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_node_tools
esbuild=$PWD/scripts/node/node_modules/.bin/esbuild

# The versions measured in BENCHMARKS.md; change them here and say so there.
UPPY_CORE=6.3.1 UPPY_DASHBOARD=6.0.3 UPPY_XHR=6.0.0 FILEPOND=4.32.12 DROPZONE=6.3.5

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm init -y >/dev/null
say "npm install the peers (into $tmp)"
npm install --no-audit --no-fund --silent "@uppy/core@$UPPY_CORE" "@uppy/dashboard@$UPPY_DASHBOARD" \
  "@uppy/xhr-upload@$UPPY_XHR" "filepond@$FILEPOND" "dropzone@$DROPZONE"

# What a page needs for a comparable widget: a drop area with a file list, progress and
# multipart uploads.
cat >uppy.js <<'JS'
export { default as Uppy } from "@uppy/core";
export { default as Dashboard } from "@uppy/dashboard";
export { default as XHRUpload } from "@uppy/xhr-upload";
JS
cat >filepond.js <<'JS'
export * from "filepond";
JS
cat >dropzone.js <<'JS'
export { default as Dropzone } from "dropzone";
JS
css_of() {
  case $1 in
    uppy) echo node_modules/@uppy/core/dist/style.min.css node_modules/@uppy/dashboard/dist/style.min.css ;;
    filepond) echo node_modules/filepond/dist/filepond.min.css ;;
    dropzone) echo node_modules/dropzone/dist/dropzone.css ;;
  esac
}
for peer in uppy filepond dropzone; do
  mkdir -p "out/$peer"
  # Each package's ES module build (`module`), not its UMD `browser` file, so that esbuild can
  # leave out what the page does not import, as it would in a site's own bundle.
  "$esbuild" "$peer.js" --bundle --minify --format=esm --main-fields=module,main --log-level=error \
    --outfile="out/$peer/$peer.min.js"
  for css in $(css_of "$peer"); do
    [ -f "$css" ] || { echo "no $css in the installed package" >&2; exit 1; }
    "$esbuild" "$css" --minify --log-level=error --outfile="out/$peer/$(basename "$(dirname "$(dirname "$css")")")-$(basename "$css")"
  done
  echo "$peer ($(node -p "['@uppy/core','@uppy/dashboard','@uppy/xhr-upload','filepond','dropzone'].filter(n => n.includes('$peer')).map(n => n + ' ' + require('./node_modules/' + n + '/package.json').version).join(', ')"))"
  size_table "out/$peer"/*
  printf '  %-52s %9d %9d %9d\n' total "$TOTAL_RAW" "$TOTAL_GZIP" "$TOTAL_BROTLI"
done
