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

/// One running upload. Dropping it aborts the request and frees its callbacks.
#[must_use = "dropping the upload aborts it"]
pub struct XhrUpload {
    xhr: XmlHttpRequest,
    finished: Promise,
    done: Rc<Cell<bool>>,
    aborted: Rc<Cell<bool>>,
    _on_progress: Closure<dyn FnMut(ProgressEvent)>,
    _on_loadend: Closure<dyn FnMut()>,
}

fn browser_error(error: JsValue) -> UploadError {
    UploadError::Browser(error.as_string().unwrap_or_else(|| format!("{error:?}")))
}

impl XhrUpload {
    /// Starts POSTing `file` as multipart/form-data (field `file`) to `url`, with no
    /// credentials and no custom headers, as Cloudflare's upload host expects.
    /// `on_progress(sent, total)` runs for every upload progress event.
    pub fn start(url: &str, file: &File, mut on_progress: impl FnMut(u64, u64) + 'static) -> Result<Self, UploadError> {
        let xhr = XmlHttpRequest::new().map_err(browser_error)?;
        xhr.open("POST", url).map_err(browser_error)?;
        xhr.set_with_credentials(false);

        let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
            if event.length_computable() {
                on_progress(event.loaded() as u64, event.total() as u64);
            }
        });
        xhr.upload().map_err(browser_error)?.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));

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
        form.append_with_blob_and_filename("file", file, &file.name()).map_err(browser_error)?;
        xhr.send_with_opt_form_data(Some(&form)).map_err(browser_error)?;
        Ok(Self { xhr, finished, done, aborted: Rc::new(Cell::new(false)), _on_progress: on_progress, _on_loadend: on_loadend })
    }

    /// Aborts the request; [`XhrUpload::finish`] then reports [`UploadOutcome::Aborted`].
    pub fn abort(&self) {
        if !self.done.get() {
            self.aborted.set(true);
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
        if self.aborted.get() {
            return UploadOutcome::Aborted;
        }
        match self.xhr.status().unwrap_or(0) {
            // Status 0: no HTTP answer at all (refused connection, CORS failure, reset).
            0 => UploadOutcome::Failed(UploadError::Network {
                side: Side::UploadHost,
                detail: "the connection failed before an answer arrived".into(),
            }),
            status => UploadOutcome::Answered(HostAnswer { status, body: self.xhr.response_text().ok().flatten().unwrap_or_default() }),
        }
    }
}

impl Drop for XhrUpload {
    fn drop(&mut self) {
        self.abort();
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
    /// No answer arrived.
    Failed(UploadError),
    /// The request was aborted on purpose.
    Aborted,
}
