//! The reference backend: one-time URLs under the site's policy, image status with signed
//! URLs, origin and rate limits, and the production path to a second instance standing in
//! for Cloudflare.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn the_backend_hands_out_one_time_urls_under_its_policy() {
    let s = service_with(|c| {
        c.backend_metadata = r#"{"site":"northlight","owner":"policy"}"#.into();
        c.backend_creator = Some("web".into());
    })
    .await;
    let (status, body) = send(
        s.http
            .post(s.url("/api/direct-upload"))
            .json(&json!({"metadata": {"album": "a1", "owner": "browser"}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().unwrap();
    let upload_url = body["uploadURL"].as_str().unwrap();
    assert!(upload_url.starts_with(&s.running.urls.upload_base));
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "the browser gets {{id, uploadURL}} and nothing else: {body}"
    );

    let (_, record) = send(s.get(&format!("v1/{id}"))).await;
    assert_eq!(
        record["result"]["meta"],
        json!({"site": "northlight", "owner": "policy", "album": "a1"}),
        "policy keys win"
    );
    assert_eq!(record["result"]["creator"], "web");

    // The status route: a draft first, then the stored image; metadata stays private.
    let (_, status_body) = send(s.http.get(s.url(&format!("/api/images/{id}")))).await;
    assert_eq!(status_body["draft"], true);
    assert!(status_body.get("meta").is_none());
    assert_eq!(s.upload_to(upload_url, &png(20, 20), "a.png").await.0, 200);
    let (_, status_body) = send(s.http.get(s.url(&format!("/api/images/{id}")))).await;
    assert!(status_body.get("draft").is_none(), "{status_body}");
    assert_eq!(status_body["filename"], "a.png");
    let (status, body) = send(s.http.get(s.url("/api/images/does-not-exist"))).await;
    assert_eq!((status, code(&body)), (404, 5404));

    let (status, _) = send(
        s.http
            .post(s.url("/api/direct-upload"))
            .body("not json")
            .header("content-type", "application/json"),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn private_images_come_back_with_working_signed_urls() {
    let s = service_with(|c| c.backend_require_signed_urls = true).await;
    let (_, body) = send(s.http.post(s.url("/api/direct-upload"))).await;
    let id = body["id"].as_str().unwrap();
    s.upload_to(body["uploadURL"].as_str().unwrap(), &png(30, 30), "p.png")
        .await;
    let (_, record) = send(s.http.get(s.url(&format!("/api/images/{id}")))).await;
    assert_eq!(record["requireSignedURLs"], true);
    for url in record["variants"].as_array().unwrap() {
        let url = url.as_str().unwrap();
        assert!(url.contains("exp=") && url.contains("sig="), "{url}");
        assert_eq!(
            s.http.get(url).send().await.unwrap().status(),
            200,
            "{url} must load"
        );
        let unsigned = url.split('?').next().unwrap();
        assert_eq!(s.http.get(unsigned).send().await.unwrap().status(), 403);
    }
}

#[tokio::test]
async fn origins_and_rate_are_limited_by_policy() {
    let s = service_with(|c| {
        c.allowed_origins = vec!["https://shop.example".into()];
        c.rate_limit_per_minute = 3;
    })
    .await;
    let response = s
        .http
        .post(s.url("/api/direct-upload"))
        .header("origin", "https://shop.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let (status, body) = send(
        s.http
            .post(s.url("/api/direct-upload"))
            .header("origin", "https://evil.example"),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(message(&body).contains("origin"));

    assert_eq!(send(s.http.post(s.url("/api/direct-upload"))).await.0, 200);
    assert_eq!(send(s.http.post(s.url("/api/direct-upload"))).await.0, 200);
    let response = s
        .http
        .post(s.url("/api/direct-upload"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        429,
        "the fourth request in a minute is refused"
    );
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn with_credentials_the_backend_calls_another_images_api() {
    // Instance A stands in for Cloudflare; instance B is a site's backend configured with
    // CF_ACCOUNT_ID, CF_API_TOKEN and a base URL, as in production.
    let cloudflare = service_with(|c| {
        c.account_id = "aaaabbbbccccddddeeeeffff00001111".into();
        c.api_token = "real-looking-token".into();
    })
    .await;
    let site = service_with(|c| {
        c.cf_account_id = Some("aaaabbbbccccddddeeeeffff00001111".into());
        c.cf_api_token = Some("real-looking-token".into());
        c.cf_api_base = cloudflare.running.api_base();
        c.backend_metadata = r#"{"from":"site"}"#.into();
    })
    .await;
    let (status, body) = send(site.http.post(site.url("/api/direct-upload"))).await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().unwrap();
    let upload_url = body["uploadURL"].as_str().unwrap();
    assert!(
        upload_url.starts_with(&cloudflare.running.urls.upload_base),
        "the URL is Cloudflare's: {upload_url}"
    );
    assert_eq!(
        site.upload_to(upload_url, &jpeg(40, 30), "x.jpg").await.0,
        200
    );

    let (_, record) = send(site.http.get(site.url(&format!("/api/images/{id}")))).await;
    assert_eq!(record["filename"], "x.jpg");
    let (_, held) = send(cloudflare.get(&format!("v1/{id}"))).await;
    assert_eq!(held["result"]["meta"], json!({"from": "site"}));
    let (_, site_stats) = send(site.get("v1/stats")).await;
    assert_eq!(
        site_stats["result"]["count"]["current"], 0,
        "the site's embedded service holds nothing"
    );

    // A wrong token at "Cloudflare" surfaces as a backend error with Cloudflare's code.
    let misconfigured = service_with(|c| {
        c.cf_account_id = Some("aaaabbbbccccddddeeeeffff00001111".into());
        c.cf_api_token = Some("wrong".into());
        c.cf_api_base = cloudflare.running.api_base();
    })
    .await;
    let (status, body) = send(
        misconfigured
            .http
            .post(misconfigured.url("/api/direct-upload")),
    )
    .await;
    assert_eq!((status, code(&body)), (502, 10000));
    // And an unreachable one as a 502 that says so.
    let unreachable = service_with(|c| {
        c.cf_account_id = Some("a".into());
        c.cf_api_token = Some("t".into());
        c.cf_api_base = "http://127.0.0.1:9/client/v4".into();
    })
    .await;
    let (status, body) = send(unreachable.http.post(unreachable.url("/api/direct-upload"))).await;
    assert_eq!(status, 502);
    assert!(message(&body).contains("could not be reached"), "{body}");
}
