// The chaos run (RELIABILITY.md; scripts/chaos.sh runs it): distinct images go through the
// real widget (embed bundle, headless Chromium, concurrency 3) against the local service
// with a share of its requests faulted on every route (backend, upload host, verification,
// delivery: `--fault-rate` of the server's test controls, seeded), optionally while the
// service is killed with SIGKILL and restarted mid-batch. Then the server's store is read
// back and compared with the inputs: every input stored exactly once, byte for byte, no
// stored image the page was not told of, every file either reported stored or failed.
//
//   node chaos.mjs --server BIN --static DIR --cache DIR [--files N] [--rate R]
//                  [--seeds a,b,c] [--kills K] [--without-check]
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { fileSet } from "./files.mjs";
import { ACCOUNT, TOKEN, api, sleep, startServer, storedCount } from "./server.mjs";

const { values: args } = parseArgs({
  options: {
    server: { type: "string" },
    static: { type: "string" },
    cache: { type: "string" },
    files: { type: "string", default: "1000" },
    size: { type: "string", default: "20000" },
    rate: { type: "string", default: "0.3" },
    seeds: { type: "string", default: "1" },
    // SIGKILL and restart the service this many times, evenly through the batch.
    kills: { type: "string", default: "0" },
    // The comparison: the page without `verify`, so a retry cannot ask about an earlier try.
    // Duplicates are expected then; the run reports them and does not fail on them.
    "without-check": { type: "boolean", default: false },
    chromium: { type: "string", default: "/usr/bin/chromium" },
  },
});
if (!args.server || !args.static || !args.cache) {
  console.error("usage: node chaos.mjs --server BIN --static DIR --cache DIR [--files N] [--rate R] [--seeds a,b] [--kills K] [--without-check]");
  process.exit(2);
}
const count = Number(args.files);
const size = Number(args.size);
const kills = Number(args.kills);

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

/** The faults the running server injected so far, by kind (its test-control route). */
async function faultsSoFar(base) {
  try {
    const response = await fetch(`${base}/_local/faults`);
    return (await response.json()).injected ?? {};
  } catch {
    return {};
  }
}

function addCounts(into, counts) {
  for (const [kind, n] of Object.entries(counts)) into[kind] = (into[kind] ?? 0) + n;
}

/** Every stored (non-draft) image on the server with the SHA-256 of its original bytes. */
async function storedImages(base) {
  const images = [];
  for (let page = 1; ; page++) {
    const result = await api(base, `v1?page=${page}&per_page=10000`);
    images.push(...result.images);
    if (result.images.length < 10000) break;
  }
  const hashed = [];
  for (const image of images) {
    const response = await fetch(`${base}/client/v4/accounts/${ACCOUNT}/images/v1/${image.id}/blob`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    if (!response.ok) throw new Error(`blob of ${image.id}: HTTP ${response.status}`);
    hashed.push({ id: image.id, hash: sha256(Buffer.from(await response.arrayBuffer())) });
  }
  return hashed;
}

async function runOnce(seed, paths, hashes) {
  const inputHashes = new Set(hashes);
  const faultFlags = (restart) => [
    "--enable-test-controls",
    "--fault-rate", args.rate,
    // Each restart draws from its own seed, derived from the run's, so the run replays.
    "--fault-seed", String(seed * 1000 + restart),
  ];
  let server = await startServer({ bin: args.server, staticDir: args.static, extra: faultFlags(0) });
  const { data, address } = server;
  const faults = {};
  const browser = await chromium.launch({ executablePath: args.chromium, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-quic"] });
  const started = Date.now();
  let restarts = 0;
  try {
    const page = await browser.newPage();
    const pageErrors = [];
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    await page.goto(`${server.base}/chaos.html${args["without-check"] ? "?without-check" : ""}`);
    const input = page.locator("direct-upload input[type=file]").first();
    await input.waitFor({ state: "attached", timeout: 30_000 });
    await input.setInputFiles(paths);
    const finished = () =>
      page.evaluate((n) => {
        const c = window.__chaos.complete;
        return c !== null && c.done + c.failed >= n;
      }, count);
    // Kills at evenly spaced shares of the batch, counted by what the server has stored.
    for (let k = 1; k <= kills; k++) {
      const mark = Math.floor((count * k) / (kills + 1));
      while (!(await finished()) && (await storedCount(server.base).catch(() => 0)) < mark) await sleep(200);
      if (await finished()) break;
      addCounts(faults, await faultsSoFar(server.base));
      await server.kill("SIGKILL");
      restarts++;
      server = await startServer({ bin: args.server, staticDir: args.static, data, listen: address, extra: faultFlags(restarts) });
    }
    const deadline = Date.now() + 60_000 + count * 2_000;
    while (!(await finished())) {
      if (Date.now() > deadline) throw new Error("the batch did not complete in time");
      await sleep(250);
    }
    const seconds = (Date.now() - started) / 1000;
    addCounts(faults, await faultsSoFar(server.base));
    const chaos = await page.evaluate(() => window.__chaos);
    // What a person sees: the widget's status line.
    const shown = await page.evaluate(() => document.querySelector("direct-upload .du__status")?.textContent ?? "");
    const stored = await storedImages(server.base);

    // The comparison with the inputs.
    const byHash = new Map();
    for (const image of stored) byHash.set(image.hash, [...(byHash.get(image.hash) ?? []), image.id]);
    const duplicates = [...byHash.values()].reduce((sum, ids) => sum + ids.length - 1, 0);
    const strangers = stored.filter((image) => !inputHashes.has(image.hash)).length;
    const storedInputs = [...inputHashes].filter((hash) => byHash.has(hash)).length;
    const reported = new Set(chaos.stored);
    const failedNames = new Set(chaos.failed.map((f) => f.fileName));
    const unreported = stored.filter((image) => !reported.has(image.id)).length;
    const storedIds = new Set(stored.map((image) => image.id));
    const reportedMissing = chaos.stored.filter((id) => !storedIds.has(id)).length;
    const lostAnswers = ["host_reset_after_store", "host_500_after_store", "host_502_after_store"]
      .reduce((sum, kind) => sum + (faults[kind] ?? 0), 0);
    return {
      seed, seconds, restarts, faults, lostAnswers,
      retries: chaos.retries,
      reportedStored: chaos.stored.length,
      reportedFailed: chaos.failed.length,
      failures: chaos.failed.slice(0, 5).map((f) => `${f.fileName}: ${f.message}`),
      shown,
      serverStored: stored.length,
      storedInputs,
      // Inputs neither on the server nor reported failed: lost without a word.
      missing: paths.filter((path, i) => !byHash.has(hashes[i]) && !failedNames.has(basename(path))).length,
      duplicates, strangers, unreported, reportedMissing,
      pageErrors: pageErrors.slice(0, 3),
    };
  } finally {
    await browser.close();
    await server.kill("SIGKILL"); // stalled uploads would hold a graceful stop
    await server.stop();
  }
}

const paths = fileSet(args.cache, count, size);
const hashes = paths.map((path) => sha256(readFileSync(path)));
if (new Set(hashes).size !== count) throw new Error("the input files are not distinct");
let failedRuns = 0;
for (const seed of args.seeds.split(",").map(Number)) {
  let result;
  try {
    result = await runOnce(seed, paths, hashes);
  } catch (error) {
    console.error(`seed ${seed}: FAILED: ${error.message ?? error}`);
    failedRuns++;
    continue;
  }
  const r = result;
  const faultList = Object.entries(r.faults).sort().map(([k, v]) => `${k} ${v}`).join(", ");
  const totalFaults = Object.values(r.faults).reduce((a, b) => a + b, 0);
  console.log(
    [
      `seed ${r.seed}: ${count} files of ${size} B, fault rate ${args.rate}, ${r.restarts} SIGKILL restart(s)${args["without-check"] ? ", WITHOUT the check" : ""}, ${r.seconds.toFixed(1)} s`,
      `  faults injected: ${totalFaults} (${faultList || "none"})`,
      `  retries: ${r.retries}; answers lost after the image was stored: ${r.lostAnswers}`,
      `  widget: ${r.reportedStored} stored, ${r.reportedFailed} failed for good (on screen: "${r.shown}")`,
      `  server: ${r.serverStored} stored images; inputs stored ${r.storedInputs}/${count}, duplicates ${r.duplicates}, missing ${r.missing}, unknown ${r.strangers}, stored but unreported ${r.unreported}, reported but absent ${r.reportedMissing}`,
      ...r.failures.map((f) => `  failed: ${f}`),
      ...r.pageErrors.map((e) => `  page error: ${e}`),
    ].join("\n"),
  );
  const exact =
    r.duplicates === 0 && r.missing === 0 && r.strangers === 0 && r.unreported === 0 &&
    r.reportedMissing === 0 && r.reportedStored + r.reportedFailed === count &&
    r.serverStored === r.reportedStored && r.pageErrors.length === 0;
  if (args["without-check"]) {
    console.log(`  (comparison run: ${r.duplicates} duplicate(s) without the check)`);
  } else if (!exact) {
    console.error(`seed ${seed}: NOT exactly once`);
    failedRuns++;
  }
}
if (failedRuns > 0) process.exit(1);
