//! Sending a file to the upload host with XMLHttpRequest: `fetch` reports no upload progress.
//! The `File` goes into `FormData` as it is, so its bytes never enter wasm memory.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, FormData, ProgressEvent, XmlHttpRequest};

use crate::error::{Side, UploadError};

/// What the upload host answered.
#[derive(Debug, Clone)]
pub struct HostAnswer {
    /// HTTP status.
    pub status: u16,
    /// Response body as text.
    pub body: String,
}

/// Why a request was aborted by the widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AbortReason {
    /// The user cancelled.
    Cancelled,
    /// Nothing happened for the stall timeout.
    Stalled,
}

/// One running upload. Dropping it aborts the request and frees its callbacks and timer.
#[must_use = "dropping the upload aborts it"]
pub struct XhrUpload {
    xhr: XmlHttpRequest,
    finished: Promise,
    done: Rc<Cell<bool>>,
    aborted: Rc<Cell<Option<AbortReason>>>,
    stall_timeout_ms: u32,
    watchdog: Option<i32>,
    _on_progress: Closure<dyn FnMut(ProgressEvent)>,
    _on_loadend: Closure<dyn FnMut()>,
    _on_watchdog: Option<Closure<dyn FnMut()>>,
}

fn browser_error(error: JsValue) -> UploadError {
    UploadError::Browser(error.as_string().unwrap_or_else(|| format!("{error:?}")))
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Files larger than this report upload progress; smaller ones show theirs when done. A page
/// that listens to an upload's progress makes the browser ask the upload host first (a CORS
/// preflight: the host is another origin, and each one-time URL is asked about afresh), which
/// costs every upload a round trip more than a bare upload loop: measured locally with the
/// page on another origin, 200 files of 110 KB took 16.8 ms each to upload with the listener,
/// 12.1 ms without. A file this small takes less than a second above 2 Mbit/s, where a bar
/// would barely move. With no progress to watch, such an upload counts as stalled only once it
/// has taken the stall timeout plus the time to send it at [`SLOWEST_BYTES_PER_MS`].
pub const PROGRESS_FROM_BYTES: u64 = 256 * 1024;

/// The slowest rate (bytes per ms, so 2 KB/s) an upload without progress events is allowed
/// before the stall watchdog may count it as stalled: a slow mobile link shared by the
/// widget's three uploads at once.
pub const SLOWEST_BYTES_PER_MS: u64 = 2;

thread_local! {
    /// Uploads on the wire, page-wide (every widget's): previews give way to them.
    static RUNNING: Cell<u32> = const { Cell::new(0) };
}

/// How many uploads are on the wire on this page, started and not yet dropped.
pub fn uploads_running() -> u32 {
    RUNNING.with(Cell::get)
}

impl XhrUpload {
    /// Starts POSTing `file` as multipart/form-data (field `file`) to `url`, with no
    /// credentials and no custom headers, as Cloudflare's upload host expects.
    /// `on_progress(sent, total)` runs for every upload progress event of a file larger than
    /// [`PROGRESS_FROM_BYTES`]. When nothing happens for `stall_timeout_ms` (0: never; for a
    /// file without progress events, longer by its size at [`SLOWEST_BYTES_PER_MS`]) the
    /// request is aborted and reported as stalled.
    pub fn start(
        url: &str,
        file: &File,
        stall_timeout_ms: u32,
        mut on_progress: impl FnMut(u64, u64) + 'static,
    ) -> Result<Self, UploadError> {
        let xhr = XmlHttpRequest::new().map_err(browser_error)?;
        xhr.open("POST", url).map_err(browser_error)?;
        xhr.set_with_credentials(false);

        let last_activity = Rc::new(Cell::new(now_ms()));
        let activity = last_activity.clone();
        let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
            activity.set(now_ms());
            if event.length_computable() {
                on_progress(event.loaded() as u64, event.total() as u64);
            }
        });
        let size = file.size() as u64;
        let stall_timeout_ms = if size > PROGRESS_FROM_BYTES {
            xhr.upload()
                .map_err(browser_error)?
                .set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
            stall_timeout_ms
        } else if stall_timeout_ms > 0 {
            // At most 128 s more (256 KiB at 2 KB/s): no overflow.
            stall_timeout_ms.saturating_add((size / SLOWEST_BYTES_PER_MS) as u32)
        } else {
            0
        };

        // loadend fires once after load, error, abort or timeout: one promise covers them all.
        let mut resolve_slot: Option<Function> = None;
        let finished = Promise::new(&mut |resolve, _reject| resolve_slot = Some(resolve));
        let resolve = resolve_slot.expect("the Promise executor runs synchronously");
        let done = Rc::new(Cell::new(false));
        let done_flag = done.clone();
        let on_loadend = Closure::<dyn FnMut()>::new(move || {
            done_flag.set(true);
            let _ = resolve.call0(&JsValue::NULL);
        });
        xhr.set_onloadend(Some(on_loadend.as_ref().unchecked_ref()));

        let form = FormData::new().map_err(browser_error)?;
        // The File as it is: it carries its own name, as a plain page's upload would send it.
        form.append_with_blob("file", file).map_err(browser_error)?;
        xhr.send_with_opt_form_data(Some(&form))
            .map_err(browser_error)?;

        let aborted = Rc::new(Cell::new(None));
        // Counted from here (the request is on its way) until the handle is dropped.
        RUNNING.with(|running| running.set(running.get() + 1));
        let mut upload = Self {
            xhr,
            finished,
            done,
            aborted,
            stall_timeout_ms,
            watchdog: None,
            _on_progress: on_progress,
            _on_loadend: on_loadend,
            _on_watchdog: None,
        };
        if stall_timeout_ms > 0 {
            upload.watch_for_stalls(last_activity);
        }
        Ok(upload)
    }

    /// Checks a few times per timeout whether anything happened; aborts when nothing did.
    fn watch_for_stalls(&mut self, last_activity: Rc<Cell<f64>>) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let (xhr, done, aborted, timeout) = (
            self.xhr.clone(),
            self.done.clone(),
            self.aborted.clone(),
            self.stall_timeout_ms,
        );
        let check = Closure::<dyn FnMut()>::new(move || {
            if !done.get()
                && aborted.get().is_none()
                && now_ms() - last_activity.get() > timeout as f64
            {
                aborted.set(Some(AbortReason::Stalled));
                let _ = xhr.abort();
            }
        });
        let period = (timeout / 4).clamp(50, 1000) as i32;
        self.watchdog = window
            .set_interval_with_callback_and_timeout_and_arguments_0(
                check.as_ref().unchecked_ref(),
                period,
            )
            .ok();
        self._on_watchdog = Some(check);
    }

    /// Aborts the request; [`XhrUpload::outcome`] then reports [`UploadOutcome::Aborted`].
    pub fn abort(&self) {
        if !self.done.get() && self.aborted.get().is_none() {
            self.aborted.set(Some(AbortReason::Cancelled));
            let _ = self.xhr.abort();
        }
    }

    /// A future for the end of the request, which the caller can await while keeping this
    /// handle (and so the ability to abort) elsewhere.
    pub fn finished(&self) -> JsFuture {
        JsFuture::from(self.finished.clone())
    }

    /// How the request ended; call after [`XhrUpload::finished`] resolved.
    pub fn outcome(&self) -> UploadOutcome {
        match self.aborted.get() {
            Some(AbortReason::Cancelled) => return UploadOutcome::Aborted,
            Some(AbortReason::Stalled) => {
                return UploadOutcome::Failed(UploadError::Stalled {
                    seconds: self.stall_timeout_ms.div_ceil(1000),
                })
            }
            None => {}
        }
        match self.xhr.status().unwrap_or(0) {
            // Status 0: no HTTP answer at all (refused connection, CORS failure, reset).
            0 => UploadOutcome::Failed(UploadError::Network {
                side: Side::UploadHost,
                detail: "the connection failed before an answer arrived".into(),
            }),
            status => UploadOutcome::Answered(HostAnswer {
                status,
                body: self.xhr.response_text().ok().flatten().unwrap_or_default(),
            }),
        }
    }
}

impl Drop for XhrUpload {
    fn drop(&mut self) {
        RUNNING.with(|running| running.set(running.get().saturating_sub(1)));
        self.abort();
        if let (Some(id), Some(window)) = (self.watchdog, web_sys::window()) {
            window.clear_interval_with_handle(id);
        }
        self.xhr.set_onloadend(None);
        if let Ok(upload) = self.xhr.upload() {
            upload.set_onprogress(None);
        }
    }
}

/// How an upload request ended.
#[derive(Debug, Clone)]
pub enum UploadOutcome {
    /// The host answered (any status).
    Answered(HostAnswer),
    /// No answer arrived, or it stalled.
    Failed(UploadError),
    /// The request was aborted on purpose.
    Aborted,
}
