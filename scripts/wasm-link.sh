#!/usr/bin/env bash
# The linker for wasm32 builds of this workspace (.cargo/config.toml): rust-lld, minus the
# exports of wasm-streams' `IntoUnderlying*` classes.
#
# Why: leptos → server_fn links wasm-streams, whose `#[wasm_bindgen]` classes turn Rust streams
# into JS ReadableStreams and WritableStreams. A CSR widget never builds one, but rustc exports
# them, so the linker keeps them and the boxed futures they create. Removing the exports after
# wasm-bindgen (scripts/node/embed.mjs prune) is too late for that code: the futures' functions
# sit in the indirect-call table, whose entries wasm-opt never removes. Dropped here, before the
# linker's dead-code pass, they never reach the wasm: 5.5 KB gzip less (BENCHMARKS.md, "Bundle
# diet, third pass"). wasm-bindgen then simply emits no such classes.
#
# rustc calls this as it calls rust-lld (`-flavor wasm …`, with its own sysroot's bin directory,
# where rust-lld lives, on PATH). Each export arrives as `--export NAME` (or `--export=NAME`);
# the class's methods, its `__wbg_…_free` and its `__wbindgen_describe_…` functions all carry
# the class name in lower case (`intounderlyingsink_write`). Arguments in a response file
# (`@file`, which rustc uses only for command lines too long to spawn) pass through untouched:
# nothing breaks, the code just stays, and scripts/size-budget.sh notices.
set -euo pipefail
# Plain bash 3 (macOS's /bin/bash runs this too): no ${x,,}, no negative array indices. One
# pass over the ~11,000 arguments: an `--export` waits for its name before it is kept or not.
args=()
export_pending=false
for arg in "$@"; do
  if $export_pending; then
    export_pending=false
    case "$arg" in *intounderlying*) continue ;; esac
    args+=(--export)
  fi
  case "$arg" in
    --export) export_pending=true; continue ;;
    --export=*intounderlying*) continue ;;
  esac
  args+=("$arg")
done
if $export_pending; then args+=(--export); fi
exec rust-lld "${args[@]}"
