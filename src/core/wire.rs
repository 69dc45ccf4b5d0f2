//! Wire types shared with the backend and the upload host, and the parsing of their answers.
//! Pure Rust (serde only), so the rules are tested natively.

use serde::{Deserialize, Serialize};

use super::error::{Side, UploadError};
use serde_json::Value;

/// Where one file goes: the future image id and its one-time upload URL.
///
/// ```
/// use direct_upload::UploadTarget;
///
/// let target: UploadTarget = serde_json::from_str(r#"{"id":"a","uploadURL":"https://upload.imagedelivery.net/h/a"}"#).unwrap();
/// assert_eq!(target.upload_url, "https://upload.imagedelivery.net/h/a");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadTarget {
    /// The image id the backend created.
    pub id: String,
    /// The one-time URL to POST the file to.
    #[serde(rename = "uploadURL")]
    pub upload_url: String,
}

/// An image record as Cloudflare returns it after an upload.
///
/// ```
/// use direct_upload::ImageRecord;
///
/// let image: ImageRecord = serde_json::from_str(r#"{"id":"i","filename":"a.png","variants":["https://d/h/i/public"]}"#).unwrap();
/// assert_eq!(image.filename.as_deref(), Some("a.png"));
/// assert!(!image.draft);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// Image id.
    pub id: String,
    /// File name as uploaded.
    #[serde(default)]
    pub filename: Option<String>,
    /// When the image was uploaded (RFC 3339).
    #[serde(default)]
    pub uploaded: Option<String>,
    /// Whether delivery needs signed URLs.
    #[serde(default, rename = "requireSignedURLs")]
    pub require_signed_urls: bool,
    /// One delivery URL per variant.
    #[serde(default)]
    pub variants: Vec<String>,
    /// Present and true while no file has arrived.
    #[serde(default)]
    pub draft: bool,
}

impl ImageRecord {
    /// The variant's name: the last path segment of its URL (`…/public` → `public`).
    ///
    /// ```
    /// use direct_upload::ImageRecord;
    ///
    /// assert_eq!(ImageRecord::variant_name("https://imagedelivery.net/h/i/thumbnail?exp=1&sig=2"), "thumbnail");
    /// ```
    pub fn variant_name(url: &str) -> &str {
        let path = url.split(['?', '#']).next().unwrap_or(url);
        path.rsplit('/').next().unwrap_or(path)
    }

    /// The URL of the named variant, if the record has it.
    ///
    /// ```
    /// use direct_upload::api::parse_image_record;
    ///
    /// let image = parse_image_record(r#"{"id":"i","variants":["https://d/h/i/public"]}"#).unwrap();
    /// assert_eq!(image.variant_url("public"), Some("https://d/h/i/public"));
    /// assert_eq!(image.variant_url("hero"), None);
    /// ```
    pub fn variant_url(&self, name: &str) -> Option<&str> {
        self.variants
            .iter()
            .map(String::as_str)
            .find(|url| Self::variant_name(url) == name)
    }

    /// The best URL for a small preview: `thumbnail`, else the first variant.
    ///
    /// ```
    /// use direct_upload::api::parse_image_record;
    ///
    /// let record = parse_image_record(r#"{"id":"i","variants":["https://d/h/i/public","https://d/h/i/thumbnail"]}"#).unwrap();
    /// assert_eq!(record.preview_url(), Some("https://d/h/i/thumbnail"));
    /// assert_eq!(record.variant_url("public"), Some("https://d/h/i/public"));
    /// ```
    pub fn preview_url(&self) -> Option<&str> {
        self.variant_url("thumbnail")
            .or_else(|| self.variants.first().map(String::as_str))
    }
}

/// An error as a server described it: Cloudflare's code where it gave one, and its message.
///
/// ```
/// use direct_upload::api::{parse_error_detail, ErrorDetail};
///
/// let detail: ErrorDetail = parse_error_detail(r#"{"success":false,"errors":[{"code":5413,"message":"too big"}]}"#);
/// assert_eq!((detail.code, detail.message.as_deref()), (Some(5413), Some("too big")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorDetail {
    /// Cloudflare's numeric code (5409, 5413, …).
    pub code: Option<u64>,
    /// The server's own words.
    pub message: Option<String>,
}

/// Reads an error out of any body a server may send: the v4 envelope
/// (`{"errors":[{"code","message"}]}`), a bare `{"code":5550}`, `{"error": "..."}` or
/// `{"error": {"message"}}`, plain text, or nothing at all.
///
/// ```
/// use direct_upload::api::parse_error_detail;
///
/// assert_eq!(parse_error_detail(r#"{"code":5550}"#).code, Some(5550));
/// ```
pub fn parse_error_detail(body: &str) -> ErrorDetail {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        let text = body.trim();
        let message = (!text.is_empty() && !text.starts_with('<'))
            .then(|| text.chars().take(200).collect::<String>());
        return ErrorDetail {
            code: None,
            message,
        };
    };
    let first = value.get("errors").and_then(|e| e.get(0));
    let source = first
        .or_else(|| value.get("error").filter(|e| e.is_object()))
        .unwrap_or(&value);
    let code = source.get("code").and_then(Value::as_u64);
    let message = source
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| value.get("error").and_then(Value::as_str))
        .map(str::to_string);
    ErrorDetail { code, message }
}

/// Why a successful-looking answer could not be used.
///
/// ```
/// use direct_upload::api::parse_upload_target;
///
/// let refused = parse_upload_target("<html>Bad Gateway</html>").unwrap_err();
/// assert_eq!(refused.0, "its answer is not JSON");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedAnswer(pub String);

/// Reads the backend's answer: the Cloudflare envelope `{result: {id, uploadURL}}` or the flat
/// `{id, uploadURL}`.
///
/// ```
/// use direct_upload::api::parse_upload_target;
///
/// let flat = parse_upload_target(r#"{"id":"a","uploadURL":"https://upload.imagedelivery.net/h/a"}"#).unwrap();
/// let wrapped = parse_upload_target(r#"{"result":{"id":"a","uploadURL":"https://upload.imagedelivery.net/h/a"},"success":true}"#).unwrap();
/// assert_eq!(flat, wrapped);
/// ```
pub fn parse_upload_target(body: &str) -> Result<UploadTarget, MalformedAnswer> {
    let target: UploadTarget = serde_json::from_value(unwrap_envelope(body)?)
        .map_err(|_| MalformedAnswer("its answer has no id and uploadURL".into()))?;
    if !(target.upload_url.starts_with("https://") || target.upload_url.starts_with("http://")) {
        return Err(MalformedAnswer(format!(
            "uploadURL '{}' is not an http(s) URL",
            target.upload_url
        )));
    }
    Ok(target)
}

/// The object a successful answer carries: `result` of the v4 envelope, or the body itself.
fn unwrap_envelope(body: &str) -> Result<Value, MalformedAnswer> {
    let value: Value =
        serde_json::from_str(body).map_err(|_| MalformedAnswer("its answer is not JSON".into()))?;
    if value.get("success").and_then(Value::as_bool) == Some(false) {
        return Err(MalformedAnswer("it answered success: false".into()));
    }
    Ok(match value.get("result") {
        Some(result) if result.is_object() => result.clone(),
        _ => value,
    })
}

/// Reads the upload host's success answer: the image record in the v4 envelope (or bare).
///
/// ```
/// use direct_upload::api::parse_image_record;
///
/// let body = r#"{"result":{"id":"i","filename":"a.png","variants":[]},"success":true,"errors":[],"messages":[]}"#;
/// assert_eq!(parse_image_record(body).unwrap().id, "i");
/// ```
pub fn parse_image_record(body: &str) -> Result<ImageRecord, MalformedAnswer> {
    serde_json::from_value(unwrap_envelope(body)?)
        .map_err(|_| MalformedAnswer("its answer holds no image record".into()))
}

/// What the upload host's answer means: the stored image for a 2xx with an image record,
/// otherwise an [`UploadError`] naming the upload host, its status and Cloudflare's code.
///
/// ```
/// use direct_upload::api::parse_host_answer;
///
/// let refused = parse_host_answer(413, r#"{"success":false,"errors":[{"code":5413,"message":"too big"}]}"#);
/// assert_eq!(refused.unwrap_err().code(), Some(5413));
/// ```
pub fn parse_host_answer(status: u16, body: &str) -> Result<ImageRecord, UploadError> {
    if !(200..300).contains(&status) {
        return Err(UploadError::Status {
            side: Side::UploadHost,
            status,
            detail: parse_error_detail(body),
        });
    }
    parse_image_record(body).map_err(|malformed| UploadError::Malformed {
        side: Side::UploadHost,
        detail: malformed.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_target_from_the_cloudflare_envelope() {
        let body = r#"{"result":{"id":"abc","uploadURL":"https://upload.imagedelivery.net/h/abc"},"result_info":null,"success":true,"errors":[],"messages":[]}"#;
        assert_eq!(
            parse_upload_target(body).unwrap(),
            UploadTarget {
                id: "abc".into(),
                upload_url: "https://upload.imagedelivery.net/h/abc".into()
            }
        );
    }

    #[test]
    fn upload_target_from_a_flat_answer() {
        let target =
            parse_upload_target(r#"{"id":"x","uploadURL":"http://127.0.0.1:8787/upload/h/x"}"#)
                .unwrap();
        assert_eq!(target.id, "x");
    }

    #[test]
    fn upload_target_refuses_what_it_cannot_use() {
        assert!(parse_upload_target("<html>oops</html>").is_err());
        assert!(parse_upload_target(r#"{"id":"x"}"#).is_err());
        assert!(parse_upload_target(r#"{"id":"x","uploadURL":"javascript:alert(1)"}"#).is_err());
        assert!(parse_upload_target(
            r#"{"success":false,"result":{"id":"x","uploadURL":"https://a/b"}}"#
        )
        .is_err());
    }

    #[test]
    fn error_detail_from_every_shape() {
        let envelope = r#"{"success":false,"errors":[{"code":5413,"message":"too big"}],"messages":[],"result":null}"#;
        assert_eq!(
            parse_error_detail(envelope),
            ErrorDetail {
                code: Some(5413),
                message: Some("too big".into())
            }
        );
        assert_eq!(
            parse_error_detail(r#"{"code":5550}"#),
            ErrorDetail {
                code: Some(5550),
                message: None
            }
        );
        assert_eq!(
            parse_error_detail(r#"{"error":"nope"}"#).message.as_deref(),
            Some("nope")
        );
        assert_eq!(
            parse_error_detail("Bad Gateway").message.as_deref(),
            Some("Bad Gateway")
        );
        assert_eq!(
            parse_error_detail("<html><body>502</body></html>"),
            ErrorDetail::default()
        );
        assert_eq!(parse_error_detail(""), ErrorDetail::default());
    }

    #[test]
    fn image_record_reads_variants_and_names_them() {
        let body = r#"{"result":{"id":"i","filename":"a.png","requireSignedURLs":false,"variants":["http://d/h/i/public","http://d/h/i/thumbnail?exp=1&sig=2"]},"success":true,"errors":[],"messages":[]}"#;
        let record = parse_image_record(body).unwrap();
        assert_eq!(record.variants.len(), 2);
        assert_eq!(ImageRecord::variant_name(&record.variants[1]), "thumbnail");
        assert_eq!(
            record.preview_url(),
            Some("http://d/h/i/thumbnail?exp=1&sig=2")
        );
        assert!(!record.draft);
    }
}
