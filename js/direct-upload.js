// direct-upload for any HTML page: the <direct-upload> element and a small JavaScript API.
// scripts/build.sh fills in the two content-hashed file names below.
//
// This script is all a page pays for up front (a few KB). The element draws its drop zone at
// once from plain HTML and the stylesheet; the widget's code (wasm and its glue) is fetched
// when the element is about to scroll into view or the page is idle, whichever comes first.
// Files chosen, dropped or pasted before then are kept and handed over, never lost.

let loading;
/** Fetches and starts the widget's code, once; resolves to its `mount`. */
function load() {
  loading ??= import("./__WIDGET_JS__").then(async (glue) => {
    await glue.default({ module_or_path: new URL("./__WIDGET_WASM__", import.meta.url) });
    return glue.mount;
  });
  return loading;
}

/** Awaiting it loads the widget's code (if nothing has yet) and resolves once it is ready. */
export const ready = { then: (resolve, reject) => load().then(() => undefined).then(resolve, reject) };

// The drop zone's words before the code arrives, per language; src/i18n is their source and
// a test there fails if these differ from what the widget shows.
const WORDS = {"en": ["Image upload", "Choose images", "or drop or paste them here. PNG, JPEG, GIF, WebP or SVG, up to 10 MB each."], "de": ["Bilder hochladen", "Bilder auswählen", "oder hierher ziehen oder einfügen. PNG, JPEG, GIF, WebP oder SVG, bis 10 MB pro Datei."]};

// The element's attributes by kind. src/options.rs is the one option list; a test there
// fails if these lists drift from it.
const TEXTS = ["backend", "credentials", "verify", "lang", "paste", "persist", "capture"];
const NUMBERS = ["concurrency", "max-files", "min-size", "max-size", "max-side", "max-pixels", "max-retries", "retry-delay-ms", "max-delay-ms", "stall-timeout-ms"];
const JSONS = ["headers", "body"];
const LISTS = ["accept"];
const FLAGS = ["downscale"];
const ATTRIBUTES = [...TEXTS, ...NUMBERS, ...JSONS, ...LISTS, ...FLAGS];
const camel = (name) => name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
// Attributes any element may carry; anything else on <direct-upload> is probably a typo.
const GLOBAL = /^(id|class|style|hidden|title|tabindex|slot|part|dir|inert|translate|nonce|is|role|accesskey|autofocus|autocapitalize|contenteditable|draggable|enterkeyhint|inputmode|popover|spellcheck|item[a-z]*|(data|aria)-.*|on[a-z]+)$/;
// Every option is a whole number below 2^32 where it is a number.
const MAX_NUMBER = 0xffffffff;

const warn = (message) => console.warn(`direct-upload: ${message}`);
// Each element warns about each problem once, not again on every attribute change.
const warned = new WeakMap();
function warnOnce(element, message) {
  const seen = warned.get(element) ?? new Set();
  warned.set(element, seen);
  if (!seen.has(message)) {
    seen.add(message);
    warn(message);
  }
}

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

// Each option's value, checked and put in the one shape wasm reads (whole numbers, string
// lists, header objects of strings, the body as JSON text), or undefined with a warning.
// Marshalling here keeps a JSON library out of the wasm bundle.
const SHAPES = {
  text: (value) => (typeof value === "string" ? value : undefined),
  number: (value) => (Number.isInteger(value) && value >= 0 && value <= MAX_NUMBER ? value : undefined),
  json: (value, name) => {
    if (!isObject(value)) return undefined;
    if (name === "body") return JSON.stringify(value);
    return Object.values(value).every((v) => typeof v === "string") ? value : undefined;
  },
  list: (value) => {
    const list = typeof value === "string" ? value.split(",") : value;
    return Array.isArray(list) && list.every((t) => typeof t === "string") ? list.map((t) => t.trim()).filter(Boolean) : undefined;
  },
  flag: (value) => (typeof value === "boolean" ? value : undefined),
};
const KIND = new Map([
  ...TEXTS.map((a) => [camel(a), "text"]),
  ...NUMBERS.map((a) => [camel(a), "number"]),
  ...JSONS.map((a) => [camel(a), "json"]),
  ...LISTS.map((a) => [camel(a), "list"]),
  ...FLAGS.map((a) => [camel(a), "flag"]),
]);

const EXPECTED = {
  text: "a string",
  number: `a whole number from 0 to ${MAX_NUMBER}`,
  json: "an object (of strings, for headers)",
  list: "a list of strings",
  flag: "a boolean",
};

/**
 * Options in the shape wasm reads. Unknown names and values of the wrong kind are left out
 * and named in a warning: `unknown(name)` and `wrong(name, expected)` word it.
 */
function checked(options, unknown = (name) => warn(`unknown option "${name}" (known: ${[...KIND.keys()].join(", ")})`), wrong = (name, expected) => warn(`option ${name} must be ${expected}; ignored`)) {
  const shaped = {};
  for (const [name, value] of Object.entries(options ?? {})) {
    const kind = KIND.get(name);
    if (!kind) unknown(name);
    else if (value === undefined || value === null) continue;
    else if ((shaped[name] = SHAPES[kind](value, name)) === undefined) wrong(name, EXPECTED[kind]);
  }
  return shaped;
}

/**
 * Mounts the widget into `element`. Options (see the README's table): backend (required),
 * headers, credentials, body, verify, concurrency, lang, downscale, accept, maxFiles, minSize,
 * maxSize, maxSide, maxPixels, maxRetries, retryDelayMs, maxDelayMs, stallTimeoutMs. Returns a
 * handle: cancelAll(), retryFailed(), addFiles(files), state(), configure(options), destroy().
 */
export async function mount(element, options) {
  const mountWidget = await load();
  const handle = mountWidget(element, checked(options));
  const configure = handle.configure.bind(handle);
  handle.configure = (changed) => configure(checked(changed));
  return handle;
}

function optionsOf(element) {
  const given = {};
  for (const attribute of element.getAttributeNames()) {
    if (!ATTRIBUTES.includes(attribute) && !GLOBAL.test(attribute)) warnOnce(element, `unknown attribute "${attribute}"`);
  }
  const value = (name) => element.getAttribute(name);
  for (const name of [...TEXTS, ...LISTS]) if (element.hasAttribute(name)) given[camel(name)] = value(name);
  for (const name of NUMBERS) {
    // Number("") is 0 and Number(" 5 ") is 5: only digits count.
    if (element.hasAttribute(name)) given[camel(name)] = /^\s*\d+\s*$/.test(value(name)) ? Number(value(name)) : NaN;
  }
  for (const name of JSONS) {
    if (!element.hasAttribute(name)) continue;
    try {
      given[camel(name)] = JSON.parse(value(name));
    } catch (error) {
      warnOnce(element, `attribute ${name} is not JSON (${error.message}); ignored`);
    }
  }
  for (const name of FLAGS) given[camel(name)] = element.hasAttribute(name) && value(name) !== "false";
  const attribute = (name) => name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
  return checked(given, () => {}, (name, expected) =>
    warnOnce(element, `attribute ${attribute(name)}="${value(attribute(name))}" is not ${expected}; ignored`));
}

function reportError(element, error) {
  const detail = { fileName: null, message: String(error), code: null, side: null };
  element.dispatchEvent(new CustomEvent("upload-error", { bubbles: true, composed: true, detail }));
}

const filesOf = (list) => [...(list ?? [])];

/**
 * The drop zone as plain HTML, the same markup and classes the widget draws, usable at once:
 * files chosen, dropped or pasted are kept in `files` and `start()` is asked for.
 */
function placeholder(element) {
  const lang = /^de(\b|_)/i.test(element.getAttribute("lang") ?? "") ? "de" : "en";
  const [region, choose, hint] = WORDS[lang];
  const section = document.createElement("section");
  section.className = "du";
  section.lang = lang;
  section.setAttribute("aria-label", region);
  section.innerHTML = '<div class="du__dropzone"><input class="du__input" type="file" multiple tabindex="-1" aria-hidden="true"><button type="button" class="du__choose"></button><p class="du__hint"></p></div>';
  const [zone, input, button, text] = ["du__dropzone", "du__input", "du__choose", "du__hint"].map((name) => section.querySelector("." + name));
  button.textContent = choose;
  text.textContent = hint;
  input.accept = element.getAttribute("accept") ?? "image/*";
  if (element.hasAttribute("capture")) input.setAttribute("capture", element.getAttribute("capture"));
  const files = [];
  // Through the element: files that arrive after the widget took over (a file dialog
  // opened from here may close later) go straight to it.
  const keep = (list) => element.addFiles(list);
  const start = () => element.start();
  zone.addEventListener("click", (event) => event.target !== input && input.click());
  input.addEventListener("change", () => keep(input.files));
  zone.addEventListener("dragover", (event) => event.preventDefault());
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    keep(event.dataTransfer?.files);
  });
  section.addEventListener("paste", (event) => {
    if (event.clipboardData?.files.length) {
      event.preventDefault();
      keep(event.clipboardData.files);
    }
  });
  // Any sign of interest starts the download early.
  for (const name of ["pointerenter", "focusin", "dragenter"]) section.addEventListener(name, start, { once: true });
  element.append(section);
  return { section, files };
}

/** `<direct-upload backend="/api/direct-upload" max-files="5" lang="de">` */
export class DirectUploadElement extends HTMLElement {
  static get observedAttributes() {
    return ATTRIBUTES;
  }

  connectedCallback() {
    if (this.handle || this.waiting) return;
    optionsOf(this); // warns about unknown or malformed attributes at once
    const start = () => this.start();
    this.waiting = placeholder(this);
    // About to scroll into view, or the page is idle: whichever comes first.
    this.watcher = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && start(), { rootMargin: "400px" });
    this.watcher.observe(this);
    this.idle = (window.requestIdleCallback ?? setTimeout)(start, { timeout: 3000 });
  }

  async start() {
    this.watcher?.disconnect();
    const mountWidget = await load().catch((error) => reportError(this, error));
    const waiting = this.waiting;
    if (!mountWidget || !waiting || !this.isConnected || this.handle) return;
    this.waiting = null;
    waiting.section.remove();
    try {
      this.handle = mountWidget(this, optionsOf(this));
    } catch (error) {
      return reportError(this, error);
    }
    if (waiting.files.length) this.handle.addFiles(waiting.files);
  }

  // Attribute changes apply to the running widget; files already added keep going.
  attributeChangedCallback() {
    if (!this.handle) return;
    try {
      this.handle.configure(optionsOf(this));
    } catch (error) {
      reportError(this, error);
    }
  }

  // Removing the element aborts its requests and frees listeners, object URLs and memory.
  disconnectedCallback() {
    this.watcher?.disconnect();
    (window.cancelIdleCallback ?? clearTimeout)(this.idle);
    this.waiting?.section.remove();
    this.waiting = null;
    if (!this.handle) return;
    this.handle.destroy();
    this.handle.free();
    this.handle = null;
  }

  cancelAll() { this.handle?.cancelAll(); }
  retryFailed() { this.handle?.retryFailed(); }
  addFiles(files) {
    if (this.handle) this.handle.addFiles(files);
    else if (this.waiting) {
      this.waiting.files.push(...filesOf(files));
      this.start();
    }
  }
  get state() { return this.handle ? this.handle.state() : null; }
}

if (!customElements.get("direct-upload")) customElements.define("direct-upload", DirectUploadElement);
