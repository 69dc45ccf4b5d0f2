//! The one-time upload host (what upload.imagedelivery.net is): one multipart POST per URL,
//! no credentials, any origin.

use std::sync::Arc;

use axum::extract::multipart::Multipart;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::header::{CONNECTION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use tower_http::cors::{Any, CorsLayer};

use crate::envelope::{ok, ApiError, ApiResult};
use crate::faults::{guard, FaultRoute, Faults};
use crate::form::{
    boundary_of, content_type_of, guard_body, multipart_error, read_capped, BodyWatch, FilePart,
};
use crate::imaging::MAX_FILE_BYTES;
use crate::ingest::{ingest, remove_blob};
use crate::state::{rfc3339_millis, AppState};
use crate::store::{ClaimRefusal, ImageState};
use crate::webhook;

/// The upload host's routes, nested under the upload base path; `faults` (test controls
/// only) may fail an upload before, during or after it is handled.
pub fn routes(faults: Option<&Faults>) -> Router<AppState> {
    Router::new()
        .route(
            "/{account_hash}/{*id}",
            guard(post(receive_upload), faults, FaultRoute::Host),
        )
        .layer(axum::extract::DefaultBodyLimit::disable())
        // Browsers preflight an XHR that listens to upload progress: answer for any origin.
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods(Any)
                .allow_headers(Any)
                .max_age(std::time::Duration::from_secs(86400)),
        )
}

/// Reads and discards what is left of a refused request, so that a browser still sending sees
/// the refusal rather than a reset connection. The body is guarded (see [`guard_body`]), so
/// this stops at the upload host's body limit.
async fn drain(request: Request) {
    use http_body_util::BodyExt;
    let mut body = request.into_body();
    while let Some(Ok(_)) = body.frame().await {}
}

/// Every upload: the body is guarded first (body size, multipart part headers), and a refusal
/// whose request was not read to its end closes the connection, since the unread rest cannot
/// be told apart from the next request.
async fn receive_upload(
    State(state): State<AppState>,
    Path((account_hash, id)): Path<(String, String)>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let boundary = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(boundary_of);
    let (body, watch) = guard_body(body, boundary.as_deref(), &state.config().upload_limits);
    let request = Request::from_parts(parts, body);
    match handle_upload(&state, &account_hash, &id, request, &watch).await {
        Ok(response) => response,
        Err(error) => {
            let mut response = error.into_response();
            if !watch.finished() {
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            response
        }
    }
}

async fn handle_upload(
    state: &AppState,
    account_hash: &str,
    id: &str,
    request: Request,
    watch: &BodyWatch,
) -> ApiResult {
    if account_hash != state.urls().account_hash {
        drain(request).await;
        return Err(ApiError::not_found(format!(
            "Unknown account hash '{account_hash}' in the upload URL"
        )));
    }
    // Refuse a dead URL before reading the file.
    match state.store().get(id)? {
        None => {
            drain(request).await;
            return Err(ApiError::not_found(format!(
                "Upload URL not found: no pending upload for image '{id}'"
            )));
        }
        Some(row) => match row.state {
            ImageState::Stored(_) => {
                drain(request).await;
                return Err(used_error(id));
            }
            ImageState::Draft { expires } if !row.is_live(state.now().unix_timestamp()) => {
                drain(request).await;
                return Err(expired_error(expires));
            }
            ImageState::Draft { .. } => {}
        },
    }
    let content_type = content_type_of(&request);
    if !content_type.starts_with("multipart/form-data") {
        drain(request).await;
        let error = ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            5415,
            "Images must be uploaded as a form, not as raw image data: send multipart/form-data with the image in the 'file' field",
        );
        webhook::upload_failed(state, id, &error);
        return Err(error);
    }
    // Reserve memory for the body before reading it, so that many uploads arriving at once
    // queue here instead of together holding more than --upload-memory-mb.
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let _reserved = reserve_upload_memory(state, declared).await?;
    let result = receive_file(state, id, request, watch).await;
    if let Err(error) = &result {
        webhook::upload_failed(state, id, error);
    }
    result
}

/// How long an upload may wait for its share of the upload memory before it is told to retry.
const UPLOAD_MEMORY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Reserves the request's declared length (or the whole body limit when it declares none),
/// in KiB, from the upload memory; held until the file is stored or refused.
async fn reserve_upload_memory(
    state: &AppState,
    declared: Option<u64>,
) -> ApiResult<tokio::sync::OwnedSemaphorePermit> {
    let limit = state.config().upload_limits.max_body_bytes();
    let declared = declared.unwrap_or(limit).min(limit);
    let memory = state.upload_memory();
    // Never more than the whole budget, so that one upload can always proceed alone.
    let kib = declared.div_ceil(1024).clamp(1, memory_total_kib(state)) as u32;
    match tokio::time::timeout(
        UPLOAD_MEMORY_WAIT,
        Arc::clone(memory).acquire_many_owned(kib),
    )
    .await
    {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            5503,
            "The upload host is receiving too many uploads at once; try again shortly",
        )),
    }
}

fn memory_total_kib(state: &AppState) -> u64 {
    state.config().upload_limits.upload_memory_mb * 1024
}

fn used_error(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        5409,
        format!("This upload URL has already been used: image '{id}' was uploaded; request a new upload URL"),
    )
}

fn expired_error(expiry: i64) -> ApiError {
    let when = time::OffsetDateTime::from_unix_timestamp(expiry)
        .map(rfc3339_millis)
        .unwrap_or_default();
    ApiError::new(
        StatusCode::GONE,
        5400,
        format!("This upload URL expired at {when}; request a new upload URL"),
    )
}

async fn receive_file(
    state: &AppState,
    id: &str,
    request: Request,
    watch: &BodyWatch,
) -> ApiResult {
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|e| ApiError::bad_request(format!("Error parsing form fields: {e}")))?;
    let mut file = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| watch.explain(multipart_error(e)))?
    {
        if field.name() == Some("file") && file.is_none() {
            let filename = field.file_name().unwrap_or("file").to_string();
            match read_capped(field, MAX_FILE_BYTES)
                .await
                .map_err(|e| watch.explain(e))?
            {
                Some(bytes) => file = Some(FilePart { filename, bytes }),
                None => {
                    // Read on to the end of the form, but no further than the body limit
                    // (the guard stops there): a browser still sending then sees the 413.
                    while let Ok(Some(_)) = multipart.next_field().await {}
                    return Err(ApiError::too_large());
                }
            }
        }
    }
    let file = file.ok_or_else(|| {
        ApiError::bad_request("Error parsing form fields: the form has no 'file' field")
    })?;
    let stored = ingest(state, &file).await?;
    let now = state.now();
    match state
        .store()
        .claim_draft(id, now.unix_timestamp(), &rfc3339_millis(now), &stored)?
    {
        Ok(row) => {
            tracing::info!(%id, bytes = stored.size, "direct upload received");
            let record = state.image_json(&row)?;
            webhook::upload_succeeded(state, &record);
            Ok(ok(browser_record(record)))
        }
        Err(refusal) => {
            remove_blob(state, &stored.blob_key);
            Err(match refusal {
                ClaimRefusal::Unknown => ApiError::not_found(format!(
                    "Upload URL not found: no pending upload for image '{id}'"
                )),
                ClaimRefusal::AlreadyUsed => used_error(id),
                ClaimRefusal::Expired(expiry) => expired_error(expiry),
            })
        }
    }
}

/// The record as the uploading browser may see it. Metadata and creator are the site owner's
/// private data (Cloudflare never shows them to end users); the API and the webhook keep them.
fn browser_record(mut record: serde_json::Value) -> serde_json::Value {
    if let Some(fields) = record.as_object_mut() {
        fields.remove("meta");
        fields.remove("creator");
    }
    record
}
