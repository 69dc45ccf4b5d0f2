//! Recognising uploaded images, enforcing Cloudflare's limits, and rendering variants.
//! All decoding is the `image` crate's; SVG is parsed with `roxmltree`.

use std::io::Cursor;

use image::{AnimationDecoder, DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

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

fn check_dimensions(width: u32, height: u32, frames: u32) -> Result<(), ApiError> {
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(ApiError::bad_request(format!(
            "Image is {width}x{height} pixels: each side must be at most {MAX_SIDE} pixels"
        )));
    }
    let area = width as u64 * height as u64 * frames as u64;
    if area > MAX_AREA {
        return Err(ApiError::bad_request(format!(
            "Image is {:.1} megapixels{}: the limit is 100 megapixels",
            area as f64 / 1e6,
            if frames > 1 {
                format!(" over {frames} frames")
            } else {
                String::new()
            }
        )));
    }
    Ok(())
}

fn decode_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // 100 MP of RGBA plus working room.
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

/// Recognises the bytes as an accepted image and enforces the limits. The dimensions are read
/// from the header and checked before anything is decoded; then the whole image is decoded
/// once, so a truncated or corrupt file is refused here rather than at delivery.
pub fn inspect(bytes: &[u8]) -> Result<Inspected, ApiError> {
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
        Err(_) if looks_like_svg(bytes) => return inspect_svg(bytes),
        Err(_) => {
            return Err(ApiError::unsupported(
                "Unsupported image format: the file is not a PNG, JPEG, GIF, WebP or SVG image",
            ))
        }
    };
    let name = format
        .to_mime_type()
        .trim_start_matches("image/")
        .to_uppercase();
    let reader = |bytes: &[u8]| {
        let mut reader = ImageReader::with_format(Cursor::new(bytes.to_vec()), format);
        reader.limits(decode_limits());
        reader
    };
    let (width, height) = if format == ImageFormat::Jpeg {
        // Read from the frame header by the same walk that finds a truncated file.
        let layout = jpeg_layout(bytes)?;
        (layout.width, layout.height)
    } else {
        ImageReader::with_format(Cursor::new(bytes), format)
            .into_dimensions()
            .map_err(|e| broken(&name, e))?
    };
    check_dimensions(width, height, 1)?;

    let frames = match format {
        ImageFormat::Gif => {
            let decoder = image::codecs::gif::GifDecoder::new(Cursor::new(bytes))
                .map_err(|e| broken(&name, e))?;
            count_frames(decoder.into_frames(), width, height, &name)?
        }
        ImageFormat::WebP => {
            let decoder = image::codecs::webp::WebPDecoder::new(Cursor::new(bytes))
                .map_err(|e| broken(&name, e))?;
            if decoder.has_animation() {
                count_frames(decoder.into_frames(), width, height, &name)?
            } else {
                reader(bytes).decode().map_err(|e| broken(&name, e))?;
                1
            }
        }
        _ => {
            reader(bytes).decode().map_err(|e| broken(&name, e))?;
            1
        }
    };
    Ok(Inspected {
        content_type: format.to_mime_type(),
        width,
        height,
        frames,
    })
}

/// Decodes an animation frame by frame, refusing it as soon as the frames add up to too much.
fn count_frames(
    frames: image::Frames<'_>,
    width: u32,
    height: u32,
    name: &str,
) -> Result<u32, ApiError> {
    let mut count = 0u32;
    for frame in frames {
        frame.map_err(|e| broken(name, e))?;
        count += 1;
        check_dimensions(width, height, count)?;
    }
    Ok(count.max(1))
}

fn inspect_svg(bytes: &[u8]) -> Result<Inspected, ApiError> {
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
    check_dimensions(width, height, 1)?;
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
    if output == ImageFormat::Jpeg {
        image = DynamicImage::ImageRgb8(image.to_rgb8());
    } else if output == ImageFormat::WebP {
        image = DynamicImage::ImageRgba8(image.to_rgba8());
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
        assert_eq!(inspect(&bytes).unwrap_err().code, 5455);
    }

    #[test]
    fn text_is_not_an_image() {
        assert_eq!(inspect(b"hello, world").unwrap_err().code, 5455);
    }
}
