//! `POST v2/direct_upload`: a draft record and its one-time upload URL, and the field rules
//! every create call shares (custom id, metadata, creator, requireSignedURLs).

use axum::extract::{Request, State};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::envelope::{ok, ApiError, ApiResult};
use crate::form::MAX_METADATA_BYTES;
use crate::form::{read_form, Form};
use crate::state::{rfc3339_millis, AppState};
use crate::store::Image;

/// Checks a custom id against Cloudflare's rules.
fn check_custom_id(id: &str) -> ApiResult<()> {
    crate::image_id::check_custom(id)
        .map_err(|problem| ApiError::bad_request(format!("Custom ID is invalid: {problem}")))
}

/// The fields every create call shares, checked against the documented rules.
pub(super) struct CreateFields {
    pub(super) id: String,
    pub(super) creator: Option<String>,
    pub(super) meta: Option<serde_json::Value>,
    pub(super) require_signed_urls: bool,
}

pub(super) fn create_fields(form: &Form) -> ApiResult<CreateFields> {
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
        if size > MAX_METADATA_BYTES {
            return Err(ApiError::bad_request(format!(
                "metadata is {size} bytes: it must be at most {MAX_METADATA_BYTES} bytes"
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

pub(super) async fn create(State(state): State<AppState>, request: Request) -> ApiResult {
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
    let row = Image {
        creator: fields.creator,
        meta: fields.meta,
        require_signed_urls: fields.require_signed_urls,
        ..Image::draft(fields.id, rfc3339_millis(now), expiry.unix_timestamp())
    };
    let row = state.store().insert_image(&row)?;
    tracing::info!(id = %row.id, "direct upload created");
    Ok(ok(
        json!({"id": row.id, "uploadURL": state.upload_url(&row.id)}),
    ))
}
