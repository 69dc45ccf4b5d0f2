//! Reading request fields the way Cloudflare's clients send them: multipart/form-data (the
//! SDKs, with booleans as strings and nested metadata as `metadata[key]` fields), a JSON body
//! (the docs' curl example), or a urlencoded form. Nested metadata arrives as `metadata[a][b]`
//! (bracketed) or `metadata.a.b` (dotted, the Python SDK), and is rebuilt into one object.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::multipart::{Field, Multipart, MultipartError};
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use bytes::{Bytes, BytesMut};
use serde_json::{Map, Value};

use crate::envelope::{ApiError, ApiResult};
use crate::imaging::MAX_FILE_BYTES;

/// Limits of the upload host's request bodies, as flags.
#[derive(Debug, Clone, clap::Args)]
pub struct UploadLimits {
    /// Most bytes the header section of one multipart part may have (also bounds anything
    /// sent before the first boundary).
    #[arg(long, env = "DU_MAX_PART_HEADER_BYTES", default_value_t = 16 * 1024)]
    pub max_part_header_bytes: usize,

    /// Bytes an upload form may have beside its 10 MB file (other fields, part headers,
    /// boundaries); the upload host reads no more than the two together.
    #[arg(long, env = "DU_MAX_FORM_OVERHEAD_BYTES", default_value_t = 1024 * 1024)]
    pub max_form_overhead_bytes: u64,

    /// Memory (MiB) that upload bodies being received may hold together. Each upload reserves
    /// its declared length (at most the body limit) before its body is read; one that cannot
    /// get its share within 30 s is answered 503, which the widget retries.
    #[arg(long, env = "DU_UPLOAD_MEMORY_MB", default_value_t = 512,
          value_parser = clap::value_parser!(u64).range(12..=1_048_576))]
    pub upload_memory_mb: u64,
}

impl UploadLimits {
    /// Most bytes of one request body the upload host reads: a 10 MB file plus the overhead.
    pub fn max_body_bytes(&self) -> u64 {
        MAX_FILE_BYTES.saturating_add(self.max_form_overhead_bytes)
    }
}

/// Most bytes an image's metadata may have, as serialised JSON (Cloudflare's rule).
pub const MAX_METADATA_BYTES: usize = 1024;

/// Deepest nesting of metadata accepted, in objects and arrays (`{"a":"x"}` is 1 level,
/// `metadata[a][b]=x` is 2), whatever the encoding. A `serde_json::Value` is dropped and
/// serialized recursively, so field names like `metadata[a][a]…` 16,000 levels deep (48 KB)
/// built a value whose drop overflowed the stack and aborted the whole process: the depth is
/// checked before anything is built. Metadata is at most 1024 bytes of JSON, and real metadata
/// nests a few levels; 64 also leaves the documents that carry metadata (API answers, list
/// pages, webhooks) well under serde_json's own recursion limit of 128, so that they, and the
/// stored metadata, can be read back by any serde_json reader.
pub const MAX_METADATA_DEPTH: usize = 64;

/// Most keys all nested metadata field names of one request may hold together
/// (`metadata[a][b]=x` holds 2). Each key becomes a node of the metadata tree, which costs
/// hundreds of bytes, so without a bound a 262 KB form of distinct deep names grew the process
/// by 42 MB before the 1024-byte metadata limit could refuse it. Metadata of at most 1024 bytes
/// of JSON has at most about 200 leaves (`"":""` is 5 bytes), each at most
/// [`MAX_METADATA_DEPTH`] keys deep, so sending it as fields takes at most about 13,000 keys:
/// 16,384 refuses none of it.
pub const MAX_METADATA_FIELD_KEYS: usize = 16 * 1024;

/// A file sent in a form.
#[derive(Debug, Clone)]
pub struct FilePart {
    /// File name as the client gave it (`file` if it gave none).
    pub filename: String,
    /// The bytes, at most 10 MB.
    pub bytes: Bytes,
}

/// The fields of a request body, whatever its encoding.
#[derive(Debug, Default)]
pub struct Form {
    /// Plain text fields by name.
    pub fields: BTreeMap<String, String>,
    /// Metadata, from a JSON object, a JSON string field, or bracketed fields.
    pub metadata: Option<Value>,
    /// The `file` field, if any.
    pub file: Option<FilePart>,
}

impl Form {
    /// A text field, empty strings counting as absent.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A boolean field sent as `true`/`false` (or `1`/`0`).
    pub fn boolean(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.text(name) {
            None => Ok(None),
            Some("true" | "1") => Ok(Some(true)),
            Some("false" | "0") => Ok(Some(false)),
            Some(other) => Err(ApiError::bad_request(format!(
                "{name} must be true or false, not '{other}'"
            ))),
        }
    }
}

/// The request's Content-Type, lower-cased (empty when absent).
pub fn content_type_of(request: &Request) -> String {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Reads a request body into a [`Form`].
pub async fn read_form(request: Request) -> ApiResult<Form> {
    let content_type = content_type_of(&request);
    if content_type.starts_with("multipart/form-data") {
        // API forms are small but for an optional 10 MB file: buffer them (bounded) so that an
        // empty form, which the SDKs send for a call without parameters, is told apart from a
        // broken one (the multipart parser calls both "incomplete").
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, (MAX_FILE_BYTES + 1024 * 1024) as usize)
            .await
            .map_err(|_| ApiError::too_large())?;
        let original_type = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let boundary = original_type
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .map(|b| b.trim_matches('"').to_string())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(256)]);
        if text.trim().is_empty() || text.trim() == format!("--{boundary}--") {
            return Ok(Form::default());
        }
        let request = Request::from_parts(parts, axum::body::Body::from(bytes));
        let multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| ApiError::bad_request(format!("Error parsing form fields: {e}")))?;
        read_multipart(multipart).await
    } else if content_type.starts_with("application/json") {
        let body = axum::body::to_bytes(request.into_body(), 64 * 1024)
            .await
            .map_err(|e| ApiError::bad_request(format!("Could not read the request body: {e}")))?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Form::default());
        }
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| json_error("The body is not valid JSON", e))?;
        let Value::Object(object) = value else {
            return Err(ApiError::bad_request("The JSON body must be an object"));
        };
        let mut form = Form::default();
        for (name, value) in object {
            match (name.as_str(), value) {
                ("metadata" | "meta", value) => form.metadata = Some(parse_metadata_value(value)?),
                (_, Value::String(text)) => {
                    form.fields.insert(name, text);
                }
                (_, Value::Null) => {}
                (_, value @ (Value::Bool(_) | Value::Number(_))) => {
                    form.fields.insert(name, value.to_string());
                }
                (_, _) => {
                    return Err(ApiError::bad_request(format!(
                        "Field '{name}' must be a string, number or boolean"
                    )))
                }
            }
        }
        Ok(form)
    } else {
        let body = axum::body::to_bytes(request.into_body(), 64 * 1024)
            .await
            .map_err(|e| ApiError::bad_request(format!("Could not read the request body: {e}")))?;
        let mut form = Form::default();
        let mut bracketed = NestedFields::default();
        for (name, value) in url::form_urlencoded::parse(&body) {
            collect_field(
                &mut form,
                &mut bracketed,
                name.into_owned(),
                value.into_owned(),
            )?;
        }
        finish_metadata(&mut form, bracketed)?;
        Ok(form)
    }
}

async fn read_multipart(mut multipart: Multipart) -> ApiResult<Form> {
    let mut form = Form::default();
    let mut bracketed = NestedFields::default();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let filename = field.file_name().unwrap_or("file").to_string();
            let bytes = read_capped(field, MAX_FILE_BYTES)
                .await?
                .ok_or_else(ApiError::too_large)?;
            form.file = Some(FilePart { filename, bytes });
        } else {
            let value = field.text().await.map_err(multipart_error)?;
            collect_field(&mut form, &mut bracketed, name, value)?;
        }
    }
    finish_metadata(&mut form, bracketed)?;
    Ok(form)
}

/// Nested metadata fields (`metadata[a][b]`, `metadata.a.b`) as key paths, and how many keys
/// they hold together.
#[derive(Debug, Default)]
struct NestedFields {
    paths: Vec<(Vec<String>, String)>,
    keys: usize,
}

impl NestedFields {
    /// Takes a field of `depth` keys, refusing it past [`MAX_METADATA_FIELD_KEYS`].
    fn admit(&mut self, depth: usize) -> ApiResult<()> {
        self.keys += depth;
        if self.keys > MAX_METADATA_FIELD_KEYS {
            return Err(ApiError::bad_request(format!(
                "metadata fields name more than {MAX_METADATA_FIELD_KEYS} keys together: metadata must be at most 1024 bytes"
            )));
        }
        Ok(())
    }

    fn push(&mut self, path: Vec<String>, value: String) {
        self.paths.push((path, value));
    }
}

fn collect_field(
    form: &mut Form,
    bracketed: &mut NestedFields,
    name: String,
    value: String,
) -> ApiResult<()> {
    if let Some(rest) = name
        .strip_prefix("metadata[")
        .or_else(|| name.strip_prefix("meta["))
    {
        // `metadata[a][b]` → path ["a", "b"]; the depth is checked before the path is built.
        let depth = rest.matches('[').count() + 1;
        check_field_depth(&name, depth)?;
        bracketed.admit(depth)?;
        let path = format!("[{rest}")
            .split('[')
            .filter(|s| !s.is_empty())
            .map(|s| s.trim_end_matches(']').to_string())
            .collect();
        bracketed.push(path, value);
    } else if let Some(rest) = name
        .strip_prefix("metadata.")
        .or_else(|| name.strip_prefix("meta."))
    {
        // `metadata.a.b`, the Python SDK's encoding of nested objects.
        let depth = rest.matches('.').count() + 1;
        check_field_depth(&name, depth)?;
        bracketed.admit(depth)?;
        bracketed.push(rest.split('.').map(str::to_string).collect(), value);
    } else if name == "metadata" || name == "meta" {
        form.metadata = Some(parse_metadata_value(Value::String(value))?);
    } else {
        form.fields.insert(name, value);
    }
    Ok(())
}

fn finish_metadata(form: &mut Form, bracketed: NestedFields) -> ApiResult<()> {
    let bracketed = bracketed.paths;
    if bracketed.is_empty() {
        return Ok(());
    }
    let mut root = match form.metadata.take() {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for (path, value) in bracketed {
        let mut node = &mut root;
        for (i, key) in path.iter().enumerate() {
            if i + 1 == path.len() {
                node.insert(key.clone(), Value::String(value.clone()));
            } else {
                let entry = node
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                node = entry.as_object_mut().expect("just made an object");
            }
        }
    }
    form.metadata = Some(Value::Object(root));
    Ok(())
}

/// Refuses a nested metadata field name (`metadata[a][b]…`, `metadata.a.b…`) whose path has
/// more than [`MAX_METADATA_DEPTH`] keys.
fn check_field_depth(name: &str, depth: usize) -> ApiResult<()> {
    if depth <= MAX_METADATA_DEPTH {
        return Ok(());
    }
    let shown: String = name.chars().take(40).collect();
    Err(ApiError::bad_request(format!(
        "metadata is nested {depth} levels deep in field '{shown}…': at most {MAX_METADATA_DEPTH} levels"
    )))
}

/// Levels of objects and arrays in `value` (0 for a scalar), counted without recursion.
pub fn depth_of(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 1)];
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Object(map) => Box::new(map.values()),
            Value::Array(items) => Box::new(items.iter()),
            _ => continue,
        };
        deepest = deepest.max(depth);
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    deepest
}

/// A JSON parse error as a 400; serde_json's recursion limit gets a message naming the depth.
fn json_error(what: &str, error: serde_json::Error) -> ApiError {
    if error.to_string().starts_with("recursion limit exceeded") {
        ApiError::bad_request(format!(
            "{what}: it is nested more than 127 levels deep, and metadata is nested at most {MAX_METADATA_DEPTH} levels ({error})"
        ))
    } else {
        ApiError::bad_request(format!("{what}: {error}"))
    }
}

/// Metadata must be a JSON object, given as one or as a string holding one, at most
/// [`MAX_METADATA_DEPTH`] levels deep.
fn parse_metadata_value(value: Value) -> ApiResult<Value> {
    let value = match value {
        Value::String(text) if text.trim().is_empty() => Value::Object(Map::new()),
        Value::String(text) => serde_json::from_str(&text)
            .map_err(|e| json_error("metadata must be a JSON object", e))?,
        other => other,
    };
    if !value.is_object() {
        return Err(ApiError::bad_request("metadata must be a JSON object"));
    }
    let depth = depth_of(&value);
    if depth > MAX_METADATA_DEPTH {
        return Err(ApiError::bad_request(format!(
            "metadata is nested {depth} levels deep: at most {MAX_METADATA_DEPTH} levels"
        )));
    }
    Ok(value)
}

/// Turns a multipart parsing failure into Cloudflare's 5400 with the parser's reason.
pub fn multipart_error(error: MultipartError) -> ApiError {
    let text = error.body_text();
    if text.contains("incomplete") || text.contains("stream") {
        ApiError::bad_request(format!("incomplete multipart stream: {text}"))
    } else {
        ApiError::bad_request(format!("Error parsing form fields: {text}"))
    }
}

/// Reads one field chunk by chunk. `Ok(None)` means it grew past `cap`: reading stops there,
/// nothing is kept, and the rest of the field is left to the caller (which may drain a bounded
/// amount so that a browser still sending sees the refusal).
pub async fn read_capped(mut field: Field<'_>, cap: u64) -> ApiResult<Option<Bytes>> {
    // Room for the whole cap at once: a growing buffer doubles and copies, which briefly
    // holds half as much again and more than the upload reserved (see upload.rs). Pages of
    // the reservation that are never written are never touched, so they cost no memory.
    let mut buffer = BytesMut::with_capacity(cap as usize);
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if (buffer.len() + chunk.len()) as u64 > cap {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(Some(buffer.freeze()))
}

/// Why a guarded request body stopped being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyTrip {
    /// The body grew past [`UploadLimits::max_body_bytes`].
    TooLarge {
        /// The bound, in bytes.
        limit: u64,
    },
    /// More than `limit` bytes came before the first multipart boundary.
    Preamble {
        /// The bound, in bytes.
        limit: usize,
    },
    /// A part's header section grew past `limit` bytes without its closing blank line.
    PartHeader {
        /// The bound, in bytes.
        limit: usize,
    },
}

impl BodyTrip {
    /// The answer for a request refused this way.
    pub fn error(self) -> ApiError {
        match self {
            BodyTrip::TooLarge { limit } => ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                5413,
                format!(
                    "The upload form is over {limit} bytes: at most a 10 MB (10485760 bytes) file plus {} bytes of other form content (--max-form-overhead-bytes)",
                    limit.saturating_sub(MAX_FILE_BYTES)
                ),
            ),
            BodyTrip::Preamble { limit } => ApiError::bad_request(format!(
                "Error parsing form fields: over {limit} bytes before the first multipart boundary (--max-part-header-bytes)"
            )),
            BodyTrip::PartHeader { limit } => ApiError::bad_request(format!(
                "Error parsing form fields: a multipart part's header section is over {limit} bytes (--max-part-header-bytes)"
            )),
        }
    }
}

#[derive(Debug, Default)]
struct WatchState {
    bytes: u64,
    finished: bool,
    trip: Option<BodyTrip>,
}

/// What a guarded body has seen, readable by the handler while the multipart parser owns the
/// body: the parser only reports "stream read failed", this tells which limit stopped it.
#[derive(Debug, Clone, Default)]
pub struct BodyWatch(Arc<Mutex<WatchState>>);

impl BodyWatch {
    fn state(&self) -> std::sync::MutexGuard<'_, WatchState> {
        // The state is plain counters: a panic elsewhere cannot leave it inconsistent.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The limit that stopped the body, if one did.
    pub fn trip(&self) -> Option<BodyTrip> {
        self.state().trip
    }

    /// Whether the body was read to its end (the connection can then be kept alive).
    pub fn finished(&self) -> bool {
        self.state().finished
    }

    /// Bytes read from the body so far.
    pub fn bytes(&self) -> u64 {
        self.state().bytes
    }

    /// `error`, unless a limit stopped the body: then that limit's answer, since the parser's
    /// own error only says that the stream failed.
    pub fn explain(&self, error: ApiError) -> ApiError {
        self.trip().map_or(error, BodyTrip::error)
    }
}

/// Wraps a request body so that it yields at most `limits.max_body_bytes()` bytes and, when
/// `boundary` is given, no multipart part header section (or preamble) over
/// `limits.max_part_header_bytes`. multer buffers a part's header section until its blank
/// line with no bound of its own, so the bound has to be enforced on the bytes before it sees
/// them. Past a limit the stream fails and is never polled again: the rest of the request is
/// not read.
pub fn guard_body(
    body: axum::body::Body,
    boundary: Option<&str>,
    limits: &UploadLimits,
) -> (axum::body::Body, BodyWatch) {
    use futures_util::StreamExt;

    struct Guarded {
        inner: axum::body::BodyDataStream,
        scanner: Option<PartScanner>,
        watch: BodyWatch,
        max_body: u64,
        stopped: bool,
    }
    let watch = BodyWatch::default();
    let guarded = Guarded {
        inner: body.into_data_stream(),
        scanner: boundary.map(|b| PartScanner::new(b, limits.max_part_header_bytes)),
        watch: watch.clone(),
        max_body: limits.max_body_bytes(),
        stopped: false,
    };
    let stream = futures_util::stream::unfold(guarded, |mut g| async move {
        if g.stopped {
            return None;
        }
        match g.inner.next().await {
            None => {
                g.watch.state().finished = true;
                None
            }
            Some(Err(error)) => {
                g.stopped = true;
                Some((Err(error), g))
            }
            Some(Ok(chunk)) => {
                let total = {
                    let mut state = g.watch.state();
                    state.bytes += chunk.len() as u64;
                    state.bytes
                };
                let trip = if total > g.max_body {
                    Some(BodyTrip::TooLarge { limit: g.max_body })
                } else {
                    g.scanner.as_mut().and_then(|s| s.feed(&chunk).err())
                };
                match trip {
                    Some(trip) => {
                        g.watch.state().trip = Some(trip);
                        g.stopped = true;
                        let error = std::io::Error::other(format!("{trip:?}"));
                        Some((Err(axum::Error::new(error)), g))
                    }
                    None => Some((Ok(chunk), g)),
                }
            }
        }
    });
    (axum::body::Body::from_stream(stream), watch)
}

/// The `boundary` parameter of a multipart Content-Type, quotes removed (case kept: boundaries
/// are case-sensitive).
pub fn boundary_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty())
    })
}

/// Where a [`PartScanner`] is in the multipart body, following multer's own stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Before the first `--boundary`.
    Preamble,
    /// Just after a `--boundary`: `--` here ends the form.
    AfterDelimiter { dashes: u8 },
    /// Padding up to the line end after a delimiter.
    DelimiterLine,
    /// A part's header lines, up to the blank line.
    Headers,
    /// A part's data, up to `\r\n--boundary`.
    Data,
    /// After the closing delimiter: ignored by the parser.
    Epilogue,
}

/// Follows a multipart body chunk by chunk and counts the bytes of each part's header section
/// (from its delimiter to its blank line) and of the preamble: the spans the parser buffers
/// whole. Part data is streamed by the parser, so it is only searched for the next delimiter.
#[derive(Debug)]
struct PartScanner {
    stage: Stage,
    /// Bytes of the current preamble or header section so far.
    count: usize,
    max: usize,
    first_delimiter: Finder,
    line_end: Finder,
    blank_line: Finder,
    next_delimiter: Finder,
}

impl PartScanner {
    fn new(boundary: &str, max: usize) -> Self {
        Self {
            stage: Stage::Preamble,
            count: 0,
            max,
            first_delimiter: Finder::new(format!("--{boundary}").as_bytes()),
            line_end: Finder::new(b"\r\n"),
            blank_line: Finder::new(b"\r\n\r\n"),
            next_delimiter: Finder::new(format!("\r\n--{boundary}").as_bytes()),
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) -> Result<(), BodyTrip> {
        while !bytes.is_empty() {
            let (used, next) = match self.stage {
                Stage::Preamble => match self.first_delimiter.find(bytes) {
                    Some(end) => (end, Some(Stage::AfterDelimiter { dashes: 0 })),
                    None => (bytes.len(), None),
                },
                Stage::AfterDelimiter { dashes } => match bytes[0] {
                    b'-' if dashes == 1 => (1, Some(Stage::Epilogue)),
                    b'-' => (1, Some(Stage::AfterDelimiter { dashes: 1 })),
                    _ => (0, Some(Stage::DelimiterLine)),
                },
                Stage::DelimiterLine => match self.line_end.find(bytes) {
                    Some(end) => (end, Some(Stage::Headers)),
                    None => (bytes.len(), None),
                },
                Stage::Headers => match self.blank_line.find(bytes) {
                    Some(end) => (end, Some(Stage::Data)),
                    None => (bytes.len(), None),
                },
                Stage::Data => match self.next_delimiter.find(bytes) {
                    Some(end) => (end, Some(Stage::AfterDelimiter { dashes: 0 })),
                    None => (bytes.len(), None),
                },
                Stage::Epilogue => (bytes.len(), None),
            };
            match self.stage {
                Stage::Preamble => {
                    self.count += used;
                    if self.count > self.max {
                        return Err(BodyTrip::Preamble { limit: self.max });
                    }
                }
                Stage::AfterDelimiter { .. } | Stage::DelimiterLine | Stage::Headers => {
                    self.count += used;
                    if self.count > self.max {
                        return Err(BodyTrip::PartHeader { limit: self.max });
                    }
                }
                Stage::Data | Stage::Epilogue => {}
            }
            if let Some(next) = next {
                if matches!(next, Stage::AfterDelimiter { dashes: 0 }) {
                    // A new part: its header section is counted from its delimiter.
                    self.count = 0;
                }
                self.stage = next;
            }
            bytes = &bytes[used..];
        }
        Ok(())
    }
}

/// Finds a pattern in a stream of chunks, matches spanning chunk edges included
/// (Knuth–Morris–Pratt: no byte is looked at twice, whatever the input).
#[derive(Debug)]
struct Finder {
    pattern: Vec<u8>,
    /// `fallback[i]`: length of the longest proper prefix of `pattern[..=i]` that is also its suffix.
    fallback: Vec<usize>,
    /// Bytes of the pattern matched at the end of what was fed so far.
    matched: usize,
}

impl Finder {
    fn new(pattern: &[u8]) -> Self {
        let mut fallback = vec![0; pattern.len()];
        let mut k = 0;
        for i in 1..pattern.len() {
            while k > 0 && pattern[i] != pattern[k] {
                k = fallback[k - 1];
            }
            if pattern[i] == pattern[k] {
                k += 1;
            }
            fallback[i] = k;
        }
        Self {
            pattern: pattern.to_vec(),
            fallback,
            matched: 0,
        }
    }

    /// Feeds `bytes`; returns the offset just past the first match ending in them (the finder
    /// then starts afresh), or `None` having consumed them all.
    fn find(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut i = 0;
        while i < bytes.len() {
            if self.matched == 0 {
                // Fast path: skip to the next possible start of a match.
                match bytes[i..].iter().position(|&b| b == self.pattern[0]) {
                    Some(offset) => i += offset,
                    None => return None,
                }
            }
            let byte = bytes[i];
            while self.matched > 0 && self.pattern[self.matched] != byte {
                self.matched = self.fallback[self.matched - 1];
            }
            if self.pattern[self.matched] == byte {
                self.matched += 1;
            }
            i += 1;
            if self.matched == self.pattern.len() {
                self.matched = 0;
                return Some(i);
            }
        }
        None
    }
}
