// direct-upload for any HTML page: the <direct-upload> element and a small JavaScript API.
// scripts/build.sh fills in the two content-hashed file names below.
import init, { mount as mountWidget } from "./__WIDGET_JS__";

/** Resolves once the WebAssembly module is ready. */
export const ready = init({ module_or_path: new URL("./__WIDGET_WASM__", import.meta.url) });

// The element's attributes by kind. src/options.rs is the one option list; a test there
// fails if these lists drift from it.
const TEXTS = ["backend", "credentials", "verify", "lang"];
const NUMBERS = ["concurrency", "max-files", "min-size", "max-size", "max-side", "max-pixels", "max-retries", "retry-delay-ms", "max-delay-ms", "stall-timeout-ms"];
const JSONS = ["headers", "body"];
const LISTS = ["accept"];
const FLAGS = ["downscale"];
const ATTRIBUTES = [...TEXTS, ...NUMBERS, ...JSONS, ...LISTS, ...FLAGS];
const camel = (name) => name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
const OPTION_NAMES = new Set(ATTRIBUTES.map(camel));
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

/** Options that no version of the widget knows are named in a warning, not silently dropped. */
function checked(options) {
  for (const name of Object.keys(options ?? {})) {
    if (!OPTION_NAMES.has(name)) warn(`unknown option "${name}" (known: ${[...OPTION_NAMES].join(", ")})`);
  }
  return options;
}

/**
 * Mounts the widget into `element`. Options (see the README's table): backend (required),
 * headers, credentials, body, verify, concurrency, lang, downscale, accept, maxFiles, minSize,
 * maxSize, maxSide, maxPixels, maxRetries, retryDelayMs, maxDelayMs, stallTimeoutMs. Returns a
 * handle: cancelAll(), retryFailed(), addFiles(files), state(), configure(options), destroy().
 */
export async function mount(element, options) {
  await ready;
  const handle = mountWidget(element, checked(options));
  const configure = handle.configure.bind(handle);
  handle.configure = (changed) => configure(checked(changed));
  return handle;
}

function optionsOf(element) {
  const options = {};
  for (const attribute of element.getAttributeNames()) {
    if (!ATTRIBUTES.includes(attribute) && !GLOBAL.test(attribute)) warnOnce(element, `unknown attribute "${attribute}"`);
  }
  const value = (name) => element.getAttribute(name);
  for (const name of TEXTS) if (element.hasAttribute(name)) options[camel(name)] = value(name);
  for (const name of NUMBERS) {
    if (!element.hasAttribute(name)) continue;
    const number = Number(value(name));
    if (value(name).trim() === "" || !Number.isInteger(number) || number < 0 || number > MAX_NUMBER) {
      warnOnce(element, `attribute ${name}="${value(name)}" is not a whole number from 0 to ${MAX_NUMBER}; ignored`);
    } else {
      options[camel(name)] = number;
    }
  }
  for (const name of JSONS) {
    if (!element.hasAttribute(name)) continue;
    try {
      options[camel(name)] = JSON.parse(value(name));
    } catch (error) {
      warnOnce(element, `attribute ${name} is not JSON (${error.message}); ignored`);
    }
  }
  for (const name of LISTS) {
    if (element.hasAttribute(name)) options[camel(name)] = value(name).split(",").map((t) => t.trim()).filter(Boolean);
  }
  for (const name of FLAGS) options[camel(name)] = element.hasAttribute(name) && value(name) !== "false";
  return options;
}

function reportError(element, error) {
  const detail = { fileName: null, message: String(error), code: null, side: null };
  element.dispatchEvent(new CustomEvent("upload-error", { bubbles: true, composed: true, detail }));
}

/** `<direct-upload backend="/api/direct-upload" max-files="5" lang="de">` */
export class DirectUploadElement extends HTMLElement {
  static get observedAttributes() {
    return ATTRIBUTES;
  }

  async connectedCallback() {
    await ready;
    if (!this.isConnected || this.handle) return;
    try {
      this.handle = mountWidget(this, optionsOf(this));
    } catch (error) {
      reportError(this, error);
    }
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
    if (!this.handle) return;
    this.handle.destroy();
    this.handle.free();
    this.handle = null;
  }

  cancelAll() { this.handle?.cancelAll(); }
  retryFailed() { this.handle?.retryFailed(); }
  addFiles(files) { this.handle?.addFiles(files); }
  get state() { return this.handle ? this.handle.state() : null; }
}

if (!customElements.get("direct-upload")) customElements.define("direct-upload", DirectUploadElement);
