//! One image: `POST v1` (upload a file or a URL), `GET/PATCH/DELETE v1/{id}`, `GET v1/{id}/blob`.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::json;

use super::direct_upload::create_fields;
use crate::envelope::{ok, ApiError, ApiResult};
use crate::form::{read_form, FilePart};
use crate::ingest::{ingest, remove_blob};
use crate::state::{rfc3339_millis, AppState};
use crate::store::Image;

pub(super) async fn upload(State(state): State<AppState>, request: Request) -> ApiResult {
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
    let blob_key = stored.blob_key.clone();
    let row = Image {
        creator: fields.creator,
        meta: fields.meta,
        require_signed_urls: fields.require_signed_urls,
        ..Image::stored(fields.id, rfc3339_millis(state.now()), stored)
    };
    let row = match state.store().insert_image(&row) {
        Ok(row) => row,
        Err(error) => {
            remove_blob(&state, &blob_key);
            return Err(error.into());
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
fn resolve_id(state: &AppState, raw: &str) -> ApiResult<(Image, bool)> {
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
fn visible(state: &AppState, row: Option<Image>) -> Option<Image> {
    row.filter(|row| row.is_live(state.now().unix_timestamp()))
}

pub(super) async fn get(
    State(state): State<AppState>,
    Path((_account, raw)): Path<(String, String)>,
) -> ApiResult {
    let (row, blob) = resolve_id(&state, &raw)?;
    if !blob {
        return Ok(ok(state.image_json(&row)?));
    }
    let Some(file) = row.file() else {
        return Err(ApiError::not_found(format!(
            "Image '{}' is a draft: no file has been uploaded yet",
            row.id
        )));
    };
    let bytes = tokio::fs::read(state.store().image_path(&file.blob_key)).await?;
    Ok((
        [(header::CONTENT_TYPE, file.content_type.clone())],
        Body::from(bytes),
    )
        .into_response())
}

pub(super) async fn update(
    State(state): State<AppState>,
    Path((_account, id)): Path<(String, String)>,
    request: Request,
) -> ApiResult {
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
        if meta.to_string().len() > crate::form::MAX_METADATA_BYTES {
            return Err(ApiError::bad_request(format!(
                "metadata must be at most {} bytes",
                crate::form::MAX_METADATA_BYTES
            )));
        }
    }
    let row = state
        .store()
        .update(&row.id, form.metadata.as_ref(), require)?
        .ok_or_else(|| ApiError::not_found(format!("Image not found: no image with id '{id}'")))?;
    Ok(ok(state.image_json(&row)?))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    Path((_account, id)): Path<(String, String)>,
) -> ApiResult {
    if !state.store().delete(&id)? {
        return Err(ApiError::not_found(format!(
            "Image not found: no image with id '{id}'"
        )));
    }
    Ok(ok(json!({})))
}
