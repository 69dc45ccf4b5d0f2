//! The whole service as a router, called without binding a port (`tower::ServiceExt::oneshot`),
//! as axum's testing example does.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use direct_upload_server::{app, Config};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn config(dir: &std::path::Path) -> Config {
    Config::dev(dir)
}

async fn call(router: axum::Router, request: Request<Body>) -> (StatusCode, serde_json::Value) {
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

#[tokio::test]
async fn the_router_answers_without_a_port() {
    let dir = tempfile::tempdir().unwrap();
    let router = app(config(dir.path())).unwrap();
    let stats = Request::get(format!(
        "/client/v4/accounts/{}/images/v1/stats",
        direct_upload_server::config::DEV_ACCOUNT_ID
    ))
    .header("authorization", "Bearer local-dev-token")
    .body(Body::empty())
    .unwrap();
    let (status, body) = call(router.clone(), stats).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["count"]["current"], 0);

    // An id that would step out of v1/ is refused before any call is made.
    let probe = Request::get("/api/images/..%2Fv1%2Fkeys")
        .body(Body::empty())
        .unwrap();
    let (status, body) = call(router, probe).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(!body.to_string().contains("value"), "{body}");
}

#[tokio::test]
async fn a_configuration_that_fails_open_builds_no_router() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.backend_metadata = "{oops".into();
    let Err(error) = app(config) else {
        panic!("no router for a broken policy");
    };
    assert!(error.to_string().contains("--backend-metadata"), "{error}");
}
