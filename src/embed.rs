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
use serde::Deserialize;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use web_sys::{CustomEvent, CustomEventInit, HtmlElement};

use crate::backend::{BackendConfig, Credentials};
use crate::components::widget::UploadView;
use crate::error::Side;
use crate::i18n::Lang;
use crate::queue::{BatchSummary, RetryPolicy, UploadState};
use crate::uploader::{Callbacks, FileFailure, FileStarted, Settings, Uploader};
use crate::validate::{
    Restrictions, CLOUDFLARE_MAX_BYTES, CLOUDFLARE_MAX_PIXELS, CLOUDFLARE_MAX_SIDE,
};

/// Options of the JavaScript API and, as attributes, of `<direct-upload>`. Only `backend` is
/// required; everything else has the component's defaults.
///
/// ```
/// use direct_upload::embed::EmbedOptions;
///
/// let options: EmbedOptions = serde_json::from_str(r#"{"backend": "/api/direct-upload", "maxFiles": 5}"#).unwrap();
/// assert_eq!(options.max_files, Some(5));
/// ```
/// Its fields are the entries of [`crate::options::OPTIONS`], one for one (a test checks).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[serde(rename_all = "camelCase", default)]
pub struct EmbedOptions {
    /// Backend URL that answers `{id, uploadURL}`.
    pub backend: String,
    /// Extra headers for backend requests.
    pub headers: std::collections::BTreeMap<String, String>,
    /// `omit`, `same-origin` (default) or `include`.
    pub credentials: Option<String>,
    /// JSON body of the backend request.
    pub body: Option<Value>,
    /// Confirmation endpoint (`GET {verify}/{id}`).
    pub verify: Option<String>,
    /// Uploads at once (default 3).
    pub concurrency: Option<usize>,
    /// Language tag (`en`, `de`).
    pub lang: Option<String>,
    /// Re-encode images over the limits.
    pub downscale: bool,
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

impl EmbedOptions {
    /// The queue settings these options describe.
    pub(crate) fn settings(&self) -> Result<Settings, String> {
        if self.backend.trim().is_empty() {
            return Err("the backend option (or attribute) is required".into());
        }
        let credentials = match self.credentials.as_deref() {
            None | Some("same-origin") => Credentials::SameOrigin,
            Some("omit") => Credentials::Omit,
            Some("include") => Credentials::Include,
            Some(other) => {
                return Err(format!(
                    "credentials must be omit, same-origin or include, not '{other}'"
                ))
            }
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
                headers: self.headers.clone().into_iter().collect(),
                credentials,
                body: self.body.clone(),
            },
            verify: self.verify.clone().filter(|v| !v.is_empty()),
            concurrency: self.concurrency.unwrap_or(3).max(1),
            picker_accept: self
                .accept
                .as_ref()
                .map(|t| t.join(","))
                .unwrap_or_else(|| "image/*".into()),
            restrictions,
            retry: RetryPolicy {
                max_retries: self.max_retries.unwrap_or(defaults.max_retries),
                base_delay_ms: self.retry_delay_ms.unwrap_or(defaults.base_delay_ms),
                max_delay_ms: self.max_delay_ms.unwrap_or(defaults.max_delay_ms),
                stall_timeout_ms: self.stall_timeout_ms.unwrap_or(defaults.stall_timeout_ms),
            },
            downscale: self.downscale,
            lang: self.lang.as_deref().map(Lang::from_tag).unwrap_or_default(),
        })
    }
}

/// A summary as events and `state()` show it.
pub(crate) fn summary_json(s: &BatchSummary) -> Value {
    json!({
        "files": s.files, "done": s.done, "failed": s.failed, "cancelled": s.cancelled,
        "pending": s.pending, "uploading": s.uploading,
        "bytesSent": s.bytes_sent, "bytesTotal": s.bytes_total, "percent": s.percent(),
    })
}

fn to_js(value: &Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).unwrap_or(JsValue::NULL)
}

fn dispatch(target: &HtmlElement, name: &str, detail: Value) {
    let init = CustomEventInit::new();
    init.set_bubbles(true);
    init.set_composed(true);
    init.set_detail(&to_js(&detail));
    if let Ok(event) = CustomEvent::new_with_event_init_dict(name, &init) {
        let _ = target.dispatch_event(&event);
    }
}

fn callbacks_for(target: &HtmlElement) -> Callbacks {
    let element = send_wrapper(target.clone());
    let (a, b, c, d, e) = (
        element.clone(),
        element.clone(),
        element.clone(),
        element.clone(),
        element,
    );
    Callbacks {
        on_start: Some(Callback::new(move |s: FileStarted| {
            dispatch(
                &a,
                "upload-start",
                json!({"fileName": s.file_name, "size": s.size, "attempt": s.attempt}),
            )
        })),
        on_success: Some(Callback::new(move |image: crate::api::ImageRecord| {
            dispatch(
                &b,
                "upload-success",
                serde_json::to_value(&image).unwrap_or(Value::Null),
            )
        })),
        on_error: Some(Callback::new(move |f: FileFailure| {
            let side = side_name(&f.error);
            dispatch(
                &c,
                "upload-error",
                json!({"fileName": f.file_name, "message": f.message, "code": f.error.code(), "side": side}),
            )
        })),
        on_progress: Some(Callback::new(move |s: BatchSummary| {
            dispatch(&d, "upload-progress", summary_json(&s))
        })),
        on_complete: Some(Callback::new(move |s: BatchSummary| {
            dispatch(&e, "upload-complete", summary_json(&s))
        })),
    }
}

/// The side of a failure as events and `state()` name it.
fn side_name(error: &crate::error::UploadError) -> Option<&'static str> {
    error.side().map(|side| match side {
        Side::Backend => "backend",
        Side::UploadHost => "upload-host",
    })
}

/// Callbacks must be `Send`; a DOM element is not. `SendWrapper` (checked at run time) lets
/// it ride along, since the widget only ever runs on the page's one thread.
type SendElement = send_wrapper::SendWrapper<HtmlElement>;

fn send_wrapper(element: HtmlElement) -> SendElement {
    SendElement::new(element)
}

fn parse_options(options: &JsValue) -> Result<EmbedOptions, JsValue> {
    let text: String = js_sys::JSON::stringify(options)?.into();
    serde_json::from_str(&text)
        .map_err(|e| JsValue::from_str(&format!("direct-upload: invalid options: {e}")))
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
    let settings = parse_options(&options)?
        .settings()
        .map_err(|e| JsValue::from_str(&format!("direct-upload: {e}")))?;
    let callbacks = callbacks_for(&target);
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
        let list: Vec<web_sys::File> = if let Some(list) = files.dyn_ref::<web_sys::FileList>() {
            (0..list.length()).filter_map(|i| list.get(i)).collect()
        } else {
            js_sys::Array::from(&files)
                .iter()
                .filter_map(|f| f.dyn_into::<web_sys::File>().ok())
                .collect()
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
        let files: Vec<Value> = uploader
            .files_untracked()
            .into_iter()
            .map(|(name, size, state)| {
                let mut file = json!({"name": name, "size": size, "state": state.name()});
                match state {
                    UploadState::Failed { error } | UploadState::RetryWaiting { error, .. } => {
                        // The screen's words, in the widget's language; code and side for code.
                        file["error"] = json!(lang.error(&error));
                        file["code"] = json!(error.code());
                        file["side"] = json!(side_name(&error));
                    }
                    UploadState::Done { image } => {
                        file["image"] = serde_json::to_value(&image).unwrap_or(Value::Null)
                    }
                    _ => {}
                }
                file
            })
            .collect();
        to_js(&json!({"summary": summary_json(&uploader.summary_now()), "files": files}))
    }

    /// Applies new options to the running widget (files already added keep going).
    ///
    /// ```js
    /// widget.configure({ backend: "/api/direct-upload", lang: "de", maxFiles: 3 });
    /// ```
    pub fn configure(&self, options: JsValue) -> Result<(), JsValue> {
        let settings = parse_options(&options)?
            .settings()
            .map_err(|e| JsValue::from_str(&format!("direct-upload: {e}")))?;
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

    #[test]
    fn options_become_settings_with_the_components_defaults() {
        let options: EmbedOptions = serde_json::from_str(r#"{"backend": "/api/direct-upload", "maxFiles": 5, "lang": "de-AT", "maxSize": 99999999}"#).unwrap();
        let settings = options.settings().unwrap();
        assert_eq!(settings.restrictions.max_files, Some(5));
        assert_eq!(
            settings.restrictions.max_bytes, CLOUDFLARE_MAX_BYTES,
            "never above Cloudflare's limit"
        );
        assert_eq!(settings.lang, Lang::De);
        assert_eq!(settings.concurrency, 3);
        assert_eq!(settings.retry, RetryPolicy::default());
    }

    #[test]
    fn bad_options_say_what_is_wrong() {
        assert!(EmbedOptions::default()
            .settings()
            .unwrap_err()
            .contains("backend"));
        let options = EmbedOptions {
            backend: "/b".into(),
            credentials: Some("always".into()),
            ..Default::default()
        };
        assert!(options.settings().unwrap_err().contains("credentials"));
    }
}
