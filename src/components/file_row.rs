//! One file in the list: name, size, progress, error, and once stored its variants.

use leptos::prelude::*;

use super::controller::{Controller, FileEntry};
use crate::api::ImageRecord;
use crate::format::format_bytes;
use crate::queue::UploadState;

/// A row of the file list.
#[component]
pub fn FileRow(
    /// The file shown.
    entry: FileEntry,
    /// The queue it belongs to.
    controller: Controller,
) -> impl IntoView {
    let state = entry.state;
    let key = entry.key;
    let name = entry.name.clone();
    let percent = move || (state.get().fraction() * 100.0).floor() as u32;
    let status = move || match state.get() {
        UploadState::Queued => "Waiting".to_string(),
        UploadState::RequestingUrl => "Preparing".to_string(),
        UploadState::Uploading { .. } => format!("{} %", percent()),
        UploadState::Done { .. } => "Uploaded".to_string(),
        UploadState::Failed { .. } => "Failed".to_string(),
        UploadState::Cancelled => "Cancelled".to_string(),
    };
    let error_id = format!("du-error-{key}");
    let error_ref = error_id.clone();
    let name_for_cancel = name.clone();
    let name_for_retry = name.clone();
    let name_for_remove = name.clone();

    view! {
        <li class="du__file" data-state=move || state.get().name()>
            <div class="du__file-head">
                <span class="du__name" title=name.clone()>{name.clone()}</span>
                <span class="du__size">{format_bytes(entry.size)}</span>
                <span class="du__file-status">{status}</span>
            </div>
            <progress
                class="du__progress"
                max="100"
                value=percent
                aria-label=format!("Upload progress of {name}")
                hidden=move || state.get().is_finished()
            ></progress>
            {move || match state.get() {
                UploadState::Failed { error } => Some(view! {
                    <p class="du__error" id=error_id.clone() role="alert">{error.to_string()}</p>
                }.into_any()),
                UploadState::Done { image } => Some(view! { <Variants image=image/> }.into_any()),
                _ => None,
            }}
            <div class="du__actions">
            {move || match state.get() {
                UploadState::Failed { .. } => view! {
                    <button
                        type="button"
                        class="du__retry"
                        aria-label=format!("Retry {name_for_retry}")
                        aria-describedby=error_ref.clone()
                        on:click=move |_| controller.retry(key)
                    >"Retry"</button>
                }.into_any(),
                UploadState::Done { .. } | UploadState::Cancelled => ().into_any(),
                _ => view! {
                    <button
                        type="button"
                        class="du__cancel"
                        aria-label=format!("Cancel {name_for_cancel}")
                        on:click=move |_| controller.cancel(key)
                    >"Cancel"</button>
                }.into_any(),
            }}
            <button
                type="button"
                class="du__remove"
                aria-label=format!("Remove {name_for_remove} from the list")
                hidden=move || !state.get().is_finished()
                on:click=move |_| controller.remove(key)
            >"Remove"</button>
            </div>
        </li>
    }
}

/// The stored image: a thumbnail and each variant's URL with a copy button.
#[component]
fn Variants(
    /// The image record from the upload host.
    image: ImageRecord,
) -> impl IntoView {
    let preview = image.preview_url().map(str::to_string);
    let filename = image.filename.clone().unwrap_or_else(|| image.id.clone());
    view! {
        <div class="du__result">
            {preview.map(|src| view! {
                <img class="du__thumb" src=src alt=format!("Preview of {filename}") width="64" height="64" decoding="async"/>
            })}
            <ul class="du__variants" aria-label="Image URLs">
                {image.variants.iter().map(|url| {
                    let name = ImageRecord::variant_name(url).to_string();
                    let copied = RwSignal::new(false);
                    let url_for_copy = url.clone();
                    view! {
                        <li class="du__variant">
                            <a class="du__variant-link" href=url.clone() target="_blank" rel="noopener">{name.clone()}</a>
                            <button
                                type="button"
                                class="du__copy"
                                aria-label=format!("Copy the {name} URL")
                                on:click=move |_| {
                                    if let Some(window) = web_sys::window() {
                                        let _ = window.navigator().clipboard().write_text(&url_for_copy);
                                        copied.set(true);
                                    }
                                }
                            >{move || if copied.get() { "Copied" } else { "Copy" }}</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}
