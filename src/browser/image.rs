//! Browser-side image work: reading a file's first bytes, its pixel size (from its headers,
//! or decoded), small previews and downscaling. Decoding and resizing happen in
//! `createImageBitmap` and `OffscreenCanvas`, off the main thread, so large photos do not
//! freeze the page; EXIF orientation is applied by the browser (`imageOrientation:
//! from-image` is the default).

use crate::browser::timer;
use crate::browser::transport::uploads_running;
use crate::core::dimensions::{HeaderProbe, Probe};
use crate::core::pace::preview_wait_ms;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, BlobPropertyBag, File, FilePropertyBag, ImageBitmap, ImageBitmapOptions,
    ImageEncodeOptions, OffscreenCanvas, OffscreenCanvasRenderingContext2d, ResizeQuality,
};

fn window() -> Result<web_sys::Window, JsValue> {
    web_sys::window().ok_or_else(|| JsValue::from_str("no window"))
}

/// Files up to this size have their head read from their stream, see [`read_head`].
const STREAM_HEAD_MAX: f64 = 256.0 * 1024.0;

/// The first `count` bytes of a file (only those enter wasm memory).
///
/// ```no_run
/// use direct_upload::image_tools::{blob_from_bytes, read_head};
///
/// # async fn run() -> Result<(), wasm_bindgen::JsValue> {
/// let blob = blob_from_bytes(b"\x89PNG\r\n\x1a\nrest", "image/png")?;
/// assert_eq!(read_head(&blob, 4).await?, b"\x89PNG");
/// # Ok(()) }
/// ```
pub async fn read_head(file: &Blob, count: u32) -> Result<Vec<u8>, JsValue> {
    // A small file's stream, not `slice(0, count)`: Chromium spends 0.6 to 0.9 ms of the
    // main thread on each `slice` and `arrayBuffer` of a chosen file (measured on a bare
    // page: 200 files of 110 KB, 120 to 190 ms), and 0.01 ms opening and reading its stream,
    // whose work happens elsewhere. Read into a buffer of our own (a BYOB reader), so the
    // browser copies just the head: a default reader is handed the whole file as one chunk,
    // garbage that stays until V8 collects it (measured: 200 files of 110 KB, 22 MB of
    // array buffers in the renderer at the peak). Not for a large file: the browser fills
    // the stream's pipe with megabytes before the cancel reaches it (measured: 50 files of
    // 8 MB, renderer memory +116 to +140 MB instead of +52 to +71), and a batch of large
    // files has few of them to slice. `size` is cheap here: only a chosen file's first
    // `size` is a round trip to the browser process, and the list has made it (measured: a
    // second call 1.3 ms for 200 files).
    // A browser without BYOB readers for `Blob.stream()` (Safari before 26.4), or a read that
    // failed: the slice too, slower but everywhere. (One `read_range` awaited in one place:
    // each await of a future is a state of its own in the bundle.)
    let streamed = 'stream: {
        if file.size() > STREAM_HEAD_MAX {
            break 'stream None;
        }
        let Ok(reader) = web_sys::ReadableStreamByobReader::new(&file.stream()) else {
            break 'stream None;
        };
        let mut head = Vec::new();
        while head.len() < count as usize {
            let room = js_sys::Uint8Array::new_with_length(count - head.len() as u32);
            let Ok(read) = JsFuture::from(reader.read_with_array_buffer_view(&room)).await else {
                break 'stream None;
            };
            let read: web_sys::ReadableStreamReadResult = read.unchecked_into();
            if read.get_done().unwrap_or(true) {
                break;
            }
            let chunk: js_sys::Uint8Array = read.get_value().unchecked_into();
            head.extend(chunk.to_vec());
        }
        let _ = reader.cancel();
        Some(head)
    };
    match streamed {
        Some(head) => Ok(head),
        None => read_range(file, 0, count as u64).await,
    }
}

/// The bytes `start..end` of a file (only those enter wasm memory; a range past the end is
/// cut short, as `Blob.slice` does).
///
/// ```no_run
/// use direct_upload::image_tools::{blob_from_bytes, read_range};
///
/// # async fn run() -> Result<(), wasm_bindgen::JsValue> {
/// let blob = blob_from_bytes(b"\x89PNG\r\n\x1a\nrest", "image/png")?;
/// assert_eq!(read_range(&blob, 8, 12).await?, b"rest");
/// # Ok(()) }
/// ```
pub async fn read_range(file: &Blob, start: u64, end: u64) -> Result<Vec<u8>, JsValue> {
    // Offsets up to 2^53 are exact in an f64: far past any file a browser hands over.
    let part = file.slice_with_f64_and_f64(start as f64, end as f64)?;
    let buffer = JsFuture::from(part.array_buffer()).await?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

async fn bitmap(
    blob: &Blob,
    resize: Option<(u32, u32, ResizeQuality)>,
) -> Result<ImageBitmap, JsValue> {
    let promise = match resize {
        None => window()?.create_image_bitmap_with_blob(blob)?,
        Some((width, height, quality)) => {
            let options = ImageBitmapOptions::new();
            options.set_resize_width(width);
            options.set_resize_height(height);
            options.set_resize_quality(quality);
            window()?.create_image_bitmap_with_blob_and_image_bitmap_options(blob, &options)?
        }
    };
    Ok(JsFuture::from(promise).await?.unchecked_into())
}

/// The pixel size of an image, decoded by the browser; `None` when it cannot decode it.
///
/// ```no_run
/// use direct_upload::image_tools::pixel_size;
///
/// # async fn run(file: web_sys::File) {
/// if let Some((width, height)) = pixel_size(&file).await {
///     println!("{width}x{height}");
/// }
/// # }
/// ```
pub async fn pixel_size(blob: &Blob) -> Option<(u32, u32)> {
    let image = bitmap(blob, None).await.ok()?;
    let size = (image.width(), image.height());
    image.close();
    Some(size)
}

/// The pixel size an image's headers state, read in a few small slices of the file (see
/// [`HeaderProbe`]); `None` when the format is not one it reads, or the headers are broken:
/// then [`pixel_size`] decodes the image instead. The size as shown: a JPEG's EXIF
/// orientation is applied (sides swapped for orientations 5–8, read from IFD0 alone), so it
/// matches what [`pixel_size`] reports, since the browser's decode applies it too, and fits a
/// preview's aspect ratio or a resize target as well as the pixel limits.
///
/// `size` is the file's size and `head` its first bytes, as the caller already has them, so
/// the probe reads the file again only past its head: each `slice` and `arrayBuffer` of a
/// chosen file costs Chromium's main thread 0.6 to 0.9 ms (see [`read_head`]).
///
/// ```no_run
/// use direct_upload::image_tools::{header_pixel_size, pixel_size, read_head};
///
/// # async fn run(file: web_sys::File) {
/// let head = read_head(&file, 512).await.unwrap_or_default();
/// let size = match header_pixel_size(&file, file.size() as u64, &head).await {
///     Some(size) => Some(size),
///     None => pixel_size(&file).await,
/// };
/// # }
/// ```
pub async fn header_pixel_size(file: &Blob, size: u64, head: &[u8]) -> Option<(u32, u32)> {
    let mut probe = HeaderProbe::new(size);
    let mut next = if head.is_empty() {
        probe.outcome()
    } else {
        probe.feed(0, head)
    };
    // Ends: every feed counts towards the probe's read cap.
    loop {
        match next {
            Probe::Known { width, height } => return Some((width, height)),
            Probe::Unknown => return None,
            Probe::NeedBytes { from, up_to } => {
                let bytes = read_range(file, from, up_to).await.ok()?;
                next = probe.feed(from, &bytes);
            }
        }
    }
}

async fn encode(image: &ImageBitmap, mime: &str, quality: f64) -> Result<Blob, JsValue> {
    let canvas = OffscreenCanvas::new(image.width(), image.height())?;
    let context: OffscreenCanvasRenderingContext2d = canvas
        .get_context("2d")?
        .ok_or_else(|| JsValue::from_str("no 2d context"))?
        .unchecked_into();
    context.draw_image_with_image_bitmap(image, 0.0, 0.0)?;
    let options = ImageEncodeOptions::new();
    options.set_type(mime);
    options.set_quality(quality);
    Ok(
        JsFuture::from(canvas.convert_to_blob_with_options(&options)?)
            .await?
            .unchecked_into(),
    )
}

/// A small preview (`box_px` on its longer side) as an object URL, or `Ok(None)` when
/// `wanted` says, at its turn, that it is no longer needed. The caller revokes it with
/// [`revoke`] when the preview is no longer shown.
///
/// Previews are made one at a time, page-wide, in the order asked: decoding a large photo
/// takes a core for tens of milliseconds, and a page of rows asking at once would take every
/// core from the uploads (measured: 20 PNGs of 1.7 MB took 1.72 × a bare upload loop with
/// previews made all at once, 1.36 × with none). While files upload, previews also decode for
/// at most a tenth of the time ([`crate::core::pace::preview_wait_ms`]).
///
/// ```no_run
/// use direct_upload::image_tools::{preview_url, revoke};
///
/// # async fn run(file: web_sys::File, img: web_sys::HtmlImageElement) -> Result<(), wasm_bindgen::JsValue> {
/// if let Some(url) = preview_url(&file, 4000, 3000, 128, || true).await? {
///     img.set_src(&url);
///     // … and once the preview is no longer shown:
///     revoke(&url);
/// }
/// # Ok(()) }
/// ```
pub async fn preview_url(
    file: &Blob,
    width: u32,
    height: u32,
    box_px: u32,
    wanted: impl Fn() -> bool,
) -> Result<Option<String>, JsValue> {
    let _turn = PreviewTurn::wait().await;
    give_way_to_uploads().await;
    if !wanted() {
        return Ok(None);
    }
    let started = timer::monotonic_ms();
    let scale = (box_px as f64 / width.max(height).max(1) as f64).min(1.0);
    let size = (
        ((width as f64 * scale).round() as u32).max(1),
        ((height as f64 * scale).round() as u32).max(1),
    );
    // Medium (mipmapped bilinear) is as sharp as high at a few dozen pixels, for less work.
    let image = bitmap(file, Some((size.0, size.1, ResizeQuality::Medium))).await?;
    let blob = encode(&image, "image/webp", 0.8).await;
    image.close();
    let ended = timer::monotonic_ms();
    LAST_PREVIEW_MADE.with(|last| last.set(Some((ended, ended.saturating_sub(started)))));
    web_sys::Url::create_object_url_with_blob(&blob?).map(Some)
}

thread_local! {
    /// When the last preview was made and how long it took (ms, monotonic), page-wide.
    static LAST_PREVIEW_MADE: std::cell::Cell<Option<(u64, u64)>> =
        const { std::cell::Cell::new(None) };
}

/// Waits while files upload until previews have had no more than their share of the time;
/// checked again every 100 ms, so previews resume soon after the last upload ends.
async fn give_way_to_uploads() {
    loop {
        let last = LAST_PREVIEW_MADE.with(std::cell::Cell::get);
        let wait = preview_wait_ms(uploads_running(), last, timer::monotonic_ms());
        if wait == 0 {
            return;
        }
        timer::sleep_ms(wait.min(100) as u32).await;
    }
}

/// One preview's turn: held while it is made; dropping it lets the next one start.
struct PreviewTurn(Option<js_sys::Function>);

thread_local! {
    /// Settles when the last preview asked for has been made.
    static LAST_PREVIEW: std::cell::RefCell<js_sys::Promise> =
        std::cell::RefCell::new(js_sys::Promise::resolve(&JsValue::UNDEFINED));
}

impl PreviewTurn {
    /// Waits until every preview asked for before has been made.
    async fn wait() -> Self {
        let mut done = None;
        let mine = js_sys::Promise::new(&mut |resolve, _| done = Some(resolve));
        let before = LAST_PREVIEW.with(|last| last.replace(mine));
        let _ = JsFuture::from(before).await;
        Self(done)
    }
}

impl Drop for PreviewTurn {
    fn drop(&mut self) {
        if let Some(done) = self.0.take() {
            let _ = done.call0(&JsValue::UNDEFINED);
        }
    }
}

/// Frees an object URL made by [`preview_url`].
///
/// ```no_run
/// # async fn run(file: web_sys::File) -> Result<(), wasm_bindgen::JsValue> {
/// if let Some(url) = direct_upload::image_tools::preview_url(&file, 800, 600, 64, || true).await? {
///     direct_upload::image_tools::revoke(&url);
/// }
/// # Ok(()) }
/// ```
pub fn revoke(url: &str) {
    let _ = web_sys::Url::revoke_object_url(url);
}

/// Re-encodes `file` at `width`×`height` so that it fits Cloudflare's limits: JPEG stays JPEG,
/// anything else becomes WebP (which keeps transparency). Lowers the quality until the result
/// is at most `max_bytes`.
///
/// ```no_run
/// use direct_upload::image_tools::downscale;
/// use direct_upload::validate::{fit_within, CLOUDFLARE_MAX_BYTES, CLOUDFLARE_MAX_PIXELS, CLOUDFLARE_MAX_SIDE};
///
/// # async fn run(photo: web_sys::File) -> Result<(), wasm_bindgen::JsValue> {
/// let (width, height) = fit_within(16_000, 9_000, CLOUDFLARE_MAX_SIDE, CLOUDFLARE_MAX_PIXELS);
/// let smaller = downscale(&photo, width, height, CLOUDFLARE_MAX_BYTES).await?;
/// assert!(smaller.size() as u64 <= CLOUDFLARE_MAX_BYTES);
/// # Ok(()) }
/// ```
pub async fn downscale(
    file: &File,
    width: u32,
    height: u32,
    max_bytes: u64,
) -> Result<File, JsValue> {
    let image = bitmap(file, Some((width, height, ResizeQuality::High))).await?;
    let (mime, extension) = if file.type_() == "image/jpeg" {
        ("image/jpeg", "jpg")
    } else {
        ("image/webp", "webp")
    };
    let mut result = None;
    for quality in [0.92, 0.85, 0.75, 0.6, 0.45] {
        let blob = encode(&image, mime, quality).await?;
        let fits = blob.size() as u64 <= max_bytes;
        result = Some(blob);
        if fits {
            break;
        }
    }
    image.close();
    let blob = result.ok_or_else(|| JsValue::from_str("nothing encoded"))?;
    if blob.size() as u64 > max_bytes {
        return Err(JsValue::from_str("still too large after re-encoding"));
    }
    let stem = file
        .name()
        .rsplit_once('.')
        .map(|(stem, _)| stem.to_string())
        .unwrap_or_else(|| file.name());
    let options = FilePropertyBag::new();
    options.set_type(mime);
    File::new_with_blob_sequence_and_options(
        &js_sys::Array::of1(&blob),
        &(stem + "." + extension),
        &options,
    )
}

/// Makes a `Blob` from bytes (tests and demos).
///
/// ```no_run
/// let blob = direct_upload::image_tools::blob_from_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml").unwrap();
/// assert_eq!(blob.type_(), "image/svg+xml");
/// ```
pub fn blob_from_bytes(bytes: &[u8], mime: &str) -> Result<Blob, JsValue> {
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    Blob::new_with_u8_array_sequence_and_options(
        &js_sys::Array::of1(&js_sys::Uint8Array::from(bytes)),
        &options,
    )
}
