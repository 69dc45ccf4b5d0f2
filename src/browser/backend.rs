//! Asking the site's backend for a one-time upload URL (gloo-net `fetch`).

use gloo_net::http::{Request, RequestBuilder};
use web_sys::RequestCredentials;

use crate::api::{parse_error_detail, parse_upload_target, UploadTarget};
use crate::error::{Side, UploadError};

/// Credentials mode of the backend request.
///
/// ```
/// use direct_upload::{BackendConfig, Credentials};
///
/// // Send the session cookie to a backend on another origin (it must allow it with CORS).
/// let backend = BackendConfig { url: "https://api.example.com/uploads".into(), credentials: Credentials::Include, ..Default::default() };
/// assert_eq!(backend.credentials, Credentials::Include);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Credentials {
    /// Never send cookies.
    Omit,
    /// Send cookies to the page's own origin (the browser's default).
    #[default]
    SameOrigin,
    /// Send cookies cross-origin too (the backend must allow it with CORS).
    Include,
}

impl Credentials {
    fn as_web_sys(self) -> RequestCredentials {
        match self {
            Credentials::Omit => RequestCredentials::Omit,
            Credentials::SameOrigin => RequestCredentials::SameOrigin,
            Credentials::Include => RequestCredentials::Include,
        }
    }
}

/// How to reach the backend.
///
/// ```
/// use direct_upload::BackendConfig;
///
/// let backend = BackendConfig {
///     url: "/api/direct-upload".into(),
///     headers: vec![("X-CSRF-Token".into(), "abc".into())],
///     body: Some(r#"{"metadata": {"album": "trip"}}"#.into()),
///     ..Default::default()
/// };
/// assert_eq!(backend.headers.len(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackendConfig {
    /// URL of the endpoint (relative URLs are resolved against the page).
    pub url: String,
    /// Extra headers, e.g. a CSRF token.
    pub headers: Vec<(String, String)>,
    /// Credentials mode.
    pub credentials: Credentials,
    /// The request body: a JSON object's text with extra fields for the backend
    /// (e.g. `{"metadata": {...}}`); `{}` when `None`.
    pub body: Option<String>,
}

/// POSTs to the backend and reads `{id, uploadURL}` (flat or in Cloudflare's envelope).
///
/// ```no_run
/// use direct_upload::backend::request_upload_target;
/// use direct_upload::BackendConfig;
///
/// # async fn run() -> Result<(), direct_upload::UploadError> {
/// let target = request_upload_target(&BackendConfig { url: "/api/direct-upload".into(), ..Default::default() }).await?;
/// println!("POST the file to {}", target.upload_url);
/// # Ok(()) }
/// ```
pub async fn request_upload_target(config: &BackendConfig) -> Result<UploadTarget, UploadError> {
    let request = with_settings(Request::post(&config.url), config);
    let body = config.body.as_deref().unwrap_or("{}");
    let request = request
        .header("Content-Type", "application/json")
        .body(body)
        .map_err(|e| UploadError::Browser(what_failed(e)))?;
    let text = send(request).await?;
    parse_upload_target(&text).map_err(|e| UploadError::Malformed {
        side: Side::Backend,
        detail: e.0,
    })
}

/// Adds the configured credentials mode and headers.
fn with_settings(mut request: RequestBuilder, config: &BackendConfig) -> RequestBuilder {
    request = request.credentials(config.credentials.as_web_sys());
    for (name, value) in &config.headers {
        request = request.header(name, value);
    }
    request
}

/// The browser's words for a failed request. Not the error's `Display`: another crate in the
/// tree turns on gloo-net's `json` feature, and its `Display` would link serde_json's messages.
fn what_failed(error: gloo_net::Error) -> String {
    match error {
        gloo_net::Error::JsError(js) => js.message,
        gloo_net::Error::GlooError(text) => text,
        #[allow(unreachable_patterns)]
        _ => String::from("the request could not be made"),
    }
}

/// Sends a backend request; the body of a 2xx answer, or the error it amounts to.
async fn send(request: Request) -> Result<String, UploadError> {
    let response = request.send().await.map_err(|e| UploadError::Network {
        side: Side::Backend,
        detail: what_failed(e),
    })?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !(200..300).contains(&status) {
        return Err(UploadError::Status {
            side: Side::Backend,
            status,
            detail: parse_error_detail(&text),
        });
    }
    Ok(text)
}

/// Asks the backend (`GET {verify}/{id}`) whether the image is stored, i.e. no longer a draft.
///
/// ```no_run
/// use direct_upload::backend::verify_uploaded;
/// use direct_upload::BackendConfig;
///
/// # async fn run() -> Result<(), direct_upload::UploadError> {
/// let backend = BackendConfig { url: "/api/direct-upload".into(), ..Default::default() };
/// verify_uploaded(&backend, "/api/images", "2cdc28f0-017a-49c4-9ed7-87056c83901").await?;
/// # Ok(()) }
/// ```
pub async fn verify_uploaded(
    config: &BackendConfig,
    verify: &str,
    id: &str,
) -> Result<(), UploadError> {
    let url = format!("{}/{}", verify.trim_end_matches('/'), id);
    let request = with_settings(Request::get(&url), config);
    let text = send(
        request
            .build()
            .map_err(|e| UploadError::Browser(what_failed(e)))?,
    )
    .await?;
    let record = crate::api::parse_image_record(&text).map_err(|e| UploadError::Malformed {
        side: Side::Backend,
        detail: e.0,
    })?;
    if record.draft {
        return Err(UploadError::NotConfirmed { id: id.to_string() });
    }
    Ok(())
}
