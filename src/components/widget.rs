//! `<DirectUpload/>`: the whole widget.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ClipboardEvent, DragEvent, HtmlInputElement, MouseEvent};

use super::file_list::file_list;
use super::summary::summary_bar;
use super::{reactive_attr, reactive_text};
use crate::api::ImageRecord;
use crate::backend::{BackendConfig, Credentials};
use crate::browser::element_ref::ElementRef;
use crate::browser::files_of;
use crate::core::paste::PasteScope;
use crate::i18n::Lang;
use crate::queue::{BatchSummary, RetryPolicy};
use crate::uploader::{hook, Callbacks, FileFailure, FileStarted, Settings, Uploader};
use crate::validate::Restrictions;

/// Uploads images straight from the browser to Cloudflare Images through one-time upload URLs
/// that the site's `backend` hands out.
///
/// ```no_run
/// use direct_upload::{DirectUpload, ImageRecord, Lang, Restrictions, RetryPolicy};
/// use leptos::prelude::*;
///
/// # fn page() -> impl IntoView {
/// view! {
///     <DirectUpload
///         backend="/api/direct-upload"
///         verify="/api/images"
///         restrictions=Restrictions::default().accept(&["image/jpeg", "image/png"]).max_files(10)
///         retry=RetryPolicy { max_retries: 5, ..RetryPolicy::default() }
///         downscale=true
///         lang=Lang::De
///         on_success=Callback::new(|image: ImageRecord| leptos::logging::log!("stored {}", image.id))
///     />
/// }
/// # }
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
    /// The backend request's body: a JSON object's text with extra fields, e.g.
    /// `r#"{"metadata": {"album": "trip"}}"#` (default `{}`).
    #[prop(optional, into)]
    body: Option<String>,
    /// After each upload, confirm with `GET {verify}/{id}` that the image is no longer a draft
    /// (empty: no confirmation).
    #[prop(optional, into)]
    verify: Option<String>,
    /// How many files upload at once.
    #[prop(default = 3)]
    concurrency: usize,
    /// What is accepted (default: Cloudflare's types and limits).
    #[prop(optional)]
    restrictions: Restrictions,
    /// Automatic retries, backoff and stall timeout.
    #[prop(optional)]
    retry: RetryPolicy,
    /// Re-encode images over Cloudflare's limits in the browser instead of refusing them.
    #[prop(optional)]
    downscale: bool,
    /// Language of every visible string.
    #[prop(optional)]
    lang: Lang,
    /// Where pasted files are taken from: anywhere on the page outside text fields (the
    /// default; with several widgets, the one used last), only with the focus inside the
    /// widget, or never.
    #[prop(optional)]
    paste: PasteScope,
    /// On phones, offer the camera instead of the file picker: `"environment"` (rear) or
    /// `"user"` (front); the file input's `capture` attribute.
    #[prop(optional, into)]
    capture: Option<String>,
    /// Keep files not yet stored across a reload (in IndexedDB) and resume them; with
    /// `verify`, a file that was being sent is asked about before it is sent again.
    #[prop(default = true)]
    persist: bool,
    /// The `accept` filter of the file picker.
    #[prop(into, default = "image/*".to_string())]
    accept: String,
    /// Runs when a file starts a try (asks for its upload URL).
    #[prop(optional, into)]
    on_start: Option<Callback<FileStarted>>,
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
    let uploader = Uploader::new(
        Settings {
            backend: BackendConfig {
                url: backend,
                headers,
                credentials,
                body,
            },
            verify: verify.filter(|url| !url.is_empty()),
            concurrency,
            restrictions,
            retry,
            downscale,
            paste,
            capture,
            lang,
            picker_accept: accept,
            persist,
        },
        Callbacks {
            on_start: hook(on_start),
            on_success: hook(on_success),
            on_error: hook(on_error),
            on_progress: hook(on_progress),
            on_complete: hook(on_complete),
        },
    );
    view! { <UploadView uploader=uploader/> }
}

/// The widget's markup around a ready queue; [`DirectUpload`] and the JavaScript API share it.
#[component]
pub(crate) fn UploadView(
    /// The queue to show and drive.
    uploader: Uploader,
) -> impl IntoView {
    let lang = move || uploader.lang();
    // Files kept before a reload come back (with `persist`).
    uploader.resume_kept();
    // Page-level paste: the widget is a member of the page's one paste listener while it is
    // mounted; unmounting ends the membership and aborts its requests (the embed's destroy()
    // cancels them too).
    let membership = crate::browser::paste::join(
        move || uploader.paste_scope(),
        move |files| uploader.add_files(files),
    );
    let user = membership.user();
    let used = move || user.used();
    on_cleanup(move || {
        drop(membership);
        uploader.shut_down();
    });
    let input_ref = ElementRef::new();
    // Counting enter/leave keeps the highlight steady while the pointer crosses child elements.
    // A u32, like the list's scroll position: one signal value type fewer in the bundle.
    let drag_depth = RwSignal::new(0u32);

    // The whole zone opens the picker; the button inside is what keyboard users focus
    // (Enter and Space click it, and its click bubbles here).
    let on_zone_click = move |event: MouseEvent| {
        let from_input = event
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            .is_some();
        if !from_input {
            if let Some(input) = input_ref.get() {
                input.click();
            }
        }
    };
    let on_change = move |event: web_sys::Event| {
        let Some(input) = event
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        else {
            return;
        };
        uploader.add_files(files_of(input.files()));
        // Cleared so that choosing the same file again fires `change` again.
        input.set_value("");
    };
    let on_drop = move |event: DragEvent| {
        event.prevent_default();
        used();
        drag_depth.set(0);
        uploader.add_files(files_of(event.data_transfer().and_then(|d| d.files())));
    };
    // Paste while focus is anywhere in the widget: files from the clipboard are added.
    let on_paste = move |event: ClipboardEvent| {
        if uploader.paste_scope() == PasteScope::Off {
            return;
        }
        let files = files_of(event.clipboard_data().and_then(|d| d.files()));
        if !files.is_empty() {
            event.prevent_default();
            uploader.add_files(files);
        }
    };

    view! {
        <section class="du" lang=reactive_attr(move || lang().tag()) aria-label=reactive_attr(move || lang().region()) on:paste=on_paste
            on:focusin=move |_| { used(); } on:pointerdown=move |_| { used(); }>
            <div
                // The class list as one reactive text, like the file list's.
                class=reactive_text(move || {
                    if drag_depth.get() > 0 { "du__dropzone du__dropzone--active" } else { "du__dropzone" }
                })
                on:click=on_zone_click
                on:dragenter=move |event: DragEvent| {
                    event.prevent_default();
                    drag_depth.update(|d| *d += 1);
                }
                on:dragover=move |event: DragEvent| event.prevent_default()
                on:dragleave=move |_| drag_depth.update(|d| *d = d.saturating_sub(1))
                on:drop=on_drop
            >
                <input
                    node_ref=input_ref
                    class="du__input"
                    type="file"
                    multiple
                    accept=reactive_attr(move || uploader.picker_accept())
                    capture=reactive_attr(move || uploader.capture())
                    tabindex="-1"
                    aria-hidden="true"
                    on:change=on_change
                />
                <button type="button" class="du__choose">{reactive_text(move || lang().choose())}</button>
                <p class="du__hint">{reactive_text(move || lang().hint())}</p>
            </div>
            {summary_bar(uploader)}
            // Polite, and only for finished files and batches: progress events would flood it.
            <p class="du__announcer" role="status" aria-live="polite" aria-atomic="true">
                {reactive_text(move || uploader.announcement())}
            </p>
            {file_list(uploader)}
        </section>
    }
}
