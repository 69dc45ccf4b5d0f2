//! A local Cloudflare Images service and the reference Direct Creator Upload backend.
//!
//! One process serves four things (see the README for the full list of routes):
//! the Images API v4 (`/client/v4/accounts/{account_id}/images/…`), the one-time upload host
//! (`/upload/…`), image delivery (`/cdn/…`) and the reference backend (`/api/…`).
//! [`app`] builds all of it as one router without binding a port; [`start`] binds and serves.

pub mod api;
pub mod clock;
pub mod config;
pub mod decode_budget;
pub mod delivery;
pub mod envelope;
pub mod faults;
pub mod form;
pub mod image_id;
pub mod imaging;
pub mod ingest;
pub mod reference_backend;
pub mod serve;
pub mod serve_guards;
pub mod signing;
pub mod state;
pub mod static_files;
pub mod store;
pub mod test_controls;
pub mod upload;
pub mod variants;
pub mod webhook;

use std::net::SocketAddr;

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::trace::TraceLayer;

use clock::Clock;
pub use config::{Config, ConfigError};
use reference_backend::BackendConfig;
use state::{AppState, Urls};
use store::Store;

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is invalid.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The data directory or database cannot be used.
    #[error("cannot open the store in {dir}: {reason}")]
    Store {
        /// The data directory.
        dir: String,
        /// What failed.
        reason: String,
    },
    /// Binding or serving failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A running service.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its public URLs.
    pub urls: Urls,
    /// The account id its API serves.
    pub account_id: String,
    /// The token its API accepts.
    pub api_token: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Base URL of the Images API v4 (`…/client/v4`), as the SDKs take it.
    pub fn api_base(&self) -> String {
        format!("{}/client/v4", self.urls.public)
    }

    /// Stops accepting requests, lets those in flight finish, and waits for the end.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
        self.task.await.map_err(std::io::Error::other)?
    }

    /// Waits until the server ends (it ends only on error or after [`Running::stop`]).
    pub async fn wait(self) -> std::io::Result<()> {
        self.task.await.map_err(std::io::Error::other)?
    }
}

fn path_of(base: &str) -> String {
    let path = url::Url::parse(base)
        .map(|u| u.path().trim_end_matches('/').to_string())
        .unwrap_or_default();
    if path.is_empty() {
        "/".into()
    } else {
        path
    }
}

/// The public URLs: configured, or derived from `--public-url` (or the listen address).
pub fn urls_of(config: &Config) -> Urls {
    let public = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen))
        .trim_end_matches('/')
        .to_string();
    let base = |configured: &Option<String>, path: &str| {
        configured
            .clone()
            .unwrap_or_else(|| format!("{public}/{path}"))
            .trim_end_matches('/')
            .to_string()
    };
    Urls {
        upload_base: base(&config.upload_base, "upload"),
        delivery_base: base(&config.delivery_base, "cdn"),
        account_hash: config.account_hash(),
        public: public.clone(),
    }
}

/// The whole service as one router, without binding a port: checks the configuration, opens
/// the store in `config.data_dir` and makes sure a signing key named `default` exists. The
/// public URLs come from `--public-url` (or the listen address), which is also where the
/// reference backend reaches the embedded Images API over HTTP.
pub fn app(config: Config) -> Result<Router, StartError> {
    Ok(app_with_state(config)?.0)
}

/// [`app`], and the state behind it (for the background purge).
fn app_with_state(config: Config) -> Result<(Router, AppState), StartError> {
    config.validate()?;
    let urls = urls_of(&config);
    let backend_config = BackendConfig::from_config(&config, &format!("{}/client/v4", urls.public))
        .map_err(ConfigError::from)?;
    let store_error = |reason: String| StartError::Store {
        dir: config.data_dir.display().to_string(),
        reason,
    };
    std::fs::create_dir_all(&config.data_dir).map_err(|e| store_error(e.to_string()))?;
    let store = Store::open(&config.data_dir).map_err(|e| store_error(e.to_string()))?;
    // Half-written files a crash (kill -9 mid-write) left behind; no request runs yet.
    let orphans = ingest::remove_orphans(&[&config.data_dir.join("images"), store.cache_dir()])
        .map_err(|e| store_error(e.to_string()))?;
    if orphans > 0 {
        tracing::info!(
            orphans,
            "removed half-written files left by an earlier crash"
        );
    }
    ensure_default_signing_key(&store, config.signing_key.as_deref())
        .map_err(|e| store_error(e.to_string()))?;

    let clock = Clock::default();
    let state = AppState::new(config.clone(), store, urls.clone(), clock.clone());
    purge_expired_drafts(&state);
    let mut api_routes = api::routes(state.clone());
    if config.enable_test_controls {
        api_routes = api_routes.layer(api::test_cors());
    }
    let mut app = Router::new()
        .nest("/client/v4/accounts/{account_id}/images", api_routes)
        .nest(&path_of(&urls.upload_base), upload::routes(state.faults()))
        .nest(
            &path_of(&urls.delivery_base),
            delivery::routes(state.faults()),
        );
    if config.static_dir.is_none() {
        app = app.route("/", get(index));
    }
    if config.enable_test_controls {
        tracing::warn!("test controls are enabled: /_local/ can expire URLs and move the clock");
        if let Some(faults) = state.faults() {
            let config = faults.config();
            tracing::warn!(
                seed = config.seed,
                rate = config.rate,
                kinds = %faults::kind_list(&config.kinds),
                "fault injection: replay with --fault-seed {}",
                config.seed
            );
        }
        app = app.nest("/_local", test_controls::routes());
    }
    let backend =
        reference_backend::router(backend_config, state::http_client(), clock, state.faults());
    let mut app = app.with_state(state.clone()).nest("/api", backend);
    if let Some(dir) = &config.static_dir {
        app = app.fallback_service(static_files::router(dir));
    }
    Ok((app.layer(TraceLayer::new_for_http()), state))
}

/// Deletes drafts expired longer ago than `--draft-retention-secs`: every anonymous backend
/// call creates one, and most are never used.
pub fn purge_expired_drafts(state: &AppState) {
    let before = state.now().unix_timestamp() - state.config().draft_retention_secs as i64;
    match state.store().purge_expired_drafts(before) {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "expired drafts deleted"),
        Err(error) => tracing::warn!(%error, "purging expired drafts failed"),
    }
}

/// The key named "default": the configured one, else the one kept from an earlier run, else
/// a new one.
fn ensure_default_signing_key(
    store: &Store,
    configured: Option<&str>,
) -> Result<(), store::StoreError> {
    let has_default = store
        .signing_keys()?
        .iter()
        .any(|(name, _)| name == "default");
    match configured {
        Some(key) => store.put_signing_key("default", key),
        None if !has_default => {
            // Data directories from before named keys kept the key as a setting.
            let kept = store.setting("signing_key")?;
            store.put_signing_key("default", &kept.unwrap_or_else(new_signing_key))
        }
        None => Ok(()),
    }
}

/// Binds, builds the [`app`] and serves it in the background.
pub async fn start(mut config: Config) -> Result<Running, StartError> {
    config.validate()?;
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    // With port 0, the URLs must name the port actually bound.
    config.listen = addr;
    let (app, state) = app_with_state(config.clone())?;
    if let Some(path) = &config.addr_file {
        // Written whole then renamed, so a script polling for it never reads half an address.
        let partial = path.with_extension("partial");
        std::fs::write(&partial, addr.to_string())?;
        std::fs::rename(&partial, path)?;
    }
    let (sender, receiver) = oneshot::channel::<()>();
    let purge = tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(
            state.config().draft_purge_interval_secs,
        ));
        every.tick().await; // the first tick is immediate; app() already purged
        loop {
            every.tick().await;
            purge_expired_drafts(&state);
        }
    });
    let connections = config.connections.clone();
    let task = tokio::spawn(async move {
        let result = serve::serve(listener, app, connections, receiver).await;
        purge.abort();
        result
    });
    Ok(Running {
        addr,
        urls: urls_of(&config),
        account_id: config.account_id.clone(),
        api_token: config.api_token.clone(),
        shutdown: Some(sender),
        task,
    })
}

/// A fresh random signing key (256 bits, hex).
pub fn new_signing_key() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

async fn index(State(state): State<AppState>) -> impl IntoResponse {
    let urls = state.urls();
    format!(
        "direct-upload local Cloudflare Images service\n\n\
         Images API:        {}/client/v4/accounts/{}/images/v1\n\
         Upload host:       {}/{}/<image id>\n\
         Delivery:          {}/{}/<image id>/<variant>\n\
         Reference backend: {}/api/direct-upload\n",
        urls.public,
        state.config().account_id,
        urls.upload_base,
        urls.account_hash,
        urls.delivery_base,
        urls.account_hash,
        urls.public
    )
}
