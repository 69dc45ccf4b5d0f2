//! The Images API v4: authentication, direct uploads and their rules, records, lists,
//! stats, keys and variants, each through real HTTP against a running instance.

mod common;

use common::*;
use reqwest::multipart::Form;
use serde_json::json;

#[tokio::test]
async fn a_missing_token_is_401_and_a_wrong_one_403() {
    let s = service().await;
    let (status, body) = send(s.http.get(s.api("v1"))).await;
    assert_eq!((status, code(&body)), (401, 10000));
    let (status, body) = send(s.http.get(s.api("v1")).bearer_auth("wrong")).await;
    assert_eq!((status, code(&body)), (403, 10000));
    let other_account = s
        .api("v1")
        .replace(&s.running.account_id, "0000000000000000000000000000beef");
    let (status, body) = send(s.http.get(other_account).bearer_auth(&s.running.api_token)).await;
    assert_eq!((status, code(&body)), (403, 5403));
}

#[tokio::test]
async fn a_direct_upload_creates_a_draft_that_no_list_shows() {
    let s = service().await;
    let (status, body) = send(s.post("v2/direct_upload").multipart(Form::new())).await;
    assert_eq!(status, 200);
    assert_eq!(body["success"], true);
    assert_eq!(body["result_info"], serde_json::Value::Null);
    assert_eq!(body["errors"], json!([]));
    let id = body["result"]["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "generated ids are UUIDs");
    let upload_url = body["result"]["uploadURL"].as_str().unwrap();
    assert_eq!(
        upload_url,
        format!(
            "{}/{}/{id}",
            s.running.urls.upload_base, s.running.urls.account_hash
        )
    );

    let (status, record) = send(s.get(&format!("v1/{id}"))).await;
    assert_eq!(status, 200);
    assert_eq!(record["result"]["draft"], true);
    assert_eq!(record["result"]["variants"].as_array().unwrap().len(), 2);

    let (_, v1) = send(s.get("v1")).await;
    assert_eq!(v1["result"]["images"], json!([]));
    let (_, v2) = send(s.get("v2")).await;
    assert_eq!(v2["result"]["images"], json!([]));
    let (_, stats) = send(s.get("v1/stats")).await;
    assert_eq!(stats["result"]["count"]["current"], 0);

    // Once the file arrives, the draft flag is gone and the lists show it.
    let (status, _) = s.upload_to(upload_url, &png(40, 30), "a.png").await;
    assert_eq!(status, 200);
    let (_, record) = send(s.get(&format!("v1/{id}"))).await;
    assert!(
        record["result"].get("draft").is_none(),
        "draft must be absent after upload: {record}"
    );
    let (_, v2) = send(s.get("v2")).await;
    assert_eq!(v2["result"]["images"][0]["id"], id);
}

#[tokio::test]
async fn direct_upload_accepts_json_and_the_sdks_multipart_encoding() {
    let s = service().await;
    // JSON body, as in the docs' curl example.
    let expiry = time::OffsetDateTime::now_utc() + time::Duration::minutes(10);
    let expiry = expiry
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (status, body) = send(
        s.post("v2/direct_upload")
            .json(&json!({"expiry": expiry, "metadata": {"key": "value"}, "requireSignedURLs": true, "creator": "user-7"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, record) = send(s.get(&format!("v1/{}", body["result"]["id"].as_str().unwrap()))).await;
    assert_eq!(record["result"]["meta"], json!({"key": "value"}));
    assert_eq!(record["result"]["requireSignedURLs"], true);
    assert_eq!(record["result"]["creator"], "user-7");

    // Multipart as the SDKs send it: booleans as strings, nested metadata as bracketed fields.
    let form = Form::new()
        .text("requireSignedURLs", "false")
        .text("metadata[album]", "holidays")
        .text("metadata[place][city]", "Lisbon");
    let (status, body) = send(s.post("v2/direct_upload").multipart(form)).await;
    assert_eq!(status, 200, "{body}");
    let (_, record) = send(s.get(&format!("v1/{}", body["result"]["id"].as_str().unwrap()))).await;
    assert_eq!(
        record["result"]["meta"],
        json!({"album": "holidays", "place": {"city": "Lisbon"}})
    );
    assert_eq!(record["result"]["requireSignedURLs"], false);

    // The Python SDK's dotted encoding of the same.
    let form = Form::new()
        .text("metadata.album", "trip")
        .text("metadata.place.city", "Porto");
    let (_, body) = send(s.post("v2/direct_upload").multipart(form)).await;
    let (_, record) = send(s.get(&format!("v1/{}", body["result"]["id"].as_str().unwrap()))).await;
    assert_eq!(
        record["result"]["meta"],
        json!({"album": "trip", "place": {"city": "Porto"}})
    );

    // Multipart with metadata as one JSON string field, as in the docs' curl example.
    let (id, _) = s.direct_upload(&[("metadata", r#"{"key":"value"}"#)]).await;
    let (_, record) = send(s.get(&format!("v1/{id}"))).await;
    assert_eq!(record["result"]["meta"], json!({"key": "value"}));

    // A boolean that is not one.
    let (status, body) = send(
        s.post("v2/direct_upload")
            .multipart(Form::new().text("requireSignedURLs", "yes")),
    )
    .await;
    assert_eq!((status, code(&body)), (400, 5400));
}

#[tokio::test]
async fn custom_ids_follow_cloudflares_rules() {
    let s = service().await;
    let create = |id: String| {
        let request = s
            .post("v2/direct_upload")
            .multipart(Form::new().text("id", id));
        async move { send(request).await }
    };
    let (status, body) = create("this/is/my-customid".into()).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["id"], "this/is/my-customid");

    let (status, body) = create("this/is/my-customid".into()).await;
    assert_eq!(
        (status, code(&body)),
        (409, 5409),
        "a taken id is a conflict"
    );

    for bad in [
        "/leading".to_string(),
        "trailing/".to_string(),
        "x".repeat(1025),
        uuid::Uuid::new_v4().to_string(),
    ] {
        let (status, body) = create(bad.clone()).await;
        assert_eq!(
            (status, code(&body)),
            (400, 5400),
            "custom id {bad:.40} must be refused"
        );
        assert!(
            message(&body).starts_with("Custom ID is invalid"),
            "{}",
            message(&body)
        );
    }
    let (status, _) = create("y".repeat(1024)).await;
    assert_eq!(status, 200, "1024 characters are allowed");

    let form = Form::new()
        .text("id", "private/one")
        .text("requireSignedURLs", "true");
    let (status, body) = send(s.post("v2/direct_upload").multipart(form)).await;
    assert_eq!((status, code(&body)), (400, 5400));
    assert!(
        message(&body).contains("custom ID cannot require signed URLs"),
        "{}",
        message(&body)
    );

    // A custom id with subpaths uploads and is delivered.
    let (_, url) = s.direct_upload(&[("id", "albums/2026/sunset")]).await;
    let (status, record) = s.upload_to(&url, &jpeg(64, 48), "sunset.jpg").await;
    assert_eq!(status, 200, "{record}");
    let public = record["result"]["variants"][0].as_str().unwrap();
    assert!(public.contains("/albums/2026/sunset/public"), "{public}");
    let response = s.http.get(public).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn metadata_is_limited_to_1024_bytes_and_must_be_an_object() {
    let s = service().await;
    let big = json!({"k": "v".repeat(1100)}).to_string();
    let (status, body) = send(
        s.post("v2/direct_upload")
            .multipart(Form::new().text("metadata", big)),
    )
    .await;
    assert_eq!((status, code(&body)), (400, 5400));
    assert!(message(&body).contains("1024 bytes"));
    let (status, body) = send(
        s.post("v2/direct_upload")
            .multipart(Form::new().text("metadata", "[1,2]")),
    )
    .await;
    assert_eq!((status, code(&body)), (400, 5400));
    let (status, body) = send(
        s.post("v2/direct_upload")
            .multipart(Form::new().text("metadata", "{not json")),
    )
    .await;
    assert_eq!((status, code(&body)), (400, 5400));
}

#[tokio::test]
async fn expiry_must_be_between_2_minutes_and_6_hours_away() {
    let s = service().await;
    let at = |minutes: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    for (minutes, ok) in [
        (1, false),
        (3, true),
        (359, true),
        (361, false),
        (-10, false),
    ] {
        let (status, body) = send(
            s.post("v2/direct_upload")
                .multipart(Form::new().text("expiry", at(minutes))),
        )
        .await;
        if ok {
            assert_eq!(
                status, 200,
                "expiry in {minutes} min must be accepted: {body}"
            );
        } else {
            assert_eq!(
                (status, code(&body)),
                (400, 5400),
                "expiry in {minutes} min must be refused"
            );
        }
    }
    let (status, body) = send(
        s.post("v2/direct_upload")
            .multipart(Form::new().text("expiry", "tomorrow")),
    )
    .await;
    assert_eq!((status, code(&body)), (400, 5400));
}

#[tokio::test]
async fn a_draft_disappears_when_its_url_expires() {
    let s = service().await;
    let (id, _) = s.direct_upload(&[]).await;
    let (status, _) = send(s.http.post(s.url("/_local/advance-clock?seconds=1801"))).await;
    assert_eq!(status, 200);
    let (status, body) = send(s.get(&format!("v1/{id}"))).await;
    assert_eq!((status, code(&body)), (404, 5404));
}

#[tokio::test]
async fn upload_v1_by_file_and_by_url() {
    let s = service().await;
    let bytes = png(120, 80);
    let form = Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name("logo.png"),
        )
        .text("metadata", r#"{"source":"api"}"#)
        .text("creator", "svc");
    let (status, body) = send(s.post("v1").multipart(form)).await;
    assert_eq!(status, 200, "{body}");
    let record = &body["result"];
    assert_eq!(record["filename"], "logo.png");
    assert_eq!(record["meta"], json!({"source": "api"}));
    let blob = s
        .get(&format!("v1/{}/blob", record["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(blob.headers()["content-type"], "image/png");
    assert_eq!(blob.bytes().await.unwrap().to_vec(), bytes);

    // By URL: the service fetches the image itself (here, a delivery URL of the first one).
    let public = record["variants"][0].as_str().unwrap().to_string();
    let (status, body) = send(
        s.post("v1").multipart(
            Form::new()
                .text("url", public.clone())
                .text("id", "copies/logo"),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["id"], "copies/logo");
    assert_eq!(body["result"]["filename"], "public");

    let (status, body) = send(
        s.post("v1")
            .multipart(Form::new().text("url", s.url("/nowhere.png"))),
    )
    .await;
    assert_eq!((status, code(&body)), (400, 5400));
    let (status, body) = send(s.post("v1").multipart(Form::new())).await;
    assert_eq!((status, code(&body)), (400, 5400));
    let form = Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("a.png"),
        )
        .text("url", public);
    let (status, body) = send(s.post("v1").multipart(form)).await;
    assert_eq!((status, code(&body)), (400, 5400));
    let form = Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"plain text".to_vec()).file_name("a.txt"),
    );
    let (status, body) = send(s.post("v1").multipart(form)).await;
    assert_eq!((status, code(&body)), (415, 5455));
}

#[tokio::test]
async fn patch_and_delete_an_image() {
    let s = service().await;
    let record = s
        .uploaded(&png(30, 30), "a.png", &[("metadata", r#"{"v":1}"#)])
        .await;
    let id = record["id"].as_str().unwrap();
    let (status, body) = send(
        s.patch(&format!("v1/{id}"))
            .json(&json!({"metadata": {"v": 2}, "requireSignedURLs": true})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["meta"], json!({"v": 2}));
    assert_eq!(body["result"]["requireSignedURLs"], true);

    let custom = s.uploaded(&png(30, 30), "b.png", &[("id", "named")]).await;
    assert_eq!(custom["id"], "named");
    let (status, body) = send(
        s.patch("v1/named")
            .json(&json!({"requireSignedURLs": true})),
    )
    .await;
    assert_eq!((status, code(&body)), (400, 5400));

    let blob_files = || {
        std::fs::read_dir(s.data_dir.path().join("images"))
            .unwrap()
            .count()
    };
    let before = blob_files();
    let (status, _) = send(s.delete(&format!("v1/{id}"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        blob_files(),
        before - 1,
        "the stored file is removed with the record"
    );
    let (status, body) = send(s.get(&format!("v1/{id}"))).await;
    assert_eq!((status, code(&body)), (404, 5404));
    let (status, body) = send(s.delete(&format!("v1/{id}"))).await;
    assert_eq!((status, code(&body)), (404, 5404));
    let (status, body) = send(s.patch("v1/nothing-here").json(&json!({"metadata": {}}))).await;
    assert_eq!((status, code(&body)), (404, 5404));
}

#[tokio::test]
async fn lists_page_by_number_and_by_cursor() {
    let s = service().await;
    let mut ids = Vec::new();
    for i in 0..25u8 {
        let creator = if i % 5 == 0 { "alice" } else { "bob" };
        let record = s
            .uploaded(
                &image_bytes(8, 8, i, image::ImageFormat::Png),
                &format!("{i}.png"),
                &[("creator", creator)],
            )
            .await;
        ids.push(record["id"].as_str().unwrap().to_string());
    }
    s.direct_upload(&[]).await; // a draft, never listed

    let (_, page2) = send(s.get("v1?page=2&per_page=10")).await;
    let page2: Vec<_> = page2["result"]["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(page2, ids[10..20]);
    let (status, body) = send(s.get("v1?per_page=5")).await;
    assert_eq!((status, code(&body)), (400, 5400));

    // Cursor pages, ascending, until the token runs out.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let path = match &token {
            Some(t) => format!("v2?per_page=10&sort_order=asc&continuation_token={t}"),
            None => "v2?per_page=10&sort_order=asc".to_string(),
        };
        let (status, body) = send(s.get(&path)).await;
        assert_eq!(status, 200, "{body}");
        seen.extend(
            body["result"]["images"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string()),
        );
        token = body["result"]["continuation_token"]
            .as_str()
            .map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        seen, ids,
        "every image exactly once, oldest first, no draft"
    );

    let (_, newest) = send(s.get("v2?per_page=10")).await;
    assert_eq!(
        newest["result"]["images"][0]["id"], ids[24],
        "desc is the default"
    );
    let (_, alice) = send(s.get("v2?creator=alice")).await;
    assert_eq!(alice["result"]["images"].as_array().unwrap().len(), 5);
    let (status, body) = send(s.get("v2?sort_order=sideways")).await;
    assert_eq!((status, code(&body)), (400, 5400));
    let (status, body) = send(s.get("v2?continuation_token=bogus!")).await;
    assert_eq!((status, code(&body)), (400, 5400));

    let (_, stats) = send(s.get("v1/stats")).await;
    assert_eq!(
        stats["result"]["count"],
        json!({"allowed": 100000, "current": 25})
    );
}

#[tokio::test]
async fn variants_can_be_listed_created_changed_and_deleted() {
    let s = service().await;
    let (_, body) = send(s.get("v1/variants")).await;
    assert_eq!(
        body["result"]["variants"]["public"]["options"],
        json!({"fit": "scale-down", "metadata": "none", "width": 1366, "height": 768})
    );
    assert_eq!(
        body["result"]["variants"]["thumbnail"]["options"]["fit"],
        "cover"
    );

    let hero = json!({"id": "hero", "options": {"fit": "cover", "width": 300, "height": 100, "metadata": "none"}, "neverRequireSignedURLs": true});
    let (status, body) = send(s.post("v1/variants").json(&hero)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["variant"]["neverRequireSignedURLs"], true);
    let (status, body) = send(s.post("v1/variants").json(&hero)).await;
    assert_eq!((status, code(&body)), (409, 5409));
    let (status, body) = send(
        s.post("v1/variants")
            .json(&json!({"id": "bad", "options": {"fit": "stretch", "width": 1, "height": 1}})),
    )
    .await;
    assert_eq!((status, code(&body)), (400, 5400));

    let (status, body) = send(
        s.patch("v1/variants/hero")
            .json(&json!({"options": {"width": 400}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["variant"]["options"]["width"], 400);
    assert_eq!(
        body["result"]["variant"]["options"]["height"], 100,
        "unchanged options are kept"
    );
    let (_, body) = send(s.get("v1/variants/hero")).await;
    assert_eq!(body["result"]["variant"]["options"]["width"], 400);

    // Every record lists every variant.
    let record = s.uploaded(&png(20, 20), "a.png", &[]).await;
    assert_eq!(record["variants"].as_array().unwrap().len(), 3);

    let (status, _) = send(s.delete("v1/variants/hero")).await;
    assert_eq!(status, 200);
    let (status, body) = send(s.get("v1/variants/hero")).await;
    assert_eq!((status, code(&body)), (404, 5404));
    let (status, body) = send(s.delete("v1/variants/hero")).await;
    assert_eq!((status, code(&body)), (404, 5404));
}

#[tokio::test]
async fn signing_keys_can_be_listed_added_rotated_and_deleted() {
    let s = service_with(|c| c.signing_key = Some("k3y".into())).await;
    let (status, body) = send(s.get("v1/keys")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["result"]["keys"],
        json!([{"name": "default", "value": "k3y"}])
    );

    let (status, body) = send(
        s.http
            .put(s.api("v1/keys/second"))
            .bearer_auth(&s.running.api_token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let keys = body["result"]["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    let second = keys.iter().find(|k| k["name"] == "second").unwrap()["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(second.len(), 64, "a new key is 256 random bits in hex");

    // Rotating gives the key a new value.
    let (_, body) = send(
        s.http
            .put(s.api("v1/keys/second"))
            .bearer_auth(&s.running.api_token),
    )
    .await;
    let rotated = body["result"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "second")
        .unwrap()["value"]
        .clone();
    assert_ne!(rotated, json!(second));

    let (status, body) = send(
        s.http
            .put(s.api("v1/keys/bad%20name"))
            .bearer_auth(&s.running.api_token),
    )
    .await;
    assert_eq!((status, code(&body)), (400, 5400));
    let (status, body) = send(s.delete("v1/keys/second")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["result"]["keys"],
        json!([{"name": "default", "value": "k3y"}])
    );
    let (status, body) = send(s.delete("v1/keys/second")).await;
    assert_eq!((status, code(&body)), (404, 5404));
    let (status, body) = send(s.delete("v1/keys/default")).await;
    assert_eq!((status, code(&body)), (400, 5400), "the last key stays");
}
