//! Hostile files, generated: real encoders where they exist, hand-written bytes where the
//! point is what a header claims (frame descriptors, chunk sizes, markers). Shared by
//! `attacks_decoding.rs` and `hostile_corpus.rs`.
#![allow(dead_code)]

use crate::common::image_bytes;

/// MSB-first bit writer for JPEG entropy-coded data, with 0xFF byte stuffing.
pub struct Bits {
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

pub fn segment(out: &mut Vec<u8>, marker: u8, data: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(data);
}

/// A real progressive (SOF2) greyscale JPEG, written by hand because the `image` crate only
/// encodes baseline. Each 8×8 block is flat at its own level, so the first scan (DC of every
/// block) carries most of the file; the second scan (AC) is one end-of-band run.
/// `width` and `height` are multiples of 8.
pub fn progressive_jpeg(width: u16, height: u16) -> Vec<u8> {
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

/// The LZW data (minimum code size and sub-blocks) of one all-zero `width`×`height` frame,
/// encoded by the `gif` crate once and then reused for as many frames as a test wants.
pub fn gif_frame_data(width: u16, height: u16) -> Vec<u8> {
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
pub fn gif_with_frames(screen: (u16, u16), frames: &[(u16, u16, u16, u16)]) -> Vec<u8> {
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
pub struct DeflateBits {
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
pub fn zlib_zeros(n: usize) -> Vec<u8> {
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

pub fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// An all-zero RGBA PNG, written chunk by chunk; with `frames` (`(left, top, width, height)`,
/// the first one the default image) an animated PNG whose fcTL chunks say exactly that.
pub fn zero_png(width: u32, height: u32, frames: &[(u32, u32, u32, u32)]) -> Vec<u8> {
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
pub fn animated_webp(canvas: (u32, u32), frames: &[(u32, u32, u32, u32)]) -> Vec<u8> {
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

pub fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Resets this process's peak resident size to its current one (Linux `clear_refs` 5) and
/// returns it in MiB; the service runs in this process, so its decodes count.
pub fn reset_peak_mib() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5").expect("the peak RSS can be reset");
    status_kb("VmRSS:") / 1024
}

pub fn peak_mib() -> u64 {
    status_kb("VmHWM:") / 1024
}
