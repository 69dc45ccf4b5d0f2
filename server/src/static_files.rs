//! `--static-dir`: the built demo and embeddable bundle, served as a CDN would serve them.
//!
//! `scripts/build.sh` writes a `.br` (brotli) and a `.gz` (zopfli) beside every file; a browser
//! that accepts one gets it with `Content-Encoding`, and `Vary: Accept-Encoding` keeps caches
//! from handing it to one that does not. Content types come from the extension, so `.wasm` is
//! `application/wasm` and browsers compile it while it streams in.
//!
//! Caching: a file whose name carries a content hash (`widget-<16 hex>.js`, Trunk's
//! `direct-upload-demo-<16 hex>_bg.wasm`) never changes under that name, so it is `immutable`
//! for a year. Everything else (`direct-upload.js`, which names the hashed files of the current
//! build, the stylesheet, the pages) is `no-cache`: kept, but revalidated on every use, which
//! costs a `304` while it is unchanged.

use std::path::Path;

use axum::extract::Request;
use axum::http::header::{HeaderValue, CACHE_CONTROL, VARY};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tower_http::services::ServeDir;

/// `Cache-Control` of a file whose name carries its content hash.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of every other file.
pub const REVALIDATE: &str = "no-cache";

/// Serves `dir` at `/`, preferring the precompressed siblings the client accepts.
pub fn router(dir: &Path) -> Router {
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(caching))
}

async fn caching(request: Request, next: Next) -> Response {
    let hashed = is_content_hashed(request.uri().path());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    let status = response.status();
    if status.is_success() || status == axum::http::StatusCode::NOT_MODIFIED {
        let policy = if hashed { IMMUTABLE } else { REVALIDATE };
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// Whether the last segment of `path` names a content-hashed build output: a `-`, then 16
/// lowercase hex digits (what scripts/build.sh and Trunk write), then `.` or `_`.
///
/// ```
/// use direct_upload_server::static_files::is_content_hashed;
/// assert!(is_content_hashed("/embed/widget-956b0c863a030e00_bg.wasm"));
/// assert!(is_content_hashed("/demo-7d9bf06e1a40f710.css"));
/// assert!(!is_content_hashed("/embed/direct-upload.js"));
/// assert!(!is_content_hashed("/widget-956b0c863a030e00/direct-upload.js"));
/// ```
pub fn is_content_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default().as_bytes();
    name.windows(18).any(|window| {
        window[0] == b'-'
            && matches!(window[17], b'.' | b'_')
            && window[1..17]
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    })
}
