// Uppy for reference (core + Dashboard + XHRUpload), bundled by esbuild when the benchmark
// starts. Like the widget and the floor: three files at a time, and a one-time upload URL per
// file from the backend, asked for only when the file gets its slot (XHRUpload calls an
// `endpoint` function inside its queue), with the file alone in the form (field `file`).
import Uppy from "@uppy/core";
import Dashboard from "@uppy/dashboard";
import XHRUpload from "@uppy/xhr-upload";
import "@uppy/core/css/style.min.css";
import "@uppy/dashboard/css/style.min.css";
import { uploadURL } from "./backend.js";

const uppy = new Uppy({ autoProceed: true })
  .use(Dashboard, { inline: true, target: "#uppy", proudlyDisplayPoweredByUppy: false })
  .use(XHRUpload, { endpoint: uploadURL, limit: 3, fieldName: "file", allowedMetaFields: [] });

// "complete" ends one upload() call; autoProceed may start more than one for one choice.
uppy.on("complete", () => {
  const files = uppy.getFiles();
  const stored = files.filter((file) => file.progress.uploadComplete).length;
  const failed = files.filter((file) => file.error).length;
  if (stored + failed === files.length) window.__bench.finish({ stored, failed });
});
