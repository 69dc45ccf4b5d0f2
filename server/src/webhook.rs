//! Notifications to a configured URL when a direct upload succeeds or fails.
//! Cloudflare publishes no payload schema; this one is documented in the README.

use serde_json::{json, Value};

use crate::envelope::ApiError;
use crate::state::{rfc3339_millis, AppState};

fn send(state: &AppState, payload: Value) {
    let Some(url) = state.config().webhook_url.clone() else {
        return;
    };
    let http = state.http().clone();
    // Fire and forget: a slow or failing receiver must never hold up an upload.
    tokio::spawn(async move {
        if let Err(error) = http
            .post(&url)
            .json(&payload)
            .send()
            .await
            .and_then(|r| r.error_for_status())
        {
            tracing::warn!(%url, %error, "webhook delivery failed");
        }
    });
}

/// Announces a completed direct upload with its image record.
pub fn upload_succeeded(state: &AppState, record: &Value) {
    send(
        state,
        json!({"event": "direct_upload.success", "time": rfc3339_millis(state.now()), "image": record}),
    );
}

/// Announces a refused direct upload with the error the uploader received.
pub fn upload_failed(state: &AppState, id: &str, error: &ApiError) {
    send(
        state,
        json!({
            "event": "direct_upload.failure",
            "time": rfc3339_millis(state.now()),
            "image": {"id": id},
            "error": {"code": error.code, "message": error.message},
        }),
    );
}
