//! Attacks on the reference backend and the API's edges, each pinned to a finding of the
//! hostile review (numbers as in SECURITY.md). Every test here failed before its fix.

mod common;

use axum::response::IntoResponse;
use common::*;
use serde_json::json;

/// #1: the status route reaches one image record and nothing else of the Images API.
#[tokio::test]
async fn the_status_route_reaches_only_image_records() {
    let s = service().await;
    // Something private to leak: an image with the site's metadata.
    s.uploaded(
        &png(8, 8),
        "a.png",
        &[("metadata", r#"{"private":"p-123"}"#)],
    )
    .await;
    for probe in [
        "keys",
        "stats",
        "variants",
        "..%2Fv2%3Fper_page%3D10000",
        "..%2Fv1%2Fkeys",
        "x%2F..%2F..%2Fv1%2Fkeys",
        "public%3Fx%3D1",
        "%2E%2E/v2",
        "a%23frag",
    ] {
        let response = s
            .http
            .get(s.url(&format!("/api/images/{probe}")))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(status, 404, "/api/images/{probe} must be 404: {text}");
        for secret in ["p-123", "\"keys\"", "\"value\"", "\"images\"", "allowed"] {
            assert!(
                !text.contains(secret),
                "/api/images/{probe} leaked {secret}: {text}"
            );
        }
    }
}

/// #1, #11-like: the record a browser sees carries no metadata and no creator.
#[tokio::test]
async fn the_status_route_shows_only_public_fields() {
    let s = service_with(|c| c.backend_creator = Some("user-42".into())).await;
    let (_, body) = send(
        s.http
            .post(s.url("/api/direct-upload"))
            .json(&json!({"metadata": {"mine": "m-1"}})),
    )
    .await;
    let id = body["id"].as_str().unwrap();
    let (status, record) = send(s.http.get(s.url(&format!("/api/images/{id}")))).await;
    assert_eq!(status, 200, "{record}");
    let text = record.to_string();
    assert!(!text.contains("m-1") && !text.contains("user-42"), "{text}");
    assert_eq!(record["id"], id);
}

/// A site's backend in production mode (`CF_*` set) whose "Cloudflare" is `upstream`, served
/// on a port of its own.
async fn site_calling(upstream: axum::Router, token: &str) -> Service {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, upstream).await.unwrap() });
    let token = token.to_string();
    service_with(move |c| {
        c.cf_account_id = Some("acc".into());
        c.cf_api_token = Some(token);
        c.cf_api_base = format!("http://{addr}/client/v4");
    })
    .await
}

/// #1: in production mode, what the upstream API says never reaches the browser, and an
/// answer that is not the record asked for is refused.
#[tokio::test]
async fn upstream_bodies_never_reach_a_browser() {
    // A hostile or broken "Cloudflare" that answers every call with a secret in its body.
    let app = axum::Router::new().fallback(|request: axum::extract::Request| async move {
        let path = request.uri().path().to_string();
        if path.ends_with("/v1/leaky") {
            // Success, but a list of images, not the record of "leaky".
            return axum::Json(json!({"success": true, "errors": [], "result":
                {"images": [{"id": "other", "meta": {"secret": "UPSTREAM-SECRET"}}]}}))
            .into_response();
        }
        (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "UPSTREAM-SECRET stack trace with token tok-999",
        )
            .into_response()
    });
    let site = site_calling(app, "tok-999").await;
    for (method, path) in [
        ("POST", "/api/direct-upload"),
        ("GET", "/api/images/some-id"),
        ("GET", "/api/images/leaky"),
    ] {
        let request = match method {
            "POST" => site.http.post(site.url(path)),
            _ => site.http.get(site.url(path)),
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(status == 502 || status == 404, "{path}: {status} {text}");
        assert!(
            !text.contains("UPSTREAM-SECRET") && !text.contains("tok-999"),
            "{path} echoed the upstream body: {text}"
        );
    }
}

/// #5: `*` lets any page ask, but never with the visitor's cookies, and only safe headers.
#[tokio::test]
async fn any_origin_never_means_credentials() {
    let s = service().await;
    let preflight = s
        .http
        .request(reqwest::Method::OPTIONS, s.url("/api/direct-upload"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, x-anything")
        .send()
        .await
        .unwrap();
    let headers = preflight.headers();
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(
        headers.get("access-control-allow-credentials").is_none(),
        "credentials must not be allowed for any origin: {headers:?}"
    );
    let allowed = headers
        .get("access-control-allow-headers")
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .unwrap_or_default();
    assert!(!allowed.contains("x-anything"), "{allowed}");
    let simple = s
        .http
        .post(s.url("/api/direct-upload"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(simple
        .headers()
        .get("access-control-allow-credentials")
        .is_none());

    // An explicit list allows credentials, for those origins only.
    let listed = service_with(|c| c.allowed_origins = vec!["https://shop.example".into()]).await;
    let response = listed
        .http
        .post(listed.url("/api/direct-upload"))
        .header("origin", "https://shop.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-credentials"],
        "true"
    );
}

/// #9: a rotated signing key signs the very next status answer.
#[tokio::test]
async fn key_rotation_takes_effect_on_the_next_request() {
    let s = service_with(|c| c.backend_require_signed_urls = true).await;
    let (_, body) = send(s.http.post(s.url("/api/direct-upload"))).await;
    let id = body["id"].as_str().unwrap().to_string();
    s.upload_to(body["uploadURL"].as_str().unwrap(), &png(12, 12), "k.png")
        .await;
    let status_of_first_variant = || async {
        let (_, record) = send(s.http.get(s.url(&format!("/api/images/{id}")))).await;
        let url = record["variants"][0].as_str().unwrap().to_string();
        s.http.get(&url).send().await.unwrap().status().as_u16()
    };
    assert_eq!(status_of_first_variant().await, 200);
    let (status, _) = send(
        s.http
            .put(s.api("v1/keys/default"))
            .bearer_auth("local-dev-token"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        status_of_first_variant().await,
        200,
        "URLs signed after the rotation must load"
    );
}

/// #10: settings that would fail open stop the start, with the flag named.
#[tokio::test]
async fn settings_that_fail_open_refuse_to_start() {
    let dir = tempfile::tempdir().unwrap();
    type Adjust = Box<dyn Fn(&mut direct_upload_server::Config)>;
    let cases: [(&str, Adjust); 5] = [
        (
            "--backend-metadata",
            Box::new(|c| c.backend_metadata = "{oops".into()),
        ),
        (
            "--backend-metadata",
            Box::new(|c| c.backend_metadata = "[1]".into()),
        ),
        ("--api-token", Box::new(|c| c.api_token = String::new())),
        (
            "--backend-expiry-secs",
            Box::new(|c| c.backend_expiry_secs = 60),
        ),
        (
            "--allowed-origins",
            Box::new(|c| c.allowed_origins = vec!["not an origin".into()]),
        ),
    ];
    for (flag, adjust) in cases {
        let mut config = config(dir.path());
        adjust(&mut config);
        let error = match direct_upload_server::start(config).await {
            Ok(_) => panic!("{flag}: the service started"),
            Err(error) => error.to_string(),
        };
        assert!(error.contains(flag), "{flag}: {error}");
    }
    // The binary says so and exits non-zero, before binding.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_direct-upload-server"))
        .args(["--listen", "127.0.0.1:0", "--backend-metadata", "{oops"])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--backend-metadata"), "{stderr}");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_direct-upload-server"))
        .args(["--listen", "127.0.0.1:0", "--api-token", ""])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "an empty --api-token must not start"
    );
}

/// #17: browser metadata too large is the browser's mistake (400 with the reason), not a
/// gateway failure the widget would retry.
#[tokio::test]
async fn oversized_browser_metadata_is_a_400_with_the_reason() {
    let s = service().await;
    let (status, body) = send(
        s.http
            .post(s.url("/api/direct-upload"))
            .json(&json!({"metadata": {"notes": "x".repeat(1500)}})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("1024 bytes"), "{body}");
}

/// #20: a query that does not parse is answered in the v4 envelope.
#[tokio::test]
async fn a_bad_query_gets_the_envelope() {
    let s = service().await;
    for path in ["v2?per_page=abc", "v1?page=-1", "v1?per_page=1e9"] {
        let response = s.get(path).send().await.unwrap();
        assert_eq!(response.status(), 400, "{path}");
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(code(&body), 5400, "{path}: {body}");
    }
}

/// #21: behind a listed proxy, visitors get a bucket each; a forged header from anyone else
/// changes nothing.
#[tokio::test]
async fn behind_a_trusted_proxy_each_visitor_has_a_bucket() {
    let s = service_with(|c| {
        c.rate_limit_per_minute = 2;
        c.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let from = |visitor: &str| {
        s.http
            .post(s.url("/api/direct-upload"))
            .header("x-forwarded-for", format!("6.6.6.6, {visitor}"))
    };
    assert_eq!(send(from("198.51.100.1")).await.0, 200);
    assert_eq!(send(from("198.51.100.1")).await.0, 200);
    assert_eq!(send(from("198.51.100.1")).await.0, 429);
    assert_eq!(send(from("198.51.100.2")).await.0, 200, "another visitor");

    // Not trusted: the forged header is ignored and the peer's bucket counts.
    let direct = service_with(|c| c.rate_limit_per_minute = 2).await;
    for (i, visitor) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
        .iter()
        .enumerate()
    {
        let status = send(
            direct
                .http
                .post(direct.url("/api/direct-upload"))
                .header("x-forwarded-for", *visitor),
        )
        .await
        .0;
        assert_eq!(status, if i < 2 { 200 } else { 429 });
    }
}

/// #16: expired drafts are deleted after the retention period, not kept forever.
#[tokio::test]
async fn expired_drafts_are_purged() {
    let s = service_with(|c| {
        c.draft_retention_secs = 60;
        c.draft_purge_interval_secs = 1;
    })
    .await;
    let (old, _) = s.direct_upload(&[]).await;
    let rows = |id: String| {
        let db = rusqlite::Connection::open(s.data_dir.path().join("images.sqlite3")).unwrap();
        db.query_row("SELECT COUNT(*) FROM images WHERE id = ?1", [id], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
    };
    assert_eq!(rows(old.clone()), 1);
    // 30 min of URL life, then past the retention.
    send(s.http.post(s.url("/_local/advance-clock?seconds=1900"))).await;
    let (fresh, _) = s.direct_upload(&[]).await;
    let mut waited = 0;
    while rows(old.clone()) == 1 && waited < 50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(rows(old), 0, "the expired draft is gone from the database");
    assert_eq!(rows(fresh), 1, "a live draft stays");
}

/// Review follow-up: metadata nested deeper than the Images API accepts is the browser's
/// mistake (400), not a 502 the widget would retry.
#[tokio::test]
async fn deeply_nested_browser_metadata_is_a_400() {
    let s = service().await;
    let mut metadata = json!("x");
    for _ in 0..100 {
        metadata = json!({ "a": metadata });
    }
    let (status, body) = send(
        s.http
            .post(s.url("/api/direct-upload"))
            .json(&json!({ "metadata": metadata })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("64 levels"), "{body}");
}

/// Review follow-up: `…/blob` is an original's bytes, never a record; the backend does not
/// even fetch it (an original is up to 10 MB, and its bytes once reached the log).
#[tokio::test]
async fn the_status_route_does_not_fetch_originals() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let app = axum::Router::new().fallback(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async { (axum::http::StatusCode::OK, "\u{89}PNG raw bytes").into_response() }
    });
    let site = site_calling(app, "tok").await;
    for path in ["/api/images/some-id/blob", "/api/images/blob"] {
        let (status, body) = send(site.http.get(site.url(path))).await;
        assert_eq!((status, code(&body)), (404, 5404), "{path}: {body}");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "the Images API was not asked"
    );
}

/// Review follow-up: signed URLs of a private image go to its uploader right after the upload,
/// not to whoever learns the id later.
#[tokio::test]
async fn signed_urls_are_handed_out_only_right_after_the_upload() {
    let s = service_with(|c| {
        c.backend_require_signed_urls = true;
        c.backend_signing_window_secs = 600;
    })
    .await;
    let (_, body) = send(s.http.post(s.url("/api/direct-upload"))).await;
    let id = body["id"].as_str().unwrap().to_string();
    s.upload_to(body["uploadURL"].as_str().unwrap(), &png(12, 12), "p.png")
        .await;
    let first_variant = || async {
        let (_, record) = send(s.http.get(s.url(&format!("/api/images/{id}")))).await;
        record["variants"][0].as_str().unwrap().to_string()
    };
    assert!(
        first_variant().await.contains("sig="),
        "signed for the uploader"
    );
    send(s.http.post(s.url("/_local/advance-clock?seconds=601"))).await;
    let later = first_variant().await;
    assert!(!later.contains("sig="), "no longer signed: {later}");
    assert_eq!(s.http.get(&later).send().await.unwrap().status(), 403);
}
