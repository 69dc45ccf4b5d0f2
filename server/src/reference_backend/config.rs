//! The reference backend's settings, checked once at start-up: a site's policy that does not
//! parse must stop the process, never be silently dropped (fail closed).

use axum::http::{HeaderName, HeaderValue};
use ipnet::IpNet;
use serde_json::{Map, Value};

use crate::config::Config;

pub use crate::form::MAX_METADATA_BYTES;

/// A setting that cannot be used; the message names the flag and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--backend-metadata` is not a JSON object of at most 1024 bytes.
    #[error("--backend-metadata must be a JSON object of at most {MAX_METADATA_BYTES} bytes: {0}")]
    PolicyMetadata(String),
    /// `--backend-expiry-secs` is outside Cloudflare's 2 minutes to 6 hours.
    #[error("--backend-expiry-secs must be between 120 and 21600 (Cloudflare's 2 minutes to 6 hours), not {0}")]
    Expiry(u64),
    /// An entry of `--allowed-origins` is not an origin.
    #[error("--allowed-origins: '{0}' is not an origin such as https://shop.example (or *)")]
    Origin(String),
    /// An entry of `--allowed-headers` is not a header name.
    #[error("--allowed-headers: '{0}' is not a header name")]
    Header(String),
    /// An entry of `--trusted-proxies` is not an address or network.
    #[error("--trusted-proxies: '{0}' is not an IP address or network (10.0.0.0/8, ::1)")]
    Proxy(String),
    /// `--client-ip-header` names a header the backend does not know how to read.
    #[error("--client-ip-header must be x-forwarded-for or cf-connecting-ip, not '{0}'")]
    ClientIpHeader(String),
}

/// Which browser origins may call the backend.
#[derive(Debug, Clone)]
pub enum Origins {
    /// Any origin, without credentials: a page elsewhere may get upload URLs, but never as a
    /// visitor of this site (no cookies travel).
    Any,
    /// Only these origins, with credentials (cookies) allowed.
    List(Vec<HeaderValue>),
}

/// Where the client's address comes from, for the rate limit.
#[derive(Debug, Clone)]
pub struct ClientAddress {
    /// Peers whose word about the client is believed (a reverse proxy, Cloudflare's ranges).
    pub trusted_proxies: Vec<IpNet>,
    /// The header such a peer puts the client's address in.
    pub header: ClientIpHeader,
}

/// A header that carries the client address from a trusted proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientIpHeader {
    /// `X-Forwarded-For`: the right-most address that is not itself a trusted proxy.
    XForwardedFor,
    /// `CF-Connecting-IP`, which Cloudflare sets to the visitor's address.
    CfConnectingIp,
}

/// Where the Images API is and how the backend authenticates to it.
#[derive(Debug, Clone)]
pub struct ImagesApiTarget {
    /// Base URL (`https://api.cloudflare.com/client/v4`, or the embedded emulator's).
    pub base: String,
    /// Account id.
    pub account_id: String,
    /// API token (never sent to a browser).
    pub token: String,
}

/// Everything the reference backend needs, validated.
#[derive(Debug, Clone)]
pub struct BackendConfig {
    /// The Images API it calls.
    pub images_api: ImagesApiTarget,
    /// Metadata put on every upload; its keys win over the browser's.
    pub policy_metadata: Map<String, Value>,
    /// Create every upload with `requireSignedURLs`.
    pub require_signed_urls: bool,
    /// Creator recorded on every upload.
    pub creator: Option<String>,
    /// Upload URL lifetime.
    pub expiry_secs: u64,
    /// How long after an upload the status route signs a private image's variant URLs.
    pub signing_window_secs: u64,
    /// Browser origins allowed to call it.
    pub origins: Origins,
    /// Request headers browsers may send cross-origin (besides the CORS-safelisted ones).
    pub allowed_headers: Vec<HeaderName>,
    /// One-time URLs per client per minute; 0 turns the limit off.
    pub rate_limit_per_minute: u32,
    /// How the client's address is found behind proxies.
    pub client_address: ClientAddress,
}

impl BackendConfig {
    /// Checks the flags; `emulator_api` is the embedded Images API, used without `CF_*`.
    pub fn from_config(config: &Config, emulator_api: &str) -> Result<Self, ConfigError> {
        let images_api = match (&config.cf_account_id, &config.cf_api_token) {
            (Some(account), Some(token)) => ImagesApiTarget {
                base: config.cf_api_base.clone(),
                account_id: account.clone(),
                token: token.clone(),
            },
            _ => ImagesApiTarget {
                base: emulator_api.to_string(),
                account_id: config.account_id.clone(),
                token: config.api_token.clone(),
            },
        };
        let policy_metadata = match serde_json::from_str::<Value>(&config.backend_metadata) {
            Ok(Value::Object(map)) if config.backend_metadata.len() <= MAX_METADATA_BYTES => map,
            Ok(Value::Object(_)) => {
                return Err(ConfigError::PolicyMetadata(format!(
                    "it is {} bytes",
                    config.backend_metadata.len()
                )))
            }
            Ok(other) => {
                return Err(ConfigError::PolicyMetadata(format!(
                    "it is not an object but {other}"
                )))
            }
            Err(e) => return Err(ConfigError::PolicyMetadata(e.to_string())),
        };
        if !(120..=21_600).contains(&config.backend_expiry_secs) {
            return Err(ConfigError::Expiry(config.backend_expiry_secs));
        }
        let origins = if config.allowed_origins.iter().any(|o| o.trim() == "*") {
            Origins::Any
        } else {
            let list = config
                .allowed_origins
                .iter()
                .map(|o| o.trim())
                .filter(|o| !o.is_empty())
                .map(|o| parse_origin(o).ok_or_else(|| ConfigError::Origin(o.to_string())))
                .collect::<Result<Vec<_>, _>>()?;
            Origins::List(list)
        };
        let allowed_headers = config
            .allowed_headers
            .iter()
            .map(|h| h.trim())
            .filter(|h| !h.is_empty())
            .map(|h| HeaderName::try_from(h).map_err(|_| ConfigError::Header(h.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let trusted_proxies = config
            .trusted_proxies
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| ConfigError::Proxy(p.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let header = match config.client_ip_header.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => ClientIpHeader::XForwardedFor,
            "cf-connecting-ip" => ClientIpHeader::CfConnectingIp,
            other => return Err(ConfigError::ClientIpHeader(other.to_string())),
        };
        Ok(Self {
            images_api,
            policy_metadata,
            require_signed_urls: config.backend_require_signed_urls,
            creator: config.backend_creator.clone(),
            expiry_secs: config.backend_expiry_secs,
            signing_window_secs: config.backend_signing_window_secs,
            origins,
            allowed_headers,
            rate_limit_per_minute: config.rate_limit_per_minute,
            client_address: ClientAddress {
                trusted_proxies,
                header,
            },
        })
    }
}

/// `scheme://host[:port]` and nothing else, as browsers send in `Origin`.
fn parse_origin(text: &str) -> Option<HeaderValue> {
    let url = url::Url::parse(text).ok()?;
    let origin = url.origin().ascii_serialization();
    (origin == text.trim_end_matches('/')).then(|| HeaderValue::from_str(&origin).ok())?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(adjust: impl FnOnce(&mut Config)) -> Result<BackendConfig, ConfigError> {
        let mut config = Config::dev("/tmp/unused");
        adjust(&mut config);
        BackendConfig::from_config(&config, "http://127.0.0.1:1/client/v4")
    }

    #[test]
    fn a_policy_that_does_not_parse_stops_the_start() {
        for bad in ["{not json", "[1,2]", "\"text\""] {
            let error = with(|c| c.backend_metadata = bad.into()).unwrap_err();
            assert!(
                error.to_string().contains("--backend-metadata"),
                "{bad}: {error}"
            );
        }
        let huge = format!(r#"{{"k":"{}"}}"#, "x".repeat(2000));
        assert!(with(|c| c.backend_metadata = huge).is_err());
        assert!(with(|c| c.backend_metadata = r#"{"site":"a"}"#.into()).is_ok());
    }

    #[test]
    fn expiry_must_be_within_cloudflares_range() {
        for bad in [0, 119, 21_601] {
            assert!(matches!(
                with(|c| c.backend_expiry_secs = bad),
                Err(ConfigError::Expiry(_))
            ));
        }
        assert!(with(|c| c.backend_expiry_secs = 120).is_ok());
    }

    #[test]
    fn origins_are_origins_and_star_means_any_without_credentials() {
        assert!(matches!(with(|_| {}).unwrap().origins, Origins::Any));
        let listed = with(|c| c.allowed_origins = vec!["https://shop.example".into()]).unwrap();
        assert!(matches!(listed.origins, Origins::List(ref l) if l.len() == 1));
        assert!(with(|c| c.allowed_origins = vec!["https://shop.example/path".into()]).is_err());
    }

    #[test]
    fn proxies_are_addresses_or_networks() {
        let config = with(|c| c.trusted_proxies = vec!["10.0.0.0/8".into(), "::1".into()]).unwrap();
        assert_eq!(config.client_address.trusted_proxies.len(), 2);
        assert!(with(|c| c.trusted_proxies = vec!["proxy.local".into()]).is_err());
        assert!(with(|c| c.client_ip_header = "x-real-ip".into()).is_err());
    }
}
