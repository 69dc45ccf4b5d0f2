//! Recognising uploaded images, enforcing Cloudflare's limits, and rendering variants.
//! All decoding is the `image` crate's; SVG is parsed with `roxmltree`.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use crate::decode_budget::DecodeLimits;
use crate::envelope::ApiError;
use crate::variants::{Fit, Variant};

/// Largest accepted file: 10 MB.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// Largest accepted side in pixels.
pub const MAX_SIDE: u32 = 12_000;
/// Largest accepted area in pixels (all frames of an animation together).
pub const MAX_AREA: u64 = 100_000_000;

/// What an accepted upload turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    /// MIME type found from the bytes.
    pub content_type: &'static str,
    /// Width in pixels (of the SVG's declared size, 0 if it declares none).
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Number of frames (1 for still images).
    pub frames: u32,
}

fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    text.starts_with("<?xml")
        || text.starts_with("<svg")
        || text.starts_with("<!--") && text.contains("<svg")
}

/// The ISO-BMFF brand of a HEIF-family file (HEIC, AVIF), if the bytes are one.
fn heif_brand(bytes: &[u8]) -> Option<String> {
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brand = String::from_utf8_lossy(&bytes[8..12]).to_string();
        if ["heic", "heix", "hevc", "mif1", "msf1", "avif", "avis"].contains(&brand.as_str()) {
            return Some(brand);
        }
    }
    None
}

fn check_sides(width: u32, height: u32) -> Result<(), ApiError> {
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(ApiError::bad_request(format!(
            "Image is {width}x{height} pixels: each side must be at most {MAX_SIDE} pixels"
        )));
    }
    Ok(())
}

/// `area` is every frame's width × height added up.
fn check_area(area: u64, frames: u32) -> Result<(), ApiError> {
    if area > MAX_AREA {
        let over = if frames > 1 {
            format!(" over {frames} frames")
        } else {
            String::new()
        };
        let together = if frames > 1 {
            " for all frames together"
        } else {
            ""
        };
        return Err(ApiError::bad_request(format!(
            "Image is {:.1} megapixels{over}: the limit is 100 megapixels{together}",
            area as f64 / 1e6
        )));
    }
    Ok(())
}

/// Limits every `image` decoder runs with: a backstop inside the decoders, should a file get
/// past [`examine`] with sizes its headers did not state. Memory across decodes is bounded
/// by the decode budget (see the `decode_budget` module), not here.
fn decode_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // One decode of the largest legal image: 100 MP of RGBA, or a progressive JPEG's
    // coefficients, plus working room.
    limits.max_alloc = Some(1024 * 1024 * 1024);
    limits
}

fn broken(format: &str, error: impl std::fmt::Display) -> ApiError {
    ApiError::unsupported(format!("The file is not a valid {format} image: {error}"))
}

fn truncated(format: &str, detail: &str) -> ApiError {
    broken(format, format!("it is truncated ({detail})"))
}

/// What a JPEG's markers say, read without decoding any pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct JpegLayout {
    width: u32,
    height: u32,
    /// Colour components (1 grey, 3 YCbCr, 4 CMYK).
    components: u32,
    /// Progressive (SOF2/6/10/14): the decoder keeps every coefficient in memory.
    progressive: bool,
}

/// Walks a JPEG's segments and entropy-coded scans up to its end-of-image marker. The JPEG
/// decoder pads a file that stops early with grey rather than failing, so a truncated upload
/// is found here: a file is whole only if a scan is followed by EOI. Bytes after EOI are
/// ignored (cameras and editors append data there).
fn jpeg_layout(bytes: &[u8]) -> Result<JpegLayout, ApiError> {
    const NAME: &str = "JPEG";
    if bytes.len() < 4 || bytes[..2] != [0xFF, 0xD8] {
        return Err(broken(NAME, "no start-of-image marker"));
    }
    let len = bytes.len();
    let mut pos = 2;
    let mut layout = None;
    let mut scanned = false;
    loop {
        // Between segments only 0xFF fill bytes are legal; decoders skip anything else, so
        // this does too.
        while pos < len && bytes[pos] != 0xFF {
            pos += 1;
        }
        while pos < len && bytes[pos] == 0xFF {
            pos += 1;
        }
        if pos >= len {
            return Err(truncated(NAME, "it ends before its end-of-image marker"));
        }
        let marker = bytes[pos];
        pos += 1;
        match marker {
            0xD9 => {
                return match layout {
                    Some(layout) if scanned => Ok(layout),
                    _ => Err(broken(NAME, "it ends before any image data")),
                }
            }
            // Markers without a length: RSTn, TEM, a stray SOI, a stuffed zero.
            0x00 | 0x01 | 0xD0..=0xD8 => continue,
            _ => {}
        }
        if pos + 2 > len {
            return Err(truncated(NAME, "it ends inside a segment header"));
        }
        let size = u16::from_be_bytes([bytes[pos], bytes[pos + 1]]) as usize;
        if size < 2 {
            return Err(broken(
                NAME,
                format!("segment 0x{marker:02X} has length {size}"),
            ));
        }
        let end = pos + size;
        if end > len {
            return Err(truncated(NAME, "a segment runs past the end of the file"));
        }
        let data = &bytes[pos + 2..end];
        pos = end;
        match marker {
            // Start of frame: every 0xC0..=0xCF except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if data.len() < 6 {
                    return Err(broken(NAME, "its frame header is too short"));
                }
                if layout.is_none() {
                    layout = Some(JpegLayout {
                        height: u16::from_be_bytes([data[1], data[2]]) as u32,
                        width: u16::from_be_bytes([data[3], data[4]]) as u32,
                        components: data[5] as u32,
                        progressive: matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE),
                    });
                }
            }
            0xDA => {
                if layout.is_none() {
                    return Err(broken(NAME, "a scan comes before the frame header"));
                }
                // Entropy-coded data runs to the next marker that is not a stuffed zero, a
                // restart marker or fill.
                loop {
                    while pos < len && bytes[pos] != 0xFF {
                        pos += 1;
                    }
                    if pos + 1 >= len {
                        return Err(truncated(NAME, "it ends inside the compressed image data"));
                    }
                    match bytes[pos + 1] {
                        0x00 | 0xD0..=0xD7 => pos += 2,
                        0xFF => pos += 1,
                        _ => break,
                    }
                }
                scanned = true;
            }
            _ => {}
        }
    }
}

/// What the headers of an upload say, read without decoding any pixel: enough to enforce
/// the limits of raster images, and to know what [`verify`] will cost before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Examined {
    /// What the upload is (for SVG, the size is known only once [`verify`] has parsed it).
    pub inspected: Inspected,
    /// `None` for SVG.
    format: Option<ImageFormat>,
    /// An animated WebP, checked frame by frame.
    animated_webp: bool,
    /// Animation frames of a PNG after its default image.
    png_frames_after_default: u32,
    /// Peak memory of [`verify`], in bytes.
    verify_cost: u64,
    /// How deep an SVG's elements nest (0 for raster images).
    svg_depth: usize,
}

impl Examined {
    /// Peak memory (bytes) that [`verify`] needs for this upload: what to take from the
    /// decode budget before calling it.
    pub fn verify_cost(&self) -> u64 {
        self.verify_cost
    }
}

/// What a parsed SVG costs in memory per byte of text (the document tree of `roxmltree`,
/// measured at under 20 bytes per byte for dense markup, rounded up).
const SVG_BYTES_PER_BYTE: u64 = 32;
/// Fixed working memory of a streaming check (row or chunk buffers, LZW and inflate state).
const STREAMING_COST: u64 = 1024 * 1024;

/// Recognises the bytes as an accepted image and enforces the limits, then checks every
/// frame's pixel data: [`examine`] then [`verify`]. A file refused here is never stored, so a
/// truncated or corrupt upload fails at upload rather than at delivery.
pub fn inspect(bytes: &[u8], limits: &DecodeLimits) -> Result<Inspected, ApiError> {
    verify(bytes, &examine(bytes, limits)?)
}

/// Recognises the bytes and, for raster images, enforces the limits from the headers alone:
/// each side, the area of all frames together, that every frame lies on the canvas, and
/// that the file's structure runs to its end marker (a truncated file is refused here). No
/// pixel is decoded, so a decompression bomb costs a walk over its headers. An SVG is only
/// recognised and its nesting measured here (`limits.svg_max_depth`); [`verify`] parses it.
pub fn examine(bytes: &[u8], limits: &DecodeLimits) -> Result<Examined, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::unsupported("The file is empty, not an image"));
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ApiError::too_large());
    }
    if let Some(brand) = heif_brand(bytes) {
        return Err(ApiError::unsupported(format!(
            "Unsupported image format: HEIF/AVIF ('{brand}') cannot be decoded by the local service; convert it to JPEG, PNG, GIF or WebP"
        )));
    }
    let format = match image::guess_format(bytes) {
        Ok(
            format @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP),
        ) => format,
        Ok(ImageFormat::Tiff) => {
            return Err(ApiError::unsupported(
                "Unsupported image format: TIFF is not accepted",
            ))
        }
        Ok(other) => {
            return Err(ApiError::unsupported(format!(
                "Unsupported image format: {other:?}; accepted are PNG, JPEG, GIF, WebP and SVG"
            )))
        }
        Err(_) if looks_like_svg(bytes) => {
            let depth = xml_depth(bytes);
            if depth > limits.svg_max_depth as usize {
                return Err(ApiError::bad_request(format!(
                    "SVG elements are nested {depth} deep: the limit is {}",
                    limits.svg_max_depth
                )));
            }
            return Ok(Examined {
                inspected: Inspected {
                    content_type: "image/svg+xml",
                    width: 0,
                    height: 0,
                    frames: 1,
                },
                format: None,
                animated_webp: false,
                png_frames_after_default: 0,
                verify_cost: bytes.len() as u64 * SVG_BYTES_PER_BYTE,
                svg_depth: depth,
            });
        }
        Err(_) => {
            return Err(ApiError::unsupported(
                "Unsupported image format: the file is not a PNG, JPEG, GIF, WebP or SVG image",
            ))
        }
    };
    let (layout, animated_webp) = match format {
        ImageFormat::Jpeg => {
            let jpeg = jpeg_layout(bytes)?;
            check_sides(jpeg.width, jpeg.height)?;
            check_area(jpeg.width as u64 * jpeg.height as u64, 1)?;
            let layout = Layout {
                width: jpeg.width,
                height: jpeg.height,
                frames: 1,
                png_frames_after_default: 0,
                // Decoded whole: no streaming JPEG decoder is available.
                verify_cost: jpeg_decode_cost(&jpeg),
            };
            (layout, false)
        }
        ImageFormat::Png => (png_layout(bytes)?, false),
        ImageFormat::Gif => (gif_layout(bytes)?, false),
        _ => {
            let webp = webp_layout(bytes)?;
            (webp.layout, webp.animated)
        }
    };
    Ok(Examined {
        inspected: Inspected {
            content_type: format.to_mime_type(),
            width: layout.width,
            height: layout.height,
            frames: layout.frames,
        },
        format: Some(format),
        animated_webp,
        png_frames_after_default: layout.png_frames_after_default,
        verify_cost: layout.verify_cost,
        svg_depth: 0,
    })
}

/// Peak memory of decoding a whole JPEG: the output pixels, plus every DCT coefficient
/// (2 bytes per sample) when progressive, since each scan refines them all.
fn jpeg_decode_cost(jpeg: &JpegLayout) -> u64 {
    let pixels = jpeg.width as u64 * jpeg.height as u64;
    let components = jpeg.components.max(1) as u64;
    let coefficients = if jpeg.progressive {
        pixels * components * 2
    } else {
        0
    };
    pixels * components + coefficients + STREAMING_COST
}

/// Peak memory of decoding a whole WebP frame of `pixels`: RGBA output, plus the lossy
/// decoder's YUV planes or the lossless decoder's working copy (counted as 4 more bytes).
fn webp_decode_cost(pixels: u64) -> u64 {
    pixels * 8 + STREAMING_COST
}

/// Checks the content of an [`examine`]d upload and answers what it is: decodes the pixel
/// data, to refuse what headers cannot show is broken (corrupt compressed data, bad
/// checksums, unsupported encodings), or parses an SVG and enforces its limits. PNG and GIF
/// are decoded row by row or chunk by chunk into small buffers, never whole; JPEG and
/// still WebP have no streaming decoder and are decoded whole, animated WebP frame by frame.
/// Takes up to [`Examined::verify_cost`] bytes of memory; every decoder runs with
/// `decode_limits`.
pub fn verify(bytes: &[u8], examined: &Examined) -> Result<Inspected, ApiError> {
    match examined.format {
        None => return inspect_svg(bytes, examined.svg_depth),
        Some(ImageFormat::Png) => verify_png(bytes, examined.png_frames_after_default)?,
        Some(ImageFormat::Gif) => verify_gif(bytes)?,
        Some(ImageFormat::WebP) if examined.animated_webp => verify_webp_frames(bytes)?,
        Some(format) => {
            let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
            reader.limits(decode_limits());
            reader
                .decode()
                .map_err(|e| broken(format_name(format), e))?;
        }
    }
    Ok(examined.inspected.clone())
}

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Gif => "GIF",
        _ => "WebP",
    }
}

/// A raster upload's canvas and frames, from its headers.
struct Layout {
    width: u32,
    height: u32,
    frames: u32,
    /// See [`Examined`].
    png_frames_after_default: u32,
    /// See [`Examined::verify_cost`].
    verify_cost: u64,
}

/// The frames of an animation added up as their headers state them.
#[derive(Default)]
struct FrameTally {
    frames: u32,
    /// Every frame's width × height added up.
    area: u64,
    /// The first frame that does not lie inside the canvas, described.
    outside: Option<String>,
}

impl FrameTally {
    fn add(&mut self, canvas: (u32, u32), left: u32, top: u32, width: u32, height: u32) {
        self.frames = self.frames.saturating_add(1);
        self.area = self.area.saturating_add(width as u64 * height as u64);
        if self.outside.is_none()
            && (left as u64 + width as u64 > canvas.0 as u64
                || top as u64 + height as u64 > canvas.1 as u64)
        {
            self.outside = Some(format!(
                "frame {} ({width}x{height} at {left},{top}) lies outside the {}x{} canvas",
                self.frames, canvas.0, canvas.1
            ));
        }
    }

    /// The area limit counts every frame's own size: a GIF's logical screen can say 1×1 while
    /// its frames are 3500×3500, and decoding costs what the frames are, not the screen.
    /// A frame off the canvas is refused (decoders disagree on what it means).
    fn check(&self) -> Result<(), ApiError> {
        check_area(self.area, self.frames)?;
        if let Some(outside) = &self.outside {
            return Err(ApiError::bad_request(format!(
                "Image {outside}: every frame must lie inside the canvas"
            )));
        }
        Ok(())
    }
}

fn be32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

fn le24(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], 0])
}

fn le32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// Walks a PNG's chunks to IEND (a file that stops earlier is truncated): the size from
/// IHDR and, for an animated PNG (acTL), every frame's size and place from its fcTL.
fn png_layout(bytes: &[u8]) -> Result<Layout, ApiError> {
    const NAME: &str = "PNG";
    let len = bytes.len();
    let mut pos = 8;
    let mut canvas = None;
    let mut tally = FrameTally::default();
    let (mut animated, mut seen_idat, mut default_is_frame) = (false, false, false);
    loop {
        if pos + 8 > len {
            return Err(truncated(NAME, "it ends before its IEND chunk"));
        }
        let size = be32(&bytes[pos..]) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        if size > i32::MAX as usize {
            return Err(broken(NAME, "a chunk length is over 2^31"));
        }
        let data = pos + 8;
        // Data, then a 4-byte CRC (checked when the pixels are decoded).
        let end = data + size + 4;
        if end > len {
            return Err(truncated(
                NAME,
                &format!(
                    "its {} chunk runs past the end of the file",
                    String::from_utf8_lossy(kind)
                ),
            ));
        }
        let data = &bytes[data..data + size];
        pos = end;
        match (kind, canvas) {
            (b"IHDR", None) => {
                if size != 13 {
                    return Err(broken(NAME, "its IHDR chunk is not 13 bytes"));
                }
                let (width, height) = (be32(data), be32(&data[4..]));
                if width == 0 || height == 0 {
                    return Err(broken(NAME, format!("it declares a {width}x{height} size")));
                }
                check_sides(width, height)?;
                canvas = Some((width, height));
            }
            (_, None) => return Err(broken(NAME, "it does not start with an IHDR chunk")),
            (b"acTL", _) => animated = true,
            (b"fcTL", Some(canvas)) => {
                if size < 26 {
                    return Err(broken(NAME, "an fcTL chunk is shorter than 26 bytes"));
                }
                // An fcTL before the first IDAT makes the default image frame 1.
                default_is_frame |= !seen_idat;
                let (width, height) = (be32(&data[4..]), be32(&data[8..]));
                let (left, top) = (be32(&data[12..]), be32(&data[16..]));
                tally.add(canvas, left, top, width, height);
            }
            (b"IDAT", _) => seen_idat = true,
            (b"IEND", _) => break,
            _ => {}
        }
    }
    let Some((width, height)) = canvas else {
        return Err(broken(NAME, "it has no IHDR chunk"));
    };
    if !seen_idat {
        return Err(broken(NAME, "it has no image data (IDAT)"));
    }
    // Rows are checked one at a time: a few row buffers, whatever the size.
    let verify_cost = STREAMING_COST + 4 * width as u64 * 8;
    if animated && tally.frames > 0 {
        if !default_is_frame {
            // Shown by viewers without APNG support, and decoded like the frames.
            tally.area = tally.area.saturating_add(width as u64 * height as u64);
        }
        tally.check()?;
        Ok(Layout {
            width,
            height,
            frames: tally.frames,
            png_frames_after_default: tally.frames - u32::from(default_is_frame),
            verify_cost,
        })
    } else {
        check_area(width as u64 * height as u64, 1)?;
        Ok(Layout {
            width,
            height,
            frames: 1,
            png_frames_after_default: 0,
            verify_cost,
        })
    }
}

fn png_error(error: png::DecodingError) -> ApiError {
    match error {
        png::DecodingError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            truncated("PNG", "its data ends early")
        }
        other => broken("PNG", other),
    }
}

/// Decompresses and unfilters a PNG row by row, its default image and then `more_frames`
/// animation frames, and reads on to IEND: every CRC and all compressed data are checked
/// with a few rows of memory.
fn verify_png(bytes: &[u8], more_frames: u32) -> Result<(), ApiError> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_limits(png::Limits {
        bytes: STREAMING_COST as usize * 16,
    });
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder.read_info().map_err(png_error)?;
    for frame in 0..=more_frames {
        if frame > 0 {
            reader.next_frame_info().map_err(png_error)?;
        }
        while reader.next_row().map_err(png_error)?.is_some() {}
    }
    reader.finish().map_err(png_error)
}

/// The options every GIF is read with: the decoder's own per-frame memory limit, and no
/// check of frames against the screen (that is [`FrameTally`]'s, with a clear message).
fn gif_options() -> gif::DecodeOptions {
    let mut options = gif::DecodeOptions::new();
    options.set_memory_limit(gif::MemoryLimit::Bytes(
        std::num::NonZeroU64::new(MAX_AREA).expect("MAX_AREA is not zero"),
    ));
    options.set_color_output(gif::ColorOutput::Indexed);
    options
}

fn gif_error(error: gif::DecodingError) -> ApiError {
    match error {
        gif::DecodingError::UnexpectedEof => truncated("GIF", "it ends before its trailer"),
        gif::DecodingError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            truncated("GIF", "it ends before its trailer")
        }
        other => broken("GIF", other),
    }
}

/// Reads every frame descriptor of a GIF, skipping the compressed pixel data unread
/// (`skip_frame_decoding`: nothing is decompressed), to the trailer.
fn gif_layout(bytes: &[u8]) -> Result<Layout, ApiError> {
    let mut options = gif_options();
    options.skip_frame_decoding(true);
    let mut decoder = options.read_info(Cursor::new(bytes)).map_err(gif_error)?;
    let canvas = (decoder.width() as u32, decoder.height() as u32);
    check_sides(canvas.0, canvas.1)?;
    let mut tally = FrameTally::default();
    while let Some(frame) = decoder.next_frame_info().map_err(gif_error)? {
        tally.add(
            canvas,
            frame.left as u32,
            frame.top as u32,
            frame.width as u32,
            frame.height as u32,
        );
    }
    if tally.frames == 0 {
        return Err(broken("GIF", "it has no image"));
    }
    // The screen itself is within the limits too (delivery draws the first frame on it).
    check_area(canvas.0 as u64 * canvas.1 as u64, 1)?;
    tally.check()?;
    Ok(Layout {
        width: canvas.0,
        height: canvas.1,
        frames: tally.frames,
        png_frames_after_default: 0,
        // Frames are decompressed into one small buffer (see verify_gif).
        verify_cost: STREAMING_COST,
    })
}

/// Decompresses every frame of a GIF into one small reused buffer: the whole file is
/// checked, yet memory stays a few kilobytes whatever the frames' size.
fn verify_gif(bytes: &[u8]) -> Result<(), ApiError> {
    let mut decoder = gif_options()
        .read_info(Cursor::new(bytes))
        .map_err(gif_error)?;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut number = 0;
    while let Some(frame) = decoder.next_frame_info().map_err(gif_error)? {
        number += 1;
        let mut left = frame.width as usize * frame.height as usize;
        while left > 0 {
            let n = left.min(chunk.len());
            if !decoder.fill_buffer(&mut chunk[..n]).map_err(gif_error)? {
                return Err(truncated(
                    "GIF",
                    &format!("frame {number} has fewer pixels than its size"),
                ));
            }
            left -= n;
        }
    }
    Ok(())
}

/// A WebP's canvas and, when animated, its frames.
struct WebpLayout {
    layout: Layout,
    animated: bool,
    /// Each ANMF frame: its size and the range of its sub-chunks in the file.
    frames: Vec<(u32, u32, std::ops::Range<usize>)>,
}

/// Walks a WebP's RIFF chunks: the canvas from the first chunk (VP8, VP8L or VP8X) and
/// every ANMF frame's size and place. A file shorter than its RIFF size is truncated.
fn webp_layout(bytes: &[u8]) -> Result<WebpLayout, ApiError> {
    const NAME: &str = "WebP";
    if bytes.len() < 20 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return Err(broken(NAME, "no RIFF/WEBP header"));
    }
    let end = 8 + le32(&bytes[4..]) as usize;
    if end > bytes.len() {
        return Err(truncated(NAME, "it is shorter than its RIFF header says"));
    }
    let mut pos = 12;
    let mut canvas = None;
    let mut animated = false;
    let mut tally = FrameTally::default();
    let mut frames = Vec::new();
    while pos + 8 <= end {
        let kind = &bytes[pos..pos + 4];
        let size = le32(&bytes[pos + 4..]) as usize;
        let start = pos + 8;
        if start + size > end {
            return Err(truncated(
                NAME,
                &format!(
                    "its {} chunk runs past the end of the file",
                    String::from_utf8_lossy(kind).trim()
                ),
            ));
        }
        let data = &bytes[start..start + size];
        // Chunks are padded to an even size.
        pos = start + size + (size & 1);
        let Some(canvas) = canvas else {
            let (width, height) = match kind {
                b"VP8X" if size >= 10 => {
                    animated = data[0] & 0x02 != 0;
                    (le24(&data[4..]) + 1, le24(&data[7..]) + 1)
                }
                b"VP8 " if size >= 10 && data[3..6] == [0x9d, 0x01, 0x2a] => (
                    u16::from_le_bytes([data[6], data[7]]) as u32 & 0x3FFF,
                    u16::from_le_bytes([data[8], data[9]]) as u32 & 0x3FFF,
                ),
                b"VP8L" if size >= 5 && data[0] == 0x2F => {
                    let bits = le32(&data[1..]);
                    ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
                }
                _ => {
                    return Err(broken(
                        NAME,
                        format!(
                            "its first chunk is '{}', not a valid VP8, VP8L or VP8X header",
                            String::from_utf8_lossy(kind)
                        ),
                    ))
                }
            };
            if width == 0 || height == 0 {
                return Err(broken(NAME, format!("it declares a {width}x{height} size")));
            }
            check_sides(width, height)?;
            canvas = Some((width, height));
            continue;
        };
        if kind == b"ANMF" {
            if size < 16 {
                return Err(broken(NAME, "an ANMF chunk is shorter than 16 bytes"));
            }
            let (left, top) = (le24(data) * 2, le24(&data[3..]) * 2);
            let (width, height) = (le24(&data[6..]) + 1, le24(&data[9..]) + 1);
            tally.add(canvas, left, top, width, height);
            frames.push((width, height, start + 16..start + size));
        }
    }
    let Some((width, height)) = canvas else {
        return Err(broken(NAME, "it has no image chunk"));
    };
    if animated {
        if tally.frames == 0 {
            return Err(broken(NAME, "it is animated but has no frames"));
        }
        tally.check()?;
    } else {
        check_area(width as u64 * height as u64, 1)?;
    }
    // A still image is decoded whole; an animation one frame at a time.
    let largest = if animated {
        frames
            .iter()
            .map(|(w, h, _)| *w as u64 * *h as u64)
            .max()
            .unwrap_or(0)
    } else {
        width as u64 * height as u64
    };
    Ok(WebpLayout {
        layout: Layout {
            width,
            height,
            frames: if animated { tally.frames } else { 1 },
            png_frames_after_default: 0,
            verify_cost: webp_decode_cost(largest),
        },
        animated,
        frames,
    })
}

/// Decodes each frame of an animated WebP on its own, as a still WebP made of the frame's
/// chunks: the cost is the frame's size, where the animation decoder would composite every
/// frame onto the whole canvas and copy it out.
fn verify_webp_frames(bytes: &[u8]) -> Result<(), ApiError> {
    const NAME: &str = "WebP";
    let layout = webp_layout(bytes)?;
    for (number, (width, height, range)) in layout.frames.into_iter().enumerate() {
        let number = number + 1;
        let payload = &bytes[range];
        let (mut alpha, mut image) = (None, None);
        let mut pos = 0;
        while pos + 8 <= payload.len() {
            let size = le32(&payload[pos + 4..]) as usize;
            let end = pos + 8 + size;
            if end > payload.len() {
                return Err(broken(
                    NAME,
                    format!("frame {number} has a chunk past its end"),
                ));
            }
            match &payload[pos..pos + 4] {
                b"ALPH" => alpha = Some(&payload[pos..end]),
                b"VP8 " | b"VP8L" => {
                    image = Some(&payload[pos..end]);
                    break;
                }
                _ => {}
            }
            pos = end + (size & 1);
        }
        let image =
            image.ok_or_else(|| broken(NAME, format!("frame {number} has no image data")))?;
        let mut body = b"WEBP".to_vec();
        let chunk = |body: &mut Vec<u8>, bytes: &[u8]| {
            body.extend_from_slice(bytes);
            if bytes.len() % 2 == 1 {
                body.push(0);
            }
        };
        if let (Some(alpha), b"VP8 ") = (alpha, &image[..4]) {
            // A lossy frame's alpha lives in ALPH, which a still file announces in VP8X.
            let mut vp8x = b"VP8X".to_vec();
            vp8x.extend_from_slice(&10u32.to_le_bytes());
            vp8x.extend_from_slice(&[0x10, 0, 0, 0]);
            vp8x.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
            vp8x.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
            chunk(&mut body, &vp8x);
            chunk(&mut body, alpha);
        }
        chunk(&mut body, image);
        let mut still = b"RIFF".to_vec();
        still.extend_from_slice(&(body.len() as u32).to_le_bytes());
        still.extend_from_slice(&body);
        let mut reader = ImageReader::with_format(Cursor::new(still), ImageFormat::WebP);
        reader.limits(decode_limits());
        let decoded = reader
            .decode()
            .map_err(|e| broken(NAME, format!("frame {number}: {e}")))?;
        if (decoded.width(), decoded.height()) != (width, height) {
            return Err(broken(
                NAME,
                format!(
                    "frame {number} is {}x{} but its header says {width}x{height}",
                    decoded.width(),
                    decoded.height()
                ),
            ));
        }
    }
    Ok(())
}

/// Deepest nesting of elements in an XML text, found by a linear scan that builds nothing.
/// It never counts less than a parser would (comments, CDATA, processing instructions and
/// quoted attribute values are skipped; markup inside a DTD may count extra, and a DTD is
/// refused anyway), so the parser's recursion can be bounded before it starts.
fn xml_depth(text: &[u8]) -> usize {
    let find = |from: usize, needle: &[u8]| {
        text[from.min(text.len())..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map_or(text.len(), |at| from + at + needle.len())
    };
    let (mut depth, mut deepest, mut pos) = (0usize, 0usize, 0usize);
    while let Some(at) = text[pos..].iter().position(|&b| b == b'<') {
        let start = pos + at;
        let rest = &text[start..];
        pos = if rest.starts_with(b"<!--") {
            find(start + 4, b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            find(start + 9, b"]]>")
        } else if rest.starts_with(b"<?") {
            find(start + 2, b"?>")
        } else if rest.starts_with(b"<!") {
            find(start + 2, b">")
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            find(start + 2, b">")
        } else {
            // A start tag, to its '>' outside quotes; "/>" closes it at once.
            let mut end = start + 1;
            let mut quote = None;
            while end < text.len() {
                match (quote, text[end]) {
                    (Some(q), c) if c == q => quote = None,
                    (None, c @ (b'"' | b'\'')) => quote = Some(c),
                    (None, b'>') => break,
                    _ => {}
                }
                end += 1;
            }
            // An empty element is a level too, just not one that stays open.
            deepest = deepest.max(depth + 1);
            if text[end - 1] != b'/' {
                depth += 1;
            }
            end + 1
        };
        if pos >= text.len() {
            break;
        }
    }
    deepest
}

/// Stack for parsing an SVG whose elements nest `depth` deep: the parser recurses once per
/// level, using up to about 5 KiB a level in unoptimised builds.
fn svg_stack(depth: usize) -> usize {
    1024 * 1024 + depth * 16 * 1024
}

fn inspect_svg(bytes: &[u8], depth: usize) -> Result<Inspected, ApiError> {
    // Parsed on a thread of its own with a stack sized for the nesting that examine()
    // measured and bounded: the blocking pool's threads have 2 MiB, which 100,000 nested
    // <g> overflow, and a stack overflow aborts the whole process.
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("svg-parse".into())
            .stack_size(svg_stack(depth))
            .spawn_scoped(scope, || parse_svg(bytes))
            .map_err(|e| ApiError::internal(format!("SVG parser thread: {e}")))?
            .join()
            .map_err(|_| ApiError::internal("the SVG parser panicked"))?
    })
}

fn parse_svg(bytes: &[u8]) -> Result<Inspected, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|_| broken("SVG", "not UTF-8 text"))?;
    let document = roxmltree::Document::parse(text).map_err(|e| broken("SVG", e))?;
    let root = document.root_element();
    if root.tag_name().name() != "svg" {
        return Err(broken(
            "SVG",
            format!(
                "the root element is <{}>, not <svg>",
                root.tag_name().name()
            ),
        ));
    }
    let length = |name: &str| {
        root.attribute(name)
            .map(|v| v.trim_end_matches("px"))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|v| v.round().max(0.0) as u32)
    };
    let (width, height) = (length("width").unwrap_or(0), length("height").unwrap_or(0));
    check_sides(width, height)?;
    check_area(width as u64 * height as u64, 1)?;
    Ok(Inspected {
        content_type: "image/svg+xml",
        width,
        height,
        frames: 1,
    })
}

/// How a source image becomes a variant: resize to `resize`, then optionally crop a
/// centred window, then optionally centre it on a `canvas`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Size after resizing.
    pub resize: (u32, u32),
    /// Centred crop window after resizing.
    pub crop: Option<(u32, u32)>,
    /// Final canvas the result is centred on (pad).
    pub canvas: Option<(u32, u32)>,
}

/// Computes Cloudflare's fit semantics for a `width`×`height` source into a box.
pub fn plan(width: u32, height: u32, fit: Fit, box_w: u32, box_h: u32) -> Plan {
    let (w, h) = (width.max(1) as f64, height.max(1) as f64);
    let (bw, bh) = (box_w as f64, box_h as f64);
    let inside = (bw / w).min(bh / h);
    let covering = (bw / w).max(bh / h);
    let scaled = |factor: f64| {
        (
            ((w * factor).round() as u32).max(1),
            ((h * factor).round() as u32).max(1),
        )
    };
    match fit {
        Fit::ScaleDown => Plan {
            resize: scaled(inside.min(1.0)),
            crop: None,
            canvas: None,
        },
        Fit::Contain => Plan {
            resize: scaled(inside),
            crop: None,
            canvas: None,
        },
        Fit::Cover => Plan {
            resize: scaled(covering),
            crop: Some((box_w, box_h)),
            canvas: None,
        },
        Fit::Crop => {
            let resize = scaled(covering.min(1.0));
            Plan {
                resize,
                crop: Some((box_w.min(resize.0), box_h.min(resize.1))),
                canvas: None,
            }
        }
        Fit::Pad => Plan {
            resize: scaled(inside),
            crop: None,
            canvas: Some((box_w, box_h)),
        },
    }
}

/// A rendered variant.
pub struct Rendered {
    /// Encoded bytes.
    pub bytes: Vec<u8>,
    /// Their MIME type.
    pub content_type: &'static str,
}

/// Peak memory (bytes) of [`render`]ing `variant` from `original`, estimated from its
/// headers without decoding a pixel: what to take from the decode budget first. It adds up
/// everything [`render`] can hold at once: the decoded image and the decoder's working
/// memory, a rotated copy, the resampling buffer (one RGBA f32 row set of the source width
/// per output row), the resized, cropped and padded copies, the re-encoding conversion and
/// the encoded bytes.
pub fn render_cost(original: &[u8], content_type: &str, variant: &Variant) -> u64 {
    let Some(format) = ImageFormat::from_mime_type(content_type) else {
        // SVG is served as stored.
        return 0;
    };
    let Ok(mut decoder) = ImageReader::with_format(Cursor::new(original), format).into_decoder()
    else {
        // render reads the same header first and fails as cheaply.
        return 0;
    };
    let (width, height) = decoder.dimensions();
    let pixels = width as u64 * height as u64;
    let decoded = decoder.total_bytes();
    let per_pixel = decoded / pixels.max(1);
    let working = match format {
        ImageFormat::Jpeg => jpeg_layout(original)
            .map(|jpeg| jpeg_decode_cost(&jpeg) - pixels * jpeg.components.max(1) as u64)
            .unwrap_or(0),
        // GIF and animated WebP: a frame buffer and the canvas it is drawn on; still WebP:
        // YUV planes or a working copy.
        ImageFormat::Gif | ImageFormat::WebP => decoded,
        _ => 0,
    };
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    use image::metadata::Orientation::*;
    let rotated = match orientation {
        NoTransforms => 0,
        // Flips happen in place; rotations make a new buffer.
        FlipHorizontal | FlipVertical | Rotate180 => 0,
        _ => decoded,
    };
    let (w, h) = match orientation {
        Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH => (height, width),
        _ => (width, height),
    };
    let plan = plan(w, h, variant.fit, variant.width, variant.height);
    let area = |(w, h): (u32, u32)| w as u64 * h as u64;
    let resampling = if plan.resize != (w, h) {
        w as u64 * plan.resize.1 as u64 * 16 + area(plan.resize) * per_pixel
    } else {
        0
    };
    let cropped = plan.crop.map_or(0, |c| area(c) * per_pixel);
    let padded = plan
        .canvas
        .map_or(0, |c| area(c) * 4 + area(plan.resize) * 4);
    let last = plan.canvas.or(plan.crop).unwrap_or(plan.resize);
    // A conversion to RGB(A) for the encoder, and the encoded bytes (at most raw size).
    let encoding = area(last) * 4 * 2;
    decoded + working + rotated + resampling + cropped + padded + encoding
}

/// Renders a stored original as a variant. SVG is served as stored (Cloudflare does not
/// resize SVG); raster images are EXIF-rotated, fitted, and re-encoded (JPEG stays JPEG, WebP
/// stays WebP, PNG and GIF become PNG; an animation is represented by its first frame).
pub fn render(
    original: &[u8],
    content_type: &str,
    variant: &Variant,
) -> Result<Rendered, ApiError> {
    if content_type == "image/svg+xml" {
        return Ok(Rendered {
            bytes: original.to_vec(),
            content_type: "image/svg+xml",
        });
    }
    let format = ImageFormat::from_mime_type(content_type).ok_or_else(|| {
        ApiError::internal(format!("stored image has unknown type {content_type}"))
    })?;
    let mut reader = ImageReader::with_format(Cursor::new(original), format);
    reader.limits(decode_limits());
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| ApiError::internal(format!("decode: {e}")))?;
    let orientation = decoder
        .orientation()
        .map_err(|e| ApiError::internal(format!("decode: {e}")))?;
    let mut image = DynamicImage::from_decoder(decoder)
        .map_err(|e| ApiError::internal(format!("decode: {e}")))?;
    image.apply_orientation(orientation);

    let plan = plan(
        image.width(),
        image.height(),
        variant.fit,
        variant.width,
        variant.height,
    );
    if plan.resize != (image.width(), image.height()) {
        image = image.resize_exact(
            plan.resize.0,
            plan.resize.1,
            image::imageops::FilterType::CatmullRom,
        );
    }
    if let Some((cw, ch)) = plan.crop {
        let (x, y) = ((image.width() - cw) / 2, (image.height() - ch) / 2);
        image = image.crop_imm(x, y, cw, ch);
    }
    if let Some((cw, ch)) = plan.canvas {
        let mut canvas = image::RgbaImage::from_pixel(cw, ch, image::Rgba([255, 255, 255, 255]));
        let (x, y) = ((cw - image.width()) / 2, (ch - image.height()) / 2);
        image::imageops::overlay(&mut canvas, &image.to_rgba8(), x as i64, y as i64);
        image = DynamicImage::ImageRgba8(canvas);
    }

    let (output, mime) = match format {
        ImageFormat::Jpeg => (ImageFormat::Jpeg, "image/jpeg"),
        ImageFormat::WebP => (ImageFormat::WebP, "image/webp"),
        _ => (ImageFormat::Png, "image/png"),
    };
    // into_*: no copy when the pixels already have that layout.
    if output == ImageFormat::Jpeg {
        image = DynamicImage::ImageRgb8(image.into_rgb8());
    } else if output == ImageFormat::WebP {
        image = DynamicImage::ImageRgba8(image.into_rgba8());
    }
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), output)
        .map_err(|e| ApiError::internal(format!("encode: {e}")))?;
    Ok(Rendered {
        bytes,
        content_type: mime,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_down_never_enlarges() {
        assert_eq!(plan(100, 50, Fit::ScaleDown, 1366, 768).resize, (100, 50));
        assert_eq!(
            plan(4000, 3000, Fit::ScaleDown, 1366, 768).resize,
            (1024, 768)
        );
    }

    #[test]
    fn contain_enlarges_to_the_box() {
        assert_eq!(plan(100, 50, Fit::Contain, 400, 400).resize, (400, 200));
    }

    #[test]
    fn cover_fills_and_crops_to_the_exact_box() {
        let p = plan(400, 200, Fit::Cover, 200, 200);
        assert_eq!(p.resize, (400, 200));
        assert_eq!(p.crop, Some((200, 200)));
        assert_eq!(plan(100, 50, Fit::Cover, 200, 200).resize, (400, 200));
    }

    #[test]
    fn crop_never_enlarges_a_small_image() {
        let p = plan(100, 50, Fit::Crop, 200, 200);
        assert_eq!(p.resize, (100, 50));
        assert_eq!(p.crop, Some((100, 50)));
    }

    #[test]
    fn pad_puts_the_contained_image_on_the_full_box() {
        let p = plan(400, 200, Fit::Pad, 200, 200);
        assert_eq!(p.resize, (200, 100));
        assert_eq!(p.canvas, Some((200, 200)));
    }

    #[test]
    fn heic_is_refused_with_5455() {
        let mut bytes = vec![0, 0, 0, 24];
        bytes.extend_from_slice(b"ftypheic");
        bytes.extend_from_slice(&[0; 16]);
        assert_eq!(
            inspect(&bytes, &DecodeLimits::default()).unwrap_err().code,
            5455
        );
    }

    #[test]
    fn text_is_not_an_image() {
        assert_eq!(
            inspect(b"hello, world", &DecodeLimits::default())
                .unwrap_err()
                .code,
            5455
        );
    }

    #[test]
    fn xml_depth_counts_elements_only() {
        assert_eq!(xml_depth(b"<svg><g><g/></g><g></g></svg>"), 3);
        assert_eq!(
            xml_depth(
                b"<?xml version='1.0'?><!-- <a><b> --><svg a='>' b=\"/>\"><![CDATA[<c><d>]]></svg>"
            ),
            1
        );
        assert_eq!(xml_depth(b"<svg><g><g><g>"), 4, "unclosed still counts");
    }

    #[test]
    fn deep_svg_is_refused_before_parsing_and_legal_depth_parses() {
        let limits = DecodeLimits::default();
        let nested = |depth: usize| {
            format!(
                "<svg xmlns='http://www.w3.org/2000/svg' width='4' height='4'>{}{}</svg>",
                "<g>".repeat(depth),
                "</g>".repeat(depth)
            )
        };
        let deep = inspect(nested(100_000).as_bytes(), &limits).unwrap_err();
        assert_eq!((deep.code, deep.status.as_u16()), (5400, 400), "{deep:?}");
        // The deepest legal SVG parses on its own stack (the blocking pool's would overflow
        // in an unoptimised build).
        let deepest = nested(limits.svg_max_depth as usize - 1);
        assert_eq!(inspect(deepest.as_bytes(), &limits).unwrap().width, 4);
    }
}
