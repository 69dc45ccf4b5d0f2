//! Configuration: every flag can also be set through an environment variable, and the
//! development defaults work with no flags at all.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// The account id used when none is given (the one Cloudflare's own SDK examples use).
pub const DEV_ACCOUNT_ID: &str = "023e105f4ecef8ad9ca31a8372d0c353";
/// The API token accepted when none is given. Development only: pass `--api-token` elsewhere.
pub const DEV_API_TOKEN: &str = "local-dev-token";

/// A local Cloudflare Images service (Images API v4, one-time upload host, image delivery)
/// and the reference backend endpoint a site owner runs for Direct Creator Upload.
#[derive(Debug, Clone, Parser)]
#[command(name = "direct-upload-server", version, about, long_about = None)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "DU_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,

    /// Directory for the SQLite database and the stored image files (created if missing).
    #[arg(long, env = "DU_DATA_DIR", default_value = ".data")]
    pub data_dir: PathBuf,

    /// Account id served by the local Images API.
    #[arg(long, env = "DU_ACCOUNT_ID", default_value = DEV_ACCOUNT_ID)]
    pub account_id: String,

    /// Bearer token the local Images API accepts (must not be empty).
    #[arg(long, env = "DU_API_TOKEN", default_value = DEV_API_TOKEN, hide_env_values = true,
          value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub api_token: String,

    /// Account hash used in upload and delivery URLs [default: derived from the account id].
    #[arg(long, env = "DU_ACCOUNT_HASH")]
    pub account_hash: Option<String>,

    /// Key for signed delivery URLs [default: generated once and kept in the data directory].
    #[arg(long, env = "DU_SIGNING_KEY")]
    pub signing_key: Option<String>,

    /// Public base URL of this process, used for the defaults below [default: http://LISTEN].
    #[arg(long, env = "DU_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Public base URL of the one-time upload host [default: PUBLIC_URL/upload].
    #[arg(long, env = "DU_UPLOAD_BASE")]
    pub upload_base: Option<String>,

    /// Public base URL of image delivery [default: PUBLIC_URL/cdn].
    #[arg(long, env = "DU_DELIVERY_BASE")]
    pub delivery_base: Option<String>,

    /// URL to POST a JSON notification to when a direct upload succeeds or fails.
    #[arg(long, env = "DU_WEBHOOK_URL")]
    pub webhook_url: Option<String>,

    /// Reference backend: account id at the real Cloudflare API. With --cf-api-token set, the
    /// backend calls Cloudflare instead of this process's embedded Images API.
    #[arg(long, env = "CF_ACCOUNT_ID")]
    pub cf_account_id: Option<String>,

    /// Reference backend: API token for the real Cloudflare API (never sent to a browser).
    #[arg(long, env = "CF_API_TOKEN", hide_env_values = true)]
    pub cf_api_token: Option<String>,

    /// Reference backend: base URL of the Images API it calls when CF_* credentials are set.
    #[arg(
        long,
        env = "CF_API_BASE",
        default_value = "https://api.cloudflare.com/client/v4"
    )]
    pub cf_api_base: String,

    /// Reference backend: metadata (a JSON object) put on every image it creates.
    #[arg(long, env = "DU_BACKEND_METADATA", default_value = "{}")]
    pub backend_metadata: String,

    /// Reference backend: create every upload with requireSignedURLs.
    #[arg(long, env = "DU_BACKEND_REQUIRE_SIGNED_URLS", default_value_t = false)]
    pub backend_require_signed_urls: bool,

    /// Reference backend: creator recorded on every image it creates.
    #[arg(long, env = "DU_BACKEND_CREATOR")]
    pub backend_creator: Option<String>,

    /// Reference backend: upload URL lifetime in seconds (120 to 21600).
    #[arg(long, env = "DU_BACKEND_EXPIRY_SECS", default_value_t = 1800,
          value_parser = clap::value_parser!(u64).range(120..=21_600))]
    pub backend_expiry_secs: u64,

    /// Reference backend: seconds after an upload during which `GET /api/images/{id}` hands
    /// out signed variant URLs of a private image (the uploader's own preview). Later it
    /// shows them unsigned, so an id seen once cannot mint access forever.
    #[arg(long, env = "DU_BACKEND_SIGNING_WINDOW_SECS", default_value_t = 3600)]
    pub backend_signing_window_secs: u64,

    /// Reference backend: comma-separated origins allowed to call it. `*` allows any origin
    /// without credentials (no cookies); list origins to let them send credentials.
    #[arg(
        long,
        env = "DU_ALLOWED_ORIGINS",
        default_value = "*",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// Reference backend: comma-separated request headers a cross-origin page may send
    /// (e.g. `content-type,x-csrf-token`).
    #[arg(
        long,
        env = "DU_ALLOWED_HEADERS",
        default_value = "content-type",
        value_delimiter = ','
    )]
    pub allowed_headers: Vec<String>,

    /// Reference backend: one-time URLs each client (by IP) may request per minute; 0 disables.
    #[arg(long, env = "DU_RATE_LIMIT_PER_MINUTE", default_value_t = 120)]
    pub rate_limit_per_minute: u32,

    /// Reference backend: comma-separated addresses or networks of reverse proxies (or
    /// Cloudflare's ranges) whose --client-ip-header names the client for the rate limit.
    /// Empty: the TCP peer is the client, and forwarded headers are ignored.
    #[arg(long, env = "DU_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,

    /// Reference backend: the header a trusted proxy names the client in:
    /// `x-forwarded-for` or `cf-connecting-ip` (behind Cloudflare).
    #[arg(long, env = "DU_CLIENT_IP_HEADER", default_value = "x-forwarded-for")]
    pub client_ip_header: String,

    /// Serve the files of this directory at `/` (e.g. the built demo in `dist/`), so that a
    /// page and its backend share one origin without Trunk.
    #[arg(long, env = "DU_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// Expose the `/_local/` test routes, e.g. `POST /_local/advance-clock?seconds=N`, which
    /// moves the service clock forward so tests can see upload URLs expire, and
    /// `/_local/faults` (fault injection, see --fault-rate). Never enable this outside tests.
    #[arg(long, env = "DU_TEST_CONTROLS", default_value_t = false)]
    pub enable_test_controls: bool,

    /// Test controls only: the share of requests, 0 to 1, on the faultable routes (the
    /// backend's direct-upload and image-status routes, the upload host, delivery) that get
    /// a fault; `POST /_local/faults` changes it at run time. Refused without
    /// --enable-test-controls.
    #[arg(long, env = "DU_FAULT_RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub fault_rate: f64,

    /// Test controls only: seed of the fault draws, so a failing run can be replayed
    /// [default: random, logged at start-up].
    #[arg(long, env = "DU_FAULT_SEED")]
    pub fault_seed: Option<u64>,

    /// Test controls only: comma-separated fault kinds that may be drawn [default: all].
    #[arg(long, env = "DU_FAULT_KINDS", value_delimiter = ',')]
    pub fault_kinds: Vec<crate::faults::FaultKind>,

    /// Seconds an expired draft is kept (its URL answers 410 "expired" meanwhile) before it
    /// is deleted; the purge runs at start-up and every --draft-purge-interval-secs.
    #[arg(long, env = "DU_DRAFT_RETENTION_SECS", default_value_t = 86_400)]
    pub draft_retention_secs: u64,

    /// Seconds between two purges of expired drafts.
    #[arg(long, env = "DU_DRAFT_PURGE_INTERVAL_SECS", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub draft_purge_interval_secs: u64,

    /// Write the bound address (`127.0.0.1:8787`) to this file once listening, so scripts
    /// can find a port chosen with `--listen 127.0.0.1:0`.
    #[arg(long, env = "DU_ADDR_FILE")]
    pub addr_file: Option<PathBuf>,

    /// Connection limits (timeouts, how many at once).
    #[command(flatten)]
    pub connections: ConnectionLimits,

    /// Limits of the one-time upload host (request bodies, multipart part headers).
    #[command(flatten)]
    pub upload_limits: crate::form::UploadLimits,

    /// Limits on decoding images (memory budget shared by ingest and delivery).
    #[command(flatten)]
    pub decode_limits: crate::decode_budget::DecodeLimits,
}

/// Limits on connections, so slow or idle clients cannot hold the server.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionLimits {
    /// Seconds a client has to send a request's headers; also how long an idle keep-alive
    /// connection stays open waiting for the next request.
    #[arg(long, env = "DU_HEADER_READ_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_secs: u64,

    /// Seconds a request body may go without sending a byte before the request fails.
    #[arg(long, env = "DU_BODY_IDLE_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub body_idle_timeout_secs: u64,

    /// Seconds a whole request body may take, however steadily it trickles in (10 MB at
    /// 35 KB/s fits the default).
    #[arg(long, env = "DU_BODY_TIMEOUT_SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout_secs: u64,

    /// Seconds a response may wait for the client to read before the connection is dropped.
    #[arg(long, env = "DU_WRITE_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub write_timeout_secs: u64,

    /// Seconds open requests get to finish after SIGTERM or Ctrl-C before the process ends.
    #[arg(long, env = "DU_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,

    /// Most connections open at once; more wait in the kernel's queue. Lowered at start-up
    /// to leave file descriptors for the database and image files.
    #[arg(long, env = "DU_MAX_CONNECTIONS", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,
}

/// A configuration that cannot be served; the message names the flag.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--api-token` is empty (an empty `X-Auth-Key` would then authenticate).
    #[error("--api-token must not be empty")]
    EmptyApiToken,
    /// `--cf-api-token` is set but empty.
    #[error("--cf-api-token must not be empty when set")]
    EmptyCfApiToken,
    /// `--fault-rate` is not between 0 and 1.
    #[error("--fault-rate must be between 0 and 1, not {0}")]
    FaultRate(f64),
    /// A `--fault-*` flag is set but there are no test controls: faults are test-only.
    #[error("{0} needs --enable-test-controls (faults are for tests only)")]
    FaultsNeedTestControls(&'static str),
    /// A reference backend setting is invalid.
    #[error(transparent)]
    Backend(#[from] crate::reference_backend::ConfigError),
}

impl Config {
    /// Refuses settings that would fail open; the reference backend's are checked by
    /// [`crate::reference_backend::BackendConfig::from_config`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.api_token.trim().is_empty() {
            return Err(ConfigError::EmptyApiToken);
        }
        if self
            .cf_api_token
            .as_ref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(ConfigError::EmptyCfApiToken);
        }
        if !crate::faults::valid_rate(self.fault_rate) {
            return Err(ConfigError::FaultRate(self.fault_rate));
        }
        if !self.enable_test_controls {
            // Refused rather than ignored: someone who asked for faults must not believe a
            // run without them was tested under faults.
            if self.fault_rate != 0.0 {
                return Err(ConfigError::FaultsNeedTestControls("--fault-rate"));
            }
            if self.fault_seed.is_some() {
                return Err(ConfigError::FaultsNeedTestControls("--fault-seed"));
            }
            if !self.fault_kinds.is_empty() {
                return Err(ConfigError::FaultsNeedTestControls("--fault-kinds"));
            }
        }
        Ok(())
    }

    /// Development defaults, as if started with no flags and no environment.
    pub fn dev(data_dir: impl Into<PathBuf>) -> Self {
        let mut config = Config::parse_from(["direct-upload-server"]);
        config.data_dir = data_dir.into();
        config
    }

    /// The account hash: configured, or a stable base64url digest of the account id.
    pub fn account_hash(&self) -> String {
        use base64::Engine;
        use sha2::Digest;
        self.account_hash.clone().unwrap_or_else(|| {
            let digest = sha2::Sha256::digest(self.account_id.as_bytes());
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
        })
    }
}

/// `--fault-rate`: a probability.
fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text.parse().map_err(|e| format!("{e}"))?;
    if crate::faults::valid_rate(rate) {
        Ok(rate)
    } else {
        Err(format!("{rate} is not between 0 and 1"))
    }
}
