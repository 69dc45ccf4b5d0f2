// Types of direct-upload's JavaScript API (js/direct-upload.js) and its <direct-upload>
// element. Hand-written and kept in step by tests in src/options.rs: DirectUploadOptions and
// DirectUploadAttributes must list exactly the options of src/options.rs with the type of
// their kind, and every event and detail field that src/embed.rs fires must be named here.
// React and Vue templates: see react.d.ts and vue.d.ts (separate, so that these types need
// neither installed).

/** Options of `mount()` and `configure()`: the README's table, by their JavaScript names. */
export interface DirectUploadOptions {
  /** URL that answers `{id, uploadURL}`. Required. */
  backend: string;
  /** Extra headers on backend requests (e.g. a CSRF token). */
  headers?: Record<string, string>;
  /** Fetch credentials of backend requests. Default `same-origin`. */
  credentials?: RequestCredentials;
  /** JSON body of the backend request, e.g. `{metadata: {album: "x"}}`. Default `{}`. */
  body?: Record<string, unknown>;
  /** After each upload, `GET {verify}/{id}` must show the image is no longer a draft. */
  verify?: string;
  /** Files uploading at once. Default 3. */
  concurrency?: number;
  /** Language of every word: `en` or `de` (a tag such as `de-CH` is read as `de`). */
  lang?: string;
  /** Re-encode images over the limits to fit instead of refusing them. Default off. */
  downscale?: boolean;
  /**
   * Where pasted files are taken from: `page` (anywhere outside text fields; with several
   * widgets, the one used last), `widget` (focus inside it) or `off`. Default `page`.
   */
  paste?: "page" | "widget" | "off";
  /**
   * Files not yet stored are kept across a reload (IndexedDB) and resumed: `resume` (default)
   * or `off`. With `verify`, a file being sent is asked about first, so none is stored twice.
   */
  persist?: "resume" | "off";
  /** On phones, offer the camera instead of the file picker: `environment` (rear) or `user` (front). */
  capture?: "user" | "environment";
  /** Accepted MIME types, found from the bytes. Default PNG, JPEG, GIF, WebP, SVG. */
  accept?: string[];
  /** Most files in the list. */
  maxFiles?: number;
  /** Smallest file, in bytes. Default 1. */
  minSize?: number;
  /** Largest file, in bytes (never above Cloudflare's 10 MB). */
  maxSize?: number;
  /** Longest side in pixels (never above Cloudflare's 12,000). */
  maxSide?: number;
  /** Most pixels (never above Cloudflare's 100 megapixels). */
  maxPixels?: number;
  /** Automatic retries of a passing failure, each with a fresh URL. Default 3. */
  maxRetries?: number;
  /** Wait before the first retry, in ms; each further retry doubles it. Default 1000. */
  retryDelayMs?: number;
  /** Longest wait between retries, in ms. Default 30000. */
  maxDelayMs?: number;
  /** An upload with no progress for this long (ms; a file up to 256 KiB: not done within it) is aborted and retried (0: never). */
  stallTimeoutMs?: number;
}

/** A whole number as an attribute value: `5` or `"5"`. */
export type NumberAttribute = number | `${number}`;

/**
 * The attributes of `<direct-upload>`, as a template writes them (React, Vue, JSX). Each is
 * an option of {@link DirectUploadOptions}; JSON ones are JSON text, `accept` is
 * comma-separated, and `downscale` is on when present (`"false"` or `false`: off).
 */
export interface DirectUploadAttributes {
  backend: string;
  headers?: string;
  credentials?: RequestCredentials;
  body?: string;
  verify?: string;
  concurrency?: NumberAttribute;
  lang?: string;
  downscale?: boolean | "" | "true" | "false";
  paste?: "page" | "widget" | "off";
  persist?: "resume" | "off";
  capture?: "user" | "environment";
  accept?: string;
  "max-files"?: NumberAttribute;
  "min-size"?: NumberAttribute;
  "max-size"?: NumberAttribute;
  "max-side"?: NumberAttribute;
  "max-pixels"?: NumberAttribute;
  "max-retries"?: NumberAttribute;
  "retry-delay-ms"?: NumberAttribute;
  "max-delay-ms"?: NumberAttribute;
  "stall-timeout-ms"?: NumberAttribute;
}

/** The `detail` of `upload-start`. */
export interface UploadStartDetail {
  fileName: string;
  /** Bytes. */
  size: number;
  /** 1 for the first try; 2 and up are retries. */
  attempt: number;
}

/** The `detail` of `upload-progress` and `upload-complete`, and `state().summary`. */
export interface UploadSummary {
  files: number;
  done: number;
  failed: number;
  cancelled: number;
  pending: number;
  uploading: number;
  bytesSent: number;
  bytesTotal: number;
  /** 0 to 100, whole. */
  percent: number;
}

/** A stored image, as Cloudflare names its fields: the `detail` of `upload-success`. */
export interface ImageRecord {
  id: string;
  filename: string | null;
  /** When it was stored (ISO 8601). */
  uploaded: string | null;
  requireSignedURLs: boolean;
  /** The delivery URLs of its variants. */
  variants: string[];
  draft: boolean;
}

/** Which side failed: the site's backend, or the upload host. */
export type ErrorSide = "backend" | "upload-host";

/** The `detail` of `upload-error`. */
export interface UploadErrorDetail {
  /** null when the widget itself could not start (its code did not load, bad options). */
  fileName: string | null;
  /** The text the widget shows, in its language. */
  message: string;
  /** Cloudflare's error code, when there is one. */
  code: number | null;
  side: ErrorSide | null;
}

/** The events `<direct-upload>` (or a mounted widget's element) fires; they bubble and are composed. */
export interface DirectUploadEventMap {
  "upload-start": CustomEvent<UploadStartDetail>;
  "upload-progress": CustomEvent<UploadSummary>;
  "upload-success": CustomEvent<ImageRecord>;
  "upload-error": CustomEvent<UploadErrorDetail>;
  "upload-complete": CustomEvent<UploadSummary>;
}

/** A file's state. */
export type FileStateName =
  | "checking"
  | "queued"
  | "requesting"
  | "uploading"
  | "retrying"
  | "done"
  | "failed"
  | "cancelled";

/** One file of `state().files`. */
export interface FileState {
  name: string;
  size: number;
  state: FileStateName;
  /** `failed` and `retrying`: the text the widget shows. */
  error?: string;
  code?: number | null;
  side?: ErrorSide | null;
  /** `done`: the stored image. */
  image?: ImageRecord;
}

/** What `state()` returns. */
export interface WidgetState {
  summary: UploadSummary;
  files: FileState[];
}

/** Files as the widget takes them: a `FileList` or an array of `File`s. */
export type Files = ArrayLike<File> | Iterable<File>;

/** What `mount()` returns. */
export interface WidgetHandle {
  /** Cancels every file that has not finished (running requests are aborted). */
  cancelAll(): void;
  /** Retries every failed file that a retry can help. */
  retryFailed(): void;
  /** Adds files as if the user had chosen them. */
  addFiles(files: Files): void;
  /** The summary and every file's state; null once destroyed. */
  state(): WidgetState | null;
  /** Applies new options to the running widget (files already added keep going). Throws on options that cannot make a widget (no backend). */
  configure(options: DirectUploadOptions): void;
  /** Removes the widget: requests are aborted, listeners removed, object URLs revoked. */
  destroy(): void;
  /** Releases the handle itself (wasm-bindgen). */
  free(): void;
}

/** Mounts the widget into `element`. Loads the widget's code if nothing has yet. */
export declare function mount(element: HTMLElement, options: DirectUploadOptions): Promise<WidgetHandle>;

/** Awaiting it loads the widget's code (if nothing has yet) and resolves once it is ready. */
export declare const ready: PromiseLike<void>;

/** `<direct-upload backend="/api/direct-upload" max-files="5" lang="de">`, defined on import. */
export declare class DirectUploadElement extends HTMLElement {
  static readonly observedAttributes: string[];
  /** Cancels every file that has not finished. */
  cancelAll(): void;
  /** Retries every failed file that a retry can help. */
  retryFailed(): void;
  /** Adds files as if the user had chosen them (kept until the widget's code has arrived). */
  addFiles(files: Files): void;
  /** The summary and every file's state; null until the widget's code has arrived. */
  readonly state: WidgetState | null;
  addEventListener<K extends keyof HTMLElementEventMap>(type: K, listener: (this: DirectUploadElement, event: HTMLElementEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof HTMLElementEventMap>(type: K, listener: (this: DirectUploadElement, event: HTMLElementEventMap[K]) => unknown, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    "direct-upload": DirectUploadElement;
  }
  // The events bubble and cross shadow roots, so any element, the document and the window
  // hear them: `document.addEventListener("upload-success", (e) => e.detail.variants)`.
  interface GlobalEventHandlersEventMap extends DirectUploadEventMap {}
}
