//! Hostile requests against the upload host and the form parser, over real HTTP: oversized
//! multipart part headers, oversized bodies, deeply nested metadata, and what the browser's
//! answer may reveal. Each request is one a review showed to hurt the process.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The tests of this file measure the memory of the whole test process (the service runs in
/// it) and the bytes the service reads: they run one at a time so that none skews another.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// 64 KiB of zeros, handed out without allocating.
static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

/// `total` bytes: `head`, then zeros, chunk by chunk, made only when the socket takes them.
fn lazy_body(head: Vec<u8>, total: u64) -> impl Iterator<Item = Bytes> + Send + 'static {
    let mut left = total - head.len() as u64;
    std::iter::once(Bytes::from(head)).chain(std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let n = left.min(ZEROS.len() as u64) as usize;
        left -= n as u64;
        Some(Bytes::from_static(&ZEROS[..n]))
    }))
}

/// What the service answered to a raw request.
#[derive(Debug)]
struct RawAnswer {
    status: u16,
    /// Header names lower-cased.
    headers: Vec<(String, String)>,
    body: Value,
    /// Body bytes the socket had taken when the answer's first bytes arrived.
    sent_when_answered: u64,
    /// Whether the service closed the connection after its answer.
    closed: bool,
}

impl RawAnswer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// POSTs `body` (announced as `total` bytes) over a plain socket, writing and reading at once
/// the way a browser does, so that an answer sent before the body is through is seen as such.
async fn raw_post(
    url: &str,
    content_type: &str,
    total: u64,
    body: impl Iterator<Item = Bytes> + Send + 'static,
) -> RawAnswer {
    let url = url::Url::parse(url).unwrap();
    let address = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
    // A small send buffer, so that "bytes the socket took" is close to "bytes the service read".
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(64 * 1024).unwrap();
    let socket = socket.connect(address.parse().unwrap()).await.unwrap();
    let (mut reader, mut writer) = socket.into_split();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\nContent-Length: {total}\r\n\r\n",
        url.path()
    );
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let writing = tokio::spawn(async move {
        if writer.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for chunk in body {
            // The service may answer and close early: that ends the upload, as in a browser.
            if writer.write_all(&chunk).await.is_err() {
                return;
            }
            counter.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        }
        // Keep the write side open: closing it would look like the end of the request.
        std::future::pending::<()>().await;
    });

    let answer = tokio::time::timeout(Duration::from_secs(120), async {
        let mut received = Vec::new();
        let mut sent_when_answered = None;
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let n = reader.read(&mut buffer).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            if sent_when_answered.is_none() {
                sent_when_answered = Some(sent.load(Ordering::SeqCst));
            }
            received.extend_from_slice(&buffer[..n]);
            if let Some(answer) = parse_answer(&received) {
                return (answer, sent_when_answered.unwrap());
            }
        }
        panic!(
            "the connection ended before a whole answer: {:?}",
            String::from_utf8_lossy(&received)
        );
    })
    .await
    .expect("the service answers within two minutes");
    let (mut answer, sent_when_answered) = answer;
    // After a whole answer, the service either closes the connection or waits for the next
    // request; a second of silence counts as "kept open".
    let mut rest = [0u8; 1024];
    let closed = matches!(
        tokio::time::timeout(Duration::from_secs(1), reader.read(&mut rest)).await,
        Ok(Ok(0) | Err(_))
    );
    writing.abort();
    answer.sent_when_answered = sent_when_answered;
    answer.closed = closed;
    answer
}

/// Status, headers and JSON body of a complete HTTP/1.1 answer with a Content-Length (the
/// connection facts left for the caller to fill in).
fn parse_answer(bytes: &[u8]) -> Option<RawAnswer> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let body = bytes.get(end + 4..end + 4 + length)?;
    Some(RawAnswer {
        status,
        headers,
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
        sent_when_answered: 0,
        closed: false,
    })
}

/// A line of /proc/self/status, in bytes.
fn proc_status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib * 1024
}

/// Starts measuring the process's peak memory: resets VmHWM (Linux ≥ 4.0) and returns VmRSS.
fn start_peak_measure() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5").expect("VmHWM can be reset");
    proc_status_bytes("VmRSS:")
}

const MB: u64 = 1024 * 1024;

/// The multipart head of a `file` part, ready for its data.
fn file_part_head(boundary: &str) -> Vec<u8> {
    format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes()
}

fn multipart_type(boundary: &str) -> String {
    format!("multipart/form-data; boundary={boundary}")
}

/// Socket buffers between the test's writes and the service's reads: bytes the socket takes
/// that the service has not necessarily read.
const SOCKET_SLACK: u64 = 16 * MB;

/// Asserts the refusal came back on a closing connection once the service had read about
/// `read_limit` bytes, not after the whole body.
fn assert_stopped_early(answer: &RawAnswer, read_limit: u64) {
    eprintln!(
        "answered {} after {} bytes (limit {read_limit})",
        answer.status, answer.sent_when_answered
    );
    assert_eq!(
        answer.header("connection"),
        Some("close"),
        "a refusal with unread body closes the connection: {answer:?}"
    );
    assert!(answer.closed, "the service closed the connection");
    assert!(
        answer.sent_when_answered < read_limit + SOCKET_SLACK,
        "the service answered after {} bytes: it must stop reading at {read_limit}",
        answer.sent_when_answered
    );
}

/// What the upload host reads at most by default: a 10 MB file plus 1 MiB of form.
const BODY_LIMIT: u64 = 11 * MB;
/// The default bound on a part's header section.
const PART_HEADER_LIMIT: u64 = 16 * 1024;

#[tokio::test]
async fn an_endless_part_header_is_400_and_memory_stays_flat() {
    let _serial = SERIAL.lock().await;
    let s = service().await;
    let (_, url) = s.direct_upload(&[]).await;
    // A part whose header section never ends: one header line of 24 MB, no blank line.
    let total = 24 * MB;
    let head = b"--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a".to_vec();
    let baseline = start_peak_measure();
    let answer = raw_post(&url, &multipart_type("XYZ"), total, lazy_body(head, total)).await;
    let growth = proc_status_bytes("VmHWM:").saturating_sub(baseline);
    eprintln!("peak memory grew by {growth} bytes");
    assert!(
        growth < 4 * MB,
        "peak memory grew by {growth} bytes for a {total}-byte part header"
    );
    assert_eq!(
        (answer.status, code(&answer.body)),
        (400, 5400),
        "{answer:?}"
    );
    assert!(
        message(&answer.body).contains("header section is over 16384 bytes"),
        "{}",
        message(&answer.body)
    );
    assert_stopped_early(&answer, PART_HEADER_LIMIT);

    // Same for a body that never reaches its first boundary.
    let baseline = start_peak_measure();
    let answer = raw_post(
        &url,
        &multipart_type("XYZ"),
        total,
        lazy_body(Vec::new(), total),
    )
    .await;
    let growth = proc_status_bytes("VmHWM:").saturating_sub(baseline);
    eprintln!("peak memory grew by {growth} bytes");
    assert!(growth < 4 * MB, "peak memory grew by {growth} bytes");
    assert_eq!(
        (answer.status, code(&answer.body)),
        (400, 5400),
        "{answer:?}"
    );
    assert!(
        message(&answer.body).contains("before the first multipart boundary"),
        "{}",
        message(&answer.body)
    );
    assert_stopped_early(&answer, PART_HEADER_LIMIT);

    // The URL is still good: a normal upload with a few ordinary part headers succeeds.
    assert_eq!(s.upload_to(&url, &png(10, 10), "ok.png").await.0, 200);
}

#[tokio::test]
async fn a_part_header_over_the_flag_is_refused_and_one_under_it_is_not() {
    let _serial = SERIAL.lock().await;
    let s = service_with(|c| c.upload_limits.max_part_header_bytes = 1024).await;
    let (_, url) = s.direct_upload(&[]).await;
    let form = |filename_len: usize| {
        let mut body = format!(
            "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}.png\"\r\n\r\n",
            "a".repeat(filename_len)
        )
        .into_bytes();
        body.extend_from_slice(&png(10, 10));
        body.extend_from_slice(b"\r\n--XYZ--\r\n");
        body
    };
    let (status, body) = send(
        s.http
            .post(&url)
            .header("content-type", multipart_type("XYZ"))
            .body(form(2000)),
    )
    .await;
    assert_eq!((status, code(&body)), (400, 5400), "{body}");
    assert!(message(&body).contains("over 1024 bytes"), "{body}");
    let (status, body) = send(
        s.http
            .post(&url)
            .header("content-type", multipart_type("XYZ"))
            .body(form(900)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_form_over_the_body_limit_is_413_and_not_read_to_its_end() {
    let _serial = SERIAL.lock().await;
    let s = service().await;
    let (id, url) = s.direct_upload(&[]).await;
    // No file at all, just one 200 MB text field: the file limit never comes into play.
    let total = 200 * MB;
    let head = b"--XYZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\n".to_vec();
    let answer = raw_post(&url, &multipart_type("XYZ"), total, lazy_body(head, total)).await;
    assert_stopped_early(&answer, BODY_LIMIT);
    assert_eq!(
        (answer.status, code(&answer.body)),
        (413, 5413),
        "{answer:?}"
    );
    assert!(
        message(&answer.body).contains("--max-form-overhead-bytes"),
        "{}",
        message(&answer.body)
    );
    let (_, record) = send(s.get(&format!("v1/{id}"))).await;
    assert_eq!(record["result"]["draft"], true, "the draft is still usable");
}

#[tokio::test]
async fn a_200_mb_body_is_refused_without_being_read_to_its_end() {
    let _serial = SERIAL.lock().await;
    let s = service().await;
    let total = 200 * MB;
    // A 200 MB file: 413 once past the 10 MB limit, not after the last byte.
    let (id, url) = s.direct_upload(&[]).await;
    let head = file_part_head("XYZ");
    let answer = raw_post(&url, &multipart_type("XYZ"), total, lazy_body(head, total)).await;
    assert_stopped_early(&answer, BODY_LIMIT);
    assert_eq!(
        (answer.status, code(&answer.body)),
        (413, 5413),
        "{answer:?}"
    );
    assert!(message(&answer.body).contains("10 MB"), "{answer:?}");
    let (_, record) = send(s.get(&format!("v1/{id}"))).await;
    assert_eq!(record["result"]["draft"], true, "the draft is still usable");

    // A URL refused before any reading (here: already used) reads no more than an upload.
    assert_eq!(s.upload_to(&url, &png(10, 10), "ok.png").await.0, 200);
    let head = file_part_head("XYZ");
    let answer = raw_post(&url, &multipart_type("XYZ"), total, lazy_body(head, total)).await;
    assert_stopped_early(&answer, BODY_LIMIT);
    assert_eq!(
        (answer.status, code(&answer.body)),
        (409, 5409),
        "{answer:?}"
    );
}

/// Sends `body` as a urlencoded form (the encoding where `metadata[a][b]` names are common).
fn urlencoded(request: reqwest::RequestBuilder, body: String) -> reqwest::RequestBuilder {
    request
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
}

/// `metadata[a][a]…=x`, `levels` keys deep, and the same with dots (`metadata.a.a…`).
fn nested_field_names(levels: usize) -> [String; 2] {
    [
        format!("metadata{}", "[a]".repeat(levels)),
        format!("metadata{}", ".a".repeat(levels)),
    ]
}

/// Asserts a refusal for metadata nested too deep, naming the depth.
fn assert_too_deep(status: u16, body: &Value, what: &str) {
    assert_eq!((status, code(body)), (400, 5400), "{what}: {body}");
    let message = message(body);
    assert!(
        message.contains("nested") && message.contains("at most 64 levels"),
        "{what}: the message names the depth: {message}"
    );
}

#[tokio::test]
async fn deeply_nested_metadata_fields_are_400_and_the_process_stays_up() {
    let _serial = SERIAL.lock().await;
    let s = service().await;
    let image = s.uploaded(&png(10, 10), "a.png", &[]).await;
    let id = image["id"].as_str().unwrap();
    for name in nested_field_names(16_000) {
        let (status, body) =
            send(urlencoded(s.post("v2/direct_upload"), format!("{name}=x"))).await;
        assert_too_deep(status, &body, "urlencoded POST v2/direct_upload");
        let form = reqwest::multipart::Form::new().text(name.clone(), "x");
        let (status, body) = send(s.post("v2/direct_upload").multipart(form)).await;
        assert_too_deep(status, &body, "multipart POST v2/direct_upload");
        let form = reqwest::multipart::Form::new()
            .text(name.clone(), "x")
            .part(
                "file",
                reqwest::multipart::Part::bytes(png(10, 10)).file_name("b.png"),
            );
        let (status, body) = send(s.post("v1").multipart(form)).await;
        assert_too_deep(status, &body, "multipart POST v1");
        let (status, body) = send(urlencoded(
            s.patch(&format!("v1/{id}")),
            format!("{name}=x"),
        ))
        .await;
        assert_too_deep(status, &body, "urlencoded PATCH v1/{id}");
    }
    // Still up, and still taking ordinary nested metadata.
    let (status, body) = send(urlencoded(
        s.post("v2/direct_upload"),
        "metadata[album][name]=trip&metadata.owner.id=7".into(),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let new_id = body["result"]["id"].as_str().unwrap();
    let (_, record) = send(s.get(&format!("v1/{new_id}"))).await;
    assert_eq!(
        record["result"]["meta"],
        serde_json::json!({"album": {"name": "trip"}, "owner": {"id": "7"}})
    );
}

#[tokio::test]
async fn metadata_depth_is_bounded_at_64_levels_in_every_encoding() {
    let _serial = SERIAL.lock().await;
    let s = service().await;
    let json_levels =
        |levels: usize| format!("{}\"x\"{}", "{\"a\":".repeat(levels), "}".repeat(levels));
    // 64 levels fit (and within 1024 bytes); 65 do not, whichever way they are sent.
    for name in nested_field_names(64) {
        let (status, body) =
            send(urlencoded(s.post("v2/direct_upload"), format!("{name}=x"))).await;
        assert_eq!(status, 200, "{name}: {body}");
        let (_, record) =
            send(s.get(&format!("v1/{}", body["result"]["id"].as_str().unwrap()))).await;
        let mut meta = &record["result"]["meta"];
        for _ in 0..63 {
            meta = &meta["a"];
        }
        assert_eq!(meta["a"], "x", "64 levels are kept whole");
    }
    for name in nested_field_names(65) {
        let (status, body) =
            send(urlencoded(s.post("v2/direct_upload"), format!("{name}=x"))).await;
        assert_too_deep(status, &body, &name);
    }
    let form = reqwest::multipart::Form::new().text("metadata", json_levels(64));
    assert_eq!(
        send(s.post("v2/direct_upload").multipart(form)).await.0,
        200
    );
    let form = reqwest::multipart::Form::new().text("metadata", json_levels(65));
    let (status, body) = send(s.post("v2/direct_upload").multipart(form)).await;
    assert_too_deep(status, &body, "metadata as a JSON string");
    let (status, body) = send(
        s.post("v2/direct_upload")
            .header("content-type", "application/json")
            .body(format!("{{\"metadata\":{}}}", json_levels(65))),
    )
    .await;
    assert_too_deep(status, &body, "metadata in a JSON body");
}

#[tokio::test]
async fn metadata_json_past_the_parsers_recursion_limit_is_400() {
    let _serial = SERIAL.lock().await;
    let s = service().await;
    let image = s.uploaded(&png(10, 10), "a.png", &[]).await;
    let id = image["id"].as_str().unwrap();
    let deep = |levels: usize| format!("{}{}", "{\"a\":".repeat(levels), "}".repeat(levels));
    // serde_json refuses JSON nested deeper than 128 levels; that must be a 400 like any other
    // malformed metadata, not a crash or a 500.
    let form = reqwest::multipart::Form::new().text("metadata", deep(16_000));
    let (status, body) = send(s.post("v2/direct_upload").multipart(form)).await;
    assert_too_deep(status, &body, "16,000 levels as a JSON string field");
    for (what, request) in [
        ("POST v2/direct_upload", s.post("v2/direct_upload")),
        ("PATCH v1/{id}", s.patch(&format!("v1/{id}"))),
    ] {
        let (status, body) = send(
            request
                .header("content-type", "application/json")
                .body(format!("{{\"metadata\":{}}}", deep(5_000))),
        )
        .await;
        assert_too_deep(
            status,
            &body,
            &format!("5,000 levels in a JSON body to {what}"),
        );
    }
    assert_eq!(
        s.direct_upload(&[("metadata", r#"{"k":"v"}"#)])
            .await
            .0
            .len(),
        36
    );
}

#[tokio::test]
async fn the_browser_never_sees_private_metadata_or_creator() {
    let _serial = SERIAL.lock().await;
    let s = service().await;
    let (id, url) = s
        .direct_upload(&[("metadata", r#"{"secret":"x"}"#), ("creator", "user-42")])
        .await;
    let response = s
        .http
        .post(&url)
        .multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(png(10, 10)).file_name("a.png"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["result"]["id"], id.as_str(), "{text}");
    assert!(body["result"].get("meta").is_none(), "{text}");
    assert!(body["result"].get("creator").is_none(), "{text}");
    assert!(
        !text.contains("secret") && !text.contains("user-42"),
        "{text}"
    );
    // The API still holds and shows both.
    let (_, record) = send(s.get(&format!("v1/{id}"))).await;
    assert_eq!(record["result"]["meta"], serde_json::json!({"secret": "x"}));
    assert_eq!(record["result"]["creator"], "user-42");
}

#[tokio::test]
async fn many_distinct_nested_metadata_fields_are_refused_before_they_are_built() {
    let _serial = SERIAL.lock().await;
    let s = service().await;
    // 1,000 fields, each 64 keys deep and distinct from the first key on: 64,000 tree nodes
    // from a 262 KB form.
    let mut form = reqwest::multipart::Form::new();
    for i in 0..1000 {
        form = form.text(format!("metadata[{i}]{}", "[a]".repeat(63)), "x");
    }
    let baseline = start_peak_measure();
    let (status, body) = send(s.post("v2/direct_upload").multipart(form)).await;
    let growth = proc_status_bytes("VmHWM:").saturating_sub(baseline);
    eprintln!("peak memory grew by {growth} bytes");
    assert!(growth < 8 * MB, "peak memory grew by {growth} bytes");
    assert_eq!((status, code(&body)), (400, 5400), "{body}");
    assert!(message(&body).contains("more than 16384 keys"), "{body}");

    // Deep but few: 20 leaves under one 63-key path are 1,280 keys and under 1024 bytes.
    let prefix = format!("metadata{}", "[a]".repeat(63));
    let mut form = reqwest::multipart::Form::new();
    for i in 0..20 {
        form = form.text(format!("{prefix}[k{i}]"), "v");
    }
    let (status, body) = send(s.post("v2/direct_upload").multipart(form)).await;
    assert_eq!(status, 200, "{body}");
}

/// Review follow-up: many uploads that send their 10 MB and then stall hold no more memory
/// together than `--upload-memory-mb`; the rest wait for their share without being read.
#[tokio::test]
async fn stalled_uploads_together_hold_no_more_than_the_upload_memory() {
    use tokio::io::AsyncWriteExt;
    let _serial = SERIAL.lock().await;
    let s = service_with(|c| c.upload_limits.upload_memory_mb = 40).await;
    let (_, url) = s.direct_upload(&[]).await;
    let url = reqwest::Url::parse(&url).unwrap();
    let head = file_part_head("XYZ");
    // One buffer shared by every sender, so the test's own memory does not count.
    let file = Bytes::from(vec![0x89u8; 10 * 1000 * 1000]);
    let length = head.len() + file.len() + 1;
    let baseline = start_peak_measure();
    let mut senders = Vec::new();
    for _ in 0..20 {
        let mut stream = tokio::net::TcpStream::connect(s.running.addr)
            .await
            .unwrap();
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: {}\r\nContent-Length: {length}\r\n\r\n",
            url.path(),
            multipart_type("XYZ")
        );
        let (head, file) = (head.clone(), file.clone());
        senders.push(tokio::spawn(async move {
            // Everything but the last byte, then silence; writes block once the service
            // stops reading this connection.
            let _ = stream.write_all(request.as_bytes()).await;
            let _ = stream.write_all(&head).await;
            let _ = stream.write_all(&file).await;
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            drop(stream);
        }));
    }
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let growth = proc_status_bytes("VmHWM:").saturating_sub(baseline);
    for sender in senders {
        sender.abort();
    }
    eprintln!(
        "20 stalled 10 MB uploads: peak memory grew by {} MB",
        growth / MB
    );
    assert!(
        growth < 40 * MB + 2 * SOCKET_SLACK,
        "20 stalled 10 MB uploads grew peak memory by {} MB with a 40 MB upload budget",
        growth / MB
    );
    // The service still takes an upload.
    let (_, fresh) = s.direct_upload(&[]).await;
    assert_eq!(s.upload_to(&fresh, &png(10, 10), "ok.png").await.0, 200);
}
