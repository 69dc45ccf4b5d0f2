// Uploads a real file through each page of the consumer project (scripts/npm-package-test.sh
// serves them from the local service) in headless Chromium, as a visitor does: the file goes
// into <direct-upload>'s file input, the page's own listeners must see `upload-success` and
// `upload-complete`, and the service must hold the image afterwards.
//
//   node upload.mjs SERVICE_URL FIXTURE PAGE...
//
// A PAGE written `storage-refused:page.html` is visited with a browser that refuses storage
// (IndexedDB throws, as in some private windows or with a full quota): the upload must work all
// the same, and the widget must say once, on the console, that files are not kept.
import { basename } from "node:path";
import { chromium } from "playwright-core";

const [service, fixture, ...pages] = process.argv.slice(2);
// The local service's development credentials (README, "The local service").
const ACCOUNT_ID = "023e105f4ecef8ad9ca31a8372d0c353";
const API_TOKEN = "local-dev-token";
const RECORD_FIELDS = ["draft", "filename", "id", "requireSignedURLs", "uploaded", "variants"];
const SUMMARY_FIELDS = ["bytesSent", "bytesTotal", "cancelled", "done", "failed", "files", "pending", "percent", "uploading"];

const fail = (message) => {
  throw new Error(message);
};
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  for (const entry of pages) {
    const refused = entry.startsWith("storage-refused:");
    const path = entry.replace(/^storage-refused:/, "");
    const started = Date.now();
    const page = await browser.newPage();
    const problems = [];
    const notKept = [];
    if (refused) {
      await page.addInitScript(() =>
        Object.defineProperty(window, "indexedDB", {
          get() {
            throw new DOMException("storage refused", "QuotaExceededError");
          },
        }),
      );
    }
    const wasm = [];
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      // The element names unknown or malformed attributes in a warning: none may appear.
      // (Failed requests are told by the responses below.)
      const text = message.text();
      if (refused && text.startsWith("direct-upload: files are not kept across a reload")) return notKept.push(text);
      if ((message.type() === "error" && !text.startsWith("Failed to load resource")) || text.startsWith("direct-upload:")) {
        problems.push(`console: ${text}`);
      }
    });
    page.on("response", (response) => {
      const where = new URL(response.url()).pathname;
      if (where.endsWith(".wasm")) wasm.push(`${response.status()} ${where}`);
      if (response.status() >= 400 && where !== "/favicon.ico") problems.push(`${response.status()} for ${where}`);
    });
    await page.goto(`${service}/${path}`);
    await page.locator("direct-upload .du__input").first().setInputFiles(fixture);
    // Until the page's listeners have seen upload-complete; a failed request or a page error
    // ends the wait at once.
    const deadline = Date.now() + 30_000;
    while (!(await page.evaluate(() => window.seen?.some((s) => s.type === "upload-complete")))) {
      if (problems.length) fail(`${path}: ${problems.join("; ")}`);
      if (Date.now() > deadline) fail(`${path}: no upload-complete within 30 s`);
      await page.waitForTimeout(50);
    }
    const seen = await page.evaluate(() => window.seen);
    const of = (type) => seen.filter((s) => s.type === type).map((s) => s.value);

    if (problems.length) fail(`${path}: ${problems.join("; ")}`);
    const [image, ...more] = of("upload-success");
    if (!image || more.length) fail(`${path}: expected one upload-success, saw ${JSON.stringify(seen)}`);
    if (!same(Object.keys(image).sort(), RECORD_FIELDS)) fail(`${path}: upload-success detail has ${Object.keys(image)}, the types say ${RECORD_FIELDS}`);
    if (image.filename !== basename(fixture) || !image.variants.length) fail(`${path}: unexpected record ${JSON.stringify(image)}`);
    const summary = of("upload-complete").at(-1);
    if (!same(Object.keys(summary).sort(), SUMMARY_FIELDS)) fail(`${path}: upload-complete detail has ${Object.keys(summary)}, the types say ${SUMMARY_FIELDS}`);
    if (summary.files !== 1 || summary.done !== 1 || summary.failed !== 0 || summary.percent !== 100) fail(`${path}: unexpected summary ${JSON.stringify(summary)}`);
    if (wasm.length !== 1 || !wasm[0].startsWith("200 ")) fail(`${path}: expected one wasm fetched with 200, saw ${JSON.stringify(wasm)}`);
    if (path === "bundled.html" && !of("mounted").length) fail(`${path}: mount() did not finish`);
    if (refused && notKept.length !== 1) fail(`${entry}: expected one warning that files are not kept, saw ${JSON.stringify(notKept)}`);

    // The service holds it: the Images API, with the local token.
    const answer = await fetch(`${service}/client/v4/accounts/${ACCOUNT_ID}/images/v1/${image.id}`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    const body = await answer.json();
    if (!answer.ok || body.result?.filename !== basename(fixture) || body.result?.draft) {
      fail(`${path}: the service does not hold ${image.id}: ${answer.status} ${JSON.stringify(body)}`);
    }
    console.log(`  ${entry}: stored ${image.id} (${basename(fixture)}), wasm ${wasm[0]}, ${Date.now() - started} ms`);
    await page.close();
  }
} finally {
  await browser.close();
}
