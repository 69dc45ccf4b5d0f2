//! Nothing is lost across a restart, and many uploads at once are all stored, none mixed up.

mod common;

use common::*;
use direct_upload_server::start;

#[tokio::test]
async fn records_files_variants_and_keys_survive_a_restart() {
    let s = service().await;
    let bytes = jpeg(500, 300);
    let record = s
        .uploaded(&bytes, "keep.jpg", &[("metadata", r#"{"k":"v"}"#)])
        .await;
    let id = record["id"].as_str().unwrap().to_string();
    let (draft_id, draft_url) = s.direct_upload(&[]).await;
    send(s.post("v1/variants").json(&serde_json::json!({"id": "small", "options": {"fit": "contain", "width": 50, "height": 50}}))).await;
    let (_, keys_before) = send(s.get("v1/keys")).await;
    let (_, before) = send(s.get(&format!("v1/{id}"))).await;
    let data_dir = s.stop().await;

    let running = start(config(data_dir.path())).await.unwrap();
    let s = Service {
        running,
        http: reqwest::Client::new(),
        data_dir,
    };
    let (_, after) = send(s.get(&format!("v1/{id}"))).await;
    let strip_host = |v: &serde_json::Value| {
        let mut v = v["result"].clone();
        v["variants"] = serde_json::Value::Null; // the port changed; the names are checked below
        v
    };
    assert_eq!(strip_host(&after), strip_host(&before));
    assert_eq!(after["result"]["variants"].as_array().unwrap().len(), 3);
    let blob = s.blob(&id).await;
    assert_eq!(blob, bytes);
    let (_, keys_after) = send(s.get("v1/keys")).await;
    assert_eq!(keys_after, keys_before, "the signing key is kept");
    let small = after["result"]["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v.as_str().unwrap().ends_with("/small"))
        .unwrap();
    let delivered = s
        .http
        .get(small.as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(dimensions(&delivered), (50, 30));

    // A draft created before the restart still takes its upload (at the new port).
    let new_url = draft_url.replace(
        &draft_url[..draft_url.find("/upload/").unwrap()],
        &s.running.urls.public,
    );
    assert_eq!(
        s.upload_to(&new_url, &png(10, 10), "later.png").await.0,
        200
    );
    let (_, draft) = send(s.get(&format!("v1/{draft_id}"))).await;
    assert!(draft["result"].get("draft").is_none());
}

#[tokio::test]
async fn fifty_concurrent_uploads_are_all_stored_and_none_mixed_up() {
    let s = service().await;
    let files: Vec<Vec<u8>> = (0..50u8)
        .map(|i| image_bytes(64 + i as u32, 48, i, image::ImageFormat::Png))
        .collect();
    let mut targets = Vec::new();
    for _ in 0..50 {
        targets.push(s.direct_upload(&[]).await);
    }
    let uploads = targets
        .iter()
        .zip(&files)
        .enumerate()
        .map(|(i, ((_, url), bytes))| {
            let s = &s;
            async move { s.upload_to(url, bytes, &format!("file-{i}.png")).await }
        });
    let answers = futures_util::future::join_all(uploads).await;
    for (i, (status, body)) in answers.iter().enumerate() {
        assert_eq!(*status, 200, "upload {i}: {body}");
        assert_eq!(body["result"]["id"], targets[i].0);
        assert_eq!(body["result"]["filename"], format!("file-{i}.png"));
    }
    for (i, (id, _)) in targets.iter().enumerate() {
        let blob = s.blob(id).await;
        assert_eq!(blob, files[i], "image {i} holds its own bytes");
    }
    let (_, stats) = send(s.get("v1/stats")).await;
    assert_eq!(stats["result"]["count"]["current"], 50);
}

/// #15: half-written files a `kill -9` left behind are removed when the service starts again;
/// stored originals and rendered variants stay.
#[tokio::test]
async fn half_written_files_are_removed_at_start() {
    let s = service().await;
    let record = s.uploaded(&png(40, 40), "kept.png", &[]).await;
    let id = record["id"].as_str().unwrap().to_string();
    let thumbnail = record["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|v| v.as_str().filter(|v| v.ends_with("/thumbnail")))
        .unwrap()
        .to_string();
    assert_eq!(s.http.get(&thumbnail).send().await.unwrap().status(), 200);
    let data_dir = s.stop().await;
    let images = data_dir.path().join("images");
    let cache = data_dir.path().join("cache");
    let count = |dir: &std::path::Path| std::fs::read_dir(dir).unwrap().count();
    let (originals, rendered) = (count(&images), count(&cache));
    std::fs::write(images.join("0123abcd.partial"), b"half an image").unwrap();
    std::fs::write(
        cache.join("0123abcd-public.partial-77aa"),
        b"half a variant",
    )
    .unwrap();

    let running = start(config(data_dir.path())).await.unwrap();
    assert_eq!(
        count(&images),
        originals,
        "the orphan original is gone, the real one stays"
    );
    assert_eq!(
        count(&cache),
        rendered,
        "the orphan variant is gone, the rendered one stays"
    );
    let s = Service {
        running,
        http: reqwest::Client::new(),
        data_dir,
    };
    assert!(
        !s.blob(&id).await.is_empty(),
        "the stored original still serves"
    );
}
