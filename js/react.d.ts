// `import "direct-upload/react"`: defines <direct-upload> (as `import "direct-upload"` does)
// and lets React 19's JSX type-check it. React 19 sets these as attributes, and listens to
// `on<event name>` props as the element's events: `onupload-success={(e) => e.detail.id}`.
import type { DetailedHTMLProps, HTMLAttributes } from "react";
import type { DirectUploadAttributes, DirectUploadElement, DirectUploadEventMap } from "./direct-upload.js";

export * from "./direct-upload.js";

/** `onupload-start`, `onupload-success`, …: React 19 adds each as a listener of its event. */
export type DirectUploadReactEvents = {
  [K in keyof DirectUploadEventMap as `on${K}`]?: (event: DirectUploadEventMap[K]) => void;
};

/** The props of `<direct-upload>` in React 19. */
export type DirectUploadReactProps = DetailedHTMLProps<HTMLAttributes<DirectUploadElement>, DirectUploadElement> &
  DirectUploadAttributes &
  DirectUploadReactEvents;

declare module "react" {
  namespace JSX {
    interface IntrinsicElements {
      "direct-upload": DirectUploadReactProps;
    }
  }
}
