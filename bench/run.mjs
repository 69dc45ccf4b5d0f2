// The throughput benchmark's driver (scripts/bench.sh runs it; see BENCHMARKS.md).
//
// For every run of every contender on every workload: a fresh release server with an empty
// data directory (page, backend and upload host on one origin), a fresh headless Chromium, the
// page loaded, then the workload's files chosen on the page's own file input as a user would
// (Playwright's setInputFiles), timed in the page from the `change` event until the page says
// every file has finished; then the server is asked how many images it stored.
//
//   node run.mjs --server BIN --static DIR --cache DIR [--out FILE] [--runs N]
//                [--workloads a,b] [--contenders a,b] [--quick]
import { execSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { fileSet } from "./files.mjs";
import { CHROMIUM_FLAGS, sleep, startServer, storedCount } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));

const WORKLOADS = {
  "20x1.7MB": { count: 20, size: 1_700_000 },
  "200x110KB": { count: 200, size: 110_000 },
  "50x8MB": { count: 50, size: 8_000_000 },
  "1000x20KB": { count: 1000, size: 20_000 },
  // Quick mode's: a check that every file is stored, not a measurement.
  "10x110KB": { count: 10, size: 110_000 },
};

// Each contender: its page, its file input, and how the end is seen. `finish` pages call
// window.__bench.finish themselves; the demo has no event, so its rows are watched.
const CONTENDERS = {
  floor: { page: "/floor.html", input: "#files" },
  embed: { page: "/embed.html", input: "direct-upload input[type=file]" },
  // Diagnosis only (BENCHMARKS.md): the embed bundle with `persist="off"`; also without
  // previews (the page's createImageBitmap refuses); also with the list hidden (no rows drawn).
  // Another build's embed bundle on the same page (scripts/bench.sh --base DIR).
  "embed-base": { page: "/embed-base.html", input: "direct-upload input[type=file]" },
  "embed-nopersist": { page: "/embed.html?persist=off", input: "direct-upload input[type=file]" },
  "embed-nopreview": { page: "/embed.html?persist=off&previews=off", input: "direct-upload input[type=file]" },
  "embed-bare": { page: "/embed.html?persist=off&previews=off&list=hidden", input: "direct-upload input[type=file]" },
  demo: { page: "/index.html", input: "#uploader input[type=file]", watchStatus: true },
  uppy: { page: "/uppy.html", input: 'input.uppy-Dashboard-input[name="files[]"]:not([webkitdirectory])' },
};

const { values: args } = parseArgs({
  options: {
    server: { type: "string" },
    static: { type: "string" },
    cache: { type: "string" },
    out: { type: "string" },
    runs: { type: "string" },
    workloads: { type: "string" },
    contenders: { type: "string" },
    quick: { type: "boolean", default: false },
    chromium: { type: "string", default: "/usr/bin/chromium" },
    // Diagnosis only: answer image delivery (/cdn/, the widget's thumbnails of stored files)
    // in the browser with a 1-pixel PNG, so the local server does not resize images on the
    // same two cores while the uploads run (Cloudflare does that work on its own machines).
    "stub-delivery": { type: "boolean", default: false },
    // As in production, where the upload host (upload.imagedelivery.net) is another origin
    // than the page and its backend: the page is loaded from http://localhost:PORT while the
    // one-time URLs keep the server's http://127.0.0.1:PORT, so every upload is cross-origin
    // and a page that listens to upload progress pays a CORS preflight per upload (a one-time
    // URL is never preflighted twice).
    "cross-origin": { type: "boolean", default: false },
    // Diagnosis: write a Chromium trace of each run (JS samples, style, layout, paint; from
    // just before the choice until done) here, to open in DevTools' Performance panel.
    profile: { type: "string" },
  },
});
if (!args.server || !args.static || !args.cache) {
  console.error("usage: node run.mjs --server BIN --static DIR --cache DIR [--out FILE] [--runs N] [--workloads a,b] [--contenders a,b] [--quick]");
  process.exit(2);
}
// Quick mode's defaults; options given explicitly still win.
const defaults = args.quick
  ? { runs: "1", workloads: "10x110KB", contenders: "floor,embed" }
  : { runs: "5", workloads: "20x1.7MB,200x110KB,50x8MB,1000x20KB", contenders: "floor,embed,demo,uppy" };
for (const [key, value] of Object.entries(defaults)) args[key] ??= value;
const runs = Number(args.runs);
const workloads = args.workloads.split(",").map((name) => {
  if (!WORKLOADS[name]) throw new Error(`unknown workload ${name} (known: ${Object.keys(WORKLOADS).join(", ")})`);
  return { name, ...WORKLOADS[name] };
});
const contenders = args.contenders.split(",").map((name) => {
  if (!CONTENDERS[name]) throw new Error(`unknown contender ${name} (known: ${Object.keys(CONTENDERS).join(", ")})`);
  return { name, ...CONTENDERS[name] };
});
const harness = readFileSync(join(here, "harness.js"), "utf8");

const ONE_PIXEL = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

/** Resident memory (VmRSS, bytes) of the browser's renderer processes, as Chromium lists them. */
async function rendererRss(browserCdp) {
  const { processInfo } = await browserCdp.send("SystemInfo.getProcessInfo");
  let total = 0;
  for (const { type, id } of processInfo) {
    if (type !== "renderer") continue;
    try {
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${id}/status`, "utf8"));
      if (rss) total += Number(rss[1]) * 1024;
    } catch {} // gone meanwhile
  }
  return total;
}

/** Clock ticks per second, the unit of /proc/PID/stat's CPU times. */
const CLOCK_TICKS = Number(execSync("getconf CLK_TCK").toString().trim()) || 100;

/**
 * CPU time (user + system, seconds) used so far by each of the browser's processes, by
 * Chromium's process type (renderer; everything else: browser, network, GPU and utility
 * processes), and by the server: pid → {kind, seconds}. On two cores the upload host shares
 * the CPU with the browser, so the CPU each contender spends is what its wall time mostly
 * follows, and it varies far less from run to run than the wall time does.
 */
async function cpuSample(browserCdp, serverPid) {
  const { processInfo } = await browserCdp.send("SystemInfo.getProcessInfo");
  const used = (id) => {
    try {
      // Fields 14 and 15 of /proc/PID/stat, counted after the parenthesised name (which may
      // hold spaces and parentheses itself): utime and stime, in clock ticks.
      const stat = readFileSync(`/proc/${id}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    } catch {
      return null; // gone meanwhile
    }
  };
  const sample = new Map([[serverPid, { kind: "server", seconds: used(serverPid) }]]);
  for (const { type, id } of processInfo) {
    sample.set(id, { kind: type === "renderer" ? "renderer" : "browser", seconds: used(id) });
  }
  return sample;
}

/** CPU seconds between two samples, per kind: a process started meanwhile counts whole; one
 * gone before the second sample is missing from it (its last part cannot be read). */
function cpuBetween(before, after) {
  const cpu = { renderer: 0, browser: 0, server: 0 };
  for (const [pid, { kind, seconds }] of after) {
    if (seconds === null) continue;
    cpu[kind] += seconds - (before.get(pid)?.seconds ?? 0);
  }
  return cpu;
}

/** What the page's resource timing says about where the time went (times in ms). */
function timingSummary(bench, entries) {
  const of = (part) => entries.filter((e) => e.name.includes(part)).sort((a, b) => a.startTime - b.startTime);
  const backend = of("/api/direct-upload");
  const uploads = of("/upload/");
  const median = (values) => {
    if (values.length === 0) return null;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  };
  // Each upload after the URL it was given: FIFO over backend answers ended before it starts.
  const answers = backend.map((e) => e.responseEnd).sort((x, y) => x - y);
  const urlToUpload = [];
  let b = 0;
  for (const upload of uploads) {
    if (b < answers.length && answers[b] <= upload.startTime) urlToUpload.push(upload.startTime - answers[b++]);
  }
  // Each URL request after the first three follows the end of an earlier upload (slot reuse).
  const ends = uploads.map((u) => u.responseEnd).sort((x, y) => x - y);
  const slotReuse = backend.slice(3).map((request, i) => request.startTime - (ends[i] ?? request.startTime));
  const wall = bench.doneAt - bench.chosenAt;
  const busy = uploads.reduce((sum, u) => sum + (u.responseEnd - u.startTime), 0);
  const lastUploadEnd = ends.length ? ends[ends.length - 1] : null;
  const others = {};
  for (const entry of entries) {
    if (entry.startTime < bench.chosenAt) continue;
    const kind = entry.name.includes("/api/direct-upload") ? null
      : entry.name.includes("/upload/") ? null
      : entry.name.includes("/api/images/") ? "verify"
      : entry.name.includes("/cdn/") ? "delivery"
      : entry.name.startsWith("blob:") ? "blob"
      : "other";
    if (kind) others[kind] = (others[kind] ?? 0) + 1;
  }
  return {
    firstUrlRequestMs: backend.length ? backend[0].startTime - bench.chosenAt : null,
    medianUrlRequestMs: median(backend.map((e) => e.responseEnd - e.startTime)),
    medianUrlToUploadMs: median(urlToUpload),
    medianSlotReuseMs: median(slotReuse.filter((g) => g >= 0)),
    medianUploadMs: median(uploads.map((e) => e.responseEnd - e.startTime)),
    tailMs: lastUploadEnd === null ? null : bench.doneAt - lastUploadEnd,
    slotUse: wall > 0 ? busy / (3 * wall) : null,
    requests: { url: backend.length, upload: uploads.length, ...others },
    // Every request of the run, from the choice (ms), for a closer look than the medians.
    spans: [...backend.map((e) => ["url", e]), ...uploads.map((e) => ["upload", e])].map(([kind, e]) =>
      [kind, Math.round(e.startTime - bench.chosenAt), Math.round(e.responseEnd - bench.chosenAt)]),
  };
}

async function runOnce(contender, workload, paths, bytes, run) {
  const server = await startServer({ bin: args.server, staticDir: args.static });
  const browser = await chromium.launch({ executablePath: args.chromium, headless: true, args: CHROMIUM_FLAGS });
  try {
    const page = await browser.newPage();
    const console_ = [];
    page.on("console", (message) => {
      // Failed requests are named by the response handler below, with their URL.
      if (message.text().startsWith("Failed to load resource")) return;
      if (message.type() === "error") console_.push(message.text());
    });
    page.on("response", (response) => {
      if (response.status() >= 400 && !response.url().endsWith("/favicon.ico")) {
        console_.push(`HTTP ${response.status()} from ${response.url()}`);
      }
    });
    page.on("pageerror", (error) => console_.push(String(error)));
    await page.addInitScript(harness);
    if (args["stub-delivery"]) {
      await page.route(/\/cdn\//, (route) => route.fulfill({ status: 200, contentType: "image/png", body: ONE_PIXEL }));
    }
    const base = args["cross-origin"] ? server.base.replace("127.0.0.1", "localhost") : server.base;
    if (args["cross-origin"] && base === server.base) throw new Error(`--cross-origin: the server is not on 127.0.0.1 (${server.base})`);
    await page.goto(base + contender.page);
    const input = page.locator(contender.input).first();
    await input.waitFor({ state: "attached", timeout: 30_000 });
    if (contender.watchStatus) {
      // The demo fires no event, and past 30 files its list renders only the rows in view:
      // the batch is finished when its status line says so ("All N uploaded", or
      // "N uploaded, M failed" once nothing is pending; the demo page is in English).
      await page.evaluate((expected) => {
        const timer = setInterval(() => {
          if (window.__bench.chosenAt === null) return;
          const text = document.querySelector(".du__status")?.textContent ?? "";
          const all = /All (\d+) uploaded/.exec(text);
          const some = /^(\d+) uploaded, (\d+) failed/.exec(text);
          const [stored, failed] = all ? [Number(all[1]), 0] : some ? [Number(some[1]), Number(some[2])] : [0, 0];
          if (stored + failed >= expected) {
            clearInterval(timer);
            window.__bench.finish({ stored, failed });
          }
        }, 20);
      }, workload.count);
    }
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable");
    const heap = async () =>
      (await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "JSHeapUsedSize").value;
    // A page that loads its code lazily (the embed) says when it has; memory growth is then
    // measured from a page at rest, not from one still compiling its code.
    await page.waitForFunction(() => window.__benchReady !== undefined || document.readyState === "complete");
    await page.evaluate(() => window.__benchReady ?? null);
    await sleep(1000); // let the page settle after loading
    const browserCdp = await browser.newBrowserCDPSession();
    const rssBefore = await rendererRss(browserCdp);
    const heapBefore = await heap();
    let rssPeak = rssBefore;
    // A sample may land after the browser closed (a failed run): it is then skipped.
    const sampler = setInterval(async () => {
      try {
        rssPeak = Math.max(rssPeak, await rendererRss(browserCdp));
      } catch {}
    }, 200);
    if (args.profile) {
      mkdirSync(args.profile, { recursive: true });
      await browser.startTracing(page, {
        path: join(args.profile, `${workload.name}-${contender.name}-${run}.json`),
        categories: ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute", "disabled-by-default-v8.cpu_profiler"],
      });
    }
    await page.evaluate(() => (window.__bench.readyAt = performance.now()));
    const cpuBefore = await cpuSample(browserCdp, server.pid);
    await input.setInputFiles(paths);
    const timeout = 120_000 + (bytes / 1e6) * 1000; // 1 MB/s at the least
    await page.waitForFunction(() => window.__bench.doneAt !== null, null, { timeout, polling: 100 });
    clearInterval(sampler);
    const cpuAfter = await cpuSample(browserCdp, server.pid);
    rssPeak = Math.max(rssPeak, await rendererRss(browserCdp));
    if (args.profile) await browser.stopTracing();
    const heapAfter = await heap();
    const { bench, entries } = await page.evaluate(() => ({
      bench: window.__bench,
      entries: performance.getEntriesByType("resource").map((e) => ({
        name: e.name, startTime: e.startTime, responseEnd: e.responseEnd,
      })),
    }));
    const stored = await storedCount(server.base);
    const tasks = bench.longTasks.filter((t) => t.start + t.duration >= bench.readyAt);
    const choiceTask = tasks.find((t) => t.start <= bench.chosenAt && bench.chosenAt <= t.start + t.duration + 1);
    return {
      seconds: (bench.doneAt - bench.chosenAt) / 1000,
      pageSaid: bench.result,
      stored,
      longestTaskMs: tasks.reduce((max, t) => Math.max(max, t.duration), 0),
      longTasks: tasks.length,
      choiceTaskMs: choiceTask?.duration ?? 0,
      // The choice's task holds Chromium's making of the chosen File objects, which the floor
      // pays too (Playwright's setInputFiles): the widget's other tasks are its own.
      longestOtherTaskMs: tasks
        .filter((t) => t !== choiceTask && t.start >= bench.chosenAt)
        .reduce((max, t) => Math.max(max, t.duration), 0),
      rssGrowthMB: (rssPeak - rssBefore) / 1e6,
      heapGrowthMB: (heapAfter - heapBefore) / 1e6,
      cpu: cpuBetween(cpuBefore, cpuAfter),
      timing: timingSummary(bench, entries),
      console: console_.slice(0, 5),
    };
  } finally {
    await browser.close();
    await server.stop();
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fixed = (value, digits) => (value === null || value === undefined ? "–" : value.toFixed(digits));

const started = Date.now();
const results = [];
let missing = 0;
for (const workload of workloads) {
  const paths = fileSet(args.cache, workload.count, workload.size);
  const bytes = workload.count * workload.size;
  const perContender = Object.fromEntries(contenders.map((c) => [c.name, []]));
  // Contenders take turns run by run, so a slow spell of the machine is shared among them.
  for (let run = 1; run <= runs; run++) {
    for (const contender of contenders) {
      let result;
      try {
        result = await runOnce(contender, workload, paths, bytes, run);
      } catch (error) {
        result = { error: String(error.message ?? error).split("\n")[0], stored: null };
      }
      const ok = result.stored === workload.count;
      if (!ok) missing++;
      perContender[contender.name].push(result);
      console.error(
        `${workload.name} ${contender.name} run ${run}/${runs}: ` +
          (result.error
            ? `FAILED: ${result.error}`
            : `${result.seconds.toFixed(2)} s, stored ${result.stored}/${workload.count}` +
              `${ok ? "" : " MISSING FILES"}, longest task ${result.longestTaskMs.toFixed(0)} ms, ` +
              `renderer RSS +${result.rssGrowthMB.toFixed(1)} MB` +
              (result.console.length ? `, console: ${result.console[0]}` : "")),
      );
    }
  }
  for (const contender of contenders) {
    const done = perContender[contender.name].filter((r) => !r.error);
    results.push({ workload: workload.name, files: workload.count, bytes, contender: contender.name, runs: perContender[contender.name], ok: done.length });
  }
}

// The table: medians over the runs that finished.
const rows = [];
const summary = [];
for (const entry of results) {
  const done = entry.runs.filter((r) => !r.error);
  if (done.length === 0) {
    rows.push(`| ${entry.contender} | ${entry.workload} | failed | | | | | | | | |`);
    continue;
  }
  const seconds = median(done.map((r) => r.seconds));
  const floor = results.find((e) => e.workload === entry.workload && e.contender === "floor");
  const floorDone = floor?.runs.filter((r) => !r.error) ?? [];
  const ratio = floorDone.length ? seconds / median(floorDone.map((r) => r.seconds)) : null;
  const m = {
    contender: entry.contender,
    workload: entry.workload,
    runs: done.length,
    seconds,
    mbPerS: entry.bytes / 1e6 / seconds,
    ratio,
    longestTaskMs: median(done.map((r) => r.longestTaskMs)),
    longestOtherTaskMs: median(done.map((r) => r.longestOtherTaskMs ?? 0)),
    rssGrowthMB: median(done.map((r) => r.rssGrowthMB)),
    cpu: Object.fromEntries(["renderer", "browser", "server"].map((k) => [k, median(done.map((r) => r.cpu[k]))])),
  };
  summary.push(m);
  rows.push(
    `| ${m.contender} | ${m.workload} | ${fixed(m.seconds, 2)} | ${fixed(m.mbPerS, 1)} | ${fixed(m.ratio, 2)} | ${fixed(m.longestTaskMs, 0)} | ${fixed(m.longestOtherTaskMs, 0)} | ${fixed(m.rssGrowthMB, 1)} | ${fixed(m.cpu.renderer, 2)} | ${fixed(m.cpu.browser, 2)} | ${fixed(m.cpu.server, 2)} |`,
  );
}
const table = [
  "| contender | workload | median s | MB/s | × floor | longest task ms | longest task after the choice's ms | memory growth MB | CPU s: renderer | CPU s: rest of browser | CPU s: server |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...rows,
].join("\n");
// Where the time goes, from resource timing (medians over runs of each run's median).
const timingRows = results.map((entry) => {
  const done = entry.runs.filter((r) => !r.error);
  if (done.length === 0) return `| ${entry.contender} | ${entry.workload} | | | | | | | |`;
  const t = (key) => median(done.map((r) => r.timing[key]).filter((v) => v !== null && v !== undefined));
  const requests = done[0].timing.requests;
  const extra = Object.entries(requests).filter(([k]) => k !== "url" && k !== "upload").map(([k, v]) => `${v} ${k}`).join(", ");
  return `| ${entry.contender} | ${entry.workload} | ${fixed(t("firstUrlRequestMs"), 0)} | ${fixed(t("medianUrlRequestMs"), 1)} | ${fixed(t("medianUrlToUploadMs"), 1)} | ${fixed(t("medianSlotReuseMs"), 1)} | ${fixed(t("medianUploadMs"), 1)} | ${fixed(t("tailMs"), 0)} | ${fixed(100 * t("slotUse"), 0)} % | ${fixed(median(done.map((r) => r.choiceTaskMs)), 0)} | ${extra || "none"} |`;
});
const timingTable = [
  "| contender | workload | choice → 1st URL request ms | URL request ms | URL answer → upload starts ms | upload end → next URL request ms | upload ms | last upload → done ms | slot use | task at choice ms | other requests |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ...timingRows,
].join("\n");

console.log(`\n${table}\n\nWhere the time goes (resource timing; medians):\n\n${timingTable}\n`);
console.log(`MB = 10^6 bytes; memory growth: peak VmRSS of the renderer process(es) minus before the files were chosen.`);
console.log(`CPU s: user + system time from the choice until done (/proc), of Chromium's renderers, of its other processes, and of the server.`);
console.log(`${runs} run(s) each; took ${((Date.now() - started) / 1000).toFixed(0)} s.`);
if (args.out) {
  writeFileSync(args.out, JSON.stringify({ date: new Date().toISOString(), runs, summary, results }, null, 2));
  console.log(`raw results: ${args.out}`);
}
if (missing > 0) {
  console.error(`${missing} run(s) did not store every file`);
  process.exit(1);
}
