//! Wire types shared with the backend and the upload host, and the reading of their answers.
//!
//! The rules are pure Rust over [`JsonRead`], a few questions any parsed JSON document
//! answers. Natively (tests, servers) the document is a `serde_json::Value`; in the browser it
//! is the browser's own `JSON.parse` result (`browser::json::JsJson`), because serde_json
//! would add about 20 KB gzip to every page that embeds the widget.

use serde::{Deserialize, Serialize};

use super::error::{Side, UploadError};

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
        // Byte positions of ASCII delimiters are char boundaries; searched as bytes, not with
        // str patterns, whose searchers are linked into the wasm once per pattern type.
        let end = url
            .bytes()
            .position(|b| b == b'?' || b == b'#')
            .unwrap_or(url.len());
        let start = url.as_bytes()[..end]
            .iter()
            .rposition(|&b| b == b'/')
            .map_or(0, |i| i + 1);
        url.get(start..end).unwrap_or(url)
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

/// What the wire rules ask of a parsed JSON document.
pub trait JsonRead: Sized {
    /// Parses `text`; `None` if it is not JSON.
    fn parse(text: &str) -> Option<Self>;
    /// An object's member (`None` if this is not an object or has no such member).
    fn field(&self, name: &str) -> Option<Self>;
    /// An array's elements (empty if this is not an array).
    fn items(&self) -> Vec<Self>;
    /// An object's members, in order (empty if this is not an object).
    fn members(&self) -> Vec<(String, Self)>;
    /// A string's text.
    fn text(&self) -> Option<String>;
    /// A whole number from 0 to 2^53.
    fn whole(&self) -> Option<u64>;
    /// A boolean.
    fn flag(&self) -> Option<bool>;
    /// Whether this is an object (not an array, not null).
    fn is_object(&self) -> bool;
}

/// A JSON number as a whole number, if it is one from 0 to 2^53 (every whole number up to
/// there is exact in a JavaScript number).
///
/// ```
/// use direct_upload::api::whole_number;
///
/// assert_eq!(whole_number(5413.0), Some(5413));
/// assert_eq!(whole_number(1.5), None);
/// ```
pub fn whole_number(number: f64) -> Option<u64> {
    ((0.0..=9_007_199_254_740_992.0).contains(&number) && number == number.trunc())
        .then_some(number as u64)
}

/// The JSON documents of this build: `serde_json` natively, the browser's own in wasm.
#[cfg(not(target_arch = "wasm32"))]
pub type Json = serde_json::Value;
/// The JSON documents of this build: `serde_json` natively, the browser's own in wasm.
#[cfg(target_arch = "wasm32")]
pub type Json = crate::browser::json::JsJson;

#[cfg(not(target_arch = "wasm32"))]
impl JsonRead for serde_json::Value {
    fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
    fn field(&self, name: &str) -> Option<Self> {
        self.get(name).filter(|v| !v.is_null()).cloned()
    }
    fn items(&self) -> Vec<Self> {
        self.as_array().cloned().unwrap_or_default()
    }
    fn members(&self) -> Vec<(String, Self)> {
        self.as_object()
            .map(|object| object.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }
    fn text(&self) -> Option<String> {
        self.as_str().map(str::to_string)
    }
    fn whole(&self) -> Option<u64> {
        self.as_u64().or_else(|| {
            self.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= 9_007_199_254_740_992.0)
                .map(|f| f as u64)
        })
    }
    fn flag(&self) -> Option<bool> {
        self.as_bool()
    }
    fn is_object(&self) -> bool {
        self.is_object()
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
    let Some(value) = Json::parse(body) else {
        // ASCII trim and one slice: Unicode trimming and collecting chars link more code than
        // an error body is worth (the text is only shown).
        let text = body.trim_ascii();
        let end = text.char_indices().nth(200).map_or(text.len(), |(i, _)| i);
        let message = (!text.is_empty() && !text.starts_with('<'))
            .then(|| text.get(..end).unwrap_or(text).to_owned());
        return ErrorDetail {
            code: None,
            message,
        };
    };
    let first = value
        .field("errors")
        .and_then(|errors| errors.items().into_iter().next());
    let error = value.field("error");
    let source = first
        .or_else(|| error.clone().filter(JsonRead::is_object))
        .unwrap_or_else(|| value.clone());
    let code = source.field("code").and_then(|code| code.whole());
    let message = source
        .field("message")
        .and_then(|message| message.text())
        .or_else(|| error.and_then(|error| error.text()));
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
    let result = unwrap_envelope(body)?;
    let text = |name: &str| result.field(name).and_then(|v| v.text());
    let (Some(id), Some(upload_url)) = (text("id"), text("uploadURL")) else {
        return Err(MalformedAnswer("its answer has no id and uploadURL".into()));
    };
    if !(upload_url.starts_with("https://") || upload_url.starts_with("http://")) {
        return Err(MalformedAnswer(
            String::from("uploadURL '") + &upload_url + "' is not an http(s) URL",
        ));
    }
    Ok(UploadTarget { id, upload_url })
}

/// The object a successful answer carries: `result` of the v4 envelope, or the body itself.
fn unwrap_envelope(body: &str) -> Result<Json, MalformedAnswer> {
    let value =
        Json::parse(body).ok_or_else(|| MalformedAnswer("its answer is not JSON".into()))?;
    if value.field("success").and_then(|v| v.flag()) == Some(false) {
        return Err(MalformedAnswer("it answered success: false".into()));
    }
    Ok(match value.field("result") {
        Some(result) if result.is_object() => result,
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
    let record = unwrap_envelope(body)?;
    let text = |name: &str| record.field(name).and_then(|v| v.text());
    let flag = |name: &str| record.field(name).and_then(|v| v.flag());
    let id =
        text("id").ok_or_else(|| MalformedAnswer("its answer holds no image record".into()))?;
    let variants = match record.field("variants") {
        None => Vec::new(),
        Some(list) => list
            .items()
            .iter()
            .map(JsonRead::text)
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| MalformedAnswer("its variants are not all URLs".into()))?,
    };
    Ok(ImageRecord {
        id,
        filename: text("filename"),
        uploaded: text("uploaded"),
        require_signed_urls: flag("requireSignedURLs").unwrap_or(false),
        variants,
        draft: flag("draft").unwrap_or(false),
    })
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
        let long = "é".repeat(300);
        assert_eq!(
            parse_error_detail(&format!("  {long}\n"))
                .message
                .map(|m| m.chars().count()),
            Some(200),
            "a text body is trimmed and cut at 200 characters, on a char boundary"
        );
    }

    #[test]
    fn image_record_reads_variants_and_names_them() {
        let body = r#"{"result":{"id":"i","filename":"a.png","requireSignedURLs":false,"variants":["http://d/h/i/public","http://d/h/i/thumbnail?exp=1&sig=2"]},"success":true,"errors":[],"messages":[]}"#;
        let record = parse_image_record(body).unwrap();
        assert_eq!(record.variants.len(), 2);
        assert_eq!(ImageRecord::variant_name(&record.variants[1]), "thumbnail");
        assert_eq!(ImageRecord::variant_name("https://d/h/i/hero#top"), "hero");
        assert_eq!(ImageRecord::variant_name("https://d/h/i/a/b?x=/y"), "b");
        assert_eq!(ImageRecord::variant_name("public"), "public");
        assert_eq!(
            record.preview_url(),
            Some("http://d/h/i/thumbnail?exp=1&sig=2")
        );
        assert!(!record.draft);
    }
}
