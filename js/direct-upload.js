// direct-upload for any HTML page: the <direct-upload> element and a small JavaScript API.
// scripts/build.sh fills in the two content-hashed file names below.
import init, { mount as mountWidget } from "./__WIDGET_JS__";

/** Resolves once the WebAssembly module is ready. */
export const ready = init({ module_or_path: new URL("./__WIDGET_WASM__", import.meta.url) });

/**
 * Mounts the widget into `element`. Options: backend (required), headers, credentials, body,
 * verify, concurrency, lang, downscale, accept, maxFiles, minSize, maxSize, maxRetries,
 * retryDelayMs, stallTimeoutMs. Returns a handle: cancelAll(), retryFailed(), addFiles(files),
 * state(), configure(options), destroy().
 */
export async function mount(element, options) {
  await ready;
  return mountWidget(element, options);
}

const STRINGS = ["backend", "verify", "lang", "credentials"];
const NUMBERS = ["concurrency", "max-files", "min-size", "max-size", "max-retries", "retry-delay-ms", "stall-timeout-ms"];
const JSONS = ["headers", "body"];
const camel = (name) => name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());

function optionsOf(element) {
  const options = {};
  for (const name of STRINGS) if (element.hasAttribute(name)) options[camel(name)] = element.getAttribute(name);
  for (const name of NUMBERS) if (element.hasAttribute(name)) options[camel(name)] = Number(element.getAttribute(name));
  for (const name of JSONS) if (element.hasAttribute(name)) options[name] = JSON.parse(element.getAttribute(name));
  if (element.hasAttribute("accept")) {
    options.accept = element.getAttribute("accept").split(",").map((t) => t.trim()).filter(Boolean);
  }
  options.downscale = element.hasAttribute("downscale") && element.getAttribute("downscale") !== "false";
  return options;
}

function reportError(element, error) {
  const detail = { fileName: null, message: String(error), code: null, side: null };
  element.dispatchEvent(new CustomEvent("upload-error", { bubbles: true, composed: true, detail }));
}

/** `<direct-upload backend="/api/direct-upload" max-files="5" lang="de">` */
export class DirectUploadElement extends HTMLElement {
  static get observedAttributes() {
    return [...STRINGS, ...NUMBERS, ...JSONS, "accept", "downscale"];
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
