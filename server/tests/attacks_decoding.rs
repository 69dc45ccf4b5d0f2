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

// ---------------------------------------------------------------------------------------------
// #3: the 100-megapixel limit counts every frame's own size.

/// The LZW data (minimum code size and sub-blocks) of one all-zero `width`×`height` frame,
/// encoded by the `gif` crate once and then reused for as many frames as a test wants.
fn gif_frame_data(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder =
            gif::Encoder::new(&mut bytes, width, height, &[0, 0, 0, 255, 255, 255]).unwrap();
        let frame = gif::Frame::from_indexed_pixels(
            width,
            height,
            vec![0u8; width as usize * height as usize],
            None,
        );
        encoder.write_frame(&frame).unwrap();
    }
    // Header (13) and the 2-colour global table (6), then any extensions, then the image
    // descriptor (10 bytes, no local table) and the data up to the trailer.
    let mut pos = 19;
    while bytes[pos] == 0x21 {
        pos += 2;
        loop {
            let n = bytes[pos] as usize;
            pos += 1 + n;
            if n == 0 {
                break;
            }
        }
    }
    assert_eq!(bytes[pos], 0x2C, "an image descriptor");
    bytes[pos + 10..bytes.len() - 1].to_vec()
}

/// A GIF written block by block: a `screen`, and frames `(left, top, width, height)` whose
/// descriptors say exactly that, each with real compressed pixels.
fn gif_with_frames(screen: (u16, u16), frames: &[(u16, u16, u16, u16)]) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&screen.0.to_le_bytes());
    out.extend_from_slice(&screen.1.to_le_bytes());
    out.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
    let mut data = std::collections::HashMap::new();
    for &(left, top, width, height) in frames {
        out.push(0x2C);
        for value in [left, top, width, height] {
            out.extend_from_slice(&value.to_le_bytes());
        }
        out.push(0);
        out.extend_from_slice(
            data.entry((width, height))
                .or_insert_with(|| gif_frame_data(width, height)),
        );
    }
    out.push(0x3B);
    out
}

/// LSB-first bit writer for deflate.
struct DeflateBits {
    bytes: Vec<u8>,
    current: u8,
    filled: u32,
}

impl DeflateBits {
    fn put(&mut self, value: u32, count: u32) {
        for i in 0..count {
            self.current |= (((value >> i) & 1) as u8) << self.filled;
            self.filled += 1;
            if self.filled == 8 {
                self.bytes.push(self.current);
                self.current = 0;
                self.filled = 0;
            }
        }
    }
    /// Huffman codes go most significant bit first.
    fn code(&mut self, code: u32, length: u32) {
        for i in (0..length).rev() {
            self.put((code >> i) & 1, 1);
        }
    }
}

/// A real zlib stream of `n` zero bytes (fixed-Huffman deflate: one literal, then copies of
/// 258 bytes at distance 1), so that a 100-megapixel image is a file of a few hundred KB.
fn zlib_zeros(n: usize) -> Vec<u8> {
    let mut bits = DeflateBits {
        bytes: vec![0x78, 0x01],
        current: 0,
        filled: 0,
    };
    bits.put(1, 1); // last block
    bits.put(1, 2); // fixed Huffman codes
    bits.code(0b0011_0000, 8); // literal 0
    let mut left = n - 1;
    while left >= 258 {
        bits.code(0b1100_0101, 8); // length 258
        bits.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        bits.code(0b0011_0000, 8);
    }
    bits.code(0, 7); // end of block
    if bits.filled > 0 {
        bits.bytes.push(bits.current);
    }
    // Adler-32 of n zeros: a = 1, b = n.
    let adler = ((n % 65521) as u32) << 16 | 1;
    bits.bytes.extend_from_slice(&adler.to_be_bytes());
    bits.bytes
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// An all-zero RGBA PNG, written chunk by chunk; with `frames` (`(left, top, width, height)`,
/// the first one the default image) an animated PNG whose fcTL chunks say exactly that.
fn zero_png(width: u32, height: u32, frames: &[(u32, u32, u32, u32)]) -> Vec<u8> {
    let data = |w: u32, h: u32| zlib_zeros(h as usize * (1 + 4 * w as usize));
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    if frames.is_empty() {
        png_chunk(&mut out, b"IDAT", &data(width, height));
    } else {
        let mut actl = (frames.len() as u32).to_be_bytes().to_vec();
        actl.extend_from_slice(&0u32.to_be_bytes());
        png_chunk(&mut out, b"acTL", &actl);
        let mut sequence = 0u32;
        let mut compressed = std::collections::HashMap::new();
        for (i, &(left, top, w, h)) in frames.iter().enumerate() {
            let mut fctl = sequence.to_be_bytes().to_vec();
            sequence += 1;
            for value in [w, h, left, top] {
                fctl.extend_from_slice(&value.to_be_bytes());
            }
            fctl.extend_from_slice(&[0, 1, 0, 10, 0, 0]);
            png_chunk(&mut out, b"fcTL", &fctl);
            let pixels = compressed.entry((w, h)).or_insert_with(|| data(w, h));
            if i == 0 {
                png_chunk(&mut out, b"IDAT", pixels);
            } else {
                let mut fdat = sequence.to_be_bytes().to_vec();
                sequence += 1;
                fdat.extend_from_slice(pixels);
                png_chunk(&mut out, b"fdAT", &fdat);
            }
        }
    }
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// An animated WebP written chunk by chunk: a `canvas`, and ANMF frames
/// `(left, top, width, height)` (offsets even), each holding a real lossless bitstream made by
/// the `image` crate.
fn animated_webp(canvas: (u32, u32), frames: &[(u32, u32, u32, u32)]) -> Vec<u8> {
    let u24 = |value: u32| value.to_le_bytes()[..3].to_vec();
    let mut chunks = Vec::new();
    let mut chunk = |kind: &[u8; 4], data: &[u8]| {
        chunks.extend_from_slice(kind);
        chunks.extend_from_slice(&(data.len() as u32).to_le_bytes());
        chunks.extend_from_slice(data);
        if data.len() % 2 == 1 {
            chunks.push(0);
        }
    };
    let mut vp8x = vec![0x02, 0, 0, 0];
    vp8x.extend(u24(canvas.0 - 1));
    vp8x.extend(u24(canvas.1 - 1));
    chunk(b"VP8X", &vp8x);
    chunk(b"ANIM", &[0, 0, 0, 0, 0, 0]);
    let mut encoded = std::collections::HashMap::new();
    for &(left, top, width, height) in frames {
        let still = encoded.entry((width, height)).or_insert_with(|| {
            let still = image_bytes(width, height, 5, image::ImageFormat::WebP);
            assert_eq!(
                &still[12..16],
                b"VP8L",
                "the image crate writes lossless WebP"
            );
            still[12..].to_vec()
        });
        let mut anmf = u24(left / 2);
        anmf.extend(u24(top / 2));
        anmf.extend(u24(width - 1));
        anmf.extend(u24(height - 1));
        anmf.extend(u24(100));
        anmf.push(0);
        anmf.extend_from_slice(still);
        chunk(b"ANMF", &anmf);
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(chunks.len() as u32 + 4).to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&chunks);
    out
}

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

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Resets this process's peak resident size to its current one (Linux `clear_refs` 5) and
/// returns it in MiB; the service runs in this process, so its decodes count.
fn reset_peak_mib() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5").expect("the peak RSS can be reset");
    status_kb("VmRSS:") / 1024
}

fn peak_mib() -> u64 {
    status_kb("VmHWM:") / 1024
}

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
