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

/// MSB-first bit writer for JPEG entropy-coded data, with 0xFF byte stuffing.
struct Bits {
    bytes: Vec<u8>,
    current: u32,
    filled: u32,
}

impl Bits {
    fn new() -> Self {
        Self {
            bytes: Vec::new(),
            current: 0,
            filled: 0,
        }
    }
    fn put(&mut self, value: u32, count: u32) {
        for i in (0..count).rev() {
            self.current = (self.current << 1) | ((value >> i) & 1);
            self.filled += 1;
            if self.filled == 8 {
                self.flush_byte();
            }
        }
    }
    fn flush_byte(&mut self) {
        let byte = self.current as u8;
        self.bytes.push(byte);
        if byte == 0xFF {
            self.bytes.push(0x00);
        }
        self.current = 0;
        self.filled = 0;
    }
    /// Pads the last byte with 1 bits, as the standard asks.
    fn finish(mut self) -> Vec<u8> {
        while self.filled != 0 {
            self.put(1, 1);
        }
        self.bytes
    }
}

fn segment(out: &mut Vec<u8>, marker: u8, data: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(data);
}

/// A real progressive (SOF2) greyscale JPEG, written by hand because the `image` crate only
/// encodes baseline. Each 8×8 block is flat at its own level, so the first scan (DC of every
/// block) carries most of the file; the second scan (AC) is one end-of-band run.
/// `width` and `height` are multiples of 8.
fn progressive_jpeg(width: u16, height: u16) -> Vec<u8> {
    let (bw, bh) = (width as u32 / 8, height as u32 / 8);
    let mut out = vec![0xFF, 0xD8];
    // Quantisation table 0: all ones.
    let mut dqt = vec![0u8];
    dqt.extend_from_slice(&[1; 64]);
    segment(&mut out, 0xDB, &dqt);
    let mut sof = vec![8];
    sof.extend_from_slice(&height.to_be_bytes());
    sof.extend_from_slice(&width.to_be_bytes());
    sof.extend_from_slice(&[1, 1, 0x11, 0]);
    segment(&mut out, 0xC2, &sof);
    // DC table 0: categories 0..=11, each a 4-bit code equal to the category.
    let mut dht = vec![0x00];
    let mut counts = [0u8; 16];
    counts[3] = 12;
    dht.extend_from_slice(&counts);
    dht.extend_from_slice(&(0..12).collect::<Vec<u8>>());
    segment(&mut out, 0xC4, &dht);
    // AC table 0: one symbol, the end-of-band run covering every block (EOBr, r = log2).
    let blocks = bw * bh;
    let r = 31 - blocks.leading_zeros();
    let mut dht = vec![0x10];
    let mut counts = [0u8; 16];
    counts[1] = 1;
    dht.extend_from_slice(&counts);
    dht.push((r << 4) as u8);
    segment(&mut out, 0xC4, &dht);

    // Scan 1: the DC coefficient of every block, as differences from the previous block.
    segment(&mut out, 0xDA, &[1, 1, 0x00, 0, 0, 0x00]);
    let mut bits = Bits::new();
    let mut previous = 0i32;
    for by in 0..bh {
        for bx in 0..bw {
            let level = ((bx * 7 + by * 13) % 64) as i32 * 16 - 512;
            let diff = level - previous;
            previous = level;
            let category = 32 - diff.unsigned_abs().leading_zeros();
            bits.put(category, 4);
            let value = if diff >= 0 {
                diff as u32
            } else {
                (diff + (1 << category) - 1) as u32
            };
            bits.put(value, category);
        }
    }
    out.extend_from_slice(&bits.finish());
    // Scan 2: coefficients 1..=63 of every block, all zero: one run of `blocks` end-of-bands.
    segment(&mut out, 0xDA, &[1, 1, 0x00, 1, 63, 0x00]);
    let mut bits = Bits::new();
    bits.put(0b00, 2);
    bits.put(blocks - (1 << r), r);
    out.extend_from_slice(&bits.finish());
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

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
