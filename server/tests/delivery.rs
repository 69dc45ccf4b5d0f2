//! Image delivery: variants resized per their fit, headers, and signed URLs.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn default_variants_are_resized_with_the_right_headers() {
    let s = service().await;
    let record = s.uploaded(&jpeg(2000, 1000), "wide.jpg", &[]).await;
    let (status, headers, bytes) = deliver(&s, &variant_url(&record, "public")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/jpeg");
    assert!(headers["cache-control"]
        .to_str()
        .unwrap()
        .starts_with("public, max-age="));
    assert_eq!(headers["cross-origin-resource-policy"], "cross-origin");
    assert_eq!(
        dimensions(&bytes),
        (1366, 683),
        "public scales down into 1366x768"
    );
    let (_, _, bytes) = deliver(&s, &variant_url(&record, "thumbnail")).await;
    assert_eq!(dimensions(&bytes), (200, 200), "thumbnail covers 200x200");

    // Small images are never enlarged by scale-down; PNG stays PNG.
    let record = s.uploaded(&png(300, 100), "small.png", &[]).await;
    let (_, headers, bytes) = deliver(&s, &variant_url(&record, "public")).await;
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(dimensions(&bytes), (300, 100));
}

#[tokio::test]
async fn every_fit_behaves_as_documented() {
    let s = service().await;
    for (name, fit, w, h) in [
        ("contain", "contain", 400, 400),
        ("cover", "cover", 100, 100),
        ("crop", "crop", 500, 50),
        ("pad", "pad", 200, 200),
    ] {
        let body = json!({"id": name, "options": {"fit": fit, "width": w, "height": h}});
        assert_eq!(send(s.post("v1/variants").json(&body)).await.0, 200);
    }
    let record = s.uploaded(&png(300, 150), "a.png", &[]).await;
    let expected = [
        ("contain", (400, 200)),
        ("cover", (100, 100)),
        ("crop", (300, 50)),
        ("pad", (200, 200)),
    ];
    for (name, dims) in expected {
        let (status, _, bytes) = deliver(&s, &variant_url(&record, name)).await;
        assert_eq!(status, 200);
        assert_eq!(dimensions(&bytes), dims, "fit {name}");
    }
    // Changing a variant changes what is delivered (no stale rendering).
    send(
        s.patch("v1/variants/cover")
            .json(&json!({"options": {"width": 50, "height": 20}})),
    )
    .await;
    let (_, _, bytes) = deliver(&s, &variant_url(&record, "cover")).await;
    assert_eq!(dimensions(&bytes), (50, 20));
}

#[tokio::test]
async fn unknown_images_variants_and_drafts_are_404() {
    let s = service().await;
    let record = s.uploaded(&png(10, 10), "a.png", &[]).await;
    let public = variant_url(&record, "public");
    assert_eq!(
        deliver(&s, &public.replace("/public", "/nope")).await.0,
        404
    );
    assert_eq!(
        deliver(
            &s,
            &public.replace(record["id"].as_str().unwrap(), "missing")
        )
        .await
        .0,
        404
    );
    let (id, _) = s.direct_upload(&[]).await;
    let draft = format!(
        "{}/{}/{id}/public",
        s.running.urls.delivery_base, s.running.urls.account_hash
    );
    assert_eq!(deliver(&s, &draft).await.0, 404);
}

#[tokio::test]
async fn svg_is_served_as_stored_and_inert() {
    let s = service().await;
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="red"/></svg>"#;
    let record = s.uploaded(svg, "logo.svg", &[]).await;
    let (status, headers, bytes) = deliver(&s, &variant_url(&record, "thumbnail")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/svg+xml");
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    assert_eq!(bytes, svg);
}

#[tokio::test]
async fn private_images_need_a_valid_signature() {
    let s = service_with(|c| c.signing_key = Some("secret-key".into())).await;
    let record = s
        .uploaded(&png(50, 50), "p.png", &[("requireSignedURLs", "true")])
        .await;
    let public = variant_url(&record, "public");
    let (status, _, body) = deliver(&s, &public).await;
    assert_eq!(status, 403, "unsigned: {}", String::from_utf8_lossy(&body));

    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 600;
    let signed = direct_upload_server::signing::sign_url(&public, "secret-key", exp);
    let (status, headers, _) = deliver(&s, &signed).await;
    assert_eq!(status, 200);
    assert!(headers["cache-control"]
        .to_str()
        .unwrap()
        .starts_with("private"));

    // Signed by hand exactly as Cloudflare's docs do it, to pin the algorithm.
    let parsed = url::Url::parse(&public).unwrap();
    let to_sign = format!("{}?exp={exp}", parsed.path());
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"secret-key").unwrap();
    mac.update(to_sign.as_bytes());
    let by_hand = format!(
        "{public}?exp={exp}&sig={}",
        hex::encode(mac.finalize().into_bytes())
    );
    assert_eq!(deliver(&s, &by_hand).await.0, 200);

    let wrong_key = direct_upload_server::signing::sign_url(&public, "other-key", exp);
    assert_eq!(deliver(&s, &wrong_key).await.0, 403);
    let other_variant = signed.replace("/public?", "/thumbnail?");
    assert_eq!(
        deliver(&s, &other_variant).await.0,
        403,
        "a signature covers one path"
    );
    let expired = direct_upload_server::signing::sign_url(&public, "secret-key", exp - 1200);
    assert_eq!(deliver(&s, &expired).await.0, 403);

    // A URL signed with any of the account's keys is valid, until that key is deleted.
    let (_, body) = send(
        s.http
            .put(s.api("v1/keys/rotation"))
            .bearer_auth(&s.running.api_token),
    )
    .await;
    let rotation = body["result"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "rotation")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_string();
    let by_new_key = direct_upload_server::signing::sign_url(&public, &rotation, exp);
    assert_eq!(deliver(&s, &by_new_key).await.0, 200);
    send(s.delete("v1/keys/rotation")).await;
    assert_eq!(
        deliver(&s, &by_new_key).await.0,
        403,
        "a deleted key signs nothing"
    );
    assert_eq!(
        deliver(&s, &signed).await.0,
        200,
        "the other key still works"
    );

    // A variant marked neverRequireSignedURLs is public even for private images.
    let body = json!({"id": "open", "options": {"fit": "scale-down", "width": 10, "height": 10}, "neverRequireSignedURLs": true});
    let (status, created) = send(s.post("v1/variants").json(&body)).await;
    assert_eq!(status, 200, "{created}");
    let (status, _, text) = deliver(&s, &public.replace("/public", "/open")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&text));
}
