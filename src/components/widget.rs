//! `<DirectUpload/>`: the whole widget.

use leptos::html;
use leptos::prelude::*;
use serde_json::Value;
use wasm_bindgen::JsCast;
use web_sys::{DragEvent, FileList, HtmlInputElement};

use super::controller::{Callbacks, Controller, FileFailure};
use super::file_row::FileRow;
use crate::api::ImageRecord;
use crate::backend::{BackendConfig, Credentials};
use crate::format::format_bytes;
use crate::queue::BatchSummary;

fn files_of(list: Option<FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// Uploads images straight from the browser to Cloudflare Images through one-time upload URLs
/// that the site's `backend` hands out.
///
/// ```ignore
/// view! {
///     <DirectUpload
///         backend="/api/direct-upload"
///         on_success=Callback::new(|image: ImageRecord| log!("stored {}", image.id))
///     />
/// }
/// ```
#[component]
pub fn DirectUpload(
    /// URL of the backend endpoint that answers `{id, uploadURL}` (or Cloudflare's envelope).
    #[prop(into)]
    backend: String,
    /// Extra headers for the backend request, e.g. a CSRF token.
    #[prop(optional)]
    headers: Vec<(String, String)>,
    /// Credentials mode of the backend request (default: same-origin).
    #[prop(optional)]
    credentials: Credentials,
    /// Extra JSON fields for the backend request body, e.g. `{"metadata": {...}}`.
    #[prop(optional, into)]
    body: Option<Value>,
    /// How many files upload at once.
    #[prop(default = 3)]
    concurrency: usize,
    /// The `accept` filter of the file picker.
    #[prop(into, default = "image/*".to_string())]
    accept: String,
    /// Runs with the image record of each stored file.
    #[prop(optional, into)]
    on_success: Option<Callback<ImageRecord>>,
    /// Runs with each failed file and its error.
    #[prop(optional, into)]
    on_error: Option<Callback<FileFailure>>,
    /// Runs as progress is made, with the batch summary.
    #[prop(optional, into)]
    on_progress: Option<Callback<BatchSummary>>,
    /// Runs once each time every file of the batch has finished.
    #[prop(optional, into)]
    on_complete: Option<Callback<BatchSummary>>,
) -> impl IntoView {
    let controller = Controller::new(
        BackendConfig { url: backend, headers, credentials, body },
        concurrency,
        Callbacks { on_success, on_error, on_progress, on_complete },
    );
    let input_ref = NodeRef::<html::Input>::new();
    // Counting enter/leave keeps the highlight steady while the pointer crosses child elements.
    let drag_depth = RwSignal::new(0i32);
    let summary = Memo::new(move |_| controller.summary());

    let open_picker = move |_| {
        if let Some(input) = input_ref.get() {
            input.click();
        }
    };
    let on_change = move |event: web_sys::Event| {
        let Some(input) = event.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) else { return };
        controller.add_files(files_of(input.files()));
        // Cleared so that choosing the same file again fires `change` again.
        input.set_value("");
    };
    let on_drop = move |event: DragEvent| {
        event.prevent_default();
        drag_depth.set(0);
        controller.add_files(files_of(event.data_transfer().and_then(|d| d.files())));
    };

    let status_text = move || {
        let s = summary.get();
        if s.files == 0 {
            String::new()
        } else if s.pending > 0 {
            format!(
                "Uploading {} of {} files, {} %: {} of {}",
                s.done + s.failed + s.cancelled + 1,
                s.files,
                s.percent(),
                format_bytes(s.bytes_sent),
                format_bytes(s.bytes_total)
            )
        } else if s.failed > 0 {
            format!("{} uploaded, {} failed", s.done, s.failed)
        } else {
            format!("All {} uploaded", s.done)
        }
    };

    view! {
        <section class="du" aria-label="Image upload">
            <div
                class="du__dropzone"
                class:du__dropzone--active=move || { drag_depth.get() > 0 }
                on:dragenter=move |event: DragEvent| {
                    event.prevent_default();
                    drag_depth.update(|d| *d += 1);
                }
                on:dragover=move |event: DragEvent| event.prevent_default()
                on:dragleave=move |_| drag_depth.update(|d| *d = (*d - 1).max(0))
                on:drop=on_drop
            >
                <input
                    node_ref=input_ref
                    class="du__input"
                    type="file"
                    multiple
                    accept=accept
                    tabindex="-1"
                    aria-hidden="true"
                    on:change=on_change
                />
                <button type="button" class="du__choose" on:click=open_picker>
                    "Choose images"
                </button>
                <p class="du__hint">"or drop them here. PNG, JPEG, GIF, WebP or SVG, up to 10 MB each."</p>
            </div>
            <div class="du__summary" hidden=move || summary.get().files == 0>
                <progress
                    class="du__total"
                    max="100"
                    value=move || summary.get().percent()
                    aria-label="Total upload progress"
                ></progress>
                <p class="du__status" role="status" aria-live="polite">{status_text}</p>
            </div>
            <ul class="du__files">
                <For
                    each=move || controller.entries.get()
                    key=|entry| entry.key
                    children=move |entry| view! { <FileRow entry=entry controller=controller/> }
                />
            </ul>
        </section>
    }
}
