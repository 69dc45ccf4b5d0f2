//! `direct-upload-server`: starts the local Cloudflare Images service and reference backend.

use clap::Parser;
use direct_upload_server::{start, Config};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "direct_upload_server=info,tower_http=warn".into()),
        )
        .init();
    let config = Config::parse();
    let backend_target = match (&config.cf_account_id, &config.cf_api_token) {
        (Some(account), Some(_)) => {
            format!("Cloudflare at {} (account {account})", config.cf_api_base)
        }
        _ => "the embedded Images API".to_string(),
    };
    let running = match start(config.clone()).await {
        Ok(running) => running,
        Err(error) => {
            eprintln!("direct-upload-server: {error}");
            std::process::exit(2);
        }
    };
    let urls = &running.urls;
    println!(
        "direct-upload-server listening on http://{addr}\n\
         \x20 Images API:   {api}   (account id {account}, Authorization: Bearer {token})\n\
         \x20 Upload host:  {upload}/{hash}/<id>\n\
         \x20 Delivery:     {delivery}/{hash}/<id>/<variant>\n\
         \x20 Backend:      {public}/api/direct-upload -> {backend_target}\n\
         \x20 Data:         {data}",
        addr = running.addr,
        api = running.api_base(),
        account = config.account_id,
        token = config.api_token,
        upload = urls.upload_base,
        hash = urls.account_hash,
        delivery = urls.delivery_base,
        public = urls.public,
        data = config.data_dir.display(),
    );
    // Stop cleanly on Ctrl-C and on SIGTERM (what the demo script sends).
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        _ = terminate.recv() => {}
    }
    running.stop().await
}
