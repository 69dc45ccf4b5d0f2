//! Listing: `GET v1` (pages), `GET v2` (continuation tokens), `GET v1/stats`.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;

use super::ApiQuery;
use super::IMAGE_ALLOWANCE;
use crate::envelope::{ok, ok_with_info, ApiError, ApiResult};
use crate::state::AppState;
use crate::store::SortOrder;

/// `GET v1` paging.
#[derive(Deserialize)]
pub(super) struct PageQuery {
    page: Option<u32>,
    per_page: Option<u32>,
}

pub(super) async fn list_v1(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult {
    let page = query.page.unwrap_or(1).max(1);
    let per_page = query.per_page.unwrap_or(1000);
    if !(10..=10_000).contains(&per_page) {
        return Err(ApiError::bad_request(
            "per_page must be between 10 and 10000",
        ));
    }
    let rows = state.store().list_page(page, per_page)?;
    let variants = state.store().variants()?;
    let images: Vec<_> = rows
        .iter()
        .map(|row| crate::state::image_json(row, &variants, |v| state.delivery_url(&row.id, &v.id)))
        .collect();
    Ok(ok_with_info(
        json!({"images": images}),
        json!({"page": page, "per_page": per_page, "count": images.len()}),
    ))
}

/// `GET v2` cursor, order and filter.
#[derive(Deserialize)]
pub(super) struct CursorQuery {
    continuation_token: Option<String>,
    per_page: Option<u32>,
    sort_order: Option<String>,
    creator: Option<String>,
}

pub(super) async fn list_v2(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<CursorQuery>,
) -> ApiResult {
    let per_page = query.per_page.unwrap_or(1000);
    if !(10..=10_000).contains(&per_page) {
        return Err(ApiError::bad_request(
            "per_page must be between 10 and 10000",
        ));
    }
    let order = match query.sort_order.as_deref() {
        None | Some("desc") => SortOrder::Desc,
        Some("asc") => SortOrder::Asc,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "sort_order must be asc or desc, not '{other}'"
            )))
        }
    };
    let after = match query
        .continuation_token
        .as_deref()
        .filter(|t| !t.is_empty())
    {
        None => None,
        Some(token) => Some(
            decode_cursor(token)
                .ok_or_else(|| ApiError::bad_request("continuation_token is not valid"))?,
        ),
    };
    // One extra row tells whether another page exists.
    let mut rows =
        state
            .store()
            .list_after(after, per_page + 1, order, query.creator.as_deref())?;
    let more = rows.len() > per_page as usize;
    rows.truncate(per_page as usize);
    let token = if more {
        rows.last().map(|row| encode_cursor(row.seq))
    } else {
        None
    };
    let variants = state.store().variants()?;
    let images: Vec<_> = rows
        .iter()
        .map(|row| crate::state::image_json(row, &variants, |v| state.delivery_url(&row.id, &v.id)))
        .collect();
    Ok(ok(json!({"images": images, "continuation_token": token})))
}

fn encode_cursor(seq: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("seq:{seq}"))
}

fn decode_cursor(token: &str) -> Option<i64> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("seq:")?
        .parse()
        .ok()
}

pub(super) async fn stats(State(state): State<AppState>) -> ApiResult {
    let current = state.store().count_uploaded()?;
    Ok(ok(
        json!({"count": {"allowed": IMAGE_ALLOWANCE, "current": current}}),
    ))
}
