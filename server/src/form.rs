//! Reading request fields the way Cloudflare's clients send them: multipart/form-data (the
//! SDKs, with booleans as strings and nested metadata as `metadata[key]` fields), a JSON body
//! (the docs' curl example), or a urlencoded form. Nested metadata arrives as `metadata[a][b]`
//! (bracketed) or `metadata.a.b` (dotted, the Python SDK), and is rebuilt into one object.

use std::collections::BTreeMap;

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
    /// Most bytes the header section of one multipart part may have.
    #[arg(long, env = "DU_MAX_PART_HEADER_BYTES", default_value_t = 16 * 1024)]
    pub max_part_header_bytes: usize,
}

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
            .map_err(|e| ApiError::bad_request(format!("The body is not valid JSON: {e}")))?;
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
        let mut bracketed = Vec::new();
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
    let mut bracketed = Vec::new();
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

fn collect_field(
    form: &mut Form,
    bracketed: &mut Vec<(Vec<String>, String)>,
    name: String,
    value: String,
) -> ApiResult<()> {
    if let Some(rest) = name
        .strip_prefix("metadata[")
        .or_else(|| name.strip_prefix("meta["))
    {
        // `metadata[a][b]` → path ["a", "b"]
        let path = format!("[{rest}")
            .split('[')
            .filter(|s| !s.is_empty())
            .map(|s| s.trim_end_matches(']').to_string())
            .collect();
        bracketed.push((path, value));
    } else if let Some(rest) = name
        .strip_prefix("metadata.")
        .or_else(|| name.strip_prefix("meta."))
    {
        // `metadata.a.b`, the Python SDK's encoding of nested objects.
        bracketed.push((rest.split('.').map(str::to_string).collect(), value));
    } else if name == "metadata" || name == "meta" {
        form.metadata = Some(parse_metadata_value(Value::String(value))?);
    } else {
        form.fields.insert(name, value);
    }
    Ok(())
}

fn finish_metadata(form: &mut Form, bracketed: Vec<(Vec<String>, String)>) -> ApiResult<()> {
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

/// Metadata must be a JSON object, given as one or as a string holding one.
fn parse_metadata_value(value: Value) -> ApiResult<Value> {
    let value = match value {
        Value::String(text) if text.trim().is_empty() => Value::Object(Map::new()),
        Value::String(text) => serde_json::from_str(&text)
            .map_err(|e| ApiError::bad_request(format!("metadata must be a JSON object: {e}")))?,
        other => other,
    };
    if !value.is_object() {
        return Err(ApiError::bad_request("metadata must be a JSON object"));
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

/// Reads one field chunk by chunk. `Ok(None)` means it grew past `cap`: the rest is read and
/// thrown away (up to a bound), never kept, so that the client still receives the refusal
/// instead of a reset connection.
pub async fn read_capped(mut field: Field<'_>, cap: u64) -> ApiResult<Option<Bytes>> {
    const DRAIN_BOUND: u64 = 256 * 1024 * 1024;
    let mut buffer = BytesMut::new();
    let mut total: u64 = 0;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        total += chunk.len() as u64;
        if total > cap {
            buffer = BytesMut::new();
            if total > DRAIN_BOUND {
                break;
            }
            continue;
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok((total <= cap).then(|| buffer.freeze()))
}
