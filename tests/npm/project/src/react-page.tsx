// A React 19 page bundled by esbuild: <direct-upload> in JSX, typed by "direct-upload/react".
import { useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import "direct-upload/react";
import type { DirectUploadElement, ImageRecord, UploadSummary } from "direct-upload/react";
import { record } from "./record";

function Photos() {
  const widget = useRef<DirectUploadElement>(null);
  const [stored, setStored] = useState<ImageRecord[]>([]);
  const [summary, setSummary] = useState<UploadSummary | null>(null);
  return (
    <>
      <direct-upload
        ref={widget}
        backend="/api/direct-upload"
        max-files={5}
        lang="en"
        downscale={false}
        onupload-success={(event) => {
          record("upload-success", event.detail);
          setStored((images) => [...images, event.detail]);
        }}
        onupload-complete={(event) => {
          record("upload-complete", event.detail);
          setSummary(event.detail);
        }}
      />
      <p id="status">{summary ? `${summary.done} of ${summary.files} stored` : "nothing yet"}</p>
      <ul>
        {stored.map((image) => (
          <li key={image.id}>{image.filename}</li>
        ))}
      </ul>
      <button type="button" onClick={() => widget.current?.cancelAll()}>
        Cancel all
      </button>
    </>
  );
}

createRoot(document.getElementById("root")!).render(<Photos />);
