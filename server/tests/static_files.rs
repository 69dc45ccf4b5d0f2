//! `--static-dir` serves what scripts/build.sh writes: the precompressed siblings a client
//! accepts, with the headers that make caches and browsers treat them right. Real files in a
//! temporary directory, requests through the whole router (`app(config)` with `oneshot`).

use std::io::{Read, Write};
use std::path::Path;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use direct_upload_server::static_files::{IMMUTABLE, REVALIDATE};
use direct_upload_server::{app, Config};
use http_body_util::BodyExt;
use tower::ServiceExt;

const ENTRY: &str = "embed/direct-upload.js";
const WASM: &str = "embed/widget-0123456789abcdef_bg.wasm";

/// A file and its `.gz` and `.br` siblings, as the build writes them.
fn write_precompressed(dir: &Path, name: &str, contents: &[u8]) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, contents).unwrap();
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(contents).unwrap();
    std::fs::write(dir.join(format!("{name}.gz")), gzip.finish().unwrap()).unwrap();
    let mut brotli = Vec::new();
    brotli::BrotliCompress(
        &mut &contents[..],
        &mut brotli,
        &brotli::enc::BrotliEncoderParams::default(),
    )
    .unwrap();
    std::fs::write(dir.join(format!("{name}.br")), brotli).unwrap();
}

/// Files shaped like the build's: an entry script and a content-hashed wasm module.
fn site() -> (tempfile::TempDir, tempfile::TempDir, Vec<u8>, Vec<u8>) {
    let site = tempfile::tempdir().unwrap();
    let entry = "import init from \"./widget-0123456789abcdef.js\";\n"
        .repeat(40)
        .into_bytes();
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.extend((0..20_000u32).map(|i| (i % 251) as u8));
    write_precompressed(site.path(), ENTRY, &entry);
    write_precompressed(site.path(), WASM, &wasm);
    let data = tempfile::tempdir().unwrap();
    (site, data, entry, wasm)
}

fn router(site: &Path, data: &Path) -> axum::Router {
    let mut config = Config::dev(data);
    config.static_dir = Some(site.to_path_buf());
    app(config).unwrap()
}

async fn get(
    router: axum::Router,
    path: &str,
    accept_encoding: Option<&str>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = Request::get(path);
    if let Some(accepted) = accept_encoding {
        request = request.header(header::ACCEPT_ENCODING, accepted);
    }
    let response = router
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes().to_vec();
    (parts.status, parts.headers, bytes)
}

fn decoded(headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap())
    {
        None => out.extend_from_slice(body),
        Some("gzip") => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("br") => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some(other) => panic!("unexpected content-encoding {other}"),
    }
    out
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(&name)
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn each_client_gets_the_encoding_it_accepts_and_the_same_bytes() {
    let (site, data, entry, wasm) = site();
    let router = router(site.path(), data.path());
    // (Accept-Encoding, the Content-Encoding it must get); Chromium sends the third.
    let cases = [
        (Some("br"), Some("br")),
        (Some("gzip"), Some("gzip")),
        (Some("gzip, deflate, br, zstd"), Some("br")),
        (Some("br;q=0.5, gzip"), Some("gzip")),
        (Some("identity"), None),
        (None, None),
    ];
    for (path, original, content_type) in [
        (ENTRY, &entry, "text/javascript"),
        (WASM, &wasm, "application/wasm"),
    ] {
        for (accepted, expected) in cases {
            let (status, headers, body) = get(router.clone(), &format!("/{path}"), accepted).await;
            assert_eq!(status, StatusCode::OK, "{path} with {accepted:?}");
            assert_eq!(
                headers
                    .get(header::CONTENT_ENCODING)
                    .map(|v| v.to_str().unwrap()),
                expected,
                "{path} with Accept-Encoding {accepted:?} must be sent as {expected:?}"
            );
            assert_eq!(
                header(&headers, header::CONTENT_TYPE),
                content_type,
                "{path}: the type of the original, whatever the encoding (wasm streams only as application/wasm)"
            );
            assert_eq!(
                header(&headers, header::VARY).to_ascii_lowercase(),
                "accept-encoding",
                "{path}: a cache must not hand one client's encoding to another"
            );
            if expected.is_some() {
                assert!(
                    body.len() < original.len(),
                    "{path}: the compressed sibling was sent"
                );
            }
            assert!(
                decoded(&headers, &body) == *original,
                "{path} with {accepted:?}: the decoded body is the original file"
            );
        }
    }
}

#[tokio::test]
async fn only_content_hashed_files_are_cached_forever() {
    let (site, data, _, _) = site();
    let router = router(site.path(), data.path());

    let (_, headers, _) = get(router.clone(), &format!("/{WASM}"), Some("br")).await;
    assert_eq!(header(&headers, header::CACHE_CONTROL), IMMUTABLE);

    // The entry names the hashed files of the current build: it must be revalidated, or a
    // browser would keep loading an old build's files.
    let (_, headers, _) = get(router.clone(), &format!("/{ENTRY}"), Some("br")).await;
    let policy = header(&headers, header::CACHE_CONTROL);
    assert_eq!(policy, REVALIDATE);
    assert!(!policy.contains("immutable") && !policy.contains("max-age"));

    // Unchanged since the browser's copy: a 304, with the same policy.
    let modified = header(&headers, header::LAST_MODIFIED).to_string();
    let revalidation = Request::get(format!("/{ENTRY}"))
        .header(header::IF_MODIFIED_SINCE, modified)
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(revalidation).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        header(response.headers(), header::CACHE_CONTROL),
        REVALIDATE
    );

    // A name that looks hashed but is missing is not cached at all.
    let (status, headers, _) = get(router, "/embed/widget-fedcba9876543210.js", Some("br")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(headers.get(header::CACHE_CONTROL).is_none(), "{headers:?}");
}
