//! Asking the site's backend for a one-time upload URL (`fetch`).
//!
//! `web_sys`'s `fetch` directly, not gloo-net: two requests need no builder, and gloo-net's
//! request conversion, header and error types were about 3 KB of the wasm.

use std::future::Future;

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestCredentials, RequestInit};

use crate::api::{parse_error_detail, parse_upload_target, ImageRecord, UploadTarget};
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
pub fn request_upload_target(
    config: &BackendConfig,
) -> impl Future<Output = Result<UploadTarget, UploadError>> {
    let body = config.body.as_deref().unwrap_or("{}");
    let request = build("POST", &config.url, config, Some(body));
    // Sent now, not when the future is first polled: a spawned future runs only after the
    // current task (which may be rendering a hundred new rows), and the request need not wait.
    let sent = request.map(send_now);
    async move {
        let text = answer(sent?).await?;
        parse_upload_target(&text).map_err(|e| UploadError::Malformed {
            side: Side::Backend,
            detail: e.0,
        })
    }
}

/// A request to the backend with the configured credentials mode and headers; a JSON `body`
/// (its content type follows the configured headers, as a header of their own).
fn build(
    method: &str,
    url: &str,
    config: &BackendConfig,
    body: Option<&str>,
) -> Result<Request, UploadError> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(config.credentials.as_web_sys());
    let headers = Headers::new().map_err(browser_error)?;
    for (name, value) in &config.headers {
        headers.append(name, value).map_err(browser_error)?;
    }
    if let Some(body) = body {
        headers
            .append("Content-Type", "application/json")
            .map_err(browser_error)?;
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&headers);
    Request::new_with_str_and_init(url, &init).map_err(browser_error)
}

/// The browser's words for a request it would not make (a bad header name, a bad URL).
fn browser_error(error: JsValue) -> UploadError {
    UploadError::Browser(error.dyn_into::<js_sys::Error>().map_or_else(
        |_| "the request could not be made".into(),
        |e| e.message().into(),
    ))
}

/// Hands the request to the browser at once; the answer comes as a promise.
fn send_now(request: Request) -> JsFuture {
    let promise = match web_sys::window() {
        Some(window) => window.fetch_with_request(&request),
        None => js_sys::Promise::reject(&JsValue::from_str("no window to send from")),
    };
    JsFuture::from(promise)
}

/// The body of a 2xx answer, or the error the answer amounts to.
async fn answer(sent: JsFuture) -> Result<String, UploadError> {
    let response: web_sys::Response = sent
        .await
        .map_err(|error| UploadError::Network {
            side: Side::Backend,
            detail: js_sys::Error::from(error).message().into(),
        })?
        .unchecked_into();
    let status = response.status();
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|text| text.as_string()),
        Err(_) => None,
    }
    .unwrap_or_default();
    if !(200..300).contains(&status) {
        return Err(UploadError::Status {
            side: Side::Backend,
            status,
            detail: parse_error_detail(&text),
        });
    }
    Ok(text)
}

/// Asks the backend (`GET {verify}/{id}`) whether the image is stored, i.e. no longer a draft,
/// and answers its record. A draft answers [`UploadError::NotConfirmed`].
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
) -> Result<ImageRecord, UploadError> {
    let url = String::from(verify.trim_end_matches('/')) + "/" + id;
    let request = build("GET", &url, config, None)?;
    let text = answer(send_now(request)).await?;
    let record = crate::api::parse_image_record(&text).map_err(|e| UploadError::Malformed {
        side: Side::Backend,
        detail: e.0,
    })?;
    if record.draft {
        return Err(UploadError::NotConfirmed { id: id.to_string() });
    }
    Ok(record)
}
