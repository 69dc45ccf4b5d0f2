// Type-checked only: what the React types must refuse.
import "direct-upload/react";

export const missingBackend = (
  // @ts-expect-error backend is required
  <direct-upload max-files={5} />
);
// @ts-expect-error max-files is a number
export const wordsForNumber = <direct-upload backend="/b" max-files="five" />;
export const wrongDetail = (
  <direct-upload
    backend="/b"
    // @ts-expect-error upload-start's detail has no id
    onupload-start={(event) => event.detail.id}
  />
);
