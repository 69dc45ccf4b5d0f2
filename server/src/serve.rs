//! Serving connections with the limits `axum::serve` does not offer: a header-read timeout
//! (which also ends idle keep-alive connections), an idle timeout on request bodies, a cap on open connections below the
//! process's file-descriptor limit, and a graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Semaphore};
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

use crate::config::ConnectionLimits;
use crate::serve_guards::{DeadlineBody, WriteDeadline};

/// File descriptors kept free for the database, image files and outgoing requests.
const RESERVED_FDS: u64 = 64;

/// The connection cap actually used: the configured one, lowered to fit under the soft
/// `RLIMIT_NOFILE` so that accepting never starves the store of descriptors.
pub fn connection_cap(configured: u64) -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own and has no other effect.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0 {
        // rlim_t is u64 on Linux but not on every platform.
        #[allow(clippy::unnecessary_cast)]
        let soft = limit.rlim_cur as u64;
        soft
    } else {
        u64::MAX
    };
    let fitting = soft.saturating_sub(RESERVED_FDS).max(1);
    configured.min(fitting) as usize
}

/// Accepts connections until `shutdown` fires, then lets those open finish their requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let cap = connection_cap(limits.max_connections);
    let slots = Arc::new(Semaphore::new(cap));
    let header_timeout = Duration::from_secs(limits.header_read_timeout_secs);
    let body_idle = Duration::from_secs(limits.body_idle_timeout_secs);
    let body_deadline = Duration::from_secs(limits.body_timeout_secs);
    let write_timeout = Duration::from_secs(limits.write_timeout_secs);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    tracing::debug!(cap, "serving");
    loop {
        // Wait for a free slot before accepting: past the cap, clients wait in the kernel's
        // accept queue instead of taking descriptors the store needs.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // EMFILE and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                // A body that sends nothing for a while, or trickles past its deadline, fails,
                // so a stalled upload frees its slot and its memory.
                request.map(|body| {
                    let idle = TimeoutBody::new(body_idle, body);
                    axum::body::Body::new(DeadlineBody::new(idle, body_deadline))
                })
            });
        // HTTP/1 only: the automatic version sniffing reads the first bytes with no
        // deadline, so a client that connects and sends nothing would hold its slot forever.
        let mut builder = Builder::new(TokioExecutor::new()).http1_only();
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            // hyper's default read buffer is ~400 KB a connection; headers never need that.
            .max_buf_size(64 * 1024)
            .keep_alive(true);
        let connection = builder
            .serve_connection(
                WriteDeadline::new(TokioIo::new(stream), write_timeout),
                TowerToHyperService::new(service),
            )
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    // Requests in flight get a grace period, not forever: a client dripping its body must not
    // keep the process from stopping.
    let grace = Duration::from_secs(limits.shutdown_grace_secs);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period were dropped");
    }
    Ok(())
}
