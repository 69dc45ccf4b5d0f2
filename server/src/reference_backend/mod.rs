//! The reference backend a site owner runs: it holds the API token, asks the Images API for
//! one-time upload URLs under the site's policy, and never lets the token, the signing keys,
//! the site's metadata or the Images API's own answers reach a browser.
//!
//! It shares nothing with the Images emulator but the clock: like a site's backend, it
//! reaches the Images API only over HTTP, through [`ImagesClient`].

pub mod config;
pub mod images_client;
pub mod rate_limit;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::clock::Clock;
use crate::faults::{guard, FaultRoute, Faults};
use crate::signing;
use crate::state::rfc3339_millis;
pub use config::{BackendConfig, ConfigError};
pub use images_client::{ImagesApiError, ImagesClient};
use rate_limit::RateLimiter;

/// Most bytes of a browser's request body (a small JSON object with optional metadata).
const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// How long a signed variant URL handed to a browser stays valid.
const SIGNED_URL_LIFETIME_SECS: i64 = 3600;

/// The fields of an image record a browser may see; everything else (metadata, creator) is
/// the site's business.
const PUBLIC_FIELDS: [&str; 6] = [
    "id",
    "filename",
    "uploaded",
    "requireSignedURLs",
    "variants",
    "draft",
];

/// Why the backend refused; each variant is one answer a browser can get.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The page's origin is not on the allowed list.
    #[error("This origin is not allowed to request upload URLs")]
    OriginNotAllowed,
    /// The client asked too often.
    #[error("Too many upload requests; try again in {0} s")]
    RateLimited(u64),
    /// The browser's request is malformed or breaks a rule.
    #[error("{0}")]
    BadRequest(String),
    /// No such image (or an id that cannot name one).
    #[error("Image not found")]
    NotFound,
    /// The Images API failed; the details are logged, not shown.
    #[error("{}", upstream_message(.0))]
    Upstream(ImagesApiError),
}

fn upstream_message(error: &ImagesApiError) -> String {
    match error {
        ImagesApiError::Unreachable { .. } => {
            "The Images API could not be reached; try again later".into()
        }
        ImagesApiError::Refused { status, code, .. } => format!(
            "The Images API refused the request (HTTP {status}{})",
            code.map(|c| format!(", code {c}")).unwrap_or_default()
        ),
        ImagesApiError::Malformed(_) => "The Images API answered something unexpected".into(),
        ImagesApiError::NoSuchImage => "Image not found".into(),
    }
}

impl From<ImagesApiError> for BackendError {
    fn from(error: ImagesApiError) -> Self {
        match error {
            ImagesApiError::NoSuchImage => BackendError::NotFound,
            other => BackendError::Upstream(other),
        }
    }
}

impl IntoResponse for BackendError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            BackendError::OriginNotAllowed => (StatusCode::FORBIDDEN, None),
            BackendError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, None),
            BackendError::BadRequest(_) => (StatusCode::BAD_REQUEST, None),
            BackendError::NotFound => (StatusCode::NOT_FOUND, Some(5404)),
            BackendError::Upstream(failure) => {
                tracing::warn!(%failure, "reference backend: Images API call failed");
                match failure {
                    ImagesApiError::Refused { code, .. } => (StatusCode::BAD_GATEWAY, *code),
                    _ => (StatusCode::BAD_GATEWAY, None),
                }
            }
        };
        let mut entry = json!({"message": self.to_string()});
        if let Some(code) = code {
            entry["code"] = json!(code);
        }
        let mut response = (
            status,
            Json(json!({"success": false, "errors": [entry], "messages": [], "result": null})),
        )
            .into_response();
        if let BackendError::RateLimited(wait) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        }
        response
    }
}

/// The backend's state: its settings, the Images API client, its limiter and its clock.
#[derive(Clone)]
struct Backend {
    config: Arc<BackendConfig>,
    client: ImagesClient,
    rate_limiter: Arc<RateLimiter>,
    clock: Clock,
}

/// The backend's routes (`/direct-upload`, `/images/{id}`), to be nested under `/api`.
/// `faults` (test controls only) may fail either route; the fault answers pass through the
/// CORS layer like real ones, so a page sees their status.
pub fn router(
    config: BackendConfig,
    http: reqwest::Client,
    clock: Clock,
    faults: Option<&Faults>,
) -> Router {
    let cors = cors_layer(&config);
    let backend = Backend {
        client: ImagesClient::new(http, config.images_api.clone()),
        rate_limiter: Arc::new(RateLimiter::new(config.rate_limit_per_minute)),
        config: Arc::new(config),
        clock,
    };
    Router::new()
        .route(
            "/direct-upload",
            guard(post(create_upload), faults, FaultRoute::Backend),
        )
        .route(
            "/images/{*id}",
            guard(get(image_status), faults, FaultRoute::Verify),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .layer(cors)
        .with_state(backend)
}

/// `*` allows any origin but never with credentials, so no page elsewhere can mint upload
/// URLs as a signed-in visitor; credentials go only to listed origins.
fn cors_layer(config: &BackendConfig) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(config.allowed_headers.clone());
    match &config.origins {
        config::Origins::Any => layer.allow_origin(AllowOrigin::any()),
        config::Origins::List(list) => layer
            .allow_origin(AllowOrigin::list(list.clone()))
            .allow_credentials(true),
    }
}

impl Backend {
    /// Whether the image was uploaded recently enough for its uploader to get signed URLs.
    fn within_signing_window(&self, record: &Value) -> bool {
        use time::format_description::well_known::Rfc3339;
        let Some(uploaded) = record["uploaded"]
            .as_str()
            .and_then(|t| time::OffsetDateTime::parse(t, &Rfc3339).ok())
        else {
            return false;
        };
        let age = (self.clock.now() - uploaded).whole_seconds();
        age <= self.config.signing_window_secs as i64
    }

    /// Refuses a browser origin the policy does not allow (requests without Origin are servers).
    fn check_origin(&self, headers: &HeaderMap) -> Result<(), BackendError> {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        match &self.config.origins {
            config::Origins::Any => Ok(()),
            config::Origins::List(list) if list.contains(origin) => Ok(()),
            config::Origins::List(_) => Err(BackendError::OriginNotAllowed),
        }
    }
}

/// The browser's own metadata from its JSON body (`{"metadata": {...}}`), if any.
fn browser_metadata(body: &[u8]) -> Result<Map<String, Value>, BackendError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let request: Value = serde_json::from_slice(body).map_err(|e| {
        BackendError::BadRequest(format!("The request body is not valid JSON: {e}"))
    })?;
    let Value::Object(mut request) = request else {
        return Err(BackendError::BadRequest(
            "The request body must be a JSON object".into(),
        ));
    };
    let metadata = match request.remove("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(BackendError::BadRequest(
                "metadata must be a JSON object".into(),
            ))
        }
    };
    // The Images API would refuse it too, but as a 502 here, which the widget would retry.
    let depth = crate::form::depth_of(&Value::Object(metadata.clone()));
    if depth > crate::form::MAX_METADATA_DEPTH {
        return Err(BackendError::BadRequest(format!(
            "metadata is nested {depth} levels deep: at most {} levels",
            crate::form::MAX_METADATA_DEPTH
        )));
    }
    Ok(metadata)
}

async fn create_upload(
    State(backend): State<Backend>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, BackendError> {
    backend.check_origin(&headers)?;
    let client = rate_limit::client_of(peer.ip(), &headers, &backend.config.client_address);
    backend
        .rate_limiter
        .check(client)
        .map_err(BackendError::RateLimited)?;
    // The browser may add metadata of its own; the site's policy keys always win.
    let mut metadata = browser_metadata(&body)?;
    metadata.extend(backend.config.policy_metadata.clone());
    let metadata = Value::Object(metadata);
    // Checked here so the browser hears why (a 400 it will not retry), not a 502.
    let size = metadata.to_string().len();
    if size > config::MAX_METADATA_BYTES {
        return Err(BackendError::BadRequest(format!(
            "metadata is {size} bytes with the site's own keys: it must be at most {} bytes",
            config::MAX_METADATA_BYTES
        )));
    }
    let expiry = rfc3339_millis(
        backend.clock.now() + time::Duration::seconds(backend.config.expiry_secs as i64),
    );
    let upload = backend
        .client
        .create_direct_upload(
            &metadata,
            backend.config.require_signed_urls,
            backend.config.creator.as_deref(),
            Some(&expiry),
        )
        .await?;
    Ok(Json(json!({"id": upload.id, "uploadURL": upload.upload_url})).into_response())
}

async fn image_status(
    State(backend): State<Backend>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, BackendError> {
    backend.check_origin(&headers)?;
    let record = backend.client.image(&id).await?;
    let mut public: Map<String, Value> = PUBLIC_FIELDS
        .iter()
        .filter_map(|field| Some((field.to_string(), record.get(*field)?.clone())))
        .collect();
    if record["requireSignedURLs"].as_bool() == Some(true) && backend.within_signing_window(&record)
    {
        let key = backend.client.signing_key().await?;
        let exp = backend.clock.now().unix_timestamp() + SIGNED_URL_LIFETIME_SECS;
        if let Some(Value::Array(variants)) = public.get_mut("variants") {
            for url in variants.iter_mut() {
                if let Some(text) = url.as_str() {
                    *url = json!(signing::sign_url(text, &key, exp));
                }
            }
        }
    }
    Ok(Json(Value::Object(public)).into_response())
}
