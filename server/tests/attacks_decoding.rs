//! Attacks on image decoding and delivery found by a hostile review, each over real HTTP
//! against a service on a free port.
//!
//! Every test here takes [`serial`] first: one of them measures the process's peak memory,
//! which tests running in parallel threads of this same process would disturb.

mod common;
mod corpus;

use common::*;
use corpus::*;

/// One test of this file at a time (see the file's doc comment).
async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::OnceLock<tokio::sync::Mutex<()>> = std::sync::OnceLock::new();
    LOCK.get_or_init(|| tokio::sync::Mutex::new(()))
        .lock()
        .await
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

// ---------------------------------------------------------------------------------------------
// #13: a truncated JPEG is refused like a truncated PNG, GIF or WebP.

#[tokio::test]
async fn a_truncated_jpeg_is_refused_and_trailing_bytes_are_not() {
    let _serial = serial().await;
    let s = service().await;
    let baseline = image_bytes(640, 480, 11, image::ImageFormat::Jpeg);
    let progressive = progressive_jpeg(512, 512);
    // Both decode whole, so the refusals below are about the cut alone.
    assert_eq!(dimensions(&baseline), (640, 480));
    assert_eq!(dimensions(&progressive), (512, 512));
    for (name, jpeg) in [
        ("baseline.jpg", &baseline),
        ("progressive.jpg", &progressive),
    ] {
        let (_, url) = s.direct_upload(&[]).await;
        let cut = &jpeg[..jpeg.len() * 6 / 10];
        let (status, body) = s.upload_to(&url, cut, name).await;
        assert_eq!(
            (status, code(&body)),
            (415, 5455),
            "a 60% {name} must be refused: {body}"
        );
        assert!(message(&body).contains("truncated"), "{}", message(&body));

        // Bytes after the end-of-image marker are ignored, as every decoder does.
        let mut trailing = jpeg.clone();
        trailing.extend_from_slice(b"\0\0trailing bytes \xFF\xD8\xFF\xE0 after EOI");
        let record = s.uploaded(&trailing, name, &[]).await;
        let (status, _, bytes) = deliver(&s, &variant_url(&record, "public")).await;
        assert_eq!(status, 200);
        assert_eq!(dimensions(&bytes), dimensions(jpeg));
    }
}

// ---------------------------------------------------------------------------------------------
// #3: the 100-megapixel limit counts every frame's own size.

#[tokio::test]
async fn animations_count_every_frame_by_its_own_size() {
    let _serial = serial().await;
    let s = service().await;
    let upload = |bytes: Vec<u8>, name: &'static str| {
        let s = &s;
        async move {
            let (_, url) = s.direct_upload(&[]).await;
            let started = std::time::Instant::now();
            let answer = s.upload_to(&url, &bytes, name).await;
            (answer, started.elapsed())
        }
    };

    // A 1×1 screen with twenty 3500×3500 frames: 245 MP in 140 KB.
    let big = [(0, 0, 3500, 3500); 20];
    let ((status, body), _) = upload(gif_with_frames((1, 1), &big), "screen.gif").await;
    assert_eq!((status, code(&body)), (400, 5400), "{body}");
    let text = message(&body);
    assert!(
        text.contains("245.0 megapixels") && text.contains("20 frames"),
        "{text}"
    );
    // The same near 10 MB (1,000 frames, 12 gigapixels) is refused from the frame headers,
    // without decompressing them (such a file cost 80 s of CPU when every frame was decoded).
    let huge = gif_with_frames((1, 1), &[(0, 0, 3500, 3500); 1000]);
    assert!(huge.len() < 10 * 1024 * 1024, "{} bytes", huge.len());
    let ((status, body), took) = upload(huge, "huge.gif").await;
    assert_eq!((status, code(&body)), (400, 5400), "{body}");
    assert!(message(&body).contains("1000 frames"), "{}", message(&body));
    assert!(took.as_secs() < 10, "refusing took {took:?}");

    // Frames that do not lie on the screen are refused, whatever their size.
    for frames in [[(0, 0, 200, 200)], [(80, 80, 50, 50)]] {
        let ((status, body), _) = upload(gif_with_frames((100, 100), &frames), "off.gif").await;
        assert_eq!((status, code(&body)), (400, 5400), "{body}");
        assert!(message(&body).contains("outside"), "{}", message(&body));
    }

    // An optimised animation (small frames patching a large screen) is legal: 701 frames on
    // a 400×400 screen are 112 MP if each counted as the screen, 0.23 MP as they are.
    let mut frames = vec![(0, 0, 400, 400)];
    frames.extend((0..700).map(|i| ((i % 39) * 10, (i / 39) * 10, 10, 10)));
    let ((status, body), _) = upload(gif_with_frames((400, 400), &frames), "patch.gif").await;
    assert_eq!(status, 200, "{body}");
    let (status, _, bytes) = deliver(&s, &variant_url(&body["result"], "public")).await;
    assert_eq!((status, dimensions(&bytes)), (200, (400, 400)));

    // Animated PNG: every frame counts (101 × 1000×1000), and frames lie on the canvas.
    let ((status, body), _) =
        upload(zero_png(1000, 1000, &[(0, 0, 1000, 1000); 101]), "long.png").await;
    assert_eq!((status, code(&body)), (400, 5400), "{body}");
    assert!(message(&body).contains("101 frames"), "{}", message(&body));
    let ((status, body), _) = upload(
        zero_png(100, 100, &[(0, 0, 100, 100), (50, 50, 60, 60)]),
        "off.png",
    )
    .await;
    assert_eq!((status, code(&body)), (400, 5400), "{body}");
    let ((status, body), _) = upload(
        zero_png(100, 100, &[(0, 0, 100, 100), (10, 10, 50, 50)]),
        "ok.png",
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Animated WebP: the same rules, and a legal one is checked frame by frame.
    let ((status, body), _) = upload(
        animated_webp((1000, 1000), &[(0, 0, 1000, 1000); 101]),
        "long.webp",
    )
    .await;
    assert_eq!((status, code(&body)), (400, 5400), "{body}");
    assert!(message(&body).contains("101 frames"), "{}", message(&body));
    let ((status, body), _) = upload(
        animated_webp((100, 100), &[(0, 0, 100, 100), (60, 60, 50, 50)]),
        "off.webp",
    )
    .await;
    assert_eq!((status, code(&body)), (400, 5400), "{body}");
    let ((status, body), _) = upload(
        animated_webp((100, 100), &[(0, 0, 100, 100), (10, 10, 50, 50)]),
        "ok.webp",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // What is accepted is delivered (its first frame).
    let (status, _, bytes) = deliver(&s, &variant_url(&body["result"], "public")).await;
    assert_eq!((status, dimensions(&bytes)), (200, (100, 100)));
}

// ---------------------------------------------------------------------------------------------
// #6: decoding memory is bounded whatever the concurrency.

#[tokio::test]
async fn decoding_memory_is_bounded_whatever_the_concurrency() {
    let _serial = serial().await;
    // One 9000×9000 RGBA render costs about 440 MiB (324 MiB of pixels and 110 MiB of
    // resampling buffer), so this budget lets exactly one run at a time.
    let s = service_with(|c| c.decode_limits.decode_memory_mb = 450).await;
    let s = &s;
    // Legal (81 MP, under 100) and 2 MB on disk.
    let png = zero_png(9000, 9000, &[]);
    assert!(png.len() < 3 * 1024 * 1024);

    let before_uploads = reset_peak_mib();
    let uploads = (0..4).map(|i| {
        let png = png.clone();
        async move {
            let (_, url) = s.direct_upload(&[]).await;
            let (status, body) = s.upload_to(&url, &png, &format!("big{i}.png")).await;
            assert_eq!(status, 200, "{body}");
            body["result"].clone()
        }
    });
    let records = futures_util::future::join_all(uploads).await;
    let uploads = peak_mib() - before_uploads;

    let before_deliveries = reset_peak_mib();
    let deliveries = records.iter().map(|record| async move {
        let (status, _, bytes) = deliver(s, &variant_url(record, "public")).await;
        assert_eq!(status, 200);
        assert_eq!(dimensions(&bytes), (768, 768));
    });
    futures_util::future::join_all(deliveries).await;
    let deliveries = peak_mib() - before_deliveries;
    eprintln!("peak RSS growth: {uploads} MiB for 4 uploads, {deliveries} MiB for 4 deliveries");
    // Four at once cost 1.2 GiB for the uploads and 1.7 GiB for the deliveries; one at a
    // time stays under 600 MiB.
    assert!(
        uploads < 600,
        "4 concurrent uploads raised the peak by {uploads} MiB"
    );
    assert!(
        deliveries < 600,
        "4 concurrent deliveries raised the peak by {deliveries} MiB"
    );
}

// ---------------------------------------------------------------------------------------------
// Found by the hostile corpus: an SVG of 100,000 nested <g> overflowed the stack of the XML
// parser (it recurses per level) and aborted the whole process.

#[tokio::test]
async fn a_deeply_nested_svg_is_refused_and_the_service_survives() {
    let _serial = serial().await;
    let s = service().await;
    let nested = |depth: usize| {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">{}{}</svg>"#,
            "<g>".repeat(depth),
            "</g>".repeat(depth)
        )
        .into_bytes()
    };
    let (_, url) = s.direct_upload(&[]).await;
    let (status, body) = s.upload_to(&url, &nested(100_000), "deep.svg").await;
    assert_eq!((status, code(&body)), (400, 5400), "{body}");
    assert!(message(&body).contains("nested"), "{}", message(&body));
    // Still up; and nesting within the limit (256 by default) is stored.
    let record = s.uploaded(&nested(200), "fine.svg", &[]).await;
    assert_eq!(record["filename"], "fine.svg");
}
