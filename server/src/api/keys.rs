//! Signing keys: `GET v1/keys`, `PUT/DELETE v1/keys/{name}`.

use axum::extract::{Path, State};
use serde_json::json;

use crate::envelope::{ok, ApiError, ApiResult};
use crate::state::AppState;

pub(super) async fn list(State(state): State<AppState>) -> ApiResult {
    keys_answer(&state)
}

fn keys_answer(state: &AppState) -> ApiResult {
    let keys: Vec<_> = state
        .store()
        .signing_keys()?
        .into_iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    Ok(ok(json!({ "keys": keys })))
}

/// Creates the named key, or gives it a new value (rotation); answers every key.
pub(super) async fn put(
    State(state): State<AppState>,
    Path((_account, name)): Path<(String, String)>,
) -> ApiResult {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::bad_request(
            "A signing key name is 1 to 64 letters, digits, '-' or '_'",
        ));
    }
    state
        .store()
        .put_signing_key(&name, &crate::new_signing_key())?;
    keys_answer(&state)
}

/// Deletes the named key (never the last one); answers the keys left.
pub(super) async fn delete(
    State(state): State<AppState>,
    Path((_account, name)): Path<(String, String)>,
) -> ApiResult {
    let keys = state.store().signing_keys()?;
    if !keys.iter().any(|(key, _)| *key == name) {
        return Err(ApiError::not_found(format!(
            "Signing key '{name}' not found"
        )));
    }
    if keys.len() == 1 {
        return Err(ApiError::bad_request(
            "The last signing key cannot be deleted",
        ));
    }
    state.store().delete_signing_key(&name)?;
    keys_answer(&state)
}
