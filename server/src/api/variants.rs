//! Variants: `GET/POST v1/variants`, `GET/PATCH/DELETE v1/variants/{name}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::json;

use crate::envelope::{ok, ApiError, ApiResult};
use crate::state::AppState;
use crate::variants::{VariantBody, MAX_VARIANTS};

pub(super) async fn list(State(state): State<AppState>) -> ApiResult {
    let variants: serde_json::Map<_, _> = state
        .store()
        .variants()?
        .iter()
        .map(|v| (v.id.clone(), v.to_json()))
        .collect();
    Ok(ok(json!({"variants": variants})))
}

pub(super) async fn get(
    State(state): State<AppState>,
    Path((_account, name)): Path<(String, String)>,
) -> ApiResult {
    let variant = state
        .store()
        .variant(&name)?
        .ok_or_else(|| ApiError::not_found(format!("Variant '{name}' not found")))?;
    Ok(ok(json!({"variant": variant.to_json()})))
}

fn parse_variant_body(body: &[u8]) -> ApiResult<VariantBody> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("The variant body is not valid: {e}")))
}

pub(super) async fn create(State(state): State<AppState>, body: axum::body::Bytes) -> ApiResult {
    let body = parse_variant_body(&body)?;
    let name = body.id.clone().unwrap_or_default();
    let variant = body.into_variant(name, None)?;
    if state.store().variants()?.len() >= MAX_VARIANTS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            5453,
            format!("An account can have at most {MAX_VARIANTS} variants"),
        ));
    }
    state.store().insert_variant(&variant)?;
    Ok(ok(json!({"variant": variant.to_json()})))
}

pub(super) async fn update(
    State(state): State<AppState>,
    Path((_account, name)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult {
    let existing = state
        .store()
        .variant(&name)?
        .ok_or_else(|| ApiError::not_found(format!("Variant '{name}' not found")))?;
    let variant = parse_variant_body(&body)?.into_variant(name, Some(&existing))?;
    state.store().update_variant(&variant)?;
    // Rendered copies of the old options must not be served again.
    state.store().clear_cache();
    Ok(ok(json!({"variant": variant.to_json()})))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    Path((_account, name)): Path<(String, String)>,
) -> ApiResult {
    if !state.store().delete_variant(&name)? {
        return Err(ApiError::not_found(format!("Variant '{name}' not found")));
    }
    state.store().clear_cache();
    Ok(ok(json!({})))
}
