// Where a run's memory goes (scripts/memory-dump.sh runs it; see BENCHMARKS.md): one page,
// one batch of files chosen on its file input as in bench/run.mjs, and Chromium's own memory
// dumps (the `disabled-by-default-memory-infra` trace category) before the choice, every
// `--every` ms during the run and at its end. Prints, per process, each allocator whose size
// grew by more than 0.5 MB: its size before and at its largest. A diagnosis, not a benchmark:
// the dumps themselves slow the run.
//
//   node memory.mjs --server BIN --static DIR --cache DIR [--page /embed.html]
//                   [--files 50x8MB] [--every 500] [--depth 1] [--out trace.json]
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { fileSet } from "./files.mjs";
import { CHROMIUM_FLAGS, sleep, startServer } from "./server.mjs";

const { values: args } = parseArgs({
  options: {
    server: { type: "string" },
    static: { type: "string" },
    cache: { type: "string" },
    page: { type: "string", default: "/embed.html" },
    files: { type: "string", default: "50x8MB" },
    every: { type: "string", default: "500" },
    depth: { type: "string", default: "1" },
    out: { type: "string" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
  },
});
if (!args.server || !args.static || !args.cache) {
  console.error("usage: node memory.mjs --server BIN --static DIR --cache DIR [--page P] [--files NxSIZE] [--every MS] [--depth N] [--out FILE]");
  process.exit(2);
}
const sizes = { KB: 1e3, MB: 1e6 };
const [, count, amount, unit] = /^(\d+)x([\d.]+)(KB|MB)$/.exec(args.files) ?? [];
if (!count) throw new Error(`--files: NxSIZE, e.g. 50x8MB (not ${args.files})`);

const server = await startServer({ bin: args.server, staticDir: args.static });
const browser = await chromium.launch({ executablePath: args.chromium, headless: true, args: CHROMIUM_FLAGS });
try {
  const page = await browser.newPage();
  await page.addInitScript(readFileSync(new URL("./harness.js", import.meta.url), "utf8"));
  await page.goto(server.base + args.page);
  const input = page.locator("input[type=file]").first();
  await input.waitFor({ state: "attached" });
  await page.evaluate(() => window.__benchReady ?? null);
  await sleep(1000);

  const cdp = await browser.newBrowserCDPSession();
  const events = [];
  cdp.on("Tracing.dataCollected", (data) => events.push(...data.value));
  const complete = new Promise((resolve) => cdp.on("Tracing.tracingComplete", resolve));
  await cdp.send("Tracing.start", {
    traceConfig: { includedCategories: ["disabled-by-default-memory-infra"], memoryDumpConfig: { triggers: [] } },
    transferMode: "ReportEvents",
  });
  const dump = () => cdp.send("Tracing.requestMemoryDump", { deterministic: false, levelOfDetail: "detailed" });
  await dump();
  await input.setInputFiles(fileSet(args.cache, Number(count), Math.round(Number(amount) * sizes[unit])));
  let finished = false;
  const done = page
    .waitForFunction(() => window.__bench.doneAt !== null, null, { timeout: 300_000, polling: 100 })
    .then(() => (finished = true));
  while (!finished) {
    await Promise.race([sleep(Number(args.every)), done]);
    await dump();
  }
  await cdp.send("Tracing.end");
  await complete;
  if (args.out) writeFileSync(args.out, JSON.stringify(events));

  // Each process's dumps in order; sizes in MB (effective size where the dump gives one, so
  // that memory shared between allocators is counted once).
  const names = new Map(events.filter((e) => e.ph === "M" && e.name === "process_name").map((e) => [e.pid, e.args.name]));
  const byProcess = new Map();
  for (const e of events.filter((e) => e.ph === "v").sort((a, b) => a.ts - b.ts)) {
    const allocators = e.args.dumps?.allocators;
    if (!allocators) continue;
    if (!byProcess.has(e.pid)) byProcess.set(e.pid, []);
    byProcess.get(e.pid).push(allocators);
  }
  const size = (allocators, name) => {
    const attrs = allocators[name]?.attrs ?? {};
    const value = (attrs.effective_size ?? attrs.size)?.value;
    return value ? parseInt(value, 16) / 1e6 : 0;
  };
  console.log(`${args.page}, ${args.files}: growth per allocator (before -> largest, MB), above 0.5 MB`);
  for (const [pid, dumps] of byProcess) {
    const keys = new Set(dumps.flatMap((allocators) => Object.keys(allocators)));
    const rows = [...keys]
      .filter((key) => key.split("/").length - 1 <= Number(args.depth))
      .map((key) => [key, size(dumps[0], key), Math.max(...dumps.map((allocators) => size(allocators, key)))])
      .filter(([, before, most]) => most - before > 0.5)
      .sort(([a], [b]) => a.localeCompare(b));
    if (!rows.length) continue;
    console.log(`${names.get(pid) ?? "process"} ${pid} (${dumps.length} dumps)`);
    for (const [key, before, most] of rows) {
      console.log(`  ${key.padEnd(56)} ${before.toFixed(1).padStart(7)} -> ${most.toFixed(1).padStart(7)}  (+${(most - before).toFixed(1)})`);
    }
  }
} finally {
  await browser.close();
  await server.stop();
}
