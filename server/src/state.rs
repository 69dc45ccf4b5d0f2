//! What every handler shares: configuration, the store, public URLs and the service clock.

use std::sync::Arc;

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::config::Config;
use crate::decode_budget::DecodeBudget;
use crate::envelope::ApiError;
use crate::faults::{FaultConfig, Faults};
use crate::store::{Image, Store};
use crate::variants::Variant;

/// Public base URLs, resolved once the listening address is known.
#[derive(Debug, Clone)]
pub struct Urls {
    /// Base of this process (`http://127.0.0.1:8787`).
    pub public: String,
    /// Base of the upload host (`…/upload`).
    pub upload_base: String,
    /// Base of image delivery (`…/cdn`).
    pub delivery_base: String,
    /// Account hash in upload and delivery URLs.
    pub account_hash: String,
}

/// Shared state behind every route.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    store: Store,
    urls: Urls,
    http: reqwest::Client,
    clock: Clock,
    decode_budget: Arc<DecodeBudget>,
    upload_memory: Arc<tokio::sync::Semaphore>,
    faults: Option<Faults>,
}

impl AppState {
    /// Builds the state from its parts; with test controls, the fault state from the
    /// `--fault-*` flags.
    pub fn new(config: Config, store: Store, urls: Urls, clock: Clock) -> Self {
        Self {
            inner: Arc::new(Inner {
                faults: config
                    .enable_test_controls
                    .then(|| Faults::new(FaultConfig::from_flags(&config))),
                decode_budget: Arc::new(DecodeBudget::new(&config.decode_limits)),
                upload_memory: Arc::new(tokio::sync::Semaphore::new(
                    (config.upload_limits.upload_memory_mb * 1024) as usize,
                )),
                config,
                store,
                urls,
                http: http_client(),
                clock,
            }),
        }
    }
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }
    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }
    /// Public URLs.
    pub fn urls(&self) -> &Urls {
        &self.inner.urls
    }
    /// The values of every signing key; a delivery URL signed with any of them is valid.
    pub fn signing_keys(&self) -> Result<Vec<String>, ApiError> {
        Ok(self
            .store()
            .signing_keys()?
            .into_iter()
            .map(|(_, value)| value)
            .collect())
    }
    /// The outgoing HTTP client (backend → Images API, upload by URL, webhooks).
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }
    /// The memory budget every image decode (upload checks, renders) shares.
    pub fn decode_budget(&self) -> &Arc<DecodeBudget> {
        &self.inner.decode_budget
    }
    /// The memory upload bodies being received may hold together, in KiB permits.
    pub fn upload_memory(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.inner.upload_memory
    }
    /// The fault injection state; only with `--enable-test-controls`.
    pub fn faults(&self) -> Option<&Faults> {
        self.inner.faults.as_ref()
    }
    /// The service's idea of now.
    pub fn now(&self) -> OffsetDateTime {
        self.inner.clock.now()
    }
    /// Moves the service clock forward (test controls only).
    pub fn advance_clock(&self, seconds: i64) {
        self.inner.clock.advance(seconds);
    }

    /// The one-time upload URL of a draft.
    pub fn upload_url(&self, id: &str) -> String {
        join_url(
            &self.inner.urls.upload_base,
            &[&self.inner.urls.account_hash],
            id,
            None,
        )
    }

    /// The delivery URL of one variant of an image.
    pub fn delivery_url(&self, id: &str, variant: &str) -> String {
        join_url(
            &self.inner.urls.delivery_base,
            &[&self.inner.urls.account_hash],
            id,
            Some(variant),
        )
    }

    /// The image record as the API shows it, with every variant's URL.
    pub fn image_json(&self, row: &Image) -> Result<Value, ApiError> {
        let variants = self.store().variants()?;
        Ok(image_json(row, &variants, |variant| {
            self.delivery_url(&row.id, &variant.id)
        }))
    }
}

/// The outgoing HTTP client: a user agent that names the service, and a deadline on every
/// call so that no peer can hold a request forever.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("direct-upload-server/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("the HTTP client builds with static settings")
}

/// Renders a record; `url_of` gives each variant's URL.
pub fn image_json(row: &Image, variants: &[Variant], url_of: impl Fn(&Variant) -> String) -> Value {
    let mut record = json!({
        "id": row.id,
        "filename": row.file().map(|f| f.filename.clone()).unwrap_or_default(),
        "uploaded": row.uploaded,
        "requireSignedURLs": row.require_signed_urls,
        "variants": variants.iter().map(url_of).collect::<Vec<_>>(),
    });
    if let Some(creator) = &row.creator {
        record["creator"] = json!(creator);
    }
    if let Some(meta) = &row.meta {
        record["meta"] = meta.clone();
    }
    if row.is_draft() {
        record["draft"] = json!(true);
    }
    record
}

/// `base/segments…/id-segments…/last`, each segment percent-encoded; an id's `/` stays a `/`.
fn join_url(base: &str, segments: &[&str], id: &str, last: Option<&str>) -> String {
    let Ok(mut url) = url::Url::parse(base) else {
        return format!("{base}/{}/{id}", segments.join("/"));
    };
    {
        let Ok(mut path) = url.path_segments_mut() else {
            return base.to_string();
        };
        path.pop_if_empty();
        path.extend(segments);
        path.extend(id.split('/'));
        if let Some(last) = last {
            path.push(last);
        }
    }
    url.to_string()
}

/// Formats a time as Cloudflare does (`2014-01-02T02:20:00.123Z`).
pub fn rfc3339_millis(time: OffsetDateTime) -> String {
    let time = time
        .replace_nanosecond(time.millisecond() as u32 * 1_000_000)
        .unwrap_or(time);
    time.format(&Rfc3339).unwrap_or_default()
}
