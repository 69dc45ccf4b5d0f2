//! The Images API v4 under `/client/v4/accounts/{account_id}/images/…`.

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::envelope::{ok, ok_with_info, ApiError, ApiResult};
use crate::form::{read_form, FilePart, Form};
use crate::ingest::{ingest, remove_blob};
use crate::state::{rfc3339_millis, AppState};
use crate::store::{ImageRow, SortOrder};
use crate::variants::{VariantBody, MAX_VARIANTS};

/// Most images an account may hold (shown by `stats`).
pub const IMAGE_ALLOWANCE: u64 = 100_000;

/// The API's routes, nested under `/client/v4/accounts/{account_id}/images`.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/v2/direct_upload",
            axum::routing::post(create_direct_upload),
        )
        .route("/v2", get(list_v2))
        .route("/v1", get(list_v1).post(upload_v1))
        .route("/v1/stats", get(stats))
        .route("/v1/keys", get(keys))
        .route(
            "/v1/keys/{name}",
            axum::routing::put(put_key).delete(delete_key),
        )
        .route("/v1/variants", get(list_variants).post(create_variant))
        .route(
            "/v1/variants/{variant}",
            get(get_variant)
                .patch(update_variant)
                .delete(delete_variant),
        )
        .route(
            "/v1/{*id}",
            get(get_image).patch(update_image).delete(delete_image),
        )
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(state, authenticate))
}

/// The API answers browsers only with test controls on: Cloudflare's API sends no CORS
/// headers (its token must never be in a page), but the widget's browser tests inspect what
/// the service holds.
pub fn test_cors() -> tower_http::cors::CorsLayer {
    tower_http::cors::CorsLayer::very_permissive()
}

/// Checks the account id in the path and the Bearer token (or `X-Auth-Key`).
async fn authenticate(
    State(state): State<AppState>,
    Path(params): Path<Vec<(String, String)>>,
    request: Request,
    next: Next,
) -> Response {
    let account = params
        .iter()
        .find(|(k, _)| k == "account_id")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let headers = request.headers();
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim().to_string())
        .or_else(|| {
            headers
                .get("x-auth-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
    match token {
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            10000,
            "Authentication error: no API token (send Authorization: Bearer <token>)",
        )
        .into_response(),
        Some(token) if !same_secret(&token, &state.config().api_token) => ApiError::new(
            StatusCode::FORBIDDEN,
            10000,
            "Authentication error: the API token is not valid",
        )
        .into_response(),
        Some(_) if account != state.config().account_id => ApiError::new(
            StatusCode::FORBIDDEN,
            5403,
            format!("Account '{account}' is not valid or not authorized for this token"),
        )
        .into_response(),
        Some(_) => next.run(request).await,
    }
}

/// Compares a presented token with the configured one in time that does not depend on where
/// they differ, so response timing cannot reveal the token byte by byte.
fn same_secret(presented: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    // An empty token never authenticates, whatever the configuration says.
    !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

/// A query string parsed into `T`, refused in the v4 envelope (400 / 5400) when it does not
/// parse, like every other answer of the API.
struct ApiQuery<T>(T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection| {
                ApiError::bad_request(format!("Invalid query: {}", rejection.body_text()))
            })
    }
}

/// Checks a custom id against Cloudflare's rules.
fn check_custom_id(id: &str) -> ApiResult<()> {
    crate::image_id::check_custom(id)
        .map_err(|problem| ApiError::bad_request(format!("Custom ID is invalid: {problem}")))
}

/// The fields every create call shares, checked against the documented rules.
struct CreateFields {
    id: String,
    creator: Option<String>,
    meta: Option<serde_json::Value>,
    require_signed_urls: bool,
}

fn create_fields(form: &Form) -> ApiResult<CreateFields> {
    let require_signed_urls = form.boolean("requireSignedURLs")?.unwrap_or(false);
    let id = match form.text("id") {
        Some(custom) => {
            check_custom_id(custom)?;
            if require_signed_urls {
                return Err(ApiError::bad_request(
                    "Images with a custom ID cannot require signed URLs (requireSignedURLs)",
                ));
            }
            custom.to_string()
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    if let Some(meta) = &form.metadata {
        let size = meta.to_string().len();
        if size > 1024 {
            return Err(ApiError::bad_request(format!(
                "metadata is {size} bytes: it must be at most 1024 bytes"
            )));
        }
    }
    let creator = form.text("creator").map(str::to_string);
    if creator.as_ref().is_some_and(|c| c.chars().count() > 1024) {
        return Err(ApiError::bad_request(
            "creator must be at most 1024 characters",
        ));
    }
    Ok(CreateFields {
        id,
        creator,
        meta: form.metadata.clone(),
        require_signed_urls,
    })
}

async fn create_direct_upload(State(state): State<AppState>, request: Request) -> ApiResult {
    let form = read_form(request).await?;
    let fields = create_fields(&form)?;
    let now = state.now();
    let expiry = match form.text("expiry") {
        None => now + time::Duration::minutes(30),
        Some(text) => {
            let expiry = OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
                ApiError::bad_request(format!("expiry '{text}' is not an RFC 3339 date-time: {e}"))
            })?;
            // A few seconds of grace for the time the request spent in flight.
            if expiry < now + time::Duration::seconds(115)
                || expiry > now + time::Duration::hours(6)
            {
                return Err(ApiError::bad_request(format!(
                    "expiry must be at least 2 minutes and at most 6 hours from now ({}); got {text}",
                    rfc3339_millis(now)
                )));
            }
            expiry
        }
    };
    let row = ImageRow {
        creator: fields.creator,
        meta: fields.meta,
        require_signed_urls: fields.require_signed_urls,
        ..ImageRow::draft(fields.id, rfc3339_millis(now), expiry.unix_timestamp())
    };
    let row = state.store().insert_image(&row)?;
    tracing::info!(id = %row.id, "direct upload created");
    Ok(ok(
        json!({"id": row.id, "uploadURL": state.upload_url(&row.id)}),
    ))
}

async fn upload_v1(State(state): State<AppState>, request: Request) -> ApiResult {
    let form = read_form(request).await?;
    let fields = create_fields(&form)?;
    let file = match (&form.file, form.text("url")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "Send either 'file' or 'url', not both",
            ))
        }
        (Some(file), None) => file.clone(),
        (None, Some(url)) => fetch_url(&state, url).await?,
        (None, None) => {
            return Err(ApiError::bad_request(
                "Send the image as a 'file' field or give its 'url'",
            ))
        }
    };
    if state.store().get(&fields.id)?.is_some() {
        return Err(ApiError::conflict(format!(
            "Resource already exists: an image with id '{}' already exists",
            fields.id
        )));
    }
    let stored = ingest(&state, &file).await?;
    let row = ImageRow {
        id: fields.id,
        filename: Some(stored.filename.clone()),
        creator: fields.creator,
        meta: fields.meta,
        require_signed_urls: fields.require_signed_urls,
        uploaded: rfc3339_millis(state.now()),
        draft: false,
        expiry: None,
        blob_key: Some(stored.blob_key.clone()),
        content_type: Some(stored.content_type.clone()),
        width: stored.width,
        height: stored.height,
        size: stored.size,
        seq: 0,
    };
    let row = match state.store().insert_image(&row) {
        Ok(row) => row,
        Err(error) => {
            remove_blob(&state, &stored.blob_key);
            return Err(error);
        }
    };
    Ok(ok(state.image_json(&row)?))
}

/// Fetches an image for upload-by-URL, refusing more than 10 MB while it streams.
async fn fetch_url(state: &AppState, url: &str) -> ApiResult<FilePart> {
    use futures_util::StreamExt;
    let parsed = url::Url::parse(url)
        .map_err(|e| ApiError::bad_request(format!("url '{url}' is not a valid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ApiError::bad_request("url must be http or https"));
    }
    let response =
        state.http().get(parsed.clone()).send().await.map_err(|e| {
            ApiError::bad_request(format!("Could not fetch the image from {url}: {e}"))
        })?;
    if !response.status().is_success() {
        return Err(ApiError::bad_request(format!(
            "Could not fetch the image from {url}: the origin answered {}",
            response.status()
        )));
    }
    let mut bytes = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("Fetching {url} failed midway: {e}")))?;
        if (bytes.len() + chunk.len()) as u64 > crate::imaging::MAX_FILE_BYTES {
            return Err(ApiError::too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    let filename = parsed
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|s| !s.is_empty())
        .unwrap_or("image")
        .to_string();
    Ok(FilePart {
        filename,
        bytes: bytes.into(),
    })
}

/// Resolves `v1/{*id}` to an image id and whether `/blob` was asked for. An id that exists
/// as written wins, so a custom id ending in `/blob` still reaches its record.
fn resolve_id(state: &AppState, raw: &str) -> ApiResult<(ImageRow, bool)> {
    if let Some(row) = visible(state, state.store().get(raw)?) {
        return Ok((row, false));
    }
    if let Some(id) = raw.strip_suffix("/blob") {
        if let Some(row) = visible(state, state.store().get(id)?) {
            return Ok((row, true));
        }
    }
    Err(ApiError::not_found(format!(
        "Image not found: no image with id '{raw}'"
    )))
}

/// Drafts whose upload URL expired are gone, as on Cloudflare.
fn visible(state: &AppState, row: Option<ImageRow>) -> Option<ImageRow> {
    row.filter(|row| !(row.draft && row.expiry.is_some_and(|e| e < state.now().unix_timestamp())))
}

async fn get_image(
    State(state): State<AppState>,
    Path(params): Path<Vec<(String, String)>>,
) -> ApiResult {
    let raw = path_param(&params, "id");
    let (row, blob) = resolve_id(&state, &raw)?;
    if !blob {
        return Ok(ok(state.image_json(&row)?));
    }
    let Some(key) = &row.blob_key else {
        return Err(ApiError::not_found(format!(
            "Image '{}' is a draft: no file has been uploaded yet",
            row.id
        )));
    };
    let bytes = tokio::fs::read(state.store().image_path(key)).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            row.content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
        )],
        Body::from(bytes),
    )
        .into_response())
}

fn path_param(params: &[(String, String)], name: &str) -> String {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

async fn update_image(
    State(state): State<AppState>,
    Path(params): Path<Vec<(String, String)>>,
    request: Request,
) -> ApiResult {
    let id = path_param(&params, "id");
    let (row, _) = resolve_id(&state, &id)
        .ok()
        .filter(|(_, blob)| !blob)
        .ok_or_else(|| ApiError::not_found(format!("Image not found: no image with id '{id}'")))?;
    let form = read_form(request).await?;
    let require = form.boolean("requireSignedURLs")?;
    if require == Some(true) && uuid::Uuid::parse_str(&row.id).is_err() {
        return Err(ApiError::bad_request(
            "Images with a custom ID cannot require signed URLs (requireSignedURLs)",
        ));
    }
    if let Some(meta) = &form.metadata {
        if meta.to_string().len() > 1024 {
            return Err(ApiError::bad_request("metadata must be at most 1024 bytes"));
        }
    }
    let row = state
        .store()
        .update(&row.id, form.metadata.as_ref(), require)?
        .ok_or_else(|| ApiError::not_found(format!("Image not found: no image with id '{id}'")))?;
    Ok(ok(state.image_json(&row)?))
}

async fn delete_image(
    State(state): State<AppState>,
    Path(params): Path<Vec<(String, String)>>,
) -> ApiResult {
    let id = path_param(&params, "id");
    if !state.store().delete(&id)? {
        return Err(ApiError::not_found(format!(
            "Image not found: no image with id '{id}'"
        )));
    }
    Ok(ok(json!({})))
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<u32>,
    per_page: Option<u32>,
}

async fn list_v1(State(state): State<AppState>, ApiQuery(query): ApiQuery<PageQuery>) -> ApiResult {
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

#[derive(Deserialize)]
struct CursorQuery {
    continuation_token: Option<String>,
    per_page: Option<u32>,
    sort_order: Option<String>,
    creator: Option<String>,
}

async fn list_v2(State(state): State<AppState>, ApiQuery(query): ApiQuery<CursorQuery>) -> ApiResult {
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

async fn stats(State(state): State<AppState>) -> ApiResult {
    let current = state.store().count_uploaded()?;
    Ok(ok(
        json!({"count": {"allowed": IMAGE_ALLOWANCE, "current": current}}),
    ))
}

async fn keys(State(state): State<AppState>) -> ApiResult {
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
async fn put_key(
    State(state): State<AppState>,
    Path(params): Path<Vec<(String, String)>>,
) -> ApiResult {
    let name = path_param(&params, "name");
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
async fn delete_key(
    State(state): State<AppState>,
    Path(params): Path<Vec<(String, String)>>,
) -> ApiResult {
    let name = path_param(&params, "name");
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

async fn list_variants(State(state): State<AppState>) -> ApiResult {
    let variants: serde_json::Map<_, _> = state
        .store()
        .variants()?
        .iter()
        .map(|v| (v.id.clone(), v.to_json()))
        .collect();
    Ok(ok(json!({"variants": variants})))
}

async fn get_variant(
    State(state): State<AppState>,
    Path(params): Path<Vec<(String, String)>>,
) -> ApiResult {
    let name = path_param(&params, "variant");
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

async fn create_variant(State(state): State<AppState>, body: axum::body::Bytes) -> ApiResult {
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

async fn update_variant(
    State(state): State<AppState>,
    Path(params): Path<Vec<(String, String)>>,
    body: axum::body::Bytes,
) -> ApiResult {
    let name = path_param(&params, "variant");
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

async fn delete_variant(
    State(state): State<AppState>,
    Path(params): Path<Vec<(String, String)>>,
) -> ApiResult {
    let name = path_param(&params, "variant");
    if !state.store().delete_variant(&name)? {
        return Err(ApiError::not_found(format!("Variant '{name}' not found")));
    }
    state.store().clear_cache();
    Ok(ok(json!({})))
}
