//! Fault injection for the test controls: with `--enable-test-controls`, a seeded random
//! source makes requests on four routes fail the way real deployments fail (a crashed or hung
//! backend, an upload host that drops the connection before or after storing the file, a
//! stall, a 5xx from verification or delivery), so the widget's "exactly once" promise can be
//! tested against them. Without the flag none of this exists: [`crate::state::AppState`]
//! holds no [`Faults`], the routers get no [`guard`] layer, and the `--fault-*` flags are
//! refused at start-up.
//!
//! The decision is pure ([`FaultPlan`]): each request on a faultable route draws one number
//! from its route's own seeded stream; with probability `rate` it gets a fault picked
//! uniformly among the enabled kinds of that route. Each route has its own stream so that a
//! route's sequence of faults depends only on the seed and on how many requests that route
//! has seen, not on how its requests interleaved with other routes' (uploads and URL requests
//! run concurrently in the widget). A failing run is replayed from the warn line every fault
//! logs: seed, route, request number and kind.
//!
//! The rest is I/O: [`guard`] wraps a route's handler and acts the drawn fault out.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::Json;
use rand_pcg::rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::envelope::{ApiError, ApiResult};
use crate::state::AppState;

/// How long `backend_timeout` waits before its 504 unless `POST /_local/faults` says otherwise:
/// long enough to feel like a hung backend, short enough for a test to sit through.
pub const DEFAULT_BACKEND_TIMEOUT: Duration = Duration::from_secs(3);
/// How long `host_stall` keeps the uploader waiting unless told otherwise: longer than the
/// widget's 30 s stall watchdog, so the widget gives up first.
pub const DEFAULT_HOST_STALL: Duration = Duration::from_secs(120);
/// The longest `backend_timeout_ms` accepted: every fault must end by itself.
pub const MAX_BACKEND_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest `host_stall_ms` accepted.
pub const MAX_HOST_STALL: Duration = Duration::from_secs(600);
/// How much of a body `host_reset_mid_body` reads when the request declares no length.
const MID_BODY_UNKNOWN_LENGTH: u64 = 64 * 1024;

/// A route that can be faulted. Each kind belongs to exactly one route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultRoute {
    /// The reference backend's `POST /api/direct-upload`.
    Backend,
    /// The upload host's one-time upload route (`POST {upload_base}/{account_hash}/{id}`).
    Host,
    /// The reference backend's image status, `GET /api/images/{id}` (the widget's `verify`).
    Verify,
    /// Delivery of variants, `GET {delivery_base}/{account_hash}/{id}/{variant}`.
    Delivery,
}

impl FaultRoute {
    /// Every route, in the order reports list them.
    pub const ALL: [FaultRoute; 4] = [
        FaultRoute::Backend,
        FaultRoute::Host,
        FaultRoute::Verify,
        FaultRoute::Delivery,
    ];

    /// The route's name in reports and logs; also the prefix of its kinds' names.
    pub fn name(self) -> &'static str {
        match self {
            FaultRoute::Backend => "backend",
            FaultRoute::Host => "host",
            FaultRoute::Verify => "verify",
            FaultRoute::Delivery => "delivery",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// Mixed into the seed so that each route draws from a stream of its own.
    fn salt(self) -> u64 {
        // Distinct odd constants (multiples of the 64-bit golden ratio): seed_from_u64 hashes
        // its input, so any distinct values give unrelated streams.
        0x9E37_79B9_7F4A_7C15u64.wrapping_mul(2 * self as u64 + 1)
    }
}

/// One way a request can fail. The names (`backend_500`, …) are the wire and flag names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// The backend answers 500 with a plain-text body, as a crashed backend does.
    Backend500,
    /// The backend answers 503 in Cloudflare's envelope (code 5503).
    Backend503,
    /// The backend does its work (a draft may be created) but its answer never gets through:
    /// after the bounded timeout the client gets 504 from the proxy in front of it.
    BackendTimeout,
    /// The upload host closes the connection without reading the body or answering.
    HostResetBeforeRead,
    /// The upload host reads part of the body, then closes the connection without answering.
    HostResetMidBody,
    /// The upload host handles the upload for real (storing the file and using the URL),
    /// then closes the connection without answering.
    HostResetAfterStore,
    /// The upload host handles the upload for real, then answers 500 (envelope, code 5500).
    Host500AfterStore,
    /// The upload host handles the upload for real, then answers 502 in plain text, as an
    /// edge proxy does.
    Host502AfterStore,
    /// The upload host reads the whole body, stores nothing, and answers nothing for a long
    /// but bounded time (then 504).
    HostStall,
    /// The image-status route answers 502 in the envelope, as the backend does when it cannot
    /// reach the Images API.
    Verify5xx,
    /// Delivery answers 503 in plain text.
    Delivery5xx,
}

impl FaultKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [FaultKind; 11] = [
        FaultKind::Backend500,
        FaultKind::Backend503,
        FaultKind::BackendTimeout,
        FaultKind::HostResetBeforeRead,
        FaultKind::HostResetMidBody,
        FaultKind::HostResetAfterStore,
        FaultKind::Host500AfterStore,
        FaultKind::Host502AfterStore,
        FaultKind::HostStall,
        FaultKind::Verify5xx,
        FaultKind::Delivery5xx,
    ];

    /// The kind's wire and flag name.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Backend500 => "backend_500",
            FaultKind::Backend503 => "backend_503",
            FaultKind::BackendTimeout => "backend_timeout",
            FaultKind::HostResetBeforeRead => "host_reset_before_read",
            FaultKind::HostResetMidBody => "host_reset_mid_body",
            FaultKind::HostResetAfterStore => "host_reset_after_store",
            FaultKind::Host500AfterStore => "host_500_after_store",
            FaultKind::Host502AfterStore => "host_502_after_store",
            FaultKind::HostStall => "host_stall",
            FaultKind::Verify5xx => "verify_5xx",
            FaultKind::Delivery5xx => "delivery_5xx",
        }
    }

    /// The route this kind can happen on.
    pub fn route(self) -> FaultRoute {
        match self {
            FaultKind::Backend500 | FaultKind::Backend503 | FaultKind::BackendTimeout => {
                FaultRoute::Backend
            }
            FaultKind::HostResetBeforeRead
            | FaultKind::HostResetMidBody
            | FaultKind::HostResetAfterStore
            | FaultKind::Host500AfterStore
            | FaultKind::Host502AfterStore
            | FaultKind::HostStall => FaultRoute::Host,
            FaultKind::Verify5xx => FaultRoute::Verify,
            FaultKind::Delivery5xx => FaultRoute::Delivery,
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn help(self) -> &'static str {
        match self {
            FaultKind::Backend500 => "POST /api/direct-upload answers 500, plain text",
            FaultKind::Backend503 => "POST /api/direct-upload answers 503, envelope code 5503",
            FaultKind::BackendTimeout => "POST /api/direct-upload answers 504 after 3 s",
            FaultKind::HostResetBeforeRead => "upload: connection closed, body unread",
            FaultKind::HostResetMidBody => "upload: half the body read, connection closed",
            FaultKind::HostResetAfterStore => "upload: file stored, connection closed",
            FaultKind::Host500AfterStore => "upload: file stored, 500 envelope code 5500",
            FaultKind::Host502AfterStore => "upload: file stored, 502 plain text",
            FaultKind::HostStall => "upload: body read, nothing stored, no answer for 120 s",
            FaultKind::Verify5xx => "GET /api/images/{id} answers 502, envelope",
            FaultKind::Delivery5xx => "variant GETs answer 503, plain text",
        }
    }
}

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for FaultKind {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        FaultKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| {
                let names: Vec<_> = FaultKind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown fault kind '{name}': one of {}", names.join(", "))
            })
    }
}

impl Serialize for FaultKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Written by hand rather than derived so that the names live in one place, [`FaultKind::name`].
impl clap::ValueEnum for FaultKind {
    fn value_variants<'a>() -> &'a [Self] {
        &FaultKind::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()).help(self.help()))
    }
}

/// What faults to inject: set by the `--fault-*` flags at start-up, replaced by
/// `POST /_local/faults`.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// Seeds every route's stream.
    pub seed: u64,
    /// Probability, 0 to 1, that a request on a faultable route is faulted.
    pub rate: f64,
    /// The kinds that may be drawn, each once, in [`FaultKind::ALL`] order.
    pub kinds: Vec<FaultKind>,
    /// How long `backend_timeout` waits before answering 504.
    pub backend_timeout: Duration,
    /// How long `host_stall` waits before answering 504.
    pub host_stall: Duration,
    /// At most this many faults in all, then none: a test of one fault on its own sets 1.
    pub limit: Option<u64>,
}

impl FaultConfig {
    /// A configuration with the default durations; `kinds` empty means every kind.
    pub fn new(seed: u64, rate: f64, kinds: &[FaultKind]) -> Self {
        let kinds = if kinds.is_empty() {
            FaultKind::ALL.to_vec()
        } else {
            FaultKind::ALL
                .into_iter()
                .filter(|kind| kinds.contains(kind))
                .collect()
        };
        Self {
            seed,
            rate,
            kinds,
            backend_timeout: DEFAULT_BACKEND_TIMEOUT,
            host_stall: DEFAULT_HOST_STALL,
            limit: None,
        }
    }

    /// From the `--fault-*` flags; with no `--fault-seed`, a fresh random one.
    pub fn from_flags(config: &crate::Config) -> Self {
        Self::new(
            config.fault_seed.unwrap_or_else(random_seed),
            config.fault_rate,
            &config.fault_kinds,
        )
    }
}

/// A fresh seed below 2^53, so that it survives a round trip through a JavaScript number
/// (a browser test reading `GET /_local/faults` and posting the seed back).
pub fn random_seed() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().1 >> 11
}

/// Whether `rate` is a probability; NaN is not.
pub fn valid_rate(rate: f64) -> bool {
    (0.0..=1.0).contains(&rate)
}

/// One draw: the route's request number (from 1) and the fault it got, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Draw {
    /// The request's number on its route since the configuration was set.
    pub request: u64,
    /// The fault to act out, or none.
    pub fault: Option<FaultKind>,
}

/// The pure decision: one configuration's streams and counts. No clock, no I/O.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    config: FaultConfig,
    streams: [Pcg64Mcg; 4],
    requests: [u64; 4],
    injected: [u64; 11],
}

impl FaultPlan {
    /// Fresh streams and zero counts for `config`.
    pub fn new(config: FaultConfig) -> Self {
        let streams =
            FaultRoute::ALL.map(|route| Pcg64Mcg::seed_from_u64(config.seed ^ route.salt()));
        Self {
            config,
            streams,
            requests: [0; 4],
            injected: [0; 11],
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// Draws once for a request on `route` and counts it.
    pub fn draw(&mut self, route: FaultRoute) -> Draw {
        let sample = self.streams[route.index()].next_u64();
        self.requests[route.index()] += 1;
        let candidates: Vec<FaultKind> = self
            .config
            .kinds
            .iter()
            .copied()
            .filter(|kind| kind.route() == route)
            .collect();
        let spent = self.injected.iter().sum::<u64>();
        let fault = choose(sample, self.config.rate, &candidates)
            .filter(|_| self.config.limit.is_none_or(|limit| spent < limit));
        if let Some(kind) = fault {
            self.injected[kind.index()] += 1;
        }
        Draw {
            request: self.requests[route.index()],
            fault,
        }
    }

    /// What `GET /_local/faults` shows.
    pub fn report(&self) -> FaultReport {
        FaultReport {
            seed: self.config.seed,
            rate: self.config.rate,
            kinds: self.config.kinds.clone(),
            backend_timeout_ms: self.config.backend_timeout.as_millis() as u64,
            host_stall_ms: self.config.host_stall.as_millis() as u64,
            limit: self.config.limit,
            injected: FaultKind::ALL
                .iter()
                .map(|kind| (kind.name(), self.injected[kind.index()]))
                .collect(),
            requests: FaultRoute::ALL
                .iter()
                .map(|route| (route.name(), self.requests[route.index()]))
                .collect(),
        }
    }
}

/// One sample decides both whether and which: the top 53 bits give `u` uniform in [0, 1); a
/// fault when `u < rate`, and then `u / rate` is again uniform in [0, 1) and picks the kind.
/// So rate 0 never faults, rate 1 always does (when the route has an enabled kind).
fn choose(sample: u64, rate: f64, candidates: &[FaultKind]) -> Option<FaultKind> {
    let u = (sample >> 11) as f64 / (1u64 << 53) as f64;
    if candidates.is_empty() || u >= rate {
        return None;
    }
    let index = ((u / rate) * candidates.len() as f64) as usize;
    Some(candidates[index.min(candidates.len() - 1)])
}

/// What `GET /_local/faults` answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultReport {
    /// The seed in force.
    pub seed: u64,
    /// The rate in force.
    pub rate: f64,
    /// The kinds that may be drawn.
    pub kinds: Vec<FaultKind>,
    /// How long `backend_timeout` waits.
    pub backend_timeout_ms: u64,
    /// How long `host_stall` waits.
    pub host_stall_ms: u64,
    /// At most this many faults in all, if limited.
    pub limit: Option<u64>,
    /// Faults injected per kind (every kind listed) since the configuration was set.
    pub injected: BTreeMap<&'static str, u64>,
    /// Requests seen per route (every route listed) since the configuration was set.
    pub requests: BTreeMap<&'static str, u64>,
}

/// The shared, mutable fault state behind the routes; one per service with test controls.
#[derive(Clone)]
pub struct Faults {
    plan: Arc<Mutex<FaultPlan>>,
}

impl Faults {
    /// Faults for `config`.
    pub fn new(config: FaultConfig) -> Self {
        Self {
            plan: Arc::new(Mutex::new(FaultPlan::new(config))),
        }
    }

    fn plan(&self) -> std::sync::MutexGuard<'_, FaultPlan> {
        // A panic elsewhere while holding the lock leaves counts, never a broken stream.
        self.plan
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Replaces the configuration: fresh streams from its seed, counts back to zero.
    pub fn replace(&self, config: FaultConfig) -> FaultReport {
        tracing::warn!(
            seed = config.seed,
            rate = config.rate,
            kinds = %kind_list(&config.kinds),
            "faults configured"
        );
        let mut plan = self.plan();
        *plan = FaultPlan::new(config);
        plan.report()
    }

    /// The configuration in force.
    pub fn config(&self) -> FaultConfig {
        self.plan().config().clone()
    }

    /// The configuration and counts.
    pub fn report(&self) -> FaultReport {
        self.plan().report()
    }

    /// Draws for one request on `route`; a fault is logged with all it takes to replay it.
    pub fn draw(&self, route: FaultRoute) -> Option<Injection> {
        let (draw, seed, backend_timeout, host_stall) = {
            let mut plan = self.plan();
            let draw = plan.draw(route);
            let config = plan.config();
            (draw, config.seed, config.backend_timeout, config.host_stall)
        };
        let kind = draw.fault?;
        tracing::warn!(
            seed,
            request = draw.request,
            route = route.name(),
            kind = kind.name(),
            "injecting a fault"
        );
        Some(Injection {
            kind,
            backend_timeout,
            host_stall,
        })
    }
}

/// The kinds as `--fault-kinds` takes them (`a,b,c`), for logs.
pub fn kind_list(kinds: &[FaultKind]) -> String {
    kinds.iter().map(|k| k.name()).collect::<Vec<_>>().join(",")
}

/// A drawn fault with the durations in force when it was drawn.
#[derive(Debug, Clone, Copy)]
pub struct Injection {
    /// What to do.
    pub kind: FaultKind,
    /// How long `backend_timeout` waits.
    pub backend_timeout: Duration,
    /// How long `host_stall` waits.
    pub host_stall: Duration,
}

/// Wraps a route's handler so that each request draws; no layer at all without `faults`.
/// `route_layer`, so that requests the route refuses by method (405) draw nothing.
pub fn guard<S>(
    handler: MethodRouter<S>,
    faults: Option<&Faults>,
    route: FaultRoute,
) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    match faults {
        None => handler,
        Some(faults) => handler.route_layer(axum::middleware::from_fn_with_state(
            Guard {
                faults: faults.clone(),
                route,
            },
            inject,
        )),
    }
}

#[derive(Clone)]
struct Guard {
    faults: Faults,
    route: FaultRoute,
}

/// Draws, then acts the fault out around (or instead of) the handler.
async fn inject(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let Some(injection) = guard.faults.draw(guard.route) else {
        return next.run(request).await;
    };
    let kind = injection.kind;
    let mut response = match kind {
        FaultKind::Backend500 => plain(StatusCode::INTERNAL_SERVER_ERROR),
        FaultKind::Backend503 => envelope(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(5503),
            "Service unavailable; try again shortly",
        ),
        FaultKind::BackendTimeout => {
            // A proxy in front of a hung backend: the backend may finish its work (and create
            // a draft), but the client only ever hears 504, at the deadline and not before.
            let deadline = tokio::time::Instant::now() + injection.backend_timeout;
            let _ = tokio::time::timeout_at(deadline, next.run(request)).await;
            tokio::time::sleep_until(deadline).await;
            plain(StatusCode::GATEWAY_TIMEOUT)
        }
        FaultKind::HostResetBeforeRead => {
            drop(request);
            return closed_connection(kind);
        }
        FaultKind::HostResetMidBody => {
            read_part(request).await;
            return closed_connection(kind);
        }
        FaultKind::HostResetAfterStore => {
            // The real handler runs to its end: the file is stored and the URL used (or the
            // upload refused, as it would have been); only the answer is lost.
            drop(next.run(request).await);
            return closed_connection(kind);
        }
        FaultKind::Host500AfterStore => {
            drop(next.run(request).await);
            envelope(
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(5500),
                "Internal error",
            )
        }
        FaultKind::Host502AfterStore => {
            drop(next.run(request).await);
            plain(StatusCode::BAD_GATEWAY)
        }
        FaultKind::HostStall => {
            // The whole body is taken, so the uploader sees its progress reach the end; then
            // nothing. The handler never runs, so nothing is stored, now or when the client
            // gives up (hyper then drops this future, or the late 504 meets a closed socket).
            drain(request).await;
            tokio::time::sleep(injection.host_stall).await;
            plain(StatusCode::GATEWAY_TIMEOUT)
        }
        FaultKind::Verify5xx => envelope(
            StatusCode::BAD_GATEWAY,
            None,
            "The Images API could not be reached; try again later",
        ),
        FaultKind::Delivery5xx => {
            let mut response = plain(StatusCode::SERVICE_UNAVAILABLE);
            // As delivery's own answers: readable cross-origin, never sniffed.
            let headers = response.headers_mut();
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            response
        }
    };
    // Not exposed to pages (no Access-Control-Expose-Headers), but it names the fault to
    // anyone reading the exchange in devtools or a test.
    response
        .headers_mut()
        .insert("x-injected-fault", HeaderValue::from_static(kind.name()));
    response
}

/// `503 Service Unavailable` as plain text, the body a crashed server or a proxy gives.
fn plain(status: StatusCode) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or_default()
        ),
    )
        .into_response()
}

/// Cloudflare's v4 error envelope, with or without a code.
fn envelope(status: StatusCode, code: Option<u32>, message: &str) -> Response {
    let mut error = json!({"message": message});
    if let Some(code) = code {
        error["code"] = json!(code);
    }
    (
        status,
        Json(json!({"result": null, "success": false, "errors": [error], "messages": []})),
    )
        .into_response()
}

/// A response that is never sent: its body fails before its first byte. hyper (HTTP/1) only
/// buffers the head before polling the body, and a body error ends the connection at once,
/// unflushed; the client sees the connection close (or reset, when part of its body is still
/// unread) and no status. Handlers cannot otherwise drop a connection: axum's services are
/// infallible.
fn closed_connection(kind: FaultKind) -> Response {
    let error = std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        format!("injected fault {kind}: the connection is closed with no answer"),
    );
    let body = futures_util::stream::once(async move { Err::<Bytes, _>(error) });
    Response::new(Body::from_stream(body))
}

/// Reads about half of the declared body (or its first 64 KiB when it declares no length),
/// at least one chunk, and stops there.
async fn read_part(request: Request) {
    use http_body_util::BodyExt;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let want = declared.map_or(MID_BODY_UNKNOWN_LENGTH, |length| (length / 2).max(1));
    let mut body = request.into_body();
    let mut read = 0u64;
    while read < want {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len() as u64),
            _ => break,
        }
    }
}

/// Reads the body to its end (discarding it); the server's body timeouts bound how long.
async fn drain(request: Request) {
    use http_body_util::BodyExt;
    let mut body = request.into_body();
    while let Some(Ok(_)) = body.frame().await {}
}

/// `POST /_local/faults`: `{"seed", "rate", "kinds"?, "backend_timeout_ms"?, "host_stall_ms"?,
/// "limit"?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Replace {
    seed: u64,
    rate: f64,
    #[serde(default)]
    kinds: Option<Vec<String>>,
    #[serde(default)]
    backend_timeout_ms: Option<u64>,
    #[serde(default)]
    host_stall_ms: Option<u64>,
    #[serde(default)]
    limit: Option<u64>,
}

impl Replace {
    fn into_config(self) -> Result<FaultConfig, ApiError> {
        if !valid_rate(self.rate) {
            return Err(ApiError::bad_request(format!(
                "rate must be between 0 and 1, not {}",
                self.rate
            )));
        }
        let kinds = match self.kinds {
            None => Vec::new(),
            Some(names) if names.is_empty() => {
                return Err(ApiError::bad_request(
                    "kinds must name at least one kind (leave it out for every kind, or DELETE /_local/faults to turn faults off)",
                ))
            }
            Some(names) => names
                .iter()
                .map(|name| name.parse::<FaultKind>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(ApiError::bad_request)?,
        };
        let mut config = FaultConfig::new(self.seed, self.rate, &kinds);
        if let Some(ms) = self.backend_timeout_ms {
            config.backend_timeout = bounded("backend_timeout_ms", ms, MAX_BACKEND_TIMEOUT)?;
        }
        if let Some(ms) = self.host_stall_ms {
            config.host_stall = bounded("host_stall_ms", ms, MAX_HOST_STALL)?;
        }
        config.limit = self.limit;
        Ok(config)
    }
}

fn bounded(field: &str, ms: u64, most: Duration) -> Result<Duration, ApiError> {
    let duration = Duration::from_millis(ms);
    if duration > most {
        return Err(ApiError::bad_request(format!(
            "{field} must be at most {}",
            most.as_millis()
        )));
    }
    Ok(duration)
}

fn faults_of(state: &AppState) -> Result<&Faults, ApiError> {
    // Always there when the routes are (both come with --enable-test-controls).
    state
        .faults()
        .ok_or_else(|| ApiError::not_found("Fault injection needs --enable-test-controls"))
}

/// `GET /_local/faults`: the configuration and the counts since it was set.
pub async fn show(State(state): State<AppState>) -> ApiResult {
    Ok(Json(faults_of(&state)?.report()).into_response())
}

/// `POST /_local/faults`: replaces the configuration and resets the counts; answers like GET.
pub async fn replace(State(state): State<AppState>, body: Bytes) -> ApiResult {
    let faults = faults_of(&state)?;
    let request: Replace = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!("The body is not a fault configuration: {e}"))
    })?;
    Ok(Json(faults.replace(request.into_config()?)).into_response())
}

/// `DELETE /_local/faults`: rate 0 (nothing injected), counts reset, seed and kinds kept.
pub async fn turn_off(State(state): State<AppState>) -> ApiResult {
    let faults = faults_of(&state)?;
    let config = FaultConfig {
        rate: 0.0,
        ..faults.config()
    };
    Ok(Json(faults.replace(config)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(seed: u64, rate: f64, kinds: &[FaultKind]) -> FaultPlan {
        FaultPlan::new(FaultConfig::new(seed, rate, kinds))
    }

    fn faults_of(plan: &mut FaultPlan, route: FaultRoute, n: usize) -> Vec<Option<FaultKind>> {
        (0..n).map(|_| plan.draw(route).fault).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let a = faults_of(&mut plan(7, 0.5, &[]), FaultRoute::Host, 200);
        let b = faults_of(&mut plan(7, 0.5, &[]), FaultRoute::Host, 200);
        let c = faults_of(&mut plan(8, 0.5, &[]), FaultRoute::Host, 200);
        assert_eq!(a, b, "a seed must replay its faults exactly");
        assert_ne!(a, c, "another seed must give other faults");
    }

    #[test]
    fn a_route_s_faults_do_not_depend_on_other_routes_requests() {
        let alone = faults_of(&mut plan(3, 0.5, &[]), FaultRoute::Host, 50);
        let mut mixed = plan(3, 0.5, &[]);
        let interleaved: Vec<_> = (0..50)
            .map(|i| {
                for _ in 0..i % 3 {
                    mixed.draw(FaultRoute::Backend);
                }
                mixed.draw(FaultRoute::Host).fault
            })
            .collect();
        assert_eq!(
            alone, interleaved,
            "each route must draw from its own stream"
        );
    }

    #[test]
    fn rate_zero_never_faults_and_rate_one_always_does() {
        let mut never = plan(1, 0.0, &[]);
        let mut always = plan(1, 1.0, &[]);
        for route in FaultRoute::ALL {
            for _ in 0..500 {
                assert_eq!(never.draw(route).fault, None, "rate 0 must never fault");
                let kind = always.draw(route).fault.expect("rate 1 must always fault");
                assert_eq!(kind.route(), route, "a kind must only hit its own route");
            }
        }
    }

    #[test]
    fn a_limit_stops_faults_after_that_many() {
        let mut config = FaultConfig::new(3, 1.0, &[FaultKind::HostStall]);
        config.limit = Some(2);
        let mut p = FaultPlan::new(config);
        let draws: Vec<_> = (0..5).map(|_| p.draw(FaultRoute::Host).fault).collect();
        assert_eq!(draws.iter().flatten().count(), 2, "{draws:?}");
        assert_eq!(draws[..2], [Some(FaultKind::HostStall); 2], "the first two");
        assert_eq!(p.report().injected["host_stall"], 2);
    }

    #[test]
    fn the_rate_is_the_share_of_faulted_requests_and_kinds_are_uniform() {
        let mut p = plan(11, 0.3, &[]);
        let draws = faults_of(&mut p, FaultRoute::Host, 20_000);
        let faulted = draws.iter().flatten().count();
        assert!(
            (5_600..6_400).contains(&faulted),
            "about 30 % of 20,000 requests must be faulted, not {faulted}"
        );
        for kind in FaultKind::ALL
            .iter()
            .filter(|k| k.route() == FaultRoute::Host)
        {
            let n = draws.iter().filter(|d| **d == Some(*kind)).count();
            assert!(
                (800..1_200).contains(&n),
                "each of 6 host kinds must get about 1,000 of {faulted} faults; {kind} got {n}"
            );
        }
    }

    #[test]
    fn only_enabled_kinds_are_drawn_and_other_routes_are_spared() {
        let mut p = plan(5, 1.0, &[FaultKind::HostStall]);
        for _ in 0..100 {
            assert_eq!(p.draw(FaultRoute::Host).fault, Some(FaultKind::HostStall));
            assert_eq!(
                p.draw(FaultRoute::Backend).fault,
                None,
                "no backend kind is enabled"
            );
        }
    }

    #[test]
    fn the_report_counts_requests_per_route_and_faults_per_kind() {
        let mut p = plan(9, 0.5, &[FaultKind::Backend500, FaultKind::Verify5xx]);
        let mut faulted = 0;
        for _ in 0..40 {
            faulted += p.draw(FaultRoute::Backend).fault.is_some() as u64;
        }
        p.draw(FaultRoute::Delivery);
        let report = p.report();
        assert_eq!(report.requests["backend"], 40);
        assert_eq!(report.requests["delivery"], 1);
        assert_eq!(report.requests["host"], 0);
        assert_eq!(report.injected["backend_500"], faulted);
        assert_eq!(report.injected["verify_5xx"], 0);
        assert_eq!(
            report.injected.len(),
            FaultKind::ALL.len(),
            "every kind is listed"
        );
        assert_eq!(
            report.kinds,
            vec![FaultKind::Backend500, FaultKind::Verify5xx]
        );
    }

    #[test]
    fn kind_names_parse_back_and_unknown_names_are_refused() {
        for kind in FaultKind::ALL {
            assert_eq!(kind.name().parse::<FaultKind>(), Ok(kind));
            assert!(kind.name().starts_with(kind.route().name()));
        }
        let error = "host_explode".parse::<FaultKind>().unwrap_err();
        assert!(
            error.contains("host_stall"),
            "the refusal must list the kinds: {error}"
        );
    }

    #[test]
    fn a_logged_seed_replays_the_same_faults_in_every_build() {
        // Pinned: a seed in an old log must still name the faults that run saw. If this
        // fails, the generator or the draw changed, and old seeds no longer replay.
        let draws = faults_of(&mut plan(42, 0.5, &[]), FaultRoute::Host, 8);
        let names: Vec<_> = draws
            .iter()
            .map(|d| d.map_or("-", FaultKind::name))
            .collect();
        assert_eq!(names, PINNED);
    }

    const PINNED: [&str; 8] = [
        "-",
        "-",
        "-",
        "host_reset_before_read",
        "-",
        "host_stall",
        "-",
        "-",
    ];

    #[test]
    fn random_seeds_fit_a_javascript_number() {
        for _ in 0..100 {
            assert!(random_seed() < 1 << 53);
        }
    }
}
