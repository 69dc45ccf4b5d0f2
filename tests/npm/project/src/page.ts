// A page bundled by esbuild, as a web developer writes it: the element in the HTML, its
// events typed through the package's types, and the JavaScript API on a second element.
import "direct-upload/direct-upload.css";
import { mount, ready, type DirectUploadEventMap, type ImageRecord, type WidgetHandle } from "direct-upload";
import { record } from "./record";

// HTMLElementTagNameMap: typed without a cast.
const element = document.querySelector("direct-upload")!;
element.addEventListener("upload-start", (event) => record("upload-start", event.detail.fileName));
element.addEventListener("upload-success", (event) => {
  const image: ImageRecord = event.detail;
  record("upload-success", image);
});
element.addEventListener("upload-error", (event) => record("upload-error", event.detail.message));
// The events bubble: the document hears them, typed too.
document.addEventListener("upload-complete", (event) => record("upload-complete", event.detail));

// The JavaScript API.
await ready;
const target = document.getElementById("mounted") as HTMLElement;
const handle: WidgetHandle = await mount(target, { backend: "/api/direct-upload", maxFiles: 3, accept: ["image/png"], lang: "en" });
handle.configure({ backend: "/api/direct-upload", maxFiles: 2 });
const summary = handle.state()?.summary;
record("mounted", { files: summary?.files, state: element.state?.summary.files ?? null });

const names: (keyof DirectUploadEventMap)[] = ["upload-start", "upload-progress", "upload-success", "upload-error", "upload-complete"];
record("event-names", names);
