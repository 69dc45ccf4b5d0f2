//! Attacks on image decoding and delivery found by a hostile review, each over real HTTP
//! against a service on a free port.
//!
//! Every test here takes [`serial`] first: one of them measures the process's peak memory,
//! which tests running in parallel threads of this same process would disturb.

mod common;

use common::*;

/// One test of this file at a time (see the file's doc comment).
async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::OnceLock<tokio::sync::Mutex<()>> = std::sync::OnceLock::new();
    LOCK.get_or_init(|| tokio::sync::Mutex::new(()))
        .lock()
        .await
}

async fn deliver(s: &Service, url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = s.http.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

fn variant_url(record: &serde_json::Value, name: &str) -> String {
    record["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .find(|v| v.ends_with(&format!("/{name}")))
        .unwrap_or_else(|| panic!("no {name} variant in {record}"))
}

// ---------------------------------------------------------------------------------------------
// #18: delivery answers are nosniff and never echo markup.

#[tokio::test]
async fn delivery_answers_are_nosniff_and_echo_no_markup() {
    let _serial = serial().await;
    let s = service_with(|c| c.signing_key = Some("k".into())).await;
    let record = s.uploaded(&png(20, 20), "a.png", &[]).await;
    let private = s
        .uploaded(&png(20, 20), "p.png", &[("requireSignedURLs", "true")])
        .await;
    let base = &s.running.urls.delivery_base;
    let hash = &s.running.urls.account_hash;
    let id = record["id"].as_str().unwrap();
    let script = "%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    for (url, status) in [
        // Unknown image, unknown account hash, unknown variant: each named by the request.
        (format!("{base}/{hash}/{script}/public"), 404),
        (format!("{base}/{script}/{id}/public"), 404),
        (format!("{base}/{hash}/{id}/{script}"), 404),
        (
            format!("{base}/{hash}/{id}%3Cimg%20src=x%20onerror=alert(1)%3E/public"),
            404,
        ),
        // Refused signature, and a served image.
        (variant_url(&private, "public"), 403),
        (variant_url(&record, "public"), 200),
    ] {
        let (got, headers, body) = deliver(&s, &url).await;
        assert_eq!(got, status, "{url}");
        assert_eq!(
            headers.get("x-content-type-options").map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{url} must be nosniff"
        );
        if status != 200 {
            let text = String::from_utf8_lossy(&body);
            assert!(
                !text.contains('<') && !text.contains('>'),
                "{url} echoes markup: {text}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// #19: a signed URL is never cached beyond its expiry.

fn max_age(headers: &reqwest::header::HeaderMap) -> i64 {
    let value = headers["cache-control"].to_str().unwrap().to_string();
    value
        .split(',')
        .map(str::trim)
        .find_map(|d| d.strip_prefix("max-age="))
        .unwrap_or_else(|| panic!("no max-age in {value}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_signed_url_is_cached_no_longer_than_it_lives() {
    let _serial = serial().await;
    let s = service().await;
    let record = s
        .uploaded(&png(30, 30), "p.png", &[("requireSignedURLs", "true")])
        .await;
    // The key the service generated, as an API client reads it.
    let (_, keys) = send(s.get("v1/keys")).await;
    let key = keys["result"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "default")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_string();
    let public = variant_url(&record, "public");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();

    let signed = direct_upload_server::signing::sign_url(&public, &key, now + 30);
    let (status, headers, _) = deliver(&s, &signed).await;
    assert_eq!(status, 200);
    let cache_control = headers["cache-control"].to_str().unwrap();
    assert!(cache_control.starts_with("private"), "{cache_control}");
    let age = max_age(&headers);
    assert!(
        (0..=30).contains(&age),
        "a URL valid for 30 s must not be cached for {age} s"
    );

    // A long-lived URL keeps the usual hour.
    let signed = direct_upload_server::signing::sign_url(&public, &key, now + 86_400);
    let (status, headers, _) = deliver(&s, &signed).await;
    assert_eq!(status, 200);
    assert_eq!(max_age(&headers), 3600);
}

// ---------------------------------------------------------------------------------------------
// #15: files half-written before a crash are removed at start-up.

#[test]
fn orphaned_partial_files_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(&images).unwrap();
    std::fs::create_dir_all(&cache).unwrap();
    let blob = "0123456789abcdef0123456789abcdef";
    let plant = |path: std::path::PathBuf| {
        std::fs::write(&path, b"half").unwrap();
        path
    };
    // What ingest and delivery write before their rename, left behind by a kill -9 ...
    let orphans = [
        plant(images.join(format!("{blob}.partial"))),
        plant(cache.join(format!(
            "{blob}-public.partial-{}",
            "fedcba9876543210fedcba9876543210"
        ))),
    ];
    // ... and what must stay: an original, a rendered variant, an unrelated file.
    let kept = [
        plant(images.join(blob)),
        plant(cache.join(format!("{blob}-public"))),
        plant(dir.path().join("notes.partial")),
    ];
    let removed = direct_upload_server::ingest::remove_orphans(&[
        &images,
        &cache,
        &dir.path().join("missing"),
    ])
    .unwrap();
    assert_eq!(removed, 2);
    for path in &orphans {
        assert!(!path.exists(), "{} is an orphan", path.display());
    }
    for path in &kept {
        assert!(path.exists(), "{} must be kept", path.display());
    }
}
