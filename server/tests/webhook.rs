//! Webhook notifications for direct uploads, received by a real HTTP listener.

mod common;

use std::sync::{Arc, Mutex};

use axum::routing::post;
use axum::{Json, Router};
use common::*;
use serde_json::Value;

#[tokio::test]
async fn success_and_failure_are_notified() {
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = received.clone();
    let app = Router::new().route(
        "/hook",
        post(move |Json(body): Json<Value>| {
            let sink = sink.clone();
            async move { sink.lock().unwrap().push(body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let s = service_with(|c| c.webhook_url = Some(hook)).await;
    let record = s.uploaded(&png(10, 10), "ok.png", &[]).await;
    let (bad_id, bad_url) = s.direct_upload(&[]).await;
    s.upload_to(&bad_url, b"not an image", "bad.txt").await;

    for _ in 0..100 {
        if received.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let events = received.lock().unwrap().clone();
    let success = events
        .iter()
        .find(|e| e["event"] == "direct_upload.success")
        .expect("a success event");
    assert_eq!(success["image"]["id"], record["id"]);
    assert_eq!(success["image"]["filename"], "ok.png");
    let failure = events
        .iter()
        .find(|e| e["event"] == "direct_upload.failure")
        .expect("a failure event");
    assert_eq!(failure["image"]["id"], bad_id.as_str());
    assert_eq!(failure["error"]["code"], 5455);
}
