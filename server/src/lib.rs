//! A local Cloudflare Images service and the reference Direct Creator Upload backend.
//!
//! One process serves four things (see the README for the full list of routes):
//! the Images API v4 (`/client/v4/accounts/{account_id}/images/…`), the one-time upload host
//! (`/upload/…`), image delivery (`/cdn/…`) and the reference backend (`/api/…`).

pub mod api;
pub mod backend;
pub mod config;
pub mod decode_budget;
pub mod delivery;
pub mod envelope;
pub mod form;
pub mod images_client;
pub mod imaging;
pub mod ingest;
pub mod ratelimit;
pub mod signing;
pub mod state;
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

pub use config::Config;
use state::{AppState, Urls};
use store::Store;

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

/// Binds, opens the store and starts serving in the background.
pub async fn start(config: Config) -> std::io::Result<Running> {
    std::fs::create_dir_all(&config.data_dir)?;
    let store = Store::open(&config.data_dir).map_err(|e| std::io::Error::other(e.message))?;
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let public = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"))
        .trim_end_matches('/')
        .to_string();
    let urls = Urls {
        upload_base: config
            .upload_base
            .clone()
            .unwrap_or_else(|| format!("{public}/upload"))
            .trim_end_matches('/')
            .to_string(),
        delivery_base: config
            .delivery_base
            .clone()
            .unwrap_or_else(|| format!("{public}/cdn"))
            .trim_end_matches('/')
            .to_string(),
        account_hash: config.account_hash(),
        public,
    };
    // The key named "default": the configured one, else the one kept from an earlier run,
    // else a new one.
    let io = |e: envelope::ApiError| std::io::Error::other(e.message);
    let has_default = store
        .signing_keys()
        .map_err(io)?
        .iter()
        .any(|(name, _)| name == "default");
    match &config.signing_key {
        Some(key) => store.put_signing_key("default", key).map_err(io)?,
        None if !has_default => {
            // Data directories from before named keys kept the key as a setting.
            let kept = store.setting("signing_key").map_err(io)?;
            store
                .put_signing_key("default", &kept.unwrap_or_else(new_signing_key))
                .map_err(io)?
        }
        None => {}
    }
    let state = AppState::new(config.clone(), store, urls.clone());

    let client = match (&config.cf_account_id, &config.cf_api_token) {
        (Some(account), Some(token)) => images_client::ImagesClient::new(
            state.http().clone(),
            &config.cf_api_base,
            account,
            token,
        ),
        _ => images_client::ImagesClient::new(
            state.http().clone(),
            format!("{}/client/v4", urls.public),
            &config.account_id,
            &config.api_token,
        ),
    };
    let backend = backend::Backend::new(state.clone(), client);

    let mut api_routes = api::routes(state.clone());
    if config.enable_test_controls {
        api_routes = api_routes.layer(api::test_cors());
    }
    let mut app = Router::new()
        .nest("/client/v4/accounts/{account_id}/images", api_routes)
        .nest(&path_of(&urls.upload_base), upload::routes())
        .nest(&path_of(&urls.delivery_base), delivery::routes());
    if config.static_dir.is_none() {
        app = app.route("/", get(index));
    }
    if config.enable_test_controls {
        tracing::warn!("test controls are enabled: /_local/ can expire URLs and move the clock");
        app = app.nest("/_local", test_controls::routes());
    }
    let mut app = app.with_state(state).nest("/api", backend::routes(backend));
    if let Some(dir) = &config.static_dir {
        app = app.fallback_service(tower_http::services::ServeDir::new(dir));
    }
    let app = app.layer(TraceLayer::new_for_http());

    let (sender, receiver) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = receiver.await;
        })
        .await
    });
    Ok(Running {
        addr,
        urls,
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
