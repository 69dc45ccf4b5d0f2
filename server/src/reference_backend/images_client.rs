//! A client of the Images API over HTTP, as a site's backend uses it: the embedded emulator by
//! default, the real Cloudflare API when credentials are configured. It is the only way the
//! reference backend reaches images, so it is where ids are checked and answers are doubted.

use serde_json::Value;

use super::config::ImagesApiTarget;
use crate::image_id;

/// Most bytes of an Images API answer the backend reads (a record with its variants is a few
/// KB; anything far larger is not an answer to the question asked).
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// Where the Images API is, how to authenticate, and the HTTP client to reach it.
#[derive(Clone)]
pub struct ImagesClient {
    http: reqwest::Client,
    target: ImagesApiTarget,
}

/// A failed Images API call. The details stay in the server's log; a browser is told only
/// the status and Cloudflare's code.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ImagesApiError {
    /// The API could not be reached.
    #[error("the Images API at {base} could not be reached: {reason}")]
    Unreachable {
        /// Base URL tried.
        base: String,
        /// Transport error.
        reason: String,
    },
    /// The API answered with an error.
    #[error("the Images API refused ({status}{}): {message}", code.map(|c| format!(", code {c}")).unwrap_or_default())]
    Refused {
        /// HTTP status.
        status: u16,
        /// Cloudflare's error code.
        code: Option<u64>,
        /// Cloudflare's message.
        message: String,
    },
    /// The API answered something that is not the v4 envelope, or not what was asked for.
    #[error("the Images API answered something unexpected: {0}")]
    Malformed(String),
    /// The id cannot name an image (it would leave `v1/{id}`), or the answer was not that image.
    #[error("no image with that id")]
    NoSuchImage,
}

/// What a direct upload creation returns.
#[derive(Debug, Clone)]
pub struct DirectUpload {
    /// Future image id.
    pub id: String,
    /// One-time upload URL.
    pub upload_url: String,
}

impl ImagesClient {
    /// A client for `target` over `http`.
    pub fn new(http: reqwest::Client, target: ImagesApiTarget) -> Self {
        let base = target.base.trim_end_matches('/').to_string();
        Self {
            http,
            target: ImagesApiTarget { base, ..target },
        }
    }

    /// `{base}/accounts/{account}/images/{fixed…}/{id segments…}`, every segment
    /// percent-encoded on its own, so that no `?`, `#` or `%2F` inside one reaches the path.
    fn url(&self, fixed: &[&str], id: Option<&str>) -> Result<url::Url, ImagesApiError> {
        let mut url = url::Url::parse(&self.target.base)
            .map_err(|e| ImagesApiError::Malformed(format!("bad API base URL: {e}")))?;
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| ImagesApiError::Malformed("API base URL cannot be a base".into()))?;
            path.pop_if_empty()
                .extend(["accounts", &self.target.account_id, "images"])
                .extend(fixed);
            if let Some(id) = id {
                path.extend(id.split('/'));
            }
        }
        Ok(url)
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, ImagesApiError> {
        let unreachable = |e: reqwest::Error| ImagesApiError::Unreachable {
            base: self.target.base.clone(),
            reason: e.to_string(),
        };
        let mut response = request
            .bearer_auth(&self.target.token)
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(ImagesApiError::Malformed(format!(
                    "HTTP {status}, an answer of more than {MAX_ANSWER_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        // Only the size goes to the log: the bytes may be anything (an image, markup).
        let body: Value = serde_json::from_slice(&body).map_err(|_| {
            ImagesApiError::Malformed(format!(
                "HTTP {status}, {} bytes that are not JSON",
                body.len()
            ))
        })?;
        if body["success"].as_bool() == Some(true) && (200..300).contains(&status) {
            return Ok(body["result"].clone());
        }
        let first = &body["errors"][0];
        Err(ImagesApiError::Refused {
            status,
            code: first["code"].as_u64(),
            message: first["message"]
                .as_str()
                .unwrap_or("no message")
                .to_string(),
        })
    }

    /// `POST v2/direct_upload`, sent as multipart/form-data like the official SDKs.
    pub async fn create_direct_upload(
        &self,
        metadata: &Value,
        require_signed_urls: bool,
        creator: Option<&str>,
        expiry: Option<&str>,
    ) -> Result<DirectUpload, ImagesApiError> {
        let mut form = reqwest::multipart::Form::new()
            .text("metadata", metadata.to_string())
            .text("requireSignedURLs", require_signed_urls.to_string());
        if let Some(creator) = creator {
            form = form.text("creator", creator.to_string());
        }
        if let Some(expiry) = expiry {
            form = form.text("expiry", expiry.to_string());
        }
        let url = self.url(&["v2", "direct_upload"], None)?;
        let result = self.call(self.http.post(url).multipart(form)).await?;
        match (result["id"].as_str(), result["uploadURL"].as_str()) {
            (Some(id), Some(url)) => Ok(DirectUpload {
                id: id.to_string(),
                upload_url: url.to_string(),
            }),
            _ => Err(ImagesApiError::Malformed(
                "no id and uploadURL in the direct upload answer".into(),
            )),
        }
    }

    /// `GET v1/{id}`: one image record, or [`ImagesApiError::NoSuchImage`] when the id could
    /// leave its path or the answer is anything but the record of exactly that id.
    pub async fn image(&self, id: &str) -> Result<Value, ImagesApiError> {
        image_id::check_path(id).map_err(|_| ImagesApiError::NoSuchImage)?;
        // `v1/{id}/blob` is the original's bytes, never a record: don't fetch it.
        if id == "blob" || id.ends_with("/blob") {
            return Err(ImagesApiError::NoSuchImage);
        }
        let url = self.url(&["v1"], Some(id))?;
        let record = match self.call(self.http.get(url)).await {
            Err(ImagesApiError::Refused { status: 404, .. }) => {
                return Err(ImagesApiError::NoSuchImage)
            }
            other => other?,
        };
        if !is_record_of(&record, id) {
            tracing::warn!(%id, "the Images API answered something other than that image's record");
            return Err(ImagesApiError::NoSuchImage);
        }
        Ok(record)
    }

    /// The key to sign delivery URLs with, read anew on every call so that a rotation
    /// (`PUT v1/keys/default`) takes effect at once: the one named `default`, else the first.
    pub async fn signing_key(&self) -> Result<String, ImagesApiError> {
        let result = self
            .call(self.http.get(self.url(&["v1", "keys"], None)?))
            .await?;
        let keys = result["keys"].as_array().cloned().unwrap_or_default();
        keys.iter()
            .find(|key| key["name"] == "default")
            .or_else(|| keys.first())
            .and_then(|key| key["value"].as_str())
            .map(str::to_string)
            .ok_or_else(|| ImagesApiError::Malformed("no signing key in v1/keys".into()))
    }
}

/// An image record is an object with that `id`, a `variants` list and no list of images.
fn is_record_of(record: &Value, id: &str) -> bool {
    record.is_object()
        && record["id"].as_str() == Some(id)
        && record["variants"].is_array()
        && record.get("images").is_none()
        && record.get("keys").is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_record_of_the_id_asked_for_is_an_answer() {
        let record = json!({"id": "a/b", "variants": [], "uploaded": "x"});
        assert!(is_record_of(&record, "a/b"));
        assert!(!is_record_of(&record, "a"));
        assert!(!is_record_of(
            &json!({"keys": [{"name": "default"}]}),
            "keys"
        ));
        assert!(!is_record_of(
            &json!({"images": [], "id": "v2", "variants": []}),
            "v2"
        ));
        assert!(!is_record_of(&json!({"count": {"allowed": 1}}), "stats"));
    }

    #[test]
    fn ids_are_encoded_segment_by_segment() {
        let client = ImagesClient::new(
            reqwest::Client::new(),
            ImagesApiTarget {
                base: "http://api.test/client/v4/".into(),
                account_id: "acc".into(),
                token: "t".into(),
            },
        );
        let url = client.url(&["v1"], Some("a?b=1#c/d%2Fe")).unwrap();
        assert_eq!(
            url.as_str(),
            "http://api.test/client/v4/accounts/acc/images/v1/a%3Fb=1%23c/d%252Fe"
        );
    }
}
