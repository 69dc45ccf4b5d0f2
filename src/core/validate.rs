//! Restrictions checked before anything is sent: the type found from the file's first bytes
//! (never its name), Cloudflare's limits, and the site's own. The rules are pure Rust and
//! tested natively; `inspect` (browser only) gathers the facts they need.

/// The image types Cloudflare Images accepts (HEIC and AVIF depend on the plan; add them to
/// `accept` if yours takes them).
///
/// ```
/// assert!(direct_upload::validate::CLOUDFLARE_TYPES.contains(&"image/webp"));
/// ```
pub const CLOUDFLARE_TYPES: [&str; 5] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/svg+xml",
];
/// Cloudflare's size limit: 10 MB.
///
/// ```
/// assert_eq!(direct_upload::validate::CLOUDFLARE_MAX_BYTES, 10_485_760);
/// ```
pub const CLOUDFLARE_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Cloudflare's limit per side.
///
/// ```
/// assert_eq!(direct_upload::validate::CLOUDFLARE_MAX_SIDE, 12_000);
/// ```
pub const CLOUDFLARE_MAX_SIDE: u32 = 12_000;
/// Cloudflare's area limit.
///
/// ```
/// assert_eq!(direct_upload::validate::CLOUDFLARE_MAX_PIXELS, 100_000_000);
/// ```
pub const CLOUDFLARE_MAX_PIXELS: u64 = 100_000_000;

/// What the widget accepts. `Default` is exactly Cloudflare's limits.
///
/// ```
/// use direct_upload::Restrictions;
///
/// let avatars = Restrictions::default().accept(&["image/jpeg", "image/png"]).size(1_000, 2_000_000).max_files(1);
/// assert_eq!(avatars.max_bytes, 2_000_000);
/// assert_eq!(Restrictions::default().max_side, 12_000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restrictions {
    /// Accepted MIME types, as found from the bytes (empty: any file).
    pub accept: Vec<String>,
    /// Smallest accepted file in bytes.
    pub min_bytes: u64,
    /// Largest accepted file in bytes.
    pub max_bytes: u64,
    /// Most files in the list at once (`None`: no limit).
    pub max_files: Option<usize>,
    /// Longest accepted side in pixels.
    pub max_side: u32,
    /// Largest accepted area in pixels.
    pub max_pixels: u64,
}

impl Default for Restrictions {
    fn default() -> Self {
        Self {
            accept: CLOUDFLARE_TYPES.iter().map(|t| t.to_string()).collect(),
            min_bytes: 1,
            max_bytes: CLOUDFLARE_MAX_BYTES,
            max_files: None,
            max_side: CLOUDFLARE_MAX_SIDE,
            max_pixels: CLOUDFLARE_MAX_PIXELS,
        }
    }
}

impl Restrictions {
    /// No checks in the browser: every file is sent and the upload host is the only judge.
    ///
    /// ```
    /// use direct_upload::validate::check_file;
    /// use direct_upload::Restrictions;
    ///
    /// assert!(check_file(&Restrictions::off(), None, 50_000_000).is_ok());
    /// ```
    pub fn off() -> Self {
        Self {
            accept: Vec::new(),
            min_bytes: 0,
            max_bytes: u64::MAX,
            max_files: None,
            max_side: u32::MAX,
            max_pixels: u64::MAX,
        }
    }

    /// Only these MIME types.
    ///
    /// ```
    /// use direct_upload::Restrictions;
    ///
    /// assert_eq!(Restrictions::default().accept(&["image/jpeg"]).accept, ["image/jpeg"]);
    /// ```
    pub fn accept(mut self, types: &[&str]) -> Self {
        self.accept = types.iter().map(|t| t.to_string()).collect();
        self
    }
    /// Files from `min` to `max` bytes (never more than Cloudflare takes).
    ///
    /// ```
    /// use direct_upload::Restrictions;
    ///
    /// let limits = Restrictions::default().size(10_000, 50_000_000);
    /// assert_eq!((limits.min_bytes, limits.max_bytes), (10_000, 10_485_760));
    /// ```
    pub fn size(mut self, min: u64, max: u64) -> Self {
        self.min_bytes = min;
        self.max_bytes = max.min(CLOUDFLARE_MAX_BYTES);
        self
    }
    /// At most `count` files in the list.
    ///
    /// ```
    /// use direct_upload::Restrictions;
    ///
    /// assert_eq!(Restrictions::default().max_files(3).max_files, Some(3));
    /// ```
    pub fn max_files(mut self, count: usize) -> Self {
        self.max_files = Some(count);
        self
    }
}

/// Why a file was refused before sending.
///
/// ```
/// use direct_upload::Rejection;
///
/// assert_eq!(Rejection::TooManyFiles { max: 3 }.to_string(), "at most 3 files");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The bytes are not an accepted image type (`found` is what they are, if known).
    #[error("not an accepted image type{}", found.as_ref().map(|f| format!(" ({f})")).unwrap_or_default())]
    Type {
        /// MIME type found from the bytes.
        found: Option<String>,
    },
    /// Larger than allowed.
    #[error("{size} bytes is over the {max} byte limit")]
    TooLarge {
        /// File size.
        size: u64,
        /// Limit.
        max: u64,
    },
    /// Smaller than allowed.
    #[error("{size} bytes is under the {min} byte minimum")]
    TooSmall {
        /// File size.
        size: u64,
        /// Minimum.
        min: u64,
    },
    /// A side is longer than allowed.
    #[error("{width}×{height} pixels: a side is over {max} pixels")]
    SideTooLong {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Limit per side.
        max: u32,
    },
    /// More pixels than allowed.
    #[error("{width}×{height} pixels is over the {max} pixel limit")]
    TooManyPixels {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// Limit.
        max: u64,
    },
    /// The list already holds the most files allowed.
    #[error("at most {max} files")]
    TooManyFiles {
        /// Limit.
        max: usize,
    },
    /// The browser could not read the image.
    #[error("the image could not be read")]
    Unreadable,
}

/// The MIME type of an image from its first bytes; `None` when it is none of the known kinds.
///
/// ```
/// use direct_upload::validate::sniff_type;
///
/// assert_eq!(sniff_type(b"\x89PNG\r\n\x1a\n"), Some("image/png"));
/// assert_eq!(sniff_type(b"%PDF-1.7"), None);
/// ```
pub fn sniff_type(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Some("image/gif");
    }
    if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return match &head[8..12] {
            b"avif" | b"avis" => Some("image/avif"),
            b"heic" | b"heix" | b"hevc" | b"mif1" | b"msf1" => Some("image/heic"),
            _ => None,
        };
    }
    if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        return Some("image/tiff");
    }
    if head.starts_with(b"BM") {
        return Some("image/bmp");
    }
    // SVG is text: after byte order marks and white space, a prologue, a comment or the
    // element itself, and the element somewhere in the head. Read as bytes, not as a `str`:
    // UTF-8 decoding and substring search would link about 4 KB of core into the wasm for
    // four ASCII comparisons. XML allows only ASCII white space before its prologue.
    let mut text = head;
    while let Some(rest) = text.strip_prefix("\u{feff}".as_bytes()) {
        text = rest;
    }
    while let [b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c', rest @ ..] = text {
        text = rest;
    }
    let svg = b"<svg";
    if [&b"<?xml"[..], svg, b"<!--"]
        .iter()
        .any(|start| text.starts_with(start))
        && text.windows(svg.len()).any(|window| window == svg)
    {
        return Some("image/svg+xml");
    }
    None
}

/// Bytes read from the start of a file to find its type (enough for an SVG's prologue).
///
/// ```
/// assert!(direct_upload::validate::HEAD_BYTES >= 12, "enough for every signature");
/// ```
pub const HEAD_BYTES: u32 = 512;

/// Checks what can be known without decoding: type and size.
///
/// ```
/// use direct_upload::validate::{check_file, Rejection};
/// use direct_upload::Restrictions;
///
/// let limits = Restrictions::default();
/// assert_eq!(check_file(&limits, Some("image/jpeg"), 500_000), Ok(()));
/// assert_eq!(check_file(&limits, Some("image/tiff"), 500_000), Err(Rejection::Type { found: Some("image/tiff".into()) }));
/// ```
pub fn check_file(
    restrictions: &Restrictions,
    found: Option<&str>,
    size: u64,
) -> Result<(), Rejection> {
    match found {
        _ if restrictions.accept.is_empty() => {}
        Some(kind) if restrictions.accept.iter().any(|a| a == kind) => {}
        other => {
            return Err(Rejection::Type {
                found: other.map(str::to_string),
            })
        }
    }
    if size < restrictions.min_bytes {
        return Err(Rejection::TooSmall {
            size,
            min: restrictions.min_bytes,
        });
    }
    if size > restrictions.max_bytes {
        return Err(Rejection::TooLarge {
            size,
            max: restrictions.max_bytes,
        });
    }
    Ok(())
}

/// Checks the pixel dimensions.
///
/// ```
/// use direct_upload::validate::check_dimensions;
/// use direct_upload::Restrictions;
///
/// assert!(check_dimensions(&Restrictions::default(), 6_000, 4_000).is_ok());
/// assert!(check_dimensions(&Restrictions::default(), 13_000, 100).is_err());
/// ```
pub fn check_dimensions(
    restrictions: &Restrictions,
    width: u32,
    height: u32,
) -> Result<(), Rejection> {
    if width > restrictions.max_side || height > restrictions.max_side {
        return Err(Rejection::SideTooLong {
            width,
            height,
            max: restrictions.max_side,
        });
    }
    if width as u64 * height as u64 > restrictions.max_pixels {
        return Err(Rejection::TooManyPixels {
            width,
            height,
            max: restrictions.max_pixels,
        });
    }
    Ok(())
}

/// The largest size with the same aspect ratio that fits `max_side` and `max_pixels`
/// (the size itself when it already fits).
///
/// ```
/// use direct_upload::validate::fit_within;
///
/// assert_eq!(fit_within(24_000, 1_000, 12_000, 100_000_000), (12_000, 500));
/// ```
pub fn fit_within(width: u32, height: u32, max_side: u32, max_pixels: u64) -> (u32, u32) {
    let (w, h) = (width.max(1) as f64, height.max(1) as f64);
    let by_side = (max_side as f64 / w).min(max_side as f64 / h);
    let by_area = (max_pixels as f64 / (w * h)).sqrt();
    let scale = by_side.min(by_area).min(1.0);
    if scale >= 1.0 {
        return (width, height);
    }
    (
        ((w * scale).floor() as u32).max(1),
        ((h * scale).floor() as u32).max(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_comes_from_the_bytes() {
        assert_eq!(sniff_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_type(b"GIF89a"), Some("image/gif"));
        assert_eq!(sniff_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_type(b"\0\0\0\x18ftypheic"), Some("image/heic"));
        assert_eq!(
            sniff_type(b"\xef\xbb\xbf <?xml version='1.0'?><svg xmlns='x'/>"),
            Some("image/svg+xml")
        );
        assert_eq!(sniff_type(b"\n\t<svg xmlns='x'/>"), Some("image/svg+xml"));
        assert_eq!(
            sniff_type(b"<!-- made by hand --><svg/>"),
            Some("image/svg+xml")
        );
        assert_eq!(
            sniff_type(b"<?xml version='1.0'?><html/>"),
            None,
            "XML, not SVG"
        );
        assert_eq!(sniff_type(b"x<svg/>"), None, "text before the prologue");
        assert_eq!(sniff_type(b"%PDF-1.7"), None);
        assert_eq!(sniff_type(b""), None);
    }

    #[test]
    fn cloudflares_limits_are_the_default() {
        let r = Restrictions::default();
        assert_eq!(check_file(&r, Some("image/png"), 1000), Ok(()));
        assert_eq!(
            check_file(&r, Some("image/heic"), 1000),
            Err(Rejection::Type {
                found: Some("image/heic".into())
            })
        );
        assert_eq!(
            check_file(&r, None, 1000),
            Err(Rejection::Type { found: None })
        );
        assert_eq!(
            check_file(&r, Some("image/png"), 0),
            Err(Rejection::TooSmall { size: 0, min: 1 })
        );
        assert!(matches!(
            check_file(&r, Some("image/png"), CLOUDFLARE_MAX_BYTES + 1),
            Err(Rejection::TooLarge { .. })
        ));
        assert_eq!(check_dimensions(&r, 12_000, 8_000), Ok(()));
        assert!(matches!(
            check_dimensions(&r, 12_001, 10),
            Err(Rejection::SideTooLong { .. })
        ));
        assert!(matches!(
            check_dimensions(&r, 10_001, 10_000),
            Err(Rejection::TooManyPixels { .. })
        ));
    }

    #[test]
    fn off_lets_everything_through() {
        let r = Restrictions::off();
        assert_eq!(check_file(&r, None, 0), Ok(()));
        assert_eq!(check_file(&r, Some("text/plain"), u64::MAX), Ok(()));
        assert_eq!(check_dimensions(&r, 50_000, 50_000), Ok(()));
    }

    #[test]
    fn fitting_keeps_the_aspect_ratio() {
        assert_eq!(fit_within(4000, 3000, 12_000, 100_000_000), (4000, 3000));
        assert_eq!(
            fit_within(24_000, 1_000, 12_000, 100_000_000),
            (12_000, 500)
        );
        let (w, h) = fit_within(12_000, 12_000, 12_000, 100_000_000);
        assert!(w as u64 * h as u64 <= 100_000_000 && w == h);
    }

    #[test]
    fn a_site_can_narrow_the_limits_but_not_widen_them() {
        let r = Restrictions::default()
            .accept(&["image/jpeg"])
            .size(10, 50 * 1024 * 1024);
        assert_eq!(r.max_bytes, CLOUDFLARE_MAX_BYTES);
        assert!(matches!(
            check_file(&r, Some("image/png"), 100),
            Err(Rejection::Type { .. })
        ));
        assert!(matches!(
            check_file(&r, Some("image/jpeg"), 5),
            Err(Rejection::TooSmall { .. })
        ));
    }
}
