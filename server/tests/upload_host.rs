//! The one-time upload host: one upload per URL, expiry, CORS, the format and size checks,
//! and every refusal code.

mod common;

use common::*;
use reqwest::multipart::{Form, Part};

#[tokio::test]
async fn an_upload_answers_the_record_with_variant_urls() {
    let s = service().await;
    let (id, url) = s.direct_upload(&[("metadata", r#"{"k":"v"}"#)]).await;
    let bytes = jpeg(300, 200);
    let (status, body) = s.upload_to(&url, &bytes, "photo.jpg").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    let record = &body["result"];
    assert_eq!(record["id"], id);
    assert_eq!(record["filename"], "photo.jpg");
    assert_eq!(record["requireSignedURLs"], false);
    assert!(record.get("draft").is_none());
    let variants: Vec<&str> = record["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let base = format!(
        "{}/{}/{id}",
        s.running.urls.delivery_base, s.running.urls.account_hash
    );
    assert_eq!(
        variants,
        [format!("{base}/public"), format!("{base}/thumbnail")]
    );
    let blob = s.blob(&id).await;
    assert_eq!(blob, bytes);
}

#[tokio::test]
async fn a_url_takes_exactly_one_upload() {
    let s = service().await;
    let (id, url) = s.direct_upload(&[]).await;
    let first = png(50, 50);
    assert_eq!(s.upload_to(&url, &first, "first.png").await.0, 200);
    let (status, body) = s.upload_to(&url, &png(60, 60), "second.png").await;
    assert_eq!((status, code(&body)), (409, 5409));
    assert!(message(&body).contains("already been used"));
    let blob = s.blob(&id).await;
    assert_eq!(blob, first, "the first upload survives the second attempt");
}

#[tokio::test]
async fn racing_uploads_to_one_url_store_exactly_one() {
    let s = service().await;
    let (id, url) = s.direct_upload(&[]).await;
    let files: Vec<Vec<u8>> = (0..8u8)
        .map(|i| image_bytes(32, 32, i, image::ImageFormat::Png))
        .collect();
    let answers =
        futures_util::future::join_all(files.iter().map(|f| s.upload_to(&url, f, "race.png")))
            .await;
    let winners: Vec<usize> = answers
        .iter()
        .enumerate()
        .filter(|(_, (status, _))| *status == 200)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one upload wins: {answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 200) {
        assert_eq!((*status, code(body)), (409, 5409));
    }
    let blob = s.blob(&id).await;
    assert_eq!(blob, files[winners[0]]);
    assert_eq!(
        std::fs::read_dir(s.data_dir.path().join("images"))
            .unwrap()
            .count(),
        1,
        "losers leave no files behind"
    );
}

#[tokio::test]
async fn an_expired_url_is_refused() {
    let s = service().await;
    let (_, url) = s.direct_upload(&[]).await;
    send(s.http.post(s.url("/_local/advance-clock?seconds=1801"))).await;
    let (status, body) = s.upload_to(&url, &png(10, 10), "late.png").await;
    assert_eq!((status, code(&body)), (410, 5400));
    assert!(message(&body).contains("expired"), "{}", message(&body));
}

#[tokio::test]
async fn an_unknown_url_is_404() {
    let s = service().await;
    let url = format!(
        "{}/{}/no-such-draft",
        s.running.urls.upload_base, s.running.urls.account_hash
    );
    let (status, body) = s.upload_to(&url, &png(10, 10), "a.png").await;
    assert_eq!((status, code(&body)), (404, 5404));
    let url = format!("{}/wrong-hash/x", s.running.urls.upload_base);
    let (status, body) = s.upload_to(&url, &png(10, 10), "a.png").await;
    assert_eq!((status, code(&body)), (404, 5404));
}

#[tokio::test]
async fn a_raw_body_is_5415_and_a_broken_form_5400() {
    let s = service().await;
    let (_, url) = s.direct_upload(&[]).await;
    let (status, body) = send(
        s.http
            .post(&url)
            .header("content-type", "image/png")
            .body(png(10, 10)),
    )
    .await;
    assert_eq!((status, code(&body)), (415, 5415));

    let broken =
        "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nabc";
    let (status, body) = send(
        s.http
            .post(&url)
            .header("content-type", "multipart/form-data; boundary=XYZ")
            .body(broken),
    )
    .await;
    assert_eq!((status, code(&body)), (400, 5400));
    let (status, body) = send(
        s.http
            .post(&url)
            .header("content-type", "multipart/form-data")
            .body("x"),
    )
    .await;
    assert_eq!((status, code(&body)), (400, 5400), "no boundary");
    let (status, body) = send(s.http.post(&url).multipart(Form::new().text("other", "x"))).await;
    assert_eq!((status, code(&body)), (400, 5400), "no file field");
    assert!(message(&body).contains("'file'"));
    // The URL is still good after refusals.
    assert_eq!(s.upload_to(&url, &png(10, 10), "ok.png").await.0, 200);
}

#[tokio::test]
async fn over_10_mb_is_5413_and_nothing_is_kept() {
    let s = service().await;
    let (id, url) = s.direct_upload(&[]).await;
    let mut big = png(10, 10);
    big.resize(10 * 1024 * 1024 + 1, 0);
    let (status, body) = s.upload_to(&url, &big, "big.png").await;
    assert_eq!((status, code(&body)), (413, 5413));
    assert_eq!(
        std::fs::read_dir(s.data_dir.path().join("images"))
            .unwrap()
            .count(),
        0
    );
    let (_, record) = send(s.get(&format!("v1/{id}"))).await;
    assert_eq!(
        record["result"]["draft"], true,
        "a refused upload leaves the draft usable"
    );
}

#[tokio::test]
async fn only_images_are_accepted() {
    let s = service().await;
    let s = &s;
    let upload = |bytes: Vec<u8>, name: &'static str| async move {
        let (_, url) = s.direct_upload(&[]).await;
        s.upload_to(&url, &bytes, name).await
    };
    // Accepted: PNG, JPEG, GIF (animated too), WebP, SVG.
    for (bytes, name) in [
        (png(20, 10), "a.png"),
        (jpeg(20, 10), "a.jpg"),
        (image_bytes(20, 10, 3, image::ImageFormat::Gif), "a.gif"),
        (image_bytes(20, 10, 3, image::ImageFormat::WebP), "a.webp"),
        (animated_gif(16, 16, 3), "anim.gif"),
        (br#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#.to_vec(), "a.svg"),
    ] {
        let (status, body) = upload(bytes, name).await;
        assert_eq!(status, 200, "{name} must be accepted: {body}");
    }
    // Refused with 5455: text, TIFF, HEIC, BMP, a truncated PNG, XML that is not SVG.
    let mut truncated = png(64, 64);
    truncated.truncate(truncated.len() / 2);
    let mut heic = vec![0, 0, 0, 24];
    heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    for (bytes, name) in [
        (b"hello".to_vec(), "a.txt"),
        // TIFF and BMP by their signatures (the service recognises them and says no).
        (b"II*\0\x08\0\0\0\0\0\0\0".to_vec(), "a.tiff"),
        (heic, "a.heic"),
        (
            b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0".to_vec(),
            "a.bmp",
        ),
        (truncated, "cut.png"),
        (b"<?xml version=\"1.0\"?><html/>".to_vec(), "a.svg"),
        (Vec::new(), "empty.png"),
    ] {
        let (status, body) = upload(bytes, name).await;
        assert_eq!(
            (status, code(&body)),
            (415, 5455),
            "{name} must be refused: {body}"
        );
    }
}

/// A PNG whose header claims `width`×`height`; the pixels are never decoded, which is the
/// point: the limits are checked from the header first.
fn png_header_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = png(1, 1);
    // IHDR data starts at byte 16; its CRC covers the chunk type and data (bytes 12..29).
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32fast::hash(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

#[tokio::test]
async fn dimensions_are_limited_before_decoding() {
    let s = service().await;
    for (width, height, what) in [
        (12_001, 10, "a side over 12,000 px"),
        (10_001, 10_001, "over 100 megapixels"),
    ] {
        let (_, url) = s.direct_upload(&[]).await;
        let (status, body) = s
            .upload_to(&url, &png_header_claiming(width, height), "huge.png")
            .await;
        assert_eq!(
            (status, code(&body)),
            (400, 5400),
            "{what} must be refused: {body}"
        );
        assert!(
            message(&body).contains("12000 pixels") || message(&body).contains("100 megapixels"),
            "{}",
            message(&body)
        );
    }
    // An animation counts all its frames: 2,000 × 2,000 × 26 frames = 104 MP.
    let (_, url) = s.direct_upload(&[]).await;
    let (status, body) = s
        .upload_to(&url, &animated_gif(2000, 2000, 26), "long.gif")
        .await;
    assert_eq!((status, code(&body)), (400, 5400), "{body}");
    assert!(
        message(&body).contains("over 26 frames"),
        "{}",
        message(&body)
    );
}

/// An animated GIF made with the `gif` crate (indexed frames: fast to encode).
fn animated_gif(width: u16, height: u16, frames: u16) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let palette = [0u8, 0, 0, 255, 128, 0];
        let mut encoder = gif::Encoder::new(&mut bytes, width, height, &palette).unwrap();
        encoder.set_repeat(gif::Repeat::Infinite).unwrap();
        for i in 0..frames {
            let pixels: Vec<u8> = (0..width as usize * height as usize)
                .map(|p| ((p / 64 + i as usize) % 2) as u8)
                .collect();
            let frame = gif::Frame::from_indexed_pixels(width, height, pixels, None);
            encoder.write_frame(&frame).unwrap();
        }
    }
    bytes
}

#[tokio::test]
async fn the_upload_host_answers_cors_for_any_origin() {
    let s = service().await;
    let (_, url) = s.direct_upload(&[]).await;
    let preflight = s
        .http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    let form = Form::new().part("file", Part::bytes(png(10, 10)).file_name("a.png"));
    let response = s
        .http
        .post(&url)
        .header("origin", "https://shop.example")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
}
