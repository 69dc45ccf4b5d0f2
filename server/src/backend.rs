//! The reference backend a site owner runs: it holds the API token, asks the Images API for
//! one-time upload URLs under the site's policy, and never lets the token reach a browser.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use tokio::sync::OnceCell;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use crate::images_client::{ImagesApiError, ImagesClient};
use crate::signing;
use crate::state::{rfc3339_millis, AppState};

/// The backend's own state: the Images API client and its cached signing key.
#[derive(Clone)]
pub struct Backend {
    app: AppState,
    client: ImagesClient,
    signing_key: std::sync::Arc<OnceCell<String>>,
}

impl Backend {
    /// A backend that calls the Images API at `client`.
    pub fn new(app: AppState, client: ImagesClient) -> Self {
        Self {
            app,
            client,
            signing_key: Default::default(),
        }
    }
}

/// The backend's routes (`/api/direct-upload`, `/api/images/{id}`).
pub fn routes(backend: Backend) -> Router {
    let origins = &backend.app.config().allowed_origins;
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::mirror_request()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let cors = CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers(AllowHeaders::mirror_request())
        .allow_credentials(true);
    Router::new()
        .route("/direct-upload", post(create_upload))
        .route("/images/{*id}", get(image_status))
        .layer(cors)
        .with_state(backend)
}

fn error(status: StatusCode, code: Option<u64>, message: impl Into<String>) -> Response {
    let mut entry = json!({"message": message.into()});
    if let Some(code) = code {
        entry["code"] = json!(code);
    }
    (
        status,
        Json(json!({"success": false, "errors": [entry], "messages": [], "result": null})),
    )
        .into_response()
}

fn upstream_error(failure: ImagesApiError) -> Response {
    match failure {
        ImagesApiError::Refused {
            status: 404,
            code,
            message,
        } => error(StatusCode::NOT_FOUND, code, message),
        ImagesApiError::Refused {
            status,
            code,
            message,
        } => error(
            StatusCode::BAD_GATEWAY,
            code,
            format!("The Images API refused the request (HTTP {status}): {message}"),
        ),
        other => error(StatusCode::BAD_GATEWAY, None, format!("Backend: {other}")),
    }
}

/// Refuses a browser origin the policy does not allow (requests without Origin are servers).
fn origin_allowed(app: &AppState, headers: &HeaderMap) -> bool {
    let origins = &app.config().allowed_origins;
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        None => true,
        Some(origin) => origins.iter().any(|o| o == "*" || o == origin),
    }
}

async fn create_upload(
    State(backend): State<Backend>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let app = &backend.app;
    if !origin_allowed(app, &headers) {
        return error(
            StatusCode::FORBIDDEN,
            None,
            "This origin is not allowed to request upload URLs",
        );
    }
    if let Err(wait) = app.rate_limiter().check(peer.ip()) {
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            None,
            format!("Too many upload requests; try again in {wait} s"),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return response;
    }
    // The browser may add metadata of its own; the site's policy keys always win.
    let mut metadata: Map<String, Value> = match body.iter().all(u8::is_ascii_whitespace) {
        true => Map::new(),
        false => match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(request)) => match request.get("metadata") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(map)) => map.clone(),
                Some(_) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        None,
                        "metadata must be a JSON object",
                    )
                }
            },
            Ok(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    None,
                    "The request body must be a JSON object",
                )
            }
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    None,
                    format!("The request body is not valid JSON: {e}"),
                )
            }
        },
    };
    let policy: Map<String, Value> =
        serde_json::from_str(&app.config().backend_metadata).unwrap_or_default();
    metadata.extend(policy);
    let expiry = rfc3339_millis(
        app.now() + time::Duration::seconds(app.config().backend_expiry_secs as i64),
    );
    match backend
        .client
        .create_direct_upload(
            &Value::Object(metadata),
            app.config().backend_require_signed_urls,
            app.config().backend_creator.as_deref(),
            Some(&expiry),
        )
        .await
    {
        Ok(upload) => {
            Json(json!({"id": upload.id, "uploadURL": upload.upload_url})).into_response()
        }
        Err(failure) => upstream_error(failure),
    }
}

async fn image_status(
    State(backend): State<Backend>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !origin_allowed(&backend.app, &headers) {
        return error(StatusCode::FORBIDDEN, None, "This origin is not allowed");
    }
    let mut record = match backend.client.image(&id).await {
        Ok(record) => record,
        Err(failure) => return upstream_error(failure),
    };
    // Metadata is the site's private business, not the uploader's.
    if let Some(object) = record.as_object_mut() {
        object.remove("meta");
        object.remove("metadata");
    }
    if record["requireSignedURLs"].as_bool() == Some(true) {
        let key = match backend
            .signing_key
            .get_or_try_init(|| backend.client.signing_key())
            .await
        {
            Ok(key) => key.clone(),
            Err(e) => return upstream_error(e),
        };
        let exp = backend.app.now().unix_timestamp() + 3600;
        if let Some(variants) = record["variants"].as_array_mut() {
            for url in variants.iter_mut() {
                if let Some(text) = url.as_str() {
                    *url = json!(signing::sign_url(text, &key, exp));
                }
            }
        }
    }
    Json(record).into_response()
}
