//! Embedding without Rust: a JavaScript API (`mount(element, options)` returning a handle)
//! and the DOM events it fires. The `<direct-upload>` custom element (`js/direct-upload.js`)
//! is a thin shell around it.
//!
//! Events bubble from the mount element (and cross shadow roots), each with a `detail`:
//!
//! | event | `detail` |
//! | --- | --- |
//! | `upload-start` | `{fileName, size, attempt}` |
//! | `upload-progress` | summary: `{files, done, failed, cancelled, pending, uploading, bytesSent, bytesTotal, percent}` |
//! | `upload-success` | the image record: `{id, filename, uploaded, requireSignedURLs, variants}` |
//! | `upload-error` | `{fileName, message, code, side}`: `message` is the text on screen, in the widget's language (`code` and `side` may be `null`) |
//! | `upload-complete` | summary, once each time every file of a batch has finished |

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use web_sys::{CustomEvent, CustomEventInit, HtmlElement};

use crate::api::ImageRecord;
use crate::backend::{BackendConfig, Credentials};
use crate::browser::json::{number, object, strings, text_or_null, JsJson};
use crate::components::widget::UploadView;
use crate::core::paste::PasteScope;
use crate::core::wire::JsonRead;
use crate::error::{Side, UploadError};
use crate::i18n::Lang;
use crate::queue::{BatchSummary, RetryPolicy, UploadState};
use crate::uploader::{Callbacks, FileFailure, FileStarted, Hook, Settings, Uploader};
use crate::validate::{
    Restrictions, CLOUDFLARE_MAX_BYTES, CLOUDFLARE_MAX_PIXELS, CLOUDFLARE_MAX_SIDE,
};

/// Options of the JavaScript API and, as attributes, of `<direct-upload>`. Only `backend` is
/// required; everything else has the component's defaults. Its fields are the entries of
/// [`crate::options::OPTIONS`], one for one (a test checks).
///
/// ```
/// use direct_upload::embed::EmbedOptions;
///
/// let given: serde_json::Value = serde_json::from_str(r#"{"backend": "/api/direct-upload", "maxFiles": 5}"#).unwrap();
/// let options = EmbedOptions::read(&given);
/// assert_eq!(options.max_files, Some(5));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EmbedOptions {
    /// Backend URL that answers `{id, uploadURL}`.
    pub backend: String,
    /// Extra headers for backend requests.
    pub headers: Vec<(String, String)>,
    /// `omit`, `same-origin` (default) or `include`.
    pub credentials: Option<String>,
    /// The backend request's body, as JSON text (the element's script turns an object into it).
    pub body: Option<String>,
    /// Confirmation endpoint (`GET {verify}/{id}`).
    pub verify: Option<String>,
    /// Uploads at once (default 3).
    pub concurrency: Option<usize>,
    /// Language tag (`en`, `de`).
    pub lang: Option<String>,
    /// Re-encode images over the limits.
    pub downscale: bool,
    /// Where pasted files are taken from: `page`, `widget` or `off`.
    pub paste: Option<String>,
    /// The file input's `capture` (`environment`, `user`): the camera on phones.
    pub capture: Option<String>,
    /// Whether files are kept across a reload: `resume` (the default) or `off`.
    pub persist: Option<String>,
    /// Accepted MIME types (default: Cloudflare's).
    pub accept: Option<Vec<String>>,
    /// Most files in the list.
    pub max_files: Option<usize>,
    /// Smallest file in bytes.
    pub min_size: Option<u64>,
    /// Largest file in bytes (never above 10 MB).
    pub max_size: Option<u64>,
    /// Longest side in pixels (never above 12,000).
    pub max_side: Option<u32>,
    /// Most pixels (never above 100 megapixels).
    pub max_pixels: Option<u64>,
    /// Automatic retries (default 3).
    pub max_retries: Option<u32>,
    /// First retry delay in ms (default 1000).
    pub retry_delay_ms: Option<u32>,
    /// Longest retry delay in ms (default 30000).
    pub max_delay_ms: Option<u32>,
    /// Stall timeout in ms (default 30000, 0: off).
    pub stall_timeout_ms: Option<u32>,
}

/// Why options cannot make a widget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    /// No backend URL.
    #[error("the backend option (or attribute) is required")]
    NoBackend,
    /// A credentials mode fetch does not know.
    #[error("credentials must be omit, same-origin or include, not '{0}'")]
    Credentials(String),
    /// A paste scope the widget does not know.
    #[error("paste must be page, widget or off, not '{0}'")]
    Paste(String),
    /// A persist mode the widget does not know.
    #[error("persist must be resume or off, not '{0}'")]
    Persist(String),
}

impl From<OptionError> for JsValue {
    fn from(error: OptionError) -> Self {
        js_sys::Error::new(&format!("direct-upload: {error}")).into()
    }
}

impl EmbedOptions {
    /// Reads options from a plain object, as the element's script hands them over (it has
    /// already warned about unknown names and values of the wrong kind, and dropped them).
    pub fn read(given: &impl JsonRead) -> Self {
        let text = |name: &str| given.field(name).and_then(|v| v.text());
        let whole = |name: &str| given.field(name).and_then(|v| v.whole());
        let small = |name: &str| whole(name).map(|n| n.min(u32::MAX as u64) as u32);
        Self {
            backend: text("backend").unwrap_or_default(),
            headers: given
                .field("headers")
                .map(|headers| {
                    headers
                        .members()
                        .into_iter()
                        .filter_map(|(name, value)| Some((name, value.text()?)))
                        .collect()
                })
                .unwrap_or_default(),
            credentials: text("credentials"),
            body: text("body"),
            verify: text("verify"),
            concurrency: whole("concurrency").map(|n| n as usize),
            lang: text("lang"),
            downscale: given
                .field("downscale")
                .and_then(|v| v.flag())
                .unwrap_or(false),
            paste: text("paste"),
            persist: text("persist"),
            capture: text("capture"),
            accept: given
                .field("accept")
                .map(|list| list.items().iter().filter_map(JsonRead::text).collect()),
            max_files: whole("maxFiles").map(|n| n as usize),
            min_size: whole("minSize"),
            max_size: whole("maxSize"),
            max_side: small("maxSide"),
            max_pixels: whole("maxPixels"),
            max_retries: small("maxRetries"),
            retry_delay_ms: small("retryDelayMs"),
            max_delay_ms: small("maxDelayMs"),
            stall_timeout_ms: small("stallTimeoutMs"),
        }
    }

    /// The queue settings these options describe.
    pub(crate) fn settings(&self) -> Result<Settings, OptionError> {
        if self.backend.trim_ascii().is_empty() {
            return Err(OptionError::NoBackend);
        }
        let credentials = match self.credentials.as_deref() {
            None | Some("same-origin") => Credentials::SameOrigin,
            Some("omit") => Credentials::Omit,
            Some("include") => Credentials::Include,
            Some(other) => return Err(OptionError::Credentials(other.to_string())),
        };
        let paste = match self.paste.as_deref() {
            None => PasteScope::default(),
            Some(name) => {
                PasteScope::from_name(name).ok_or_else(|| OptionError::Paste(name.to_string()))?
            }
        };
        let persist = match self.persist.as_deref() {
            None | Some("resume") => true,
            Some("off") => false,
            Some(other) => return Err(OptionError::Persist(other.to_string())),
        };
        let mut restrictions = Restrictions::default();
        if let Some(types) = &self.accept {
            restrictions.accept = types.clone();
        }
        restrictions.max_files = self.max_files;
        restrictions.min_bytes = self.min_size.unwrap_or(restrictions.min_bytes);
        restrictions.max_bytes = self
            .max_size
            .unwrap_or(CLOUDFLARE_MAX_BYTES)
            .min(CLOUDFLARE_MAX_BYTES);
        // At least one pixel: a limit of 0 would refuse (or downscale to nothing) every image.
        restrictions.max_side = self
            .max_side
            .unwrap_or(CLOUDFLARE_MAX_SIDE)
            .clamp(1, CLOUDFLARE_MAX_SIDE);
        restrictions.max_pixels = self
            .max_pixels
            .unwrap_or(CLOUDFLARE_MAX_PIXELS)
            .clamp(1, CLOUDFLARE_MAX_PIXELS);
        let defaults = RetryPolicy::default();
        Ok(Settings {
            backend: BackendConfig {
                url: self.backend.clone(),
                headers: self.headers.clone(),
                credentials,
                body: self.body.clone(),
            },
            verify: self.verify.clone().filter(|v| !v.is_empty()),
            concurrency: self.concurrency.unwrap_or(3).max(1),
            picker_accept: self.accept.as_ref().map_or_else(
                || "image/*".into(),
                // Pushed, not `[String]::join`, which links its own copy loop.
                |types| {
                    let mut list = String::new();
                    for (at, kind) in types.iter().enumerate() {
                        if at > 0 {
                            list.push(',');
                        }
                        list.push_str(kind);
                    }
                    list
                },
            ),
            restrictions,
            retry: RetryPolicy {
                max_retries: self.max_retries.unwrap_or(defaults.max_retries),
                base_delay_ms: self.retry_delay_ms.unwrap_or(defaults.base_delay_ms),
                max_delay_ms: self.max_delay_ms.unwrap_or(defaults.max_delay_ms),
                stall_timeout_ms: self.stall_timeout_ms.unwrap_or(defaults.stall_timeout_ms),
            },
            downscale: self.downscale,
            paste,
            persist,
            capture: self.capture.clone().filter(|c| !c.is_empty()),
            lang: self.lang.as_deref().map(Lang::from_tag).unwrap_or_default(),
        })
    }
}

/// A summary as events and `state()` show it.
fn summary_object(s: &BatchSummary) -> JsValue {
    object(&[
        ("files", number(s.files as u64)),
        ("done", number(s.done as u64)),
        ("failed", number(s.failed as u64)),
        ("cancelled", number(s.cancelled as u64)),
        ("pending", number(s.pending as u64)),
        ("uploading", number(s.uploading as u64)),
        ("bytesSent", number(s.bytes_sent)),
        ("bytesTotal", number(s.bytes_total)),
        ("percent", number(s.percent() as u64)),
    ])
}

/// An image record as JSON text with Cloudflare's names (kept across a reload).
pub(crate) fn image_json(image: &ImageRecord) -> String {
    js_sys::JSON::stringify(&image_object(image))
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_default()
}

/// An image record as events and `state()` show it (Cloudflare's names).
fn image_object(image: &ImageRecord) -> JsValue {
    object(&[
        ("id", JsValue::from_str(&image.id)),
        ("filename", text_or_null(image.filename.as_deref())),
        ("uploaded", text_or_null(image.uploaded.as_deref())),
        (
            "requireSignedURLs",
            JsValue::from_bool(image.require_signed_urls),
        ),
        ("variants", strings(&image.variants)),
        ("draft", JsValue::from_bool(image.draft)),
    ])
}

/// The side of a failure as events and `state()` name it.
fn side_name(error: &UploadError) -> JsValue {
    text_or_null(error.side().map(|side| match side {
        Side::Backend => "backend",
        Side::UploadHost => "upload-host",
    }))
}

fn code_of(error: &UploadError) -> JsValue {
    error.code().map(number).unwrap_or(JsValue::NULL)
}

/// Fires the widget's DOM events on its element. Callbacks must be `Send`; a DOM element is
/// not. `SendWrapper` (checked at run time) lets it ride along, since the widget only ever
/// runs on the page's one thread.
#[derive(Clone)]
struct Events(send_wrapper::SendWrapper<HtmlElement>);

impl Events {
    /// A callback firing `name`, bubbling and crossing shadow roots, with `detail(value)`.
    fn on<T: 'static>(&self, name: &'static str, detail: fn(T) -> JsValue) -> Option<Hook<T>> {
        let events = self.clone();
        Some(std::sync::Arc::new(move |value: T| {
            let init = CustomEventInit::new();
            init.set_bubbles(true);
            init.set_composed(true);
            init.set_detail(&detail(value));
            if let Ok(event) = CustomEvent::new_with_event_init_dict(name, &init) {
                let _ = events.0.dispatch_event(&event);
            }
        }))
    }

    fn callbacks(&self) -> Callbacks {
        Callbacks {
            on_start: self.on("upload-start", |s: FileStarted| {
                object(&[
                    ("fileName", JsValue::from_str(&s.file_name)),
                    ("size", number(s.size)),
                    ("attempt", number(s.attempt as u64)),
                ])
            }),
            on_success: self.on("upload-success", |image: ImageRecord| image_object(&image)),
            on_error: self.on("upload-error", |f: FileFailure| {
                object(&[
                    ("fileName", JsValue::from_str(&f.file_name)),
                    ("message", JsValue::from_str(&f.message)),
                    ("code", code_of(&f.error)),
                    ("side", side_name(&f.error)),
                ])
            }),
            on_progress: self.on("upload-progress", |s: BatchSummary| summary_object(&s)),
            on_complete: self.on("upload-complete", |s: BatchSummary| summary_object(&s)),
        }
    }
}

/// A mounted widget, as the JavaScript API returns it.
///
/// ```js
/// import { mount } from "/embed/direct-upload.js";
/// const widget = await mount(document.querySelector("#photos"), { backend: "/api/direct-upload" });
/// console.log(widget.state().summary.percent);
/// widget.destroy();
/// ```
#[wasm_bindgen]
pub struct WidgetHandle {
    uploader: Rc<RefCell<Option<Uploader>>>,
    /// Dropping it unmounts the widget. `dyn Any`: its view state's type cannot be named,
    /// and making the view an `AnyView` to name it sent the whole widget through tachys's
    /// type-erased view code (wasm +4.1 KB gzip, +3.1 KB brotli).
    unmount: Option<Box<dyn std::any::Any>>,
}

/// Mounts the widget into `target` with `options` (see [`EmbedOptions`]); returns its handle.
///
/// ```js
/// import { mount } from "./direct-upload.js";
/// const widget = await mount(document.querySelector("#photos"), { backend: "/api/direct-upload" });
/// widget.cancelAll();
/// ```
#[wasm_bindgen(js_name = mount)]
pub fn mount_widget(target: HtmlElement, options: JsValue) -> Result<WidgetHandle, JsValue> {
    let settings = EmbedOptions::read(&JsJson(options)).settings()?;
    let callbacks = Events(send_wrapper::SendWrapper::new(target.clone())).callbacks();
    let slot = Rc::new(RefCell::new(None));
    let filled = slot.clone();
    let handle = leptos::mount::mount_to(target, move || {
        let uploader = Uploader::new(settings, callbacks);
        *filled.borrow_mut() = Some(uploader);
        view! { <UploadView uploader=uploader/> }
    });
    Ok(WidgetHandle {
        uploader: slot,
        unmount: Some(Box::new(handle)),
    })
}

#[wasm_bindgen]
impl WidgetHandle {
    fn uploader(&self) -> Option<Uploader> {
        *self.uploader.borrow()
    }

    /// Cancels every file that has not finished (running requests are aborted).
    ///
    /// ```js
    /// document.querySelector("#stop").onclick = () => widget.cancelAll();
    /// ```
    #[wasm_bindgen(js_name = cancelAll)]
    pub fn cancel_all(&self) {
        if let Some(uploader) = self.uploader() {
            uploader.cancel_all();
        }
    }

    /// Retries every failed file that a retry can help.
    ///
    /// ```js
    /// document.querySelector("#again").onclick = () => widget.retryFailed();
    /// ```
    #[wasm_bindgen(js_name = retryFailed)]
    pub fn retry_failed(&self) {
        if let Some(uploader) = self.uploader() {
            uploader.retry_failed();
        }
    }

    /// Adds files (a `FileList` or an array of `File`s) as if the user had chosen them.
    ///
    /// ```js
    /// input.addEventListener("change", () => widget.addFiles(input.files));
    /// ```
    #[wasm_bindgen(js_name = addFiles)]
    pub fn add_files(&self, files: JsValue) {
        let Some(uploader) = self.uploader() else {
            return;
        };
        let list = match files.dyn_into::<web_sys::FileList>() {
            Ok(list) => crate::browser::files_of(Some(list)),
            Err(files) => js_sys::Array::from(&files)
                .iter()
                .filter_map(|f| f.dyn_into::<web_sys::File>().ok())
                .collect(),
        };
        uploader.add_files(list);
    }

    /// The summary and every file's state: `{summary, files: [{name, size, state, error?, code?, side?, image?}]}`; `error` is the text on screen.
    ///
    /// ```js
    /// const { summary, files } = widget.state();
    /// files.filter((f) => f.state === "failed").forEach((f) => console.warn(f.name, f.error));
    /// ```
    pub fn state(&self) -> JsValue {
        let Some(uploader) = self.uploader() else {
            return JsValue::NULL;
        };
        let lang = uploader.lang_untracked();
        let files: js_sys::Array = uploader
            .files_untracked()
            .into_iter()
            .map(|(name, size, state)| {
                let mut members = vec![
                    ("name", JsValue::from_str(&name)),
                    ("size", number(size)),
                    ("state", JsValue::from_str(state.name())),
                ];
                match state {
                    UploadState::Failed { error } | UploadState::RetryWaiting { error, .. } => {
                        // The screen's words, in the widget's language; code and side for code.
                        members.push(("error", JsValue::from_str(&lang.error(&error))));
                        members.push(("code", code_of(&error)));
                        members.push(("side", side_name(&error)));
                    }
                    UploadState::Done { image } => members.push(("image", image_object(&image))),
                    _ => {}
                }
                object(&members)
            })
            .collect();
        object(&[
            ("summary", summary_object(&uploader.summary_now())),
            ("files", files.into()),
        ])
    }

    /// Applies new options to the running widget (files already added keep going).
    ///
    /// ```js
    /// widget.configure({ backend: "/api/direct-upload", lang: "de", maxFiles: 3 });
    /// ```
    pub fn configure(&self, options: JsValue) -> Result<(), JsValue> {
        let settings = EmbedOptions::read(&JsJson(options)).settings()?;
        if let Some(uploader) = self.uploader() {
            uploader.configure(move |current| *current = settings);
        }
        Ok(())
    }

    /// Removes the widget and frees everything: requests are aborted, listeners removed,
    /// object URLs revoked. The handle does nothing afterwards.
    ///
    /// ```js
    /// widget.destroy();
    /// widget.free(); // releases the handle itself (wasm-bindgen)
    /// ```
    pub fn destroy(&mut self) {
        if let Some(uploader) = self.uploader.borrow_mut().take() {
            uploader.cancel_all();
        }
        self.unmount.take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> EmbedOptions {
        EmbedOptions::read(&serde_json::from_str::<serde_json::Value>(json).unwrap())
    }

    #[test]
    fn options_become_settings_with_the_components_defaults() {
        let options = read(
            r#"{"backend": "/api/direct-upload", "maxFiles": 5, "lang": "de-AT", "maxSize": 99999999, "headers": {"X-CSRF": "t"}, "body": "{\"a\":1}", "accept": ["image/png"]}"#,
        );
        let settings = options.settings().unwrap();
        assert_eq!(settings.restrictions.max_files, Some(5));
        assert_eq!(
            settings.restrictions.max_bytes, CLOUDFLARE_MAX_BYTES,
            "never above Cloudflare's limit"
        );
        assert_eq!(settings.lang, Lang::De);
        assert_eq!(settings.concurrency, 3);
        assert_eq!(settings.retry, RetryPolicy::default());
        assert_eq!(
            settings.backend.headers,
            vec![("X-CSRF".to_string(), "t".to_string())]
        );
        assert_eq!(settings.backend.body.as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(settings.picker_accept, "image/png");
    }

    #[test]
    fn bad_options_say_what_is_wrong() {
        assert_eq!(
            EmbedOptions::default().settings().unwrap_err(),
            OptionError::NoBackend
        );
        let options = EmbedOptions {
            backend: "/b".into(),
            credentials: Some("always".into()),
            ..Default::default()
        };
        assert!(options
            .settings()
            .unwrap_err()
            .to_string()
            .contains("credentials"));
    }
}
