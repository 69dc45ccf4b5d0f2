//! An image's pixel size from its header bytes, without decoding it: a few small reads of
//! the file instead of `createImageBitmap` decoding every pixel of a 50 MP photo just to learn
//! that it is 8,000×6,000.
//!
//! Formats: PNG (IHDR, which must come first), JPEG (the first SOFn, after skipping every
//! other segment by its length), GIF (the logical screen grown to hold every frame), WebP
//! (VP8, VP8L, VP8X) and BMP. TIFF, AVIF and HEIC are [`Probe::Unknown`]: their sizes sit in
//! tag or box trees that are not trivial to walk, and the caller decodes them instead.
//!
//! The size is the one the image is shown at, as a browser's decode (`createImageBitmap`,
//! `<img>`) reports it: for a JPEG whose EXIF orientation is 5–8 (turned a quarter), the
//! frame header's sides swapped, so that a preview keeps the right aspect ratio. Cloudflare's
//! pixel limits (longest side, area) are the same either way. The orientation is read as
//! Chromium reads it: from the first APP1 segment starting `Exif\0\0` whose IFD0 holds an
//! Orientation entry (tag 0x0112, type SHORT, count 1); a value outside 1–8 means 1. Of that
//! EXIF block only the TIFF header and IFD0's entry table are read, never the rest (EXIF
//! sub-IFDs, maker notes, the thumbnail: up to 64 KB): first the 16 bytes from `Exif\0\0` to
//! the entry count, then the entries, each read inside the segment and asking for exactly
//! those bytes when the read-ahead has not brought them already. An EXIF block that cannot be
//! followed means orientation 1; it never makes a size [`Probe::Unknown`].
//!
//! ```
//! use direct_upload::core::dimensions::{HeaderProbe, Probe};
//!
//! // SOI; APP1 with EXIF: a big-endian TIFF header, IFD0 at 8 with one entry, Orientation
//! // (0x0112, SHORT, 1) = 6; then a frame header storing 640 wide, 480 high.
//! let jpeg = [
//!     &b"\xFF\xD8\xFF\xE1\x00\x22Exif\0\0MM\0\x2a\0\0\0\x08"[..],
//!     b"\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0",
//!     b"\xFF\xC0\x00\x11\x08\x01\xe0\x02\x80\x03\x01\x22\0\x02\x11\x01\x03\x11\x01",
//! ]
//! .concat();
//! let mut probe = HeaderProbe::new(jpeg.len() as u64);
//! assert_eq!(probe.feed(0, &jpeg), Probe::Known { width: 480, height: 640 });
//! ```
//!
//! The probe reads headers, not pixels: a file cut after its header still reports a size (the
//! upload host refuses the truncated file), and a file the probe cannot follow is
//! [`Probe::Unknown`], never a guess.

/// What the probe knows so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The size in pixels as shown: stored pixels, with the sides swapped for a JPEG whose
    /// EXIF orientation is 5–8. For a GIF, the logical screen grown to hold every frame.
    Known {
        /// Width in pixels (never 0).
        width: u32,
        /// Height in pixels (never 0).
        height: u32,
    },
    /// Read the file's bytes `from..up_to` and give them to [`HeaderProbe::feed`]. `from` is
    /// where the next header starts (or where the bytes already held end), so no read starts
    /// inside a skipped segment (inside an EXIF block, a read starts at the TIFF header or
    /// IFD0 it fetches); `up_to` adds read-ahead ([`READ_AHEAD`], [`GIF_WINDOW`]; none inside
    /// an EXIF block) and never passes the file's end or the read budget.
    NeedBytes {
        /// First byte to read.
        from: u64,
        /// One past the last byte to read.
        up_to: u64,
    },
    /// Not a format read here, broken, truncated before its size, or a cap reached: decode
    /// the image to learn its size.
    Unknown,
}

/// How much a read asks for at least (the first read, and the one after each skip). One read
/// of 4 KiB costs the browser what a read of 4 bytes does, and usually brings the few small
/// JPEG segments (quantisation tables, frame header) that follow an EXIF block. Reads inside
/// an EXIF block have none: past IFD0 there is only more EXIF, which is never looked at.
pub const READ_AHEAD: u64 = 4 * 1024;
/// How much a read asks for while walking a GIF's blocks, which run on without gaps.
pub const GIF_WINDOW: u64 = 64 * 1024;
/// Most reads a probe asks for. A JPEG's size takes two or three, and up to three more when
/// its EXIF's IFD0 lies past the bytes read so far; a caller that feeds bytes other than
/// those asked for still comes to an end.
pub const MAX_READS: u32 = 64;
/// Most bytes a probe asks to read in all. Only a GIF's walk over its frames comes near it.
pub const MAX_READ_BYTES: u64 = 1024 * 1024;
/// Most JPEG markers before the frame header. Real files have a dozen; more is a
/// hostile or broken file.
pub const MAX_JPEG_MARKERS: u32 = 64;
/// Most IFD0 entries read when looking for a JPEG's EXIF orientation (3 KiB of them). Real
/// files have about a dozen, the Orientation tag (0x0112) among the first, as entries are in
/// tag order.
pub const MAX_IFD_ENTRIES: u64 = 256;

/// Learns an image's pixel size from the reads it asks for.
///
/// A state machine rather than a function of "all the bytes so far": the reads are not
/// contiguous (after 200 KB of EXIF and XMP segments the next read starts 200 KB on), and a function would
/// make the caller keep every byte it read and the parser walk them all again on each call.
/// The probe keeps only where it is in the file and the bytes from there on.
///
/// At the caps: a JPEG (or anything else) that needs more than [`MAX_READS`] reads,
/// [`MAX_READ_BYTES`] bytes or [`MAX_JPEG_MARKERS`] markers is [`Probe::Unknown`]. A GIF whose
/// frames run on past the budget is [`Probe::Known`] with the screen grown to the frames seen
/// so far, and [`stopped_at_cap`](Self::stopped_at_cap) says so: decoding it instead would
/// learn no more, since a browser reports the screen's size (grown at most to hold the first
/// frame).
///
/// ```
/// use direct_upload::core::dimensions::{HeaderProbe, Probe};
///
/// // A PNG's first 24 bytes: signature, then IHDR with 640×480.
/// let mut file = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x02\x80\0\0\x01\xe0".to_vec();
/// file.resize(5_000, 0);
///
/// let mut probe = HeaderProbe::new(file.len() as u64);
/// let mut next = probe.outcome();
/// while let Probe::NeedBytes { from, up_to } = next {
///     // In the browser: `Blob.slice(from, up_to)`.
///     next = probe.feed(from, &file[from as usize..up_to as usize]);
/// }
/// assert_eq!(next, Probe::Known { width: 640, height: 480 });
/// ```
#[derive(Debug, Clone)]
pub struct HeaderProbe {
    file_len: u64,
    /// Bytes fed and still needed, starting at file offset `held_at` (never past the cursor).
    held: Vec<u8>,
    held_at: u64,
    step: Step,
    outcome: Probe,
    reads: u32,
    read_bytes: u64,
    stopped_at_cap: bool,
}

/// Where the walk is.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// The format is not known yet.
    Start,
    Jpeg(Jpeg),
    /// Inside an APP1 segment that may hold EXIF, looking for the orientation.
    Exif(Exif),
    Gif(Gif),
}

#[derive(Debug, Clone, Copy)]
struct Jpeg {
    /// Where a marker is expected.
    at: u64,
    markers: u32,
    /// Whether the image is shown turned a quarter (EXIF orientation 5–8), so that its sides
    /// swap; `None` until an EXIF block states an orientation.
    turned: Option<bool>,
}

#[derive(Debug, Clone, Copy)]
struct Exif {
    /// Where the bytes this phase reads start.
    at: u64,
    /// The TIFF data's byte order (known from [`ExifPhase::Count`] on).
    big_endian: bool,
    phase: ExifPhase,
    /// The walk after the segment: `resume.at` is the segment's end, which no read of the
    /// EXIF passes.
    resume: Jpeg,
}

#[derive(Debug, Clone, Copy)]
enum ExifPhase {
    /// At `Exif\0\0`, the TIFF header, and the two bytes after it (IFD0's entry count when
    /// IFD0 follows the header, as it nearly always does): [`EXIF_HEAD`] bytes.
    Head,
    /// At IFD0's entry count.
    Count,
    /// At IFD0's entries, this many of them (each 12 bytes).
    Entries(u64),
}

#[derive(Debug, Clone, Copy)]
struct Gif {
    /// Where the next block (or, `in_blocks`, the next data sub-block's length) is.
    at: u64,
    in_blocks: bool,
    /// The screen, grown to hold each frame seen.
    width: u32,
    height: u32,
    frames: u32,
}

impl Step {
    fn cursor(&self) -> u64 {
        match *self {
            Step::Start => 0,
            Step::Jpeg(Jpeg { at, .. })
            | Step::Exif(Exif { at, .. })
            | Step::Gif(Gif { at, .. }) => at,
        }
    }
}

/// Why a step did not finish.
enum Stop {
    /// The bytes up to this offset are needed.
    Need(u64),
    Unknown,
}

enum Next {
    Continue(Step),
    Known(u32, u32),
}

/// The bytes held, for one step.
struct View<'a> {
    file_len: u64,
    at: u64,
    bytes: &'a [u8],
}

impl View<'_> {
    /// `n` bytes from file offset `from`; a range past the file's end is a truncated file.
    fn get(&self, from: u64, n: u64) -> Result<&[u8], Stop> {
        let end = from.checked_add(n).ok_or(Stop::Unknown)?;
        if end > self.file_len {
            return Err(Stop::Unknown);
        }
        let start = from.checked_sub(self.at).ok_or(Stop::Unknown)?;
        let held = usize::try_from(start)
            .ok()
            .and_then(|start| Some(start..start.checked_add(usize::try_from(n).ok()?)?))
            .and_then(|range| self.bytes.get(range));
        held.ok_or(Stop::Need(end))
    }

    /// `N` bytes from file offset `from`, as an array: a constant index or range into it is
    /// known to be in bounds, so the parsers' reads need no bounds check and panic location
    /// each, as `get`'s slices did (wasm −161 gzip, −149 brotli).
    fn take<const N: usize>(&self, from: u64) -> Result<&[u8; N], Stop> {
        self.get(from, N as u64)?
            .try_into()
            .map_err(|_| Stop::Unknown)
    }

    fn byte(&self, at: u64) -> Result<u8, Stop> {
        Ok(self.take::<1>(at)?[0])
    }
}

fn be16(b: &[u8]) -> u32 {
    u16::from_be_bytes([b[0], b[1]]) as u32
}
fn le16(b: &[u8]) -> u32 {
    u16::from_le_bytes([b[0], b[1]]) as u32
}
fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}
fn le24(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], 0])
}
fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn known(width: u32, height: u32) -> Result<Next, Stop> {
    if width == 0 || height == 0 {
        return Err(Stop::Unknown);
    }
    Ok(Next::Known(width, height))
}

fn start(v: &View) -> Result<Next, Stop> {
    let head = v.take::<2>(0)?;
    if *head == [0xFF, 0xD8] {
        return Ok(Next::Continue(Step::Jpeg(Jpeg {
            at: 2,
            markers: 0,
            turned: None,
        })));
    }
    if head == b"BM" {
        return bmp(v);
    }
    let head = v.take::<6>(0)?;
    if head == b"GIF87a" || head == b"GIF89a" {
        return gif_screen(v);
    }
    if v.take::<8>(0)? == b"\x89PNG\r\n\x1a\n" {
        return png(v);
    }
    let head = v.take::<12>(0)?;
    if &head[..4] == b"RIFF" && &head[8..] == b"WEBP" {
        return webp(v);
    }
    Err(Stop::Unknown)
}

fn png(v: &View) -> Result<Next, Stop> {
    let d = v.take::<24>(0)?;
    // The spec puts IHDR first; a file that does not (Apple's CgBI) is left to the decoder.
    if d[8..16] != *b"\0\0\0\x0dIHDR" {
        return Err(Stop::Unknown);
    }
    let (width, height) = (be32(&d[16..]), be32(&d[20..]));
    if width > i32::MAX as u32 || height > i32::MAX as u32 {
        return Err(Stop::Unknown);
    }
    known(width, height)
}

fn webp(v: &View) -> Result<Next, Stop> {
    // The first chunk after "RIFF" size "WEBP" states the size.
    let head = v.take::<8>(12)?;
    let size = le32(&head[4..]);
    match &head[..4] {
        b"VP8 " if size >= 10 => {
            // A key frame's tag (3 bytes), start code, then 14 bits of each side (the top
            // 2 bits are an upscaling hint, not stored pixels).
            let d = v.take::<10>(20)?;
            if d[3..6] != [0x9D, 0x01, 0x2A] {
                return Err(Stop::Unknown);
            }
            known(le16(&d[6..]) & 0x3FFF, le16(&d[8..]) & 0x3FFF)
        }
        b"VP8L" if size >= 5 => {
            let d = v.take::<5>(20)?;
            if d[0] != 0x2F {
                return Err(Stop::Unknown);
            }
            let bits = le32(&d[1..]);
            known((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        }
        // The canvas: what an animation's frames are drawn on and what is stored.
        b"VP8X" if size >= 10 => {
            let d = v.take::<10>(20)?;
            known(le24(&d[4..]) + 1, le24(&d[7..]) + 1)
        }
        _ => Err(Stop::Unknown),
    }
}

fn bmp(v: &View) -> Result<Next, Stop> {
    let header = le32(v.take::<4>(14)?);
    match header {
        // OS/2 BITMAPCOREHEADER: unsigned 16-bit sides.
        12 => {
            let d = v.take::<4>(18)?;
            known(le16(d), le16(&d[2..]))
        }
        // BITMAPINFOHEADER and its successors: signed 32-bit sides, a negative height for
        // rows stored top-down.
        40 | 52 | 56 | 64 | 108 | 124 => {
            let d = v.take::<8>(18)?;
            let width = i32::from_le_bytes([d[0], d[1], d[2], d[3]]);
            let height = i32::from_le_bytes([d[4], d[5], d[6], d[7]]);
            let width = u32::try_from(width).map_err(|_| Stop::Unknown)?;
            known(width, height.unsigned_abs())
        }
        _ => Err(Stop::Unknown),
    }
}

/// The size of a GIF colour table whose flags are in `packed`.
fn gif_table(packed: u8) -> u64 {
    if packed & 0x80 == 0 {
        0
    } else {
        3 << ((packed & 0x07) + 1)
    }
}

fn gif_screen(v: &View) -> Result<Next, Stop> {
    let d = v.take::<13>(0)?;
    Ok(Next::Continue(Step::Gif(Gif {
        at: 13 + gif_table(d[10]),
        in_blocks: false,
        width: le16(&d[6..]),
        height: le16(&d[8..]),
        frames: 0,
    })))
}

/// One block of a GIF: a frame's descriptor, an extension, a data sub-block, or the trailer.
/// Every frame's descriptor is read because the upload host refuses a GIF whose frames do
/// not lie on its screen: reporting their extent lets the side and area limits see them.
fn gif_block(v: &View, gif: Gif) -> Result<Next, Stop> {
    let next = |at: u64, in_blocks: bool| -> Result<Next, Stop> {
        Ok(Next::Continue(Step::Gif(Gif {
            at,
            in_blocks,
            ..gif
        })))
    };
    let at = gif.at;
    let after = |n: u64| at.checked_add(n).ok_or(Stop::Unknown);
    if gif.in_blocks {
        // Data sub-blocks: a length byte, that many bytes; a zero length ends them.
        return match v.byte(at)? {
            0 => next(after(1)?, false),
            n => next(after(1 + n as u64)?, true),
        };
    }
    match v.byte(at)? {
        // Image descriptor: left, top, width, height, flags, a local colour table, the LZW
        // code size, then the pixel data's sub-blocks (skipped unread).
        0x2C => {
            let d = v.take::<10>(at)?;
            let (left, top) = (le16(&d[1..]), le16(&d[3..]));
            let (width, height) = (le16(&d[5..]), le16(&d[7..]));
            // Sixteen-bit values: the sums fit a u32.
            let grown = Gif {
                at: after(10 + gif_table(d[9]) + 1)?,
                in_blocks: true,
                width: gif.width.max(left + width),
                height: gif.height.max(top + height),
                frames: gif.frames.saturating_add(1),
            };
            Ok(Next::Continue(Step::Gif(grown)))
        }
        // Extension: its label, then sub-blocks.
        0x21 => next(after(2)?, true),
        // Trailer. A GIF without a frame has nothing to measure.
        0x3B if gif.frames > 0 => known(gif.width, gif.height),
        _ => Err(Stop::Unknown),
    }
}

fn jpeg_marker(v: &View, jpeg: Jpeg) -> Result<Next, Stop> {
    let at = jpeg.at;
    let b = v.take::<2>(at)?;
    // Only fill bytes may stand between segments; anything else is left to the decoder.
    if b[0] != 0xFF {
        return Err(Stop::Unknown);
    }
    let marker = b[1];
    if marker == 0xFF {
        // A fill byte: the marker is further on.
        let at = at.checked_add(1).ok_or(Stop::Unknown)?;
        return Ok(Next::Continue(Step::Jpeg(Jpeg { at, ..jpeg })));
    }
    let markers = jpeg.markers + 1;
    if markers > MAX_JPEG_MARKERS {
        return Err(Stop::Unknown);
    }
    // The segment's length field, after the two marker bytes.
    let body = at.checked_add(2).ok_or(Stop::Unknown)?;
    let after = |length: u64| -> Result<Jpeg, Stop> {
        let at = body.checked_add(length).ok_or(Stop::Unknown)?;
        Ok(Jpeg {
            at,
            markers,
            ..jpeg
        })
    };
    let hop = |length: u64| Ok(Next::Continue(Step::Jpeg(after(length)?)));
    match marker {
        // Markers without a length: TEM, RSTn, a repeated SOI.
        0x01 | 0xD0..=0xD8 => hop(0),
        // A stuffed zero, the end of the image, or a scan: no frame header came first.
        0x00 | 0xD9 | 0xDA => Err(Stop::Unknown),
        // Start of frame: every 0xC0..=0xCF except DHT (C4), JPG (C8) and DAC (CC).
        0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
            // Length, precision, then height and width. A height of 0 is stated only after the
            // first scan (DNL): unknown here.
            let d = v.take::<7>(body)?;
            if be16(d) < 8 {
                return Err(Stop::Unknown);
            }
            let (width, height) = (be16(&d[5..]), be16(&d[3..]));
            if jpeg.turned == Some(true) {
                known(height, width)
            } else {
                known(width, height)
            }
        }
        // Any other segment (APPn with EXIF, XMP or ICC, COM, DQT, DHT, …): skipped by its
        // length, its body never asked for; but for an APP1 while no orientation is known,
        // whose EXIF's IFD0 is read (see `exif_step`) on the way.
        _ => match be16(v.take::<2>(body)?) as u64 {
            length @ 2.. => {
                let resume = after(length)?;
                if marker == 0xE1 && jpeg.turned.is_none() && length >= 2 + EXIF_HEAD {
                    let exif = Exif {
                        // Past the length field; below `resume.at`, which did not overflow.
                        at: body + 2,
                        big_endian: false,
                        phase: ExifPhase::Head,
                        resume,
                    };
                    return Ok(Next::Continue(Step::Exif(exif)));
                }
                Ok(Next::Continue(Step::Jpeg(resume)))
            }
            _ => Err(Stop::Unknown),
        },
    }
}

/// The 16 bytes an APP1 segment's EXIF is first read for: `Exif\0\0`, the TIFF header (byte
/// order, 42, IFD0's offset), and IFD0's entry count where IFD0 follows the header.
const EXIF_HEAD: u64 = 16;
/// The EXIF Orientation tag, and the TIFF type it must have (SHORT).
const ORIENTATION_TAG: u32 = 0x0112;
const SHORT: u32 = 3;

fn read16(b: &[u8], big_endian: bool) -> u32 {
    if big_endian {
        be16(b)
    } else {
        le16(b)
    }
}

fn read32(b: &[u8], big_endian: bool) -> u32 {
    if big_endian {
        be32(b)
    } else {
        le32(b)
    }
}

/// One phase of reading an APP1 segment's EXIF for IFD0's Orientation, as browsers do
/// (Chromium's JPEG decoder: the first EXIF block whose IFD0 holds an Orientation entry of
/// type SHORT and count 1 decides; a value outside 1–8 means 1). Only the 16 bytes of
/// [`EXIF_HEAD`], IFD0's count (when not among them) and its entries are read, every range
/// checked to lie inside the segment. Anything broken (not `Exif\0\0`, a bad TIFF header, an
/// IFD0 outside the segment, no such entry) leaves the orientation unknown, that is 1, and
/// the walk goes on at the segment's end: never [`Probe::Unknown`] for the EXIF's sake.
fn exif_step(v: &View, exif: Exif) -> Result<Next, Stop> {
    let found = match exif.phase {
        ExifPhase::Head => exif_head(v.take::<{ EXIF_HEAD as usize }>(exif.at)?, exif),
        ExifPhase::Count => exif_count(v.take::<2>(exif.at)?, exif),
        ExifPhase::Entries(n) => {
            let d = v.get(exif.at, n * 12)?;
            // As arrays, so that the reads below need no bounds checks.
            let turned = d.as_chunks::<12>().0.iter().find_map(|entry| {
                let field = |at: usize| read16(&entry[at..], exif.big_endian);
                let single = read32(&entry[4..], exif.big_endian) == 1;
                (field(0) == ORIENTATION_TAG && field(2) == SHORT && single)
                    .then(|| matches!(field(8), 5..=8))
            });
            // Entered only while no orientation is known.
            let resume = Jpeg {
                turned,
                ..exif.resume
            };
            return Ok(Next::Continue(Step::Jpeg(resume)));
        }
    };
    Ok(Next::Continue(match found {
        Some(next) => Step::Exif(next),
        None => Step::Jpeg(exif.resume),
    }))
}

/// `Exif\0\0` and the TIFF header: where IFD0's count is.
fn exif_head(d: &[u8; EXIF_HEAD as usize], exif: Exif) -> Option<Exif> {
    if d[..6] != *b"Exif\0\0" {
        return None;
    }
    let big_endian = match &d[6..10] {
        b"II\x2a\0" => false,
        b"MM\0\x2a" => true,
        _ => return None,
    };
    // IFD0's offset counts from the TIFF header, which it cannot overlap.
    let offset = read32(&d[10..], big_endian) as u64;
    if offset < 8 {
        return None;
    }
    let tiff = exif.at.checked_add(6)?;
    let count_at = tiff.checked_add(offset)?;
    (count_at.checked_add(2)? <= exif.resume.at).then_some(Exif {
        at: count_at,
        big_endian,
        phase: ExifPhase::Count,
        ..exif
    })
}

/// IFD0's entry count: the entries to read, as many as the segment holds up to
/// [`MAX_IFD_ENTRIES`].
fn exif_count(d: &[u8; 2], exif: Exif) -> Option<Exif> {
    let first = exif.at.checked_add(2)?;
    let fit = exif.resume.at.checked_sub(first)? / 12;
    let n = (read16(d, exif.big_endian) as u64)
        .min(MAX_IFD_ENTRIES)
        .min(fit);
    (n > 0).then_some(Exif {
        at: first,
        phase: ExifPhase::Entries(n),
        ..exif
    })
}

impl HeaderProbe {
    /// A probe for a file of `file_len` bytes; [`outcome`](Self::outcome) says what to read
    /// first.
    ///
    /// ```
    /// use direct_upload::core::dimensions::{HeaderProbe, Probe, READ_AHEAD};
    ///
    /// assert_eq!(HeaderProbe::new(1_000_000).outcome(), Probe::NeedBytes { from: 0, up_to: READ_AHEAD });
    /// assert_eq!(HeaderProbe::new(100).outcome(), Probe::NeedBytes { from: 0, up_to: 100 });
    /// assert_eq!(HeaderProbe::new(0).outcome(), Probe::Unknown);
    /// ```
    pub fn new(file_len: u64) -> Self {
        let mut probe = Self {
            file_len,
            held: Vec::new(),
            held_at: 0,
            step: Step::Start,
            outcome: Probe::Unknown,
            reads: 0,
            read_bytes: 0,
            stopped_at_cap: false,
        };
        probe.outcome = probe.walk();
        probe
    }

    /// What the probe knows now, or what it needs read next.
    pub fn outcome(&self) -> Probe {
        self.outcome
    }

    /// True when a GIF's walk over its frames stopped at [`MAX_READ_BYTES`] or [`MAX_READS`]
    /// before its trailer: the size covers the screen and the frames before the cap only.
    pub fn stopped_at_cap(&self) -> bool {
        self.stopped_at_cap
    }

    /// Gives the probe `bytes` read from file offset `offset` (normally what
    /// [`Probe::NeedBytes`] asked for; more is used, bytes that leave a gap are ignored) and
    /// returns the new outcome. Every call counts as a read towards [`MAX_READS`].
    ///
    /// ```
    /// use direct_upload::core::dimensions::{HeaderProbe, Probe};
    ///
    /// let gif = b"GIF89a\x20\x00\x10\x00\x00\x00\x00\x2c\0\0\0\0\x20\x00\x10\x00\x00\x02\x00\x3b";
    /// let mut probe = HeaderProbe::new(gif.len() as u64);
    /// assert_eq!(probe.feed(0, gif), Probe::Known { width: 32, height: 16 });
    /// ```
    pub fn feed(&mut self, offset: u64, bytes: &[u8]) -> Probe {
        if !matches!(self.outcome, Probe::NeedBytes { .. }) {
            return self.outcome;
        }
        self.reads = self.reads.saturating_add(1);
        self.read_bytes = self.read_bytes.saturating_add(bytes.len() as u64);
        // Bytes before the cursor are never looked at again.
        let cursor = self.step.cursor();
        let held_end = self.held_end();
        if cursor >= held_end {
            self.held.clear();
            self.held_at = cursor;
        } else {
            // Less than `held.len()`, since held_at <= cursor < held_end.
            let done = (cursor.saturating_sub(self.held_at) as usize).min(self.held.len());
            self.held.drain(..done);
            self.held_at = cursor;
        }
        let held_end = self.held_end();
        if let Some(end) = offset.checked_add(bytes.len() as u64) {
            if offset <= held_end && end > held_end {
                // Within `bytes`, since offset <= held_end < end.
                let skip = (held_end - offset) as usize;
                self.held.extend_from_slice(&bytes[skip..]);
            }
        }
        self.outcome = self.walk();
        self.outcome
    }

    fn held_end(&self) -> u64 {
        self.held_at.saturating_add(self.held.len() as u64)
    }

    /// Steps on through the bytes held until the size is known or more must be read. Each
    /// step moves the cursor on by at least one byte, so this ends within the bytes held.
    fn walk(&mut self) -> Probe {
        loop {
            let view = View {
                file_len: self.file_len,
                at: self.held_at,
                bytes: &self.held,
            };
            let next = match self.step {
                Step::Start => start(&view),
                Step::Jpeg(jpeg) => jpeg_marker(&view, jpeg),
                Step::Exif(exif) => exif_step(&view, exif),
                Step::Gif(gif) => gif_block(&view, gif),
            };
            match next {
                Ok(Next::Continue(step)) => self.step = step,
                Ok(Next::Known(width, height)) => return Probe::Known { width, height },
                Err(Stop::Unknown) => return Probe::Unknown,
                Err(Stop::Need(end)) => return self.ask(end),
            }
        }
    }

    /// The read that brings the bytes up to `end`, within the caps.
    fn ask(&mut self, end: u64) -> Probe {
        let cursor = self.step.cursor();
        let held_end = self.held_end();
        // Held bytes run from the cursor; past them, the next read starts at the cursor.
        let from = if cursor <= held_end { held_end } else { cursor };
        let window = match self.step {
            Step::Gif(_) => GIF_WINDOW,
            // Inside an EXIF block, exactly the bytes wanted: what follows them is more EXIF.
            Step::Exif(_) => 0,
            _ => READ_AHEAD,
        };
        let budget = MAX_READ_BYTES.saturating_sub(self.read_bytes);
        if self.reads >= MAX_READS || end.saturating_sub(from) > budget {
            return self.at_cap();
        }
        let up_to = from
            .saturating_add(window)
            .max(end)
            .min(self.file_len)
            .min(from.saturating_add(budget));
        Probe::NeedBytes { from, up_to }
    }

    fn at_cap(&mut self) -> Probe {
        match self.step {
            Step::Gif(gif) if gif.frames > 0 && gif.width > 0 && gif.height > 0 => {
                self.stopped_at_cap = true;
                Probe::Known {
                    width: gif.width,
                    height: gif.height,
                }
            }
            _ => Probe::Unknown,
        }
    }
}

// Native only: the real encoders (`image`, a dev-dependency) are not built for wasm.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use image::{DynamicImage, ImageEncoder, ImageFormat, Rgb, RgbImage};
    use std::io::Cursor;

    /// Runs a probe over `file` as the browser does, reading exactly what it asks for, and
    /// checks every request: inside the file, at most [`MAX_READS`], at most
    /// [`MAX_READ_BYTES`] in all. Returns the answer, the reads, and the probe.
    fn drive(file: &[u8]) -> (Probe, Vec<(u64, u64)>, HeaderProbe) {
        let len = file.len() as u64;
        let mut probe = HeaderProbe::new(len);
        let mut reads = Vec::new();
        let mut next = probe.outcome();
        while let Probe::NeedBytes { from, up_to } = next {
            assert!(
                from < up_to && up_to <= len,
                "a read asks for bytes inside the file: {from}..{up_to} of {len}"
            );
            assert!(reads.len() < MAX_READS as usize, "at most MAX_READS reads");
            reads.push((from, up_to));
            next = probe.feed(from, &file[from as usize..up_to as usize]);
        }
        let total: u64 = reads.iter().map(|(from, up_to)| up_to - from).sum();
        assert!(total <= MAX_READ_BYTES, "{total} bytes read, over the cap");
        (next, reads, probe)
    }

    fn size_of(file: &[u8]) -> Probe {
        drive(file).0
    }

    fn known(width: u32, height: u32) -> Probe {
        Probe::Known { width, height }
    }

    // ---- real files, from real encoders ----

    fn picture(width: u32, height: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x * 7) as u8, (y * 13) as u8, ((x ^ y) * 3) as u8])
        }))
    }

    fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image
            .write_to(&mut out, format)
            .expect("the encoder takes it");
        out.into_inner()
    }

    /// A lossless WebP with an ICC profile: the encoder then writes the extended (VP8X) form.
    fn webp_extended(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = image::codecs::webp::WebPEncoder::new_lossless(&mut out);
        encoder.set_icc_profile(vec![7; 300]).unwrap();
        let pixels = picture(width, height).to_rgba8();
        encoder
            .write_image(&pixels, width, height, image::ExtendedColorType::Rgba8)
            .unwrap();
        out
    }

    /// An animated GIF from the real encoder, which takes the logical screen from the first
    /// frame and writes every frame at 0,0 with its own size.
    fn gif_animation(sizes: &[(u32, u32)]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = image::codecs::gif::GifEncoder::new(&mut out);
            let frames = sizes
                .iter()
                .map(|&(w, h)| image::Frame::new(picture(w, h).to_rgba8()));
            encoder.encode_frames(frames).unwrap();
        }
        out
    }

    const BADGE_PNG: &[u8] = include_bytes!("../../tests/fixtures/badge.png");
    const LANDSCAPE_JPG: &[u8] = include_bytes!("../../tests/fixtures/landscape.jpg");
    const ROTATED_JPG: &[u8] = include_bytes!("../../tests/fixtures/rotated-exif6.jpg");

    /// Every real file with the size it holds.
    fn real_files() -> Vec<(String, Vec<u8>, (u32, u32))> {
        let mut files = vec![
            ("badge.png".into(), BADGE_PNG.to_vec(), (256, 192)),
            ("landscape.jpg".into(), LANDSCAPE_JPG.to_vec(), (640, 427)),
            // Stored 120×60; EXIF orientation 6 shows it 60×120, as a browser decodes it.
            ("rotated-exif6.jpg".into(), ROTATED_JPG.to_vec(), (60, 120)),
            // The real encoder with hand-built EXIF, in either byte order.
            (
                "exif6 MM.jpg".into(),
                photo(40, 30, tiff(true, 8, &camera_ifd0(6), &[])),
                (30, 40),
            ),
            (
                "exif8 II.jpg".into(),
                photo(40, 30, tiff(false, 8, &camera_ifd0(8), &[])),
                (30, 40),
            ),
            (
                "exif3 II.jpg".into(),
                photo(40, 30, tiff(false, 8, &camera_ifd0(3), &[])),
                (40, 30),
            ),
            // IFD0 after its values, as some editors write it, and a thumbnail after that.
            (
                "exif5 far IFD0.jpg".into(),
                photo(17, 9, tiff(true, 900, &camera_ifd0(5), &thumbnail())),
                (9, 17),
            ),
        ];
        let formats = [
            ImageFormat::Png,
            ImageFormat::Jpeg,
            ImageFormat::Gif,
            ImageFormat::WebP,
            ImageFormat::Bmp,
        ];
        for (w, h) in [(1, 1), (3, 2), (40, 30), (257, 3), (2, 300)] {
            for format in formats {
                let name = format!("{w}x{h}.{format:?}");
                files.push((name, encoded(&picture(w, h), format), (w, h)));
            }
            let grey = DynamicImage::ImageLuma8(picture(w, h).to_luma8());
            files.push((
                format!("{w}x{h} grey.jpg"),
                encoded(&grey, ImageFormat::Jpeg),
                (w, h),
            ));
            let alpha = DynamicImage::ImageRgba8(picture(w, h).to_rgba8());
            files.push((
                format!("{w}x{h} rgba.png"),
                encoded(&alpha, ImageFormat::Png),
                (w, h),
            ));
            files.push((format!("{w}x{h} vp8x.webp"), webp_extended(w, h), (w, h)));
        }
        // The largest lossless WebP side, and sides past Cloudflare's 12,000.
        files.push((
            "16384x1.webp".into(),
            encoded(&picture(16_384, 1), ImageFormat::WebP),
            (16_384, 1),
        ));
        files.push((
            "1x12001.png".into(),
            encoded(&picture(1, 12_001), ImageFormat::Png),
            (1, 12_001),
        ));
        files.push((
            "12345x2.jpg".into(),
            encoded(&picture(12_345, 2), ImageFormat::Jpeg),
            (12_345, 2),
        ));
        files.push((
            "frames.gif".into(),
            gif_animation(&[(20, 10), (20, 10), (8, 8)]),
            (20, 10),
        ));
        files
    }

    #[test]
    fn real_files_report_their_size_in_one_or_two_reads() {
        for (name, file, (w, h)) in real_files() {
            let (answer, reads, probe) = drive(&file);
            assert_eq!(answer, known(w, h), "{name}");
            assert!(reads.len() <= 2, "{name}: {reads:?}");
            assert!(!probe.stopped_at_cap(), "{name}");
            // Bytes fed beyond what was asked for are used, not refused.
            let mut whole = HeaderProbe::new(file.len() as u64);
            assert_eq!(whole.feed(0, &file), known(w, h), "{name}, fed whole");
        }
    }

    #[test]
    fn every_prefix_of_a_real_file_asks_for_more_or_knows_and_never_panics() {
        for (name, file, (w, h)) in real_files().into_iter().filter(|f| f.1.len() < 20_000) {
            for cut in 0..=file.len() {
                let prefix = &file[..cut];
                // The file really is this short: truncated.
                let answer = size_of(prefix);
                assert!(
                    matches!(answer, Probe::Unknown) || answer == known(w, h),
                    "{name} cut at {cut}: {answer:?}"
                );
                // The file is whole but only its first `cut` bytes have come in.
                let mut probe = HeaderProbe::new(file.len() as u64);
                let answer = probe.feed(0, prefix);
                assert!(
                    matches!(answer, Probe::NeedBytes { from, .. } if from >= cut as u64)
                        || answer == known(w, h),
                    "{name}, {cut} bytes of it read: {answer:?}"
                );
            }
        }
    }

    // ---- JPEG ----

    fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
        let length = u16::try_from(body.len() + 2).expect("a segment is under 64 KiB");
        let mut out = vec![0xFF, marker];
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    fn sof(marker: u8, width: u16, height: u16) -> Vec<u8> {
        let [h1, h0] = height.to_be_bytes();
        let [w1, w0] = width.to_be_bytes();
        segment(marker, &[8, h1, h0, w1, w0, 1, 1, 0x11, 0])
    }

    /// SOI, the segments, then a scan and EOI.
    fn jpeg(segments: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        for s in segments {
            out.extend_from_slice(s);
        }
        out.extend_from_slice(&segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        out.extend_from_slice(&[0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD9]);
        out
    }

    fn app0() -> Vec<u8> {
        segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0")
    }

    // ---- JPEG: EXIF orientation ----

    /// An IFD entry: tag, type (2 ASCII, 3 SHORT, 4 LONG, 5 RATIONAL), count, and the value
    /// (or where it is).
    type Entry = (u16, u16, u32, u32);

    fn orientation(value: u16) -> Entry {
        (0x0112, 3, 1, value as u32)
    }

    /// IFD0 as a camera writes it, in tag order: make, model, the orientation, resolutions,
    /// software, date, and the Exif sub-IFD's offset.
    fn camera_ifd0(value: u16) -> Vec<Entry> {
        vec![
            (0x010F, 2, 6, 200),
            (0x0110, 2, 12, 206),
            orientation(value),
            (0x011A, 5, 1, 218),
            (0x011B, 5, 1, 226),
            (0x0128, 3, 1, 2),
            (0x0131, 2, 10, 234),
            (0x0132, 2, 20, 244),
            (0x8769, 4, 1, 264),
        ]
    }

    /// An EXIF block's TIFF data: the header, IFD0 at `ifd0` (zeros between) with `entries`
    /// and no next IFD, then `tail`.
    fn tiff(big_endian: bool, ifd0: u32, entries: &[Entry], tail: &[u8]) -> Vec<u8> {
        let two = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let four = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut out = if big_endian {
            *b"MM\0\x2a"
        } else {
            *b"II\x2a\0"
        }
        .to_vec();
        out.extend_from_slice(&four(ifd0));
        out.resize(ifd0.max(8) as usize, 0);
        out.extend_from_slice(&two(entries.len() as u16));
        for &(tag, kind, count, value) in entries {
            out.extend_from_slice(&two(tag));
            out.extend_from_slice(&two(kind));
            out.extend_from_slice(&four(count));
            // A SHORT sits in the first two bytes of the value field.
            match kind {
                3 => out.extend_from_slice(&[two(value as u16), [0, 0]].concat()),
                _ => out.extend_from_slice(&four(value)),
            }
        }
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(tail);
        out
    }

    /// An APP1 segment holding `tiff` as EXIF.
    fn exif(tiff: &[u8]) -> Vec<u8> {
        segment(0xE1, &[b"Exif\0\0".as_slice(), tiff].concat())
    }

    /// A thumbnail as EXIF holds one: a whole JPEG, whose frame header the probe must not
    /// take for the image's.
    fn thumbnail() -> Vec<u8> {
        encoded(&picture(160, 120), ImageFormat::Jpeg)
    }

    /// A JPEG from the real encoder with `tiff` as its EXIF (after its JFIF APP0).
    fn photo(width: u32, height: u32, tiff: Vec<u8>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = image::codecs::jpeg::JpegEncoder::new(&mut out);
        encoder.set_exif_metadata(tiff).unwrap();
        let pixels = picture(width, height).to_rgb8();
        encoder
            .write_image(&pixels, width, height, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    /// A 40×30 frame after `segments`.
    fn framed(segments: &[Vec<u8>]) -> Vec<u8> {
        jpeg(&[&[app0()], segments, &[sof(0xC0, 40, 30)]].concat())
    }

    #[test]
    fn exif_orientation_5_to_8_swaps_the_sides_in_either_byte_order() {
        for big_endian in [true, false] {
            for value in 1..=8 {
                let shown = if value >= 5 {
                    known(30, 40)
                } else {
                    known(40, 30)
                };
                let case = format!("orientation {value}, big-endian {big_endian}");
                let block = tiff(big_endian, 8, &camera_ifd0(value), &[]);
                assert_eq!(size_of(&framed(&[exif(&block)])), shown, "{case}");
                assert_eq!(size_of(&photo(40, 30, block)), shown, "{case}, real");
                // The only entry, or IFD0 after 2 KB of values and before a thumbnail.
                let alone = tiff(big_endian, 8, &[orientation(value)], &[]);
                assert_eq!(size_of(&framed(&[exif(&alone)])), shown, "{case}, alone");
                let far = tiff(big_endian, 2_000, &camera_ifd0(value), &thumbnail());
                assert_eq!(size_of(&framed(&[exif(&far)])), shown, "{case}, far");
            }
            // Values that are no orientation: shown as stored.
            for value in [0, 9, 0x0600, u16::MAX] {
                let block = tiff(big_endian, 8, &[orientation(value)], &[]);
                assert_eq!(size_of(&framed(&[exif(&block)])), known(40, 30), "{value}");
            }
        }
        // A frame header stored square or at the largest sides swaps without harm.
        let block = tiff(true, 8, &[orientation(6)], &[]);
        let file = jpeg(&[exif(&block), sof(0xC2, u16::MAX, 1)]);
        assert_eq!(size_of(&file), known(1, u16::MAX as u32));
    }

    #[test]
    fn the_first_exif_with_an_orientation_decides() {
        let with = |value| exif(&tiff(false, 8, &camera_ifd0(value), &[]));
        let without = exif(&tiff(false, 8, &camera_ifd0(6)[3..], &[]));
        let xmp = segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>");
        assert_eq!(size_of(&framed(&[with(1), with(6)])), known(40, 30));
        assert_eq!(size_of(&framed(&[with(8), with(1)])), known(30, 40));
        assert_eq!(size_of(&framed(&[without.clone(), with(6)])), known(30, 40));
        assert_eq!(size_of(&framed(&[xmp, with(6)])), known(30, 40));
        assert_eq!(size_of(&framed(&[without])), known(40, 30));
        // EXIF elsewhere than in APP1 is not read.
        let app2 = segment(0xE2, &exif(&tiff(true, 8, &[orientation(6)], &[]))[4..]);
        assert_eq!(size_of(&framed(&[app2])), known(40, 30));
    }

    #[test]
    fn an_exif_ifd0_past_its_segment_is_ignored() {
        // IFD0's offset points just past the APP1 segment, at a COM segment whose body is an
        // IFD0 with orientation 6: it is not read. SOI, APP0, then APP1 at 20.
        let ifd = tiff(true, 8, &[orientation(6)], &[])[8..].to_vec();
        let tiff_at = 20 + 4 + 6;
        let com_body_at = tiff_at + 8 + 2 + 4;
        let mut head = tiff(true, 8, &[], &[])[..8].to_vec();
        head[4..8].copy_from_slice(&((com_body_at - tiff_at) as u32).to_be_bytes());
        let file = framed(&[
            exif(&[head.as_slice(), &[0, 0]].concat()),
            segment(0xFE, &ifd),
        ]);
        assert_eq!(&file[com_body_at..com_body_at + 4], &[0, 1, 0x01, 0x12]);
        assert_eq!(
            size_of(&file),
            known(40, 30),
            "orientation ignored, size known"
        );
        // The same IFD inside the segment is read.
        let inside = framed(&[exif(&[head.as_slice(), &[0; 6], &ifd].concat())]);
        assert_eq!(size_of(&inside), known(30, 40));
        // Offsets far past the segment and the file, or to its last byte.
        for offset in [u32::MAX, 1 << 31, 20_000] {
            let mut far = tiff(true, 8, &[orientation(6)], &[]);
            far[4..8].copy_from_slice(&offset.to_be_bytes());
            assert_eq!(size_of(&framed(&[exif(&far)])), known(40, 30), "{offset}");
        }
        let mut last = tiff(false, 8, &[orientation(6)], &[]);
        let at = last.len() as u32 - 1;
        last[4..8].copy_from_slice(&at.to_le_bytes());
        assert_eq!(size_of(&framed(&[exif(&last)])), known(40, 30));
    }

    #[test]
    fn a_broken_exif_means_orientation_1_never_unknown() {
        let good = tiff(true, 8, &camera_ifd0(6), &[]);
        let patched = |at: usize, bytes: &[u8]| {
            let mut block = good.clone();
            block[at..at + bytes.len()].copy_from_slice(bytes);
            exif(&block)
        };
        let cases = [
            ("IFD0 inside the TIFF header", patched(4, &[0, 0, 0, 4])),
            ("IFD0 at 0", patched(4, &[0, 0, 0, 0])),
            ("byte order", patched(0, b"MI")),
            ("not 42", patched(2, &[0, 43])),
            ("no entries", patched(8, &[0, 0])),
            (
                "not Exif\\0\\0",
                segment(0xE1, &[b"Exif\0\x01".as_slice(), &good].concat()),
            ),
            ("no TIFF header", segment(0xE1, b"Exif\0\0")),
            (
                "a header cut short",
                segment(0xE1, b"Exif\0\0MM\0\x2a\0\0\0\x08"),
            ),
            (
                "orientation of type LONG",
                exif(&tiff(true, 8, &[(0x0112, 4, 1, 6)], &[])),
            ),
            (
                "two orientation values",
                exif(&tiff(true, 8, &[(0x0112, 3, 2, 6)], &[])),
            ),
            ("garbage", segment(0xE1, &[0xFF; 300])),
        ];
        for (name, app1) in cases {
            assert_eq!(size_of(&framed(&[app1])), known(40, 30), "{name}");
        }
        // Entries are read as far as the segment holds them, as browsers do: a count running
        // past the segment still finds an orientation before its end.
        let counted = |count: u16| patched(8, &count.to_be_bytes());
        assert_eq!(size_of(&framed(&[counted(40)])), known(30, 40));
        assert_eq!(size_of(&framed(&[counted(u16::MAX)])), known(30, 40));
        assert_eq!(
            size_of(&framed(&[counted(2)])),
            known(40, 30),
            "not reached"
        );
        // At most MAX_IFD_ENTRIES: an orientation after them is not read.
        let many = |at: usize| {
            let mut entries = vec![(0x0100, 3, 1, 40); 300];
            entries[at] = orientation(6);
            framed(&[exif(&tiff(false, 8, &entries, &[]))])
        };
        assert_eq!(size_of(&many(MAX_IFD_ENTRIES as usize - 1)), known(30, 40));
        assert_eq!(size_of(&many(MAX_IFD_ENTRIES as usize)), known(40, 30));
    }

    #[test]
    fn a_60_kb_exif_block_is_read_only_for_its_header_and_ifd0() {
        // SOI, APP0 (2..20), a comment up to READ_AHEAD - 4, then APP1: its marker and length
        // come with the first read, its body does not. 60 KB of EXIF: IFD0 (nine entries),
        // then values, the Exif sub-IFD and a thumbnail, all left unread.
        let real = encoded(&picture(64, 48), ImageFormat::Jpeg);
        let file = |ifd0: u32| {
            let mut block = tiff(true, ifd0, &camera_ifd0(6), &thumbnail());
            block.resize(60_000, 0x5A);
            let comment = segment(0xFE, &[b'c'; READ_AHEAD as usize - 4 - 20 - 4]);
            [
                vec![0xFF, 0xD8],
                app0(),
                comment,
                exif(&block),
                real[2..].to_vec(),
            ]
            .concat()
        };
        let app1_at = READ_AHEAD - 4;
        let tiff_at = app1_at + 4 + 6;
        let body = app1_at + 4..app1_at + 4 + 6 + 60_000;
        let entries = 2 + 9 * 12;
        let exif_bytes_read = |reads: &[(u64, u64)]| -> u64 {
            let overlap = |&(from, up_to): &(u64, u64)| {
                up_to.min(body.end).saturating_sub(from.max(body.start))
            };
            reads.iter().map(overlap).sum()
        };

        // IFD0 right after the TIFF header: one read of 16 bytes brings `Exif\0\0`, the header
        // and the entry count; one more the nine entries.
        let near = file(8);
        let (answer, reads, _) = drive(&near);
        assert_eq!(answer, known(48, 64));
        let after = (body.end, (body.end + READ_AHEAD).min(near.len() as u64));
        assert_eq!(
            reads,
            [
                (0, READ_AHEAD),
                (body.start, body.start + 16),
                (body.start + 16, tiff_at + 8 + entries),
                after,
            ]
        );
        assert_eq!(exif_bytes_read(&reads), 16 + 9 * 12);

        // IFD0 after 30 KB of values: the count, then the entries, read where they are.
        let ifd0 = 30_000;
        let far = file(ifd0);
        let (answer, reads, _) = drive(&far);
        assert_eq!(answer, known(48, 64));
        let count_at = tiff_at + ifd0 as u64;
        assert_eq!(
            reads,
            [
                (0, READ_AHEAD),
                (body.start, body.start + 16),
                (count_at, count_at + 2),
                (count_at + 2, count_at + entries),
                after,
            ]
        );
        assert_eq!(exif_bytes_read(&reads), 16 + 2 + 9 * 12);

        // Where the EXIF block comes first, as a camera writes it, the first read holds its
        // header and IFD0: no read more than without EXIF.
        let mut block = tiff(false, 8, &camera_ifd0(8), &thumbnail());
        block.resize(60_000, 0x5A);
        let camera = [vec![0xFF, 0xD8], exif(&block), real[2..].to_vec()].concat();
        let (answer, reads, _) = drive(&camera);
        assert_eq!(answer, known(48, 64));
        let end = (60_012 + READ_AHEAD).min(camera.len() as u64);
        assert_eq!(reads, [(0, READ_AHEAD), (60_012, end)]);
    }

    #[test]
    fn exif_reads_and_markers_count_towards_the_caps() {
        // EXIF blocks without an orientation whose IFD0 lies past the read-ahead: three reads
        // each (the count, the entries, the next marker) after the first read.
        let block = exif(&tiff(true, 4_500, &[(0x0100, 3, 1, 40)], &[]));
        let file = |n: usize| framed(&vec![block.clone(); n]);
        let (answer, reads, _) = drive(&file(21));
        assert_eq!((answer, reads.len()), (known(40, 30), MAX_READS as usize));
        assert_eq!(size_of(&file(22)), Probe::Unknown, "a 65th read");
        // Each APP1 is a marker, read or not.
        let small = exif(&tiff(true, 8, &[(0x0100, 3, 1, 40)], &[]));
        let markers = |n: usize| jpeg(&[vec![small.clone(); n], vec![sof(0xC0, 5, 5)]].concat());
        assert_eq!(
            size_of(&markers(MAX_JPEG_MARKERS as usize - 1)),
            known(5, 5)
        );
        assert_eq!(size_of(&markers(MAX_JPEG_MARKERS as usize)), Probe::Unknown);
    }

    #[test]
    fn a_large_exif_block_is_skipped_unread() {
        // One segment holds at most 65,533 bytes, so 100 KB of APP1 comes as two: EXIF, then
        // an XMP extension, as cameras and editors write them. The SOF follows.
        let exif = [b"Exif\0\0".as_slice(), &[0x5A; 65_527]].concat();
        let xmp = [
            b"http://ns.adobe.com/xmp/extension/\0".as_slice(),
            &[0x3C; 39_965],
        ]
        .concat();
        let real = encoded(&picture(64, 48), ImageFormat::Jpeg);
        let file = [
            vec![0xFF, 0xD8],
            segment(0xE1, &exif),
            segment(0xE1, &xmp),
            real[2..].to_vec(),
        ]
        .concat();
        let len = file.len() as u64;
        let exif_body = 6..65_539;
        let xmp_body = 65_543..105_543;
        let (answer, reads, _) = drive(&file);
        assert_eq!(answer, known(64, 48));
        assert_eq!(
            reads,
            [
                (0, READ_AHEAD),
                (65_539, 65_539 + READ_AHEAD),
                (105_543, (105_543 + READ_AHEAD).min(len))
            ],
            "the first bytes, then from each segment's end"
        );
        // The read-ahead may reach into the body of the segment a read starts with (its length
        // is not known before), never further: no read starts inside a body.
        for &(from, _) in &reads {
            assert!(!exif_body.contains(&from) && !xmp_body.contains(&from));
        }
        let read = |body: &std::ops::Range<u64>| -> u64 {
            let overlap = |&(from, up_to): &(u64, u64)| {
                up_to.min(body.end).saturating_sub(from.max(body.start))
            };
            reads.iter().map(overlap).sum()
        };
        assert!(
            read(&exif_body) < READ_AHEAD,
            "of the EXIF, only what the first read held"
        );
        assert!(
            read(&xmp_body) < READ_AHEAD,
            "of the XMP, only the read-ahead after its header"
        );
    }

    #[test]
    fn every_start_of_frame_marker_is_read_and_dht_dac_jpg_are_skipped() {
        let sofs = (0xC0..=0xCF).filter(|m| ![0xC4, 0xC8, 0xCC].contains(m));
        for marker in sofs {
            assert_eq!(
                size_of(&jpeg(&[app0(), sof(marker, 300, 200)])),
                known(300, 200),
                "SOF{:X}",
                marker - 0xC0
            );
        }
        // Bodies that would read as 0x0102 × 0x0304 if taken for a frame header.
        let decoy = [8, 3, 4, 1, 2, 1, 1, 0x11, 0];
        for marker in [0xC4, 0xC8, 0xCC] {
            let file = jpeg(&[segment(marker, &decoy), sof(0xC0, 300, 200)]);
            assert_eq!(
                size_of(&file),
                known(300, 200),
                "marker {marker:X} is not a frame"
            );
        }
    }

    #[test]
    fn progressive_jpeg_reports_its_sof2_size() {
        let file = jpeg(&[app0(), segment(0xDB, &[0; 65]), sof(0xC2, 4000, 3000)]);
        assert_eq!(size_of(&file), known(4000, 3000));
        // A real encoder's headers with SOF0 turned into SOF2 (the only change progressive
        // coding makes to the headers read here).
        let mut real = encoded(&picture(33, 17), ImageFormat::Jpeg);
        let at = real.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        real[at + 1] = 0xC2;
        assert_eq!(size_of(&real), known(33, 17));
    }

    #[test]
    fn fill_bytes_before_markers_are_skipped() {
        let file = [
            vec![0xFF, 0xD8, 0xFF, 0xFF, 0xFF],
            app0(),
            vec![0xFF],
            segment(0xFE, b"a comment"),
            vec![0xFF, 0xFF, 0xFF, 0xFF],
            sof(0xC0, 640, 480),
        ]
        .concat();
        assert_eq!(size_of(&file), known(640, 480));
        // A run of fill bytes longer than one read.
        let long = [vec![0xFF; 10_000], sof(0xC0, 64, 32)].concat();
        assert_eq!(size_of(&jpeg(&[app0(), long])), known(64, 32));
    }

    #[test]
    fn standalone_markers_have_no_length() {
        let file = jpeg(&[vec![0xFF, 0x01, 0xFF, 0xD0], app0(), sof(0xC1, 9, 7)]);
        assert_eq!(size_of(&file), known(9, 7));
    }

    #[test]
    fn a_jpeg_without_a_frame_header_before_its_scan_is_unknown() {
        assert_eq!(size_of(&jpeg(&[app0()])), Probe::Unknown, "scan first");
        assert_eq!(size_of(&[0xFF, 0xD8, 0xFF, 0xD9]), Probe::Unknown, "EOI");
        assert_eq!(
            size_of(&jpeg(&[app0(), vec![0x00], sof(0xC0, 9, 7)])),
            Probe::Unknown,
            "garbage where a marker belongs"
        );
        assert_eq!(
            size_of(&jpeg(&[vec![0xFF, 0xE1, 0x00, 0x01], sof(0xC0, 9, 7)])),
            Probe::Unknown,
            "a segment length under 2"
        );
        assert_eq!(
            size_of(&jpeg(&[vec![0xFF, 0xC0, 0x00, 0x07, 8, 0, 7, 0, 9]])),
            Probe::Unknown,
            "a frame header too short"
        );
    }

    #[test]
    fn jpeg_markers_are_capped() {
        let comments = |n: usize| vec![segment(0xFE, b"x"); n];
        let at_cap = [
            comments(MAX_JPEG_MARKERS as usize - 1),
            vec![sof(0xC0, 5, 5)],
        ]
        .concat();
        assert_eq!(
            size_of(&jpeg(&at_cap)),
            known(5, 5),
            "the frame is marker 64"
        );
        let over = [comments(MAX_JPEG_MARKERS as usize), vec![sof(0xC0, 5, 5)]].concat();
        assert_eq!(
            size_of(&jpeg(&over)),
            Probe::Unknown,
            "the frame is marker 65"
        );
        // Segments that each need a read of their own: one read per hop.
        let big = vec![segment(0xE2, &[0; 60_000]); 17];
        let (answer, reads, _) = drive(&jpeg(&[big, vec![sof(0xC0, 5, 5)]].concat()));
        assert_eq!(answer, known(5, 5));
        assert_eq!(reads.len(), 18, "the first read, then one after each skip");
    }

    // ---- GIF ----

    /// A GIF with a two-colour global table and frames at `(left, top, width, height)`, each
    /// with a graphic control extension and two data sub-blocks of `data` bytes.
    fn gif(screen: (u16, u16), frames: &[(u16, u16, u16, u16)], data: usize) -> Vec<u8> {
        let mut out = b"GIF89a".to_vec();
        out.extend_from_slice(&screen.0.to_le_bytes());
        out.extend_from_slice(&screen.1.to_le_bytes());
        out.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
        out.extend_from_slice(b"\x21\xFE\x05hello\x00");
        for &(left, top, width, height) in frames {
            out.extend_from_slice(&[0x21, 0xF9, 4, 0, 10, 0, 0, 0]);
            out.push(0x2C);
            for v in [left, top, width, height] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            // A local colour table of four entries, then the LZW code size.
            out.extend_from_slice(&[0x81, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 2]);
            let mut left = data;
            while left > 0 {
                let n = left.min(255);
                out.push(n as u8);
                out.extend(std::iter::repeat_n(0x3B, n));
                left -= n;
            }
            out.push(0);
        }
        out.push(0x3B);
        out
    }

    #[test]
    fn a_gif_reports_the_screen_grown_to_hold_every_frame() {
        let still = gif((300, 200), &[(0, 0, 300, 200)], 600);
        assert_eq!(size_of(&still), known(300, 200));
        let inside = gif((300, 200), &[(10, 10, 50, 50), (0, 0, 300, 200)], 600);
        assert_eq!(size_of(&inside), known(300, 200));
        // The upload host refuses frames off the screen: the widget must see their extent.
        let off = gif((1, 1), &[(0, 0, 1, 1), (100, 20, 3_500, 3_000)], 600);
        assert_eq!(size_of(&off), known(3_600, 3_020));
        let far = gif((10, 10), &[(u16::MAX, u16::MAX, u16::MAX, u16::MAX)], 10);
        assert_eq!(size_of(&far), known(131_070, 131_070), "no overflow");
        // From the real encoder: the screen is the first frame; the second is larger.
        assert_eq!(
            size_of(&gif_animation(&[(20, 10), (30, 40)])),
            known(30, 40)
        );
    }

    #[test]
    fn a_gif_needs_its_trailer_and_a_frame() {
        let whole = gif((30, 20), &[(0, 0, 30, 20)], 100);
        assert_eq!(
            size_of(&whole[..whole.len() - 1]),
            Probe::Unknown,
            "no trailer"
        );
        assert_eq!(size_of(&gif((30, 20), &[], 0)), Probe::Unknown, "no frame");
        let mut bad = whole.clone();
        let end = bad.len() - 1;
        bad[end] = 0x99;
        assert_eq!(size_of(&bad), Probe::Unknown, "an unknown block");
    }

    #[test]
    fn a_long_gif_is_walked_up_to_the_read_budget() {
        // 110 KB of pixel data a frame: about nine frames fit in 1 MiB, the large last frame
        // does not.
        let mut frames = vec![(0, 0, 200, 100); 10];
        frames[3] = (0, 0, 250, 120);
        frames.push((0, 0, 9_000, 9_000));
        let file = gif((200, 100), &frames, 110_000);
        assert!(file.len() as u64 > MAX_READ_BYTES);
        let (answer, reads, probe) = drive(&file);
        assert_eq!(answer, known(250, 120), "the screen and the frames seen");
        assert!(probe.stopped_at_cap(), "and it says it stopped");
        assert!(
            reads.len() <= (MAX_READ_BYTES / GIF_WINDOW) as usize + 1,
            "{reads:?}"
        );
        // Walked to its trailer when the whole file is given at once: the caps bound reading.
        let mut whole = HeaderProbe::new(file.len() as u64);
        assert_eq!(whole.feed(0, &file), known(9_000, 9_000));
        assert!(!whole.stopped_at_cap());
        // A GIF just under the budget is walked to its end.
        let file = gif((200, 100), &[(0, 0, 300, 50); 9], 100_000);
        let (answer, _, probe) = drive(&file);
        assert_eq!(answer, known(300, 100));
        assert!(!probe.stopped_at_cap());
        // No frame before the budget runs out: nothing to report.
        let mut comment = gif((200, 100), &[], 0);
        comment.pop();
        for _ in 0..5_000 {
            comment.extend_from_slice(b"\x21\xFE\xFF");
            comment.extend_from_slice(&[b'a'; 255]);
            comment.push(0);
        }
        comment.extend_from_slice(&gif((1, 1), &[(0, 0, 1, 1)], 1)[13 + 6..]);
        assert_eq!(size_of(&comment), Probe::Unknown);
    }

    // ---- PNG, WebP, BMP ----

    fn png(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in chunks {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(*kind);
            out.extend_from_slice(data);
            out.extend_from_slice(&[0; 4]);
        }
        out
    }

    fn ihdr(width: u32, height: u32) -> Vec<u8> {
        [
            &width.to_be_bytes()[..],
            &height.to_be_bytes(),
            &[8, 6, 0, 0, 0],
        ]
        .concat()
    }

    #[test]
    fn png_needs_ihdr_first_and_sane_sides() {
        assert_eq!(size_of(&png(&[(b"IHDR", ihdr(7, 9))])), known(7, 9));
        let late = png(&[(b"tEXt", b"a\0b".to_vec()), (b"IHDR", ihdr(7, 9))]);
        assert_eq!(size_of(&late), Probe::Unknown, "IHDR not first");
        assert_eq!(size_of(&png(&[(b"IHDR", ihdr(0, 9))])), Probe::Unknown);
        assert_eq!(size_of(&png(&[(b"IHDR", ihdr(7, 0))])), Probe::Unknown);
        assert_eq!(
            size_of(&png(&[(b"IHDR", ihdr(1 << 31, 9))])),
            Probe::Unknown
        );
        let mut short = png(&[(b"IHDR", ihdr(7, 9))]);
        short[11] = 12;
        assert_eq!(size_of(&short), Probe::Unknown, "an IHDR of 12 bytes");
    }

    fn riff(fourcc: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let size = 4 + 8 + data.len() as u32;
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(b"WEBP");
        out.extend_from_slice(fourcc);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        out
    }

    /// A lossy key frame's header (RFC 6386, 9.1): frame tag, start code, 14-bit sides with
    /// two bits of upscaling hint above them.
    fn vp8(width: u16, height: u16) -> Vec<u8> {
        let frame = [
            &[0x50, 0x09, 0x00, 0x9D, 0x01, 0x2A][..],
            &width.to_le_bytes(),
            &height.to_le_bytes(),
            &[0; 20],
        ]
        .concat();
        riff(b"VP8 ", &frame)
    }

    #[test]
    fn webp_lossy_lossless_and_extended() {
        assert_eq!(size_of(&vp8(640, 480)), known(640, 480));
        assert_eq!(
            size_of(&vp8(0xC000 | 16_383, 0x4000 | 2)),
            known(16_383, 2),
            "scale bits are not size"
        );
        assert_eq!(size_of(&vp8(0, 480)), Probe::Unknown);
        let mut no_start_code = vp8(640, 480);
        no_start_code[23] = 0;
        assert_eq!(size_of(&no_start_code), Probe::Unknown);
        // VP8X holds sides up to 2^24: the canvas, past what VP8L can say.
        let canvas = [&[0x10, 0, 0, 0][..], &[0xFF, 0xFF, 0xFF], &[0x1F, 0x4E, 0]].concat();
        assert_eq!(size_of(&riff(b"VP8X", &canvas)), known(1 << 24, 20_000));
        assert_eq!(
            size_of(&riff(b"VP8L", &[0x2E, 0, 0, 0, 0])),
            Probe::Unknown,
            "bad signature"
        );
        assert_eq!(
            size_of(&riff(b"ALPH", &[0; 10])),
            Probe::Unknown,
            "not an image chunk"
        );
        assert_eq!(
            size_of(&riff(b"VP8X", &[0; 9])),
            Probe::Unknown,
            "VP8X too short"
        );
    }

    #[test]
    fn bmp_top_down_and_os2() {
        let real = encoded(&picture(5, 3), ImageFormat::Bmp);
        let mut top_down = real.clone();
        top_down[22..26].copy_from_slice(&(-3i32).to_le_bytes());
        assert_eq!(size_of(&top_down), known(5, 3));
        let mut negative_width = real.clone();
        negative_width[18..22].copy_from_slice(&(-5i32).to_le_bytes());
        assert_eq!(size_of(&negative_width), Probe::Unknown);
        let mut os2 = real[..14].to_vec();
        os2.extend_from_slice(&[12, 0, 0, 0, 5, 0, 3, 0, 1, 0, 24, 0]);
        assert_eq!(size_of(&os2), known(5, 3));
        let mut odd_header = real;
        odd_header[14] = 41;
        assert_eq!(size_of(&odd_header), Probe::Unknown);
    }

    // ---- anything else ----

    #[test]
    fn other_formats_empty_files_and_garbage_are_unknown() {
        for file in [
            &b""[..],
            b"\xFF",
            b"\xFF\xD8",
            b"BM",
            b"GIF89a",
            b"\x89PNG\r\n\x1a\n",
            b"RIFF\0\0\0\0WEBP",
            b"II*\0\x08\0\0\0",
            b"MM\0*\0\0\0\x08",
            b"\0\0\0\x18ftypavif\0\0\0\0mif1avif",
            b"\0\0\0\x18ftypheic\0\0\0\0mif1heic",
            b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>",
            b"%PDF-1.7",
        ] {
            assert_eq!(size_of(file), Probe::Unknown, "{file:?}");
        }
    }

    #[test]
    fn a_caller_that_feeds_other_bytes_still_comes_to_an_end() {
        let file = encoded(&picture(9, 9), ImageFormat::Png);
        // Bytes that leave a gap are ignored; the probe asks again, MAX_READS times at most.
        let mut probe = HeaderProbe::new(file.len() as u64);
        let mut calls = 0;
        while let Probe::NeedBytes { .. } = probe.outcome() {
            probe.feed(100, &file[100..]);
            calls += 1;
        }
        assert_eq!(probe.outcome(), Probe::Unknown);
        assert_eq!(calls, MAX_READS);
        // Reading less than asked, one byte at a time, still gets there.
        let mut probe = HeaderProbe::new(file.len() as u64);
        while let Probe::NeedBytes { from, .. } = probe.outcome() {
            probe.feed(from, &file[from as usize..from as usize + 1]);
        }
        assert_eq!(probe.outcome(), known(9, 9));
        // Overlapping reads and a huge claimed length do no harm.
        let mut probe = HeaderProbe::new(u64::MAX);
        probe.feed(0, &file[..10]);
        assert_eq!(probe.feed(5, &file[5..30]), known(9, 9));
        let mut probe = HeaderProbe::new(u64::MAX);
        assert_eq!(
            probe.feed(u64::MAX - 1, b"abc"),
            Probe::NeedBytes {
                from: 0,
                up_to: READ_AHEAD
            }
        );
    }

    /// A small deterministic generator, so a failure can be replayed.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    #[test]
    fn damaged_files_never_panic_or_break_the_read_rules() {
        let mut random = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut samples: Vec<Vec<u8>> = real_files()
            .into_iter()
            .filter(|f| f.1.len() < 20_000)
            .map(|f| f.1)
            .collect();
        samples.push(gif((30, 20), &[(0, 0, 30, 20), (5, 5, 40, 40)], 700));
        samples.push(jpeg(&[
            app0(),
            segment(0xFE, &[0xFF; 300]),
            sof(0xC2, 10, 10),
        ]));
        samples.push(vp8(100, 100));
        samples.push(framed(&[exif(&tiff(false, 8, &camera_ifd0(6), &[]))]));
        samples.push(framed(&[exif(&tiff(true, 8, &[orientation(8)], &[]))]));
        for sample in &samples {
            for _ in 0..300 {
                let mut file = sample.clone();
                for _ in 0..1 + random.below(4) {
                    // Mostly in the headers, where the probe looks.
                    let reach = if random.below(4) == 0 {
                        file.len()
                    } else {
                        file.len().min(64)
                    };
                    let at = random.below(reach);
                    file[at] = random.next() as u8;
                }
                if random.below(3) == 0 {
                    file.truncate(random.below(file.len() + 1));
                }
                drive(&file);
            }
        }
        let signatures: [&[u8]; 8] = [
            b"\xFF\xD8",
            b"\xFF\xD8\xFF\xE1\x00\x60Exif\0\0MM\0\x2a\0\0\0\x08",
            b"\xFF\xD8\xFF\xE1\x01\x00Exif\0\0II\x2a\0\x08\0\0\0",
            b"GIF89a",
            b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR",
            b"RIFF\0\0\0\0WEBPVP8",
            b"BM",
            b"\xFF\xD8\xFF\xFF",
        ];
        for signature in signatures {
            for _ in 0..2_000 {
                let mut file = signature.to_vec();
                let n = random.below(300);
                file.extend((0..n).map(|_| random.next() as u8));
                drive(&file);
            }
        }
    }
}
