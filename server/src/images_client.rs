//! A client of the Images API over HTTP, as a site's backend uses it: the embedded service by
//! default, the real Cloudflare API when credentials are configured.

use serde_json::{json, Value};

/// Where the Images API is and how to authenticate to it.
#[derive(Clone)]
pub struct ImagesClient {
    http: reqwest::Client,
    base: String,
    account_id: String,
    token: String,
}

/// A failed Images API call, keeping Cloudflare's code when there is one.
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
    /// The API answered something that is not the v4 envelope.
    #[error("the Images API answered something unexpected: {0}")]
    Malformed(String),
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
    /// A client for `base` (e.g. `https://api.cloudflare.com/client/v4`).
    pub fn new(
        http: reqwest::Client,
        base: impl Into<String>,
        account_id: impl Into<String>,
        token: impl Into<String>,
    ) -> Self {
        Self {
            http,
            base: base.into().trim_end_matches('/').to_string(),
            account_id: account_id.into(),
            token: token.into(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/accounts/{}/images/{path}", self.base, self.account_id)
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, ImagesApiError> {
        let response = request.bearer_auth(&self.token).send().await.map_err(|e| {
            ImagesApiError::Unreachable {
                base: self.base.clone(),
                reason: e.to_string(),
            }
        })?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| ImagesApiError::Malformed(e.to_string()))?;
        let body: Value = serde_json::from_str(&text).map_err(|_| {
            ImagesApiError::Malformed(format!(
                "HTTP {status}, body: {}",
                text.chars().take(200).collect::<String>()
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
        let result = self
            .call(self.http.post(self.url("v2/direct_upload")).multipart(form))
            .await?;
        match (result["id"].as_str(), result["uploadURL"].as_str()) {
            (Some(id), Some(url)) => Ok(DirectUpload {
                id: id.to_string(),
                upload_url: url.to_string(),
            }),
            _ => Err(ImagesApiError::Malformed(format!(
                "no id and uploadURL in {result}"
            ))),
        }
    }

    /// `GET v1/{id}`.
    pub async fn image(&self, id: &str) -> Result<Value, ImagesApiError> {
        self.call(self.http.get(self.url(&format!("v1/{id}"))))
            .await
    }

    /// The first signing key from `GET v1/keys`.
    pub async fn signing_key(&self) -> Result<String, ImagesApiError> {
        let result = self.call(self.http.get(self.url("v1/keys"))).await?;
        result["keys"][0]["value"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| {
                ImagesApiError::Malformed(format!("no signing key in {}", json!(result)))
            })
    }
}
