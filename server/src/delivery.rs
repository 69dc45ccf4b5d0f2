//! Image delivery (what imagedelivery.net is): `GET {delivery_base}/{account_hash}/{id}/{variant}`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::envelope::ApiError;
use crate::faults::{guard, FaultRoute, Faults};
use crate::imaging;
use crate::signing;
use crate::state::AppState;
use crate::variants::Variant;

/// Delivery routes, nested under the delivery base path. Every answer, error or image, is
/// `nosniff`: delivery is a public origin, and a browser must never run what it serves as a
/// document because the bytes look like HTML. `faults` (test controls only) may fail a
/// request with a 5xx.
pub fn routes(faults: Option<&Faults>) -> Router<AppState> {
    Router::new()
        .route(
            "/{account_hash}/{*rest}",
            guard(get(deliver), faults, FaultRoute::Delivery),
        )
        .layer(axum::middleware::map_response(nosniff))
}

async fn nosniff(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    response
}

/// A request-given name as an error message may show it: only the characters ids, hashes
/// and variant names are made of, and not too many, so that no markup is ever echoed.
fn shown(name: &str) -> String {
    const MOST: usize = 100;
    let kept: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
        .take(MOST + 1)
        .collect();
    if kept.chars().count() > MOST {
        format!("{}...", kept.chars().take(MOST).collect::<String>())
    } else {
        kept
    }
}

/// Why delivery refused; each variant is one answer (plain text, as Cloudflare's delivery
/// answers), with request-given names passed through `shown`.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The account hash in the URL is not this account's.
    #[error("Unknown account hash '{}'", shown(.0))]
    UnknownAccount(String),
    /// The URL does not end in `/<image id>/<variant name>`.
    #[error("A delivery URL ends in /<image id>/<variant name>")]
    BadPath,
    /// No stored image with that id.
    #[error("Image '{}' not found", shown(.0))]
    ImageNotFound(String),
    /// No variant with that name.
    #[error("Variant '{}' not found", shown(.0))]
    VariantNotFound(String),
    /// The image needs a signed URL and this one is not validly signed.
    #[error("Forbidden: {0}")]
    Forbidden(signing::SignatureError),
    /// The store or the renderer failed.
    #[error(transparent)]
    Internal(#[from] ApiError),
}

impl From<crate::store::StoreError> for DeliveryError {
    fn from(error: crate::store::StoreError) -> Self {
        DeliveryError::Internal(error.into())
    }
}

impl IntoResponse for DeliveryError {
    fn into_response(self) -> Response {
        let status = match self {
            DeliveryError::Internal(error) => return error.into_response(),
            DeliveryError::Forbidden(_) => StatusCode::FORBIDDEN,
            DeliveryError::UnknownAccount(_)
            | DeliveryError::BadPath
            | DeliveryError::ImageNotFound(_)
            | DeliveryError::VariantNotFound(_) => StatusCode::NOT_FOUND,
        };
        (
            status,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            ],
            self.to_string(),
        )
            .into_response()
    }
}

async fn deliver(
    State(state): State<AppState>,
    Path((account_hash, rest)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, DeliveryError> {
    if account_hash != state.urls().account_hash {
        return Err(DeliveryError::UnknownAccount(account_hash));
    }
    let (id, variant_name) = rest.rsplit_once('/').ok_or(DeliveryError::BadPath)?;
    let row = state
        .store()
        .get(id)?
        .filter(|row| !row.is_draft())
        .ok_or_else(|| DeliveryError::ImageNotFound(id.to_string()))?;
    let variant = state
        .store()
        .variant(variant_name)?
        .ok_or_else(|| DeliveryError::VariantNotFound(variant_name.to_string()))?;
    let signed = row.require_signed_urls && !variant.never_require_signed_urls;
    if signed {
        // The whole path as the client sent it (OriginalUri: nesting strips the base path);
        // Cloudflare signs url.pathname, still percent-encoded.
        let keys = state.signing_keys()?;
        let now = state.now().unix_timestamp();
        // Valid when any key signed it, so that keys can be rotated without breaking links.
        let verdicts: Vec<_> = keys
            .iter()
            .map(|key| signing::verify(uri.path(), uri.query(), key, now))
            .collect();
        if !verdicts.iter().any(Result::is_ok) {
            // Report the most telling reason: an expired link before a mismatch.
            let reason = verdicts
                .into_iter()
                .filter_map(Result::err)
                .min_by_key(|e| match e {
                    signing::SignatureError::Expired => 0,
                    signing::SignatureError::Missing | signing::SignatureError::BadExpiry => 1,
                    signing::SignatureError::Mismatch => 2,
                })
                .unwrap_or(signing::SignatureError::Mismatch);
            return Err(DeliveryError::Forbidden(reason));
        }
    }
    let (blob_key, content_type) = row
        .file()
        .map(|file| (file.blob_key.clone(), file.content_type.clone()))
        .ok_or_else(|| DeliveryError::ImageNotFound(id.to_string()))?;
    let cached = state
        .store()
        .cache_dir()
        .join(format!("{blob_key}-{}", variant.id));
    let rendered = match tokio::fs::read(&cached).await {
        Ok(bytes) => imaging::Rendered {
            bytes,
            content_type: output_type(&content_type),
        },
        Err(_) => render_and_cache(&state, &blob_key, &content_type, variant, &cached).await?,
    };
    let cache_control = if signed {
        // A browser must not keep showing a private image after its link has expired.
        let lifetime = signed_lifetime(uri.query(), state.now().unix_timestamp());
        format!("private, max-age={}", lifetime.min(SIGNED_MAX_AGE))
    } else {
        "public, max-age=172800, stale-while-revalidate=3600".to_string()
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, rendered.content_type),
            (header::CACHE_CONTROL, cache_control.as_str()),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            // Images are meant to be embedded anywhere, including cross-origin-isolated pages
            // (COEP: require-corp), which refuse images without this header.
            (
                header::HeaderName::from_static("cross-origin-resource-policy"),
                "cross-origin",
            ),
        ],
        Body::from(rendered.bytes),
    )
        .into_response();
    if rendered.content_type == "image/svg+xml" {
        // SVG may carry scripts: served inert, the way a sanitised SVG behaves.
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; sandbox",
            ),
        );
    }
    Ok(response)
}

/// Renders a variant that is not cached yet, and caches it. One request at a time renders a
/// given variant of an image; others asking meanwhile wait, then read the cache. Decoding
/// first takes its estimated memory from the decode budget shared with uploads, so however
/// many first deliveries arrive at once, their memory stays within the budget.
async fn render_and_cache(
    state: &AppState,
    blob_key: &str,
    content_type: &str,
    variant: Variant,
    cached: &std::path::Path,
) -> Result<imaging::Rendered, ApiError> {
    let budget = state.decode_budget();
    let _turn = budget
        .render_turn(&format!("{blob_key}-{}", variant.id))
        .await;
    if let Ok(bytes) = tokio::fs::read(cached).await {
        // Rendered by the request this one waited for.
        return Ok(imaging::Rendered {
            bytes,
            content_type: output_type(content_type),
        });
    }
    let original = Arc::new(tokio::fs::read(state.store().image_path(blob_key)).await?);
    let (source, kind, wanted) = (
        Arc::clone(&original),
        content_type.to_string(),
        variant.clone(),
    );
    let cost = blocking(move || Ok(imaging::render_cost(&source, &kind, &wanted))).await?;
    let permit = budget.acquire(cost).await;
    let kind = content_type.to_string();
    let rendered = blocking(move || {
        // Held by the render itself: if the request is dropped meanwhile, the render still
        // runs to its end and still counts.
        let _permit = permit;
        imaging::render(&original, &kind, &variant)
    })
    .await?;
    // Written aside and renamed into place: a request for the same variant must never read a
    // half-written file. A failed write only costs a re-render.
    let partial = cached.with_extension(format!("partial-{}", uuid::Uuid::new_v4().simple()));
    if tokio::fs::write(&partial, &rendered.bytes).await.is_ok()
        && tokio::fs::rename(&partial, cached).await.is_err()
    {
        let _ = tokio::fs::remove_file(&partial).await;
    }
    Ok(rendered)
}

/// Runs `work` on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("render: {e}")))?
}

/// Longest a browser may cache an image delivered through a signed URL (seconds).
const SIGNED_MAX_AGE: i64 = 3600;

/// Seconds a verified signed URL stays valid: its `exp` minus now, never negative.
fn signed_lifetime(query: Option<&str>, now: i64) -> i64 {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(name, _)| name == "exp")
        .and_then(|(_, value)| value.parse::<i64>().ok())
        .map_or(0, |exp| exp.saturating_sub(now).max(0))
}

/// The MIME type a stored original is delivered as (see [`imaging::render`]).
fn output_type(original: &str) -> &'static str {
    match original {
        "image/jpeg" => "image/jpeg",
        "image/webp" => "image/webp",
        "image/svg+xml" => "image/svg+xml",
        _ => "image/png",
    }
}
