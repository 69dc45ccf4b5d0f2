// The local service as the benchmark and the chaos run start it: the release (or debug) server
// on loopback with its own data directory, serving the pages, the backend and the upload host
// on one origin. Shared by run.mjs and chaos.mjs.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// The local service's development account and token (server/src/config.rs).
export const ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353";
export const TOKEN = "local-dev-token";

/** How the benchmark and the memory diagnosis launch headless Chromium. */
export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // No spare renderer that would join the memory figures halfway through a run.
  "--disable-features=SpareRendererForSitePerProcess",
];

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts `bin` and resolves once it listens: `{base, data, log, kill(signal), stop()}`.
 * `data` reuses a data directory (a restart); `listen` a fixed address (`127.0.0.1:0` picks
 * one); `extra` are further flags. `stop()` ends it and removes a data directory it made.
 */
export async function startServer({ bin, staticDir, data, listen = "127.0.0.1:0", extra = [] }) {
  const ownData = !data;
  data ??= mkdtempSync(join(tmpdir(), "du-bench-"));
  const addrFile = join(data, "addr");
  rmSync(addrFile, { force: true });
  const log = join(data, "server.log");
  const out = openSync(log, "a");
  const child = spawn(
    bin,
    [
      "--listen", listen,
      "--data-dir", data,
      "--addr-file", addrFile,
      "--static-dir", staticDir,
      // The reference backend allows 120 one-time URLs a minute per client by default; one
      // browser asks for up to 1,000 here.
      "--rate-limit-per-minute", "0",
      ...extra,
    ],
    { stdio: ["ignore", out, out] },
  );
  let exited = null;
  child.on("exit", (code, signal) => (exited = code ?? signal));
  for (let i = 0; i < 300 && !(existsSync(addrFile) && statSync(addrFile).size > 0); i++) {
    if (exited !== null) break;
    await sleep(50);
  }
  if (!existsSync(addrFile) || statSync(addrFile).size === 0) {
    child.kill("SIGKILL");
    throw new Error(`the server did not start:\n${readFileSync(log, "utf8").slice(-2000)}`);
  }
  const address = readFileSync(addrFile, "utf8").trim();
  const gone = () => new Promise((resolve) => (exited !== null ? resolve() : child.once("exit", resolve)));
  return {
    base: `http://${address}`,
    address,
    pid: child.pid,
    data,
    log,
    /** Sends `signal` and resolves when the process is gone. */
    async kill(signal) {
      if (exited === null) child.kill(signal);
      await gone();
    },
    async stop() {
      if (exited === null) {
        child.kill("SIGTERM");
        await gone();
      }
      if (ownData) rmSync(data, { recursive: true, force: true });
    },
  };
}

/** Calls the local Images API with the development token; resolves to its `result`. */
export async function api(base, path) {
  const response = await fetch(`${base}/client/v4/accounts/${ACCOUNT}/images/${path}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const body = await response.json();
  if (!body.success) throw new Error(`${path}: ${JSON.stringify(body.errors)}`);
  return body.result;
}

/** Images the server holds as uploaded (drafts not counted). */
export async function storedCount(base) {
  return (await api(base, "v1/stats")).count.current;
}
