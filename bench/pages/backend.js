// One one-time upload URL from the page's backend (the reference backend's answer is
// `{id, uploadURL}`); the floor page and the Uppy page share it.
export async function uploadURL() {
  const response = await fetch("/api/direct-upload", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  if (!response.ok) throw new Error(`backend: HTTP ${response.status}`);
  return (await response.json()).uploadURL;
}
