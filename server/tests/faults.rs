//! Fault injection (`/_local/faults`, `--fault-*`): each kind forced on its own, showing what
//! the client sees and what the service holds afterwards; seeded replay; the counts; and that
//! without `--enable-test-controls` none of it exists.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `POST /_local/faults`; the answer must be 200.
async fn set_faults(s: &Service, config: Value) -> Value {
    let (status, body) = send(s.http.post(s.url("/_local/faults")).json(&config)).await;
    assert_eq!(status, 200, "POST /_local/faults {config} failed: {body}");
    body
}

/// Every request on the route faulted with `kind`; durations shortened for tests.
async fn only(s: &Service, kind: &str) -> Value {
    set_faults(
        s,
        json!({"seed": 1, "rate": 1.0, "kinds": [kind],
               "backend_timeout_ms": 400, "host_stall_ms": 1500}),
    )
    .await
}

async fn report(s: &Service) -> Value {
    let (status, body) = send(s.http.get(s.url("/_local/faults"))).await;
    assert_eq!(status, 200, "GET /_local/faults failed: {body}");
    body
}

async fn faults_off(s: &Service) {
    let (status, body) = send(s.http.delete(s.url("/_local/faults"))).await;
    assert_eq!(status, 200, "DELETE /_local/faults failed: {body}");
}

/// The image record the Images API holds.
async fn record(s: &Service, id: &str) -> Value {
    let (status, body) = send(s.get(&format!("v1/{id}"))).await;
    assert_eq!(status, 200, "GET v1/{id} failed: {body}");
    body["result"].clone()
}

async fn is_draft(s: &Service, id: &str) -> bool {
    record(s, id).await["draft"] == true
}

fn upload_form(bytes: &[u8]) -> Form {
    Form::new().part(
        "file",
        Part::bytes(bytes.to_vec()).file_name("photo.png".to_string()),
    )
}

/// What a client sees when the connection is closed without an answer: an error that is
/// neither an HTTP status nor a timeout. Returns the error's whole chain, for messages.
fn assert_connection_error(result: Result<reqwest::Response, reqwest::Error>) -> String {
    let error = match result {
        Ok(response) => panic!(
            "expected the connection to close with no answer, got HTTP {}",
            response.status()
        ),
        Err(error) => error,
    };
    assert!(
        !error.is_timeout(),
        "expected a closed connection, not a timeout: {error:?}"
    );
    assert!(
        error.status().is_none(),
        "a closed connection has no status: {error:?}"
    );
    let mut chain = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        chain.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    chain
}

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

async fn backend_request(s: &Service) -> reqwest::Response {
    s.http
        .post(s.url("/api/direct-upload"))
        .json(&json!({}))
        .send()
        .await
        .expect("the backend answers")
}

fn injected(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("x-injected-fault")
        .map(|v| v.to_str().unwrap().to_string())
}

// ---- the backend's POST /api/direct-upload ----

#[tokio::test]
async fn backend_500_answers_plain_text_like_a_crashed_backend() {
    let s = service().await;
    only(&s, "backend_500").await;
    let response = backend_request(&s).await;
    assert_eq!(response.status(), 500);
    assert_eq!(injected(&response).as_deref(), Some("backend_500"));
    assert_eq!(response.text().await.unwrap(), "500 Internal Server Error");
    let counts = report(&s).await;
    assert_eq!(counts["injected"]["backend_500"], 1);
    assert_eq!(counts["requests"]["backend"], 1);
}

#[tokio::test]
async fn backend_503_answers_in_cloudflare_s_envelope() {
    let s = service().await;
    only(&s, "backend_503").await;
    let (status, body) = send(s.http.post(s.url("/api/direct-upload")).json(&json!({}))).await;
    assert_eq!((status, code(&body)), (503, 5503), "{body}");
}

#[tokio::test]
async fn backend_timeout_answers_504_at_its_deadline_and_not_before() {
    let s = service().await;
    only(&s, "backend_timeout").await; // 400 ms
    let started = Instant::now();
    let response = backend_request(&s).await;
    let waited = started.elapsed();
    assert_eq!(response.status(), 504);
    assert!(
        waited >= Duration::from_millis(400),
        "the 504 must come at the deadline, not after {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(5),
        "bounded: it took {waited:?}"
    );
}

#[tokio::test]
async fn fault_answers_from_the_backend_carry_cors_so_a_page_sees_the_status() {
    let s = service().await;
    only(&s, "backend_503").await;
    let response = s
        .http
        .post(s.url("/api/direct-upload"))
        .header("origin", "https://site.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "*",
        "without CORS a page would see a network error instead of the 503"
    );
}

// ---- the upload host ----

#[tokio::test]
async fn host_reset_before_read_closes_the_connection_and_the_url_stays_usable() {
    let s = service().await;
    let (id, url) = s.direct_upload(&[]).await;
    only(&s, "host_reset_before_read").await;
    let error = assert_connection_error(
        client(Duration::from_secs(20))
            .post(&url)
            .multipart(upload_form(&png(40, 40)))
            .send()
            .await,
    );
    assert!(is_draft(&s, &id).await, "nothing may be stored ({error})");
    faults_off(&s).await;
    let (status, body) = s.upload_to(&url, &png(40, 40), "again.png").await;
    assert_eq!(
        status, 200,
        "the URL was not used, so a retry to it works: {body}"
    );
}

#[tokio::test]
async fn host_reset_mid_body_reads_part_then_closes_and_stores_nothing() {
    let s = service().await;
    let (id, url) = s.direct_upload(&[]).await;
    only(&s, "host_reset_mid_body").await;
    // Large enough that the client is still sending when the host stops reading.
    let big = vec![0x5a; 4 * 1024 * 1024];
    let error = assert_connection_error(
        client(Duration::from_secs(20))
            .post(&url)
            .multipart(upload_form(&big))
            .send()
            .await,
    );
    assert!(is_draft(&s, &id).await, "nothing may be stored ({error})");
    faults_off(&s).await;
    let (status, body) = s.upload_to(&url, &png(40, 40), "again.png").await;
    assert_eq!(status, 200, "the URL was not used: {body}");
}

#[tokio::test]
async fn host_reset_after_store_stores_the_file_but_the_client_hears_nothing() {
    let s = service().await;
    let (id, url) = s.direct_upload(&[]).await;
    only(&s, "host_reset_after_store").await;
    let bytes = png(48, 32);
    let error = assert_connection_error(
        client(Duration::from_secs(20))
            .post(&url)
            .multipart(upload_form(&bytes))
            .send()
            .await,
    );
    let stored = record(&s, &id).await;
    assert!(
        stored.get("draft").is_none(),
        "the image must be stored although the client saw only '{error}': {stored}"
    );
    assert_eq!(s.blob(&id).await, bytes, "the stored file is the one sent");
    faults_off(&s).await;
    let (status, body) = s.upload_to(&url, &png(40, 40), "again.png").await;
    assert_eq!(
        (status, code(&body)),
        (409, 5409),
        "the URL was used by the upload whose answer was lost"
    );
}

#[tokio::test]
async fn host_500_after_store_answers_500_yet_the_image_is_stored() {
    let s = service().await;
    let (id, url) = s.direct_upload(&[]).await;
    only(&s, "host_500_after_store").await;
    let bytes = png(30, 30);
    let (status, body) = s.upload_to(&url, &bytes, "photo.png").await;
    assert_eq!((status, code(&body)), (500, 5500), "{body}");
    assert!(record(&s, &id).await.get("draft").is_none(), "stored");
    assert_eq!(s.blob(&id).await, bytes);
}

#[tokio::test]
async fn host_502_after_store_answers_plain_text_yet_the_image_is_stored() {
    let s = service().await;
    let (id, url) = s.direct_upload(&[]).await;
    only(&s, "host_502_after_store").await;
    let bytes = png(30, 30);
    let response = s
        .http
        .post(&url)
        .multipart(upload_form(&bytes))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    assert_eq!(response.text().await.unwrap(), "502 Bad Gateway");
    assert!(record(&s, &id).await.get("draft").is_none(), "stored");
    assert_eq!(s.blob(&id).await, bytes);
}

#[tokio::test]
async fn host_stall_takes_the_body_answers_nothing_and_never_stores() {
    let s = service().await;
    let (id, url) = s.direct_upload(&[]).await;
    only(&s, "host_stall").await; // 1500 ms
                                  // A client that gives up first, as the widget's watchdog does.
    let started = Instant::now();
    let gave_up = client(Duration::from_millis(300))
        .post(&url)
        .multipart(upload_form(&png(40, 40)))
        .send()
        .await
        .expect_err("no answer may come before the stall ends");
    assert!(gave_up.is_timeout(), "{gave_up:?}");
    // A client that waits gets the 504, and only after the stall.
    let response = s
        .http
        .post(&url)
        .multipart(upload_form(&png(40, 40)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 504);
    assert!(started.elapsed() >= Duration::from_millis(1500));
    // By now the first request's stall is over too: neither stored anything.
    assert!(
        is_draft(&s, &id).await,
        "a stalled upload must never be stored"
    );
    let counts = report(&s).await;
    assert_eq!(counts["injected"]["host_stall"], 2);
    faults_off(&s).await;
    let (status, body) = s.upload_to(&url, &png(40, 40), "again.png").await;
    assert_eq!(status, 200, "the URL was not used: {body}");
}

/// Reads what a raw socket gets back for a whole upload request: no bytes at all (the
/// connection closed) or a reset, never a status line.
async fn raw_upload(s: &Service, url: &str, bytes: &[u8]) -> Result<Vec<u8>, std::io::Error> {
    let url = reqwest::Url::parse(url).unwrap();
    let boundary = "fault-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\n\r\n",
        url.path(),
        s.running.addr,
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(s.running.addr).await?;
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&body).await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the host closes the connection, it does not hang")?;
    Ok(answer)
}

#[tokio::test]
async fn a_closed_connection_sends_no_status_line_at_all() {
    let s = service().await;
    for kind in ["host_reset_before_read", "host_reset_after_store"] {
        let (id, url) = s.direct_upload(&[]).await;
        only(&s, kind).await;
        match raw_upload(&s, &url, &png(20, 20)).await {
            Ok(answer) => assert!(
                answer.is_empty(),
                "{kind}: the client must get no answer, got {:?}",
                String::from_utf8_lossy(&answer)
            ),
            Err(error) => assert_eq!(
                error.kind(),
                std::io::ErrorKind::ConnectionReset,
                "{kind}: {error}"
            ),
        }
        assert_eq!(
            is_draft(&s, &id).await,
            kind == "host_reset_before_read",
            "{kind}: stored only when the host read the body"
        );
    }
    faults_off(&s).await;
    let record = s.uploaded(&png(20, 20), "after.png", &[]).await;
    assert!(
        record.get("draft").is_none(),
        "the service serves on after the resets"
    );
}

// ---- verification and delivery ----

#[tokio::test]
async fn verify_5xx_answers_502_in_the_envelope_while_the_image_is_fine() {
    let s = service().await;
    let stored = s.uploaded(&png(20, 20), "a.png", &[]).await;
    let id = stored["id"].as_str().unwrap();
    only(&s, "verify_5xx").await;
    let (status, body) = send(s.http.get(s.url(&format!("/api/images/{id}")))).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["success"], false);
    faults_off(&s).await;
    let (status, body) = send(s.http.get(s.url(&format!("/api/images/{id}")))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("draft").is_none(), "{body}");
}

#[tokio::test]
async fn delivery_5xx_answers_503_plain_text_and_the_next_request_is_served() {
    let s = service().await;
    let stored = s.uploaded(&png(20, 20), "a.png", &[]).await;
    let public = variant_url(&stored, "public");
    only(&s, "delivery_5xx").await;
    let (status, headers, body) = deliver(&s, &public).await;
    assert_eq!(status, 503);
    assert_eq!(body, b"503 Service Unavailable");
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    faults_off(&s).await;
    let (status, _, body) = deliver(&s, &public).await;
    assert_eq!(status, 200);
    assert_eq!(dimensions(&body), (20, 20));
}

// ---- seeds, rates, counts ----

/// The statuses of `n` backend requests.
async fn backend_statuses(s: &Service, n: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        statuses.push(backend_request(s).await.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn the_same_seed_gives_the_same_fault_sequence_and_the_counts_match() {
    let s = service_with(|c| c.rate_limit_per_minute = 0).await;
    let config =
        |seed: u64| json!({"seed": seed, "rate": 0.5, "kinds": ["backend_500", "backend_503"]});
    set_faults(&s, config(2024)).await;
    let first = backend_statuses(&s, 24).await;
    let counts = report(&s).await;
    set_faults(&s, config(2024)).await;
    let replay = backend_statuses(&s, 24).await;
    set_faults(&s, config(2025)).await;
    let other = backend_statuses(&s, 24).await;

    assert_eq!(first, replay, "the same seed must replay the same faults");
    assert_ne!(first, other, "another seed gives other faults");
    let seen = |status: u16| first.iter().filter(|s| **s == status).count() as u64;
    assert!(seen(200) > 0 && seen(500) > 0 && seen(503) > 0, "{first:?}");
    assert_eq!(seen(200) + seen(500) + seen(503), 24, "{first:?}");
    assert_eq!(counts["seed"], 2024);
    assert_eq!(counts["requests"]["backend"], 24);
    assert_eq!(counts["injected"]["backend_500"], seen(500));
    assert_eq!(counts["injected"]["backend_503"], seen(503));
    assert_eq!(counts["injected"]["host_stall"], 0);
}

#[tokio::test]
async fn every_faulted_upload_after_store_is_stored_whole_and_counted() {
    let s = service().await;
    set_faults(
        &s,
        json!({"seed": 77, "rate": 0.6, "kinds": ["host_500_after_store", "host_502_after_store"]}),
    )
    .await;
    let mut statuses = Vec::new();
    for i in 0..10u8 {
        let (id, url) = s.direct_upload(&[]).await;
        let bytes = image_bytes(24, 24, i, image::ImageFormat::Png);
        let (status, _) = s.upload_to(&url, &bytes, "x.png").await;
        statuses.push(status);
        assert_eq!(
            s.blob(&id).await,
            bytes,
            "upload {i} (HTTP {status}) is stored whole"
        );
    }
    let counts = report(&s).await;
    let seen = |status: u16| statuses.iter().filter(|s| **s == status).count() as u64;
    assert_eq!(counts["requests"]["host"], 10);
    assert_eq!(counts["injected"]["host_500_after_store"], seen(500));
    assert_eq!(counts["injected"]["host_502_after_store"], seen(502));
    assert_eq!(seen(200) + seen(500) + seen(502), 10, "{statuses:?}");
}

#[tokio::test]
async fn delete_turns_faults_off_and_resets_the_counts() {
    let s = service().await;
    only(&s, "backend_500").await;
    assert_eq!(backend_request(&s).await.status(), 500);
    faults_off(&s).await;
    let counts = report(&s).await;
    assert_eq!(counts["rate"], 0.0);
    assert_eq!(counts["seed"], 1, "the seed is kept");
    assert_eq!(counts["injected"]["backend_500"], 0);
    assert_eq!(counts["requests"]["backend"], 0);
    assert_eq!(backend_request(&s).await.status(), 200);
    assert_eq!(
        report(&s).await["requests"]["backend"],
        1,
        "requests still counted"
    );
}

#[tokio::test]
async fn post_refuses_configurations_it_cannot_honour() {
    let s = service().await;
    for (config, says) in [
        (json!({"seed": 1, "rate": 1.5}), "between 0 and 1"),
        (
            json!({"seed": 1, "rate": 1, "kinds": ["host_explode"]}),
            "host_stall",
        ),
        (json!({"seed": 1, "rate": 1, "kinds": []}), "at least one"),
        (
            json!({"seed": 1, "rate": 1, "kind": ["host_stall"]}),
            "unknown field",
        ),
        (json!({"rate": 1}), "seed"),
        (
            json!({"seed": 1, "rate": 1, "host_stall_ms": 3_600_000}),
            "host_stall_ms",
        ),
    ] {
        let (status, body) = send(s.http.post(s.url("/_local/faults")).json(&config)).await;
        assert_eq!(
            (status, code(&body)),
            (400, 5400),
            "{config} must be refused: {body}"
        );
        assert!(
            message(&body).contains(says),
            "{config}: '{}' must say {says}",
            message(&body)
        );
    }
    assert_eq!(
        report(&s).await["rate"],
        0.0,
        "a refused POST changes nothing"
    );
}

// ---- flags, and no test controls ----

#[tokio::test]
async fn the_flags_configure_faults_at_start_up() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, addr) = spawn_binary(
        data.path(),
        &[
            "--enable-test-controls",
            "--fault-rate",
            "1",
            "--fault-seed",
            "7",
            "--fault-kinds",
            "backend_503,verify_5xx",
        ],
        None,
    );
    let http = reqwest::Client::new();
    let (status, counts) = send(http.get(format!("http://{addr}/_local/faults"))).await;
    let (backend, _) = send(
        http.post(format!("http://{addr}/api/direct-upload"))
            .json(&json!({})),
    )
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, 200);
    assert_eq!(counts["seed"], 7);
    assert_eq!(counts["rate"], 1.0);
    assert_eq!(counts["kinds"], json!(["backend_503", "verify_5xx"]));
    assert_eq!(backend, 503);
}

#[tokio::test]
async fn without_a_seed_flag_the_seed_is_random_and_shown() {
    let a = report(&service().await).await["seed"].as_u64().unwrap();
    let b = report(&service().await).await["seed"].as_u64().unwrap();
    assert_ne!(a, b, "each start draws its own seed");
    assert!(a < 1 << 53, "a JavaScript number holds it exactly");
}

/// Runs the binary with `args` and no test controls; it must refuse to start.
fn refused(args: &[&str]) -> String {
    let data = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_direct-upload-server"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .args(args)
        .env_remove("DU_TEST_CONTROLS")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "{args:?} must stop the start"
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn fault_flags_without_test_controls_are_refused() {
    for (flag, value) in [
        ("--fault-rate", "0.5"),
        ("--fault-seed", "1"),
        ("--fault-kinds", "host_stall"),
    ] {
        let stderr = refused(&[flag, value]);
        assert!(
            stderr.contains(&format!("{flag} needs --enable-test-controls")),
            "{flag}: {stderr}"
        );
    }
    assert!(refused(&["--fault-rate", "2", "--enable-test-controls"]).contains("between 0 and 1"));
    assert!(refused(&["--fault-kinds", "nope", "--enable-test-controls"]).contains("nope"));
}

#[tokio::test]
async fn without_test_controls_nothing_is_faulted_and_no_route_exists() {
    let data = tempfile::tempdir().unwrap();
    let mut config = common::config(data.path());
    config.enable_test_controls = false;
    config.fault_rate = 1.0;
    assert!(
        matches!(
            direct_upload_server::start(config.clone()).await,
            Err(direct_upload_server::StartError::Config(_))
        ),
        "start() refuses faults without test controls"
    );
    config.fault_rate = 0.0;
    let running = direct_upload_server::start(config).await.unwrap();
    let http = reqwest::Client::new();
    let public = &running.urls.public;
    let (status, _) = send(http.get(format!("{public}/_local/faults"))).await;
    assert_eq!(status, 404, "no fault route without test controls");
    let (status, _) = send(
        http.post(format!("{public}/api/direct-upload"))
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200);
    running.stop().await.unwrap();
}
