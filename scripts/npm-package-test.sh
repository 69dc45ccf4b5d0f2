#!/usr/bin/env bash
# The npm package as a web developer gets it: packs dist/embed (scripts/build.sh makes it the
# package `direct-upload`) with `npm pack`, installs the tarball into a fresh project (the
# pages and tsconfig of tests/npm/project), type-checks it (tsc: a plain page, a React 19
# page and what the types must refuse; vue-tsc: a Vue component), bundles the pages with
# esbuild (the README's recipe), serves them with the package's own folder from the local
# service, and uploads tests/fixtures/badge.png through each in headless Chromium
# (tests/npm/upload.mjs, playwright-core), checking that the service stored it.
# The tools are pinned in tests/npm/package-lock.json and installed there, nowhere else.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

package=dist/embed
[ -f "$package/package.json" ] || { echo "no $package/package.json: run ./scripts/build.sh first" >&2; exit 1; }
ensure_npm_test_tools
tools=$PWD/tests/npm/node_modules/.bin

say "npm package: version, pack, install into a fresh project"
version=$(node -p "require('./$package/package.json').version")
[ "$version" = "$(crate_version)" ] || { echo "$package/package.json has version $version, Cargo.toml $(crate_version)" >&2; exit 1; }
# Inside tests/npm, so that the project finds the pinned tools (typescript, react, vue and
# their types) in tests/npm/node_modules, as it would find them in its own.
work=$(mktemp -d "$PWD/tests/npm/tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$package" && npm pack --silent --pack-destination "$work" >/dev/null)
tarball="$work/direct-upload-$version.tgz"
[ -f "$tarball" ] || { echo "npm pack wrote no $tarball" >&2; exit 1; }
listed=$(tar -tzf "$tarball" | sed 's|^package/||' | sort)
for name in package.json README.md direct-upload.js direct-upload.d.ts direct-upload.css direct-upload.css.d.ts react.js react.d.ts vue.js vue.d.ts; do
  grep -qx "$name" <<<"$listed" || { echo "the tarball lacks $name" >&2; exit 1; }
done
for name in $(embed_files "$package"); do
  grep -qx "$(basename "$name")" <<<"$listed" || { echo "the tarball lacks $(basename "$name")" >&2; exit 1; }
done
if grep -E '\.(gz|br)$' <<<"$listed"; then echo "the tarball carries precompressed copies" >&2; exit 1; fi

project=$work/project
cp -r tests/npm/project "$project"
printf '{"name": "consumer", "private": true, "type": "module"}\n' >"$project/package.json"
(cd "$project" && npm install --silent --no-audit --no-fund --offline "$tarball")

say "npm package: tsc --noEmit (plain and React pages), vue-tsc --noEmit (a Vue component)"
"$tools/tsc" --noEmit -p "$project/tsconfig.json"
"$tools/vue-tsc" --noEmit -p "$project/tsconfig.vue.json"

say "npm package: esbuild bundles the pages; the wasm is copied beside the bundle"
site=$project/site
"$tools/esbuild" "$project/src/page.ts" "$project/src/react-page.tsx" --bundle --format=esm --splitting \
  --minify --outdir="$site/assets" --log-level=warning
cp "$project"/node_modules/direct-upload/widget-*_bg.wasm "$site/assets/"
# The plain HTML page uses the installed package's folder as it is.
cp -r "$project/node_modules/direct-upload" "$site/direct-upload"

say "npm package: upload through each page in headless Chromium"
start_service "$work" --static-dir "$site"
node tests/npm/upload.mjs "$SERVICE" "$PWD/tests/fixtures/badge.png" plain.html bundled.html react.html storage-refused:plain.html
