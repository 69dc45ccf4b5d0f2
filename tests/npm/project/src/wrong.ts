// Type-checked only: what the types must refuse (each line below is an error, or tsc fails).
import { mount, type DirectUploadOptions } from "direct-upload";

const target = document.createElement("div");
// @ts-expect-error backend is required
void mount(target, {});
// @ts-expect-error maxFiles is a number
void mount(target, { backend: "/b", maxFiles: "5" });
// @ts-expect-error unknown option
void mount(target, { backend: "/b", maxFile: 5 });
// @ts-expect-error credentials is fetch's
const credentials: DirectUploadOptions = { backend: "/b", credentials: "always" };
void credentials;
document.addEventListener("upload-success", (event) => {
  // @ts-expect-error the record has no url
  void event.detail.url;
});
const element = document.createElement("direct-upload");
element.addEventListener("upload-error", (event) => {
  // @ts-expect-error code may be null
  const code: number = event.detail.code;
  void code;
});
