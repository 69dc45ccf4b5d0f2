//! Routes under `/_local/` that only exist with `--enable-test-controls`. They let the
//! widget's browser tests reach states of the real upload host that are otherwise slow or
//! impossible to reach from a page: an upload URL that has expired or was already used, and a
//! backend that fails. Everything behind them is the real service.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tower_http::cors::CorsLayer;

use crate::envelope::{ApiError, ApiResult};
use crate::form::FilePart;
use crate::ingest::ingest;
use crate::state::{rfc3339_millis, AppState};
use crate::store::Image;

/// The test-control routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/advance-clock", post(advance_clock))
        .route("/direct-upload", post(dead_upload_url))
        .route("/fail", post(fail).get(fail))
        .route("/flaky-backend", post(flaky_backend))
        .route("/flaky-backend/count", axum::routing::get(flaky_count))
        .route("/stall/{id}", post(stall))
        .route("/draft-record/{id}", axum::routing::get(draft_record))
        .route("/slow-record/{ms}/{id}", axum::routing::get(slow_record))
        .route(
            "/faults",
            axum::routing::get(crate::faults::show)
                .post(crate::faults::replace)
                .delete(crate::faults::turn_off),
        )
        .layer(CorsLayer::very_permissive())
}

#[derive(Deserialize)]
struct AdvanceClock {
    seconds: i64,
}

/// Moves the service clock forward, so drafts expire without waiting.
async fn advance_clock(
    State(state): State<AppState>,
    Query(query): Query<AdvanceClock>,
) -> Response {
    state.advance_clock(query.seconds);
    crate::envelope::ok(json!({"now": rfc3339_millis(state.now())}))
}

#[derive(Deserialize)]
struct DeadUrl {
    state: String,
}

/// Answers like a backend, `{id, uploadURL}`, with a URL the upload host will refuse:
/// `state=expired` (its expiry has passed) or `state=used` (a file was already uploaded).
async fn dead_upload_url(State(state): State<AppState>, Query(query): Query<DeadUrl>) -> ApiResult {
    let now = state.now();
    let id = uuid::Uuid::new_v4().to_string();
    let expiry = match query.state.as_str() {
        "expired" => now.unix_timestamp() - 60,
        "used" => now.unix_timestamp() + 1800,
        other => {
            return Err(ApiError::bad_request(format!(
                "state must be expired or used, not '{other}'"
            )))
        }
    };
    let draft = Image::draft(id.clone(), rfc3339_millis(now), expiry);
    state.store().insert_image(&draft)?;
    if query.state == "used" {
        let mut png = Vec::new();
        image::RgbImage::from_pixel(2, 2, image::Rgb([200, 80, 20]))
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let stored = ingest(
            &state,
            &FilePart {
                filename: "first.png".into(),
                bytes: png.into(),
            },
        )
        .await?;
        state
            .store()
            .claim_draft(&id, now.unix_timestamp(), &rfc3339_millis(now), &stored)?
            .map_err(|refusal| ApiError::internal(format!("could not use the URL: {refusal:?}")))?;
    }
    Ok(Json(json!({"id": id, "uploadURL": state.upload_url(&id)})).into_response())
}

#[derive(Deserialize)]
struct Fail {
    status: u16,
}

/// Answers with the given status and a plain-text body, like a crashed backend.
async fn fail(Query(query): Query<Fail>) -> Response {
    let status = StatusCode::from_u16(query.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        ),
    )
        .into_response()
}

#[derive(Deserialize)]
struct Flaky {
    key: String,
    fail: u32,
    #[serde(default)]
    mode: FlakyMode,
    #[serde(default = "default_status")]
    status: u16,
}

fn default_status() -> u16 {
    503
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum FlakyMode {
    /// The first `fail` calls answer `status` with Cloudflare's envelope.
    #[default]
    Status,
    /// The first `fail` calls hand out a URL whose upload never gets an answer.
    Stall,
}

/// Calls per key, so that a test can see how often the widget asked for a URL.
fn flaky_calls() -> &'static std::sync::Mutex<std::collections::HashMap<String, u32>> {
    static CALLS: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<String, u32>>> =
        std::sync::OnceLock::new();
    CALLS.get_or_init(Default::default)
}

/// A backend that fails its first `fail` calls per `key` (by status, or by handing out a
/// stalling URL), then behaves: it creates a real draft, with `creator = key` so that a test
/// can count what was stored for it.
async fn flaky_backend(State(state): State<AppState>, Query(query): Query<Flaky>) -> ApiResult {
    let call = {
        let mut calls = flaky_calls().lock().unwrap_or_else(|p| p.into_inner());
        let count = calls.entry(query.key.clone()).or_insert(0);
        *count += 1;
        *count
    };
    let failing = call <= query.fail;
    if failing && query.mode == FlakyMode::Status {
        let status = StatusCode::from_u16(query.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let code = if status.is_server_error() { 5503 } else { 5400 };
        return Err(ApiError::new(
            status,
            code,
            format!("flaky backend: call {call} of key '{}' fails", query.key),
        ));
    }
    let now = state.now();
    let id = uuid::Uuid::new_v4().to_string();
    let draft = Image {
        creator: Some(query.key.clone()),
        ..Image::draft(id.clone(), rfc3339_millis(now), now.unix_timestamp() + 1800)
    };
    state.store().insert_image(&draft)?;
    let url = if failing {
        format!("{}/_local/stall/{id}", state.urls().public)
    } else {
        state.upload_url(&id)
    };
    Ok(Json(json!({"id": id, "uploadURL": url})).into_response())
}

#[derive(Deserialize)]
struct Key {
    key: String,
}

/// How many times `/flaky-backend` was called for a key.
async fn flaky_count(Query(query): Query<Key>) -> Response {
    let calls = flaky_calls().lock().unwrap_or_else(|p| p.into_inner());
    Json(json!({"calls": calls.get(&query.key).copied().unwrap_or(0)})).into_response()
}

/// An upload host that takes the whole file and then never answers (a stalled upload).
/// Bounded: it gives up after five minutes.
async fn stall(body: axum::body::Bytes) -> Response {
    let _ = body;
    tokio::time::sleep(std::time::Duration::from_secs(300)).await;
    StatusCode::GATEWAY_TIMEOUT.into_response()
}

/// A backend whose image-status route claims every image is still a draft.
/// A verification endpoint that takes `ms` milliseconds (at most 10 s) to say the image is
/// stored, so a test can act while the widget waits for it.
async fn slow_record(
    axum::extract::Path((ms, id)): axum::extract::Path<(u64, String)>,
) -> Response {
    tokio::time::sleep(std::time::Duration::from_millis(ms.min(10_000))).await;
    Json(json!({"id": id, "variants": []})).into_response()
}

async fn draft_record(axum::extract::Path(id): axum::extract::Path<String>) -> Response {
    Json(json!({"id": id, "draft": true, "variants": []})).into_response()
}
