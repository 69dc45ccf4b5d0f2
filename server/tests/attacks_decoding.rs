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
