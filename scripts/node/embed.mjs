// The JavaScript half of scripts/build.sh's embeddable bundle (node, with the esbuild pinned in
// package.json beside this file):
//
//   node embed.mjs prune  GLUE.js WASM   removes from the wasm-bindgen glue the classes in
//                                        DEAD_CLASSES, then prints one per line the wasm exports
//                                        the glue no longer names (for wasm-opt --remove-exports)
//   node embed.mjs shorten GLUE.js WASM MAP.json
//                                        renames in the glue the imports and exports that
//                                        `wasm-opt --minify-imports-and-exports-and-modules`
//                                        renamed in WASM (MAP.json: the mapping it printed)
//   node embed.mjs check  GLUE.js WASM   fails if the glue names an export the wasm lacks
//   node embed.mjs minify IN OUT [--bundle]
//                                        minifies JS or CSS; fails if an ES module export is lost
//
// Why: every Leptos CSR build carries exports no page calls. wasm-streams (leptos → server_fn)
// exports three classes that turn Rust streams into JS ReadableStreams, and Leptos' lazy-loading
// support and wasm-bindgen's abort handling export globals the glue never reads. wasm-opt keeps
// whatever is exported, so the code behind them ships unless the exports go first.
import { readFileSync, writeFileSync } from "node:fs";
import { extname } from "node:path";
import * as esbuild from "esbuild";

// wasm-streams' classes: a CSR widget never builds a Rust-backed ReadableStream or WritableStream.
// scripts/wasm-link.sh already keeps their exports from the linker (which also drops the code
// behind them), so a build through it has none; this stays for a wasm linked without it.
const DEAD_CLASSES = ["IntoUnderlyingByteSource", "IntoUnderlyingSink", "IntoUnderlyingSource"];

const die = (message) => {
  console.error(`embed.mjs: ${message}`);
  process.exit(1);
};
const wasmExports = (path) =>
  WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(path))).map((e) => e.name);
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The glue without `name`'s class, its `Symbol.dispose` alias and its FinalizationRegistry, as
 * wasm-bindgen writes them; null when the text is not shaped as expected, so that the class and
 * its exports are kept rather than half removed.
 */
function withoutClass(glue, name) {
  const n = escape(name);
  const parts = [
    new RegExp(`^export class ${n} \\{\\n[\\s\\S]*?^\\}\\n`, "m"),
    new RegExp(`^if \\(Symbol\\.dispose\\) ${n}\\.prototype\\[Symbol\\.dispose\\] = ${n}\\.prototype\\.free;\\n`, "m"),
    new RegExp(`^const ${n}Finalization = [^;]*;\\n`, "m"),
  ];
  let out = glue;
  for (const part of parts) {
    if (!part.test(out)) return null;
    out = out.replace(part, "");
  }
  return new RegExp(`\\b${n}\\b`).test(out) ? null : out;
}

function prune(gluePath, wasmPath) {
  let glue = readFileSync(gluePath, "utf8");
  for (const name of DEAD_CLASSES) {
    if (!new RegExp(`\\b${escape(name)}\\b`).test(glue)) continue; // not in this build
    const stripped = withoutClass(glue, name);
    if (stripped === null) {
      console.error(`embed.mjs: warning: the glue's ${name} is not shaped as expected; kept`);
    } else {
      glue = stripped;
    }
  }
  writeFileSync(gluePath, glue);
  // Conservative: an export whose name appears anywhere in the glue, in any form, stays.
  for (const name of wasmExports(wasmPath)) {
    if (!new RegExp(`(^|[^\\w$])${escape(name)}($|[^\\w$])`).test(glue)) console.log(name);
  }
}

/**
 * Gives the glue the short import, export and module names wasm-opt gave the wasm. Why: the
 * 170-odd imports are named like `__wbg_dispatchEvent_a2af00ffae37e129`, in the wasm and again in
 * the glue, and their hashes do not compress; short names save about 3 KB gzip. Each import is
 * a key of the glue's one import object (`KEY: function…` at a line's start), each export a
 * `wasm.NAME`; anything not found where expected fails the build rather than a page.
 */
function shorten(gluePath, wasmPath, mapPath) {
  let glue = readFileSync(gluePath, "utf8");
  const map = JSON.parse(readFileSync(mapPath, "utf8"));
  const modules = [...new Set(WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(wasmPath))).map((i) => i.module))];
  const oldModules = [...new Set(map.imports.map(([module]) => module))];
  if (modules.length !== 1 || oldModules.length !== 1) die(`expected one import module, found ${oldModules} -> ${modules}`);
  const replaceOnce = (pattern, replacement, what) => {
    const found = glue.match(new RegExp(pattern.source, "gm"));
    if (found?.length !== 1) die(`${gluePath}: ${what} found ${found?.length ?? 0} times, expected once`);
    glue = glue.replace(pattern, replacement);
  };
  replaceOnce(new RegExp(`^(\\s*)"${escape(oldModules[0])}":`, "m"), (_, space) => `${space}${JSON.stringify(modules[0])}:`, `module ${oldModules[0]}`);
  for (const [, name, short] of map.imports) {
    replaceOnce(new RegExp(`^(\\s*)${escape(name)}:`, "m"), (_, space) => `${space}${JSON.stringify(short)}:`, `import ${name}`);
  }
  for (const [name, short] of map.exports) {
    glue = glue.replace(new RegExp(`\\bwasm\\.${escape(name)}(?![\\w$])`, "g"), () => `wasm[${JSON.stringify(short)}]`);
  }
  writeFileSync(gluePath, glue);
}

function check(gluePath, wasmPath) {
  const glue = readFileSync(gluePath, "utf8");
  const have = new Set(wasmExports(wasmPath));
  const used = new Set([...glue.matchAll(/\bwasm(?:\.([\w$]+)|\["([^"]+)"\])/g)].map((m) => m[1] ?? m[2]));
  const missing = [...used].filter((name) => !have.has(name));
  if (used.size === 0) die(`${gluePath} names no wasm export as wasm.NAME: is it wasm-bindgen glue?`);
  if (missing.length > 0) die(`${gluePath} calls exports ${wasmPath} lacks: ${missing.join(", ")}`);
}

async function minify(input, output, bundle) {
  const loader = extname(input) === ".css" ? "css" : "js";
  const build = (minify) =>
    esbuild.build({
      entryPoints: [input],
      outfile: output,
      bundle,
      format: loader === "js" ? "esm" : undefined,
      loader: { [extname(input)]: loader },
      minify,
      legalComments: "none",
      logLevel: "error",
      metafile: true,
      write: minify,
    });
  const exportsOf = (result) => Object.values(result.metafile.outputs).flatMap((o) => o.exports ?? []).sort();
  const [plain, small] = [await build(false), await build(true)];
  const [before, after] = [exportsOf(plain), exportsOf(small)];
  if (before.join() !== after.join()) die(`minifying ${input} changed its exports: ${before} -> ${after}`);
}

const [command, a, b, flag] = process.argv.slice(2);
if (command === "prune" && a && b) prune(a, b);
else if (command === "shorten" && a && b && flag) shorten(a, b, flag);
else if (command === "check" && a && b) check(a, b);
else if (command === "minify" && a && b) await minify(a, b, flag === "--bundle");
else die("usage: embed.mjs prune|check GLUE.js WASM | shorten GLUE.js WASM MAP.json | minify IN OUT [--bundle]");
