//! One file in the list: preview, name, size, progress, error, and once stored its variants.

use crate::browser::visible::visible_once;
use leptos::html;
use leptos::prelude::*;

use crate::api::ImageRecord;
use crate::image_tools;
use crate::queue::UploadState;
use crate::uploader::{FileEntry, Uploader};

/// Longest side of a local preview, in CSS pixels times two for sharp screens.
const PREVIEW_PX: u32 = 128;

/// A row of the file list.
#[component]
pub fn FileRow(
    /// The file shown.
    entry: FileEntry,
    /// The queue it belongs to.
    uploader: Uploader,
) -> impl IntoView {
    let lang = move || uploader.lang();
    let state = entry.state;
    let key = entry.key;
    let name = entry.name;
    let percent = move || state.get().percent();
    let error_id = format!("du-error-{key}");
    let error_ref = error_id.clone();

    view! {
        <li class="du__file" data-state=move || state.get().name() aria-describedby=move || {
            matches!(state.get(), UploadState::Failed { .. }).then(|| error_ref.clone())
        }>
            <div class="du__file-head">
                <LocalPreview entry=entry.clone() uploader=uploader/>
                <span class="du__name" title=move || name.get()>{move || name.get()}</span>
                <span class="du__size">{move || lang().bytes(entry.size.get())}</span>
                <span class="du__file-status">{move || lang().state(&state.get(), percent())}</span>
            </div>
            <progress
                class="du__progress"
                max="100"
                value=percent
                aria-label=move || lang().file_progress(&name.get())
                hidden=move || state.get().is_finished()
            ></progress>
            {move || match state.get() {
                UploadState::Failed { error } => Some(view! {
                    <p class="du__error" id=error_id.clone()>{lang().error(&error)}</p>
                }.into_any()),
                UploadState::RetryWaiting { error, .. } => Some(view! {
                    <p class="du__error du__error--passing">{lang().error(&error)}</p>
                }.into_any()),
                UploadState::Done { image } => Some(view! { <Variants image=image uploader=uploader/> }.into_any()),
                _ => None,
            }}
            <div class="du__actions">
                {move || {
                    let now = state.get();
                    if now.can_cancel() {
                        view! {
                            <button
                                type="button"
                                class="du__cancel"
                                aria-label=move || lang().cancel_label(&name.get())
                                on:click=move |_| uploader.cancel(key)
                            >{move || lang().cancel()}</button>
                        }.into_any()
                    } else if now.can_retry() {
                        view! {
                            <button
                                type="button"
                                class="du__retry"
                                aria-label=move || lang().retry_label(&name.get())
                                on:click=move |_| uploader.retry(key)
                            >{move || lang().retry()}</button>
                        }.into_any()
                    } else {
                        ().into_any()
                    }
                }}
                <button
                    type="button"
                    class="du__remove"
                    aria-label=move || lang().remove_label(&name.get())
                    hidden=move || !state.get().is_finished()
                    on:click=move |_| uploader.remove(key)
                >{move || lang().remove()}</button>
            </div>
        </li>
    }
}

/// A small local preview of a file that is not stored yet. It is made only once the row
/// scrolls into view (so 200 photos do not decode at once), off the main thread, and its
/// object URL is revoked as soon as it is no longer shown.
#[component]
fn LocalPreview(
    /// The file.
    entry: FileEntry,
    /// Its queue, which holds the `File`.
    uploader: Uploader,
) -> impl IntoView {
    let holder = NodeRef::<html::Span>::new();
    let url = RwSignal::new(None::<String>);
    // One preview at a time: the effect runs again when the size becomes known or the row
    // becomes visible, and a second build would leave the first one's object URL behind.
    let building = StoredValue::new(false);
    // The row is watched, not the holder: an empty holder takes no room.
    let visible = visible_once(holder, ".du__file");

    // Make the preview when visible and the size is known; drop it when the file is stored.
    let stored = move || matches!(entry.state.get(), UploadState::Done { .. });
    Effect::new(move |_| {
        let wanted = visible.get() && !stored();
        let pixels = entry.pixels.get();
        match (wanted, url.get_untracked()) {
            (false, Some(old)) => {
                image_tools::revoke(&old);
                url.set(None);
            }
            (true, None) => {
                let Some(file) = uploader.file(entry.key) else {
                    return;
                };
                let Some((width, height)) = pixels else {
                    return;
                };
                if building.get_value() {
                    return;
                }
                building.set_value(true);
                leptos::task::spawn_local(async move {
                    let made = image_tools::preview_url(&file, width, height, PREVIEW_PX).await;
                    building.try_set_value(false);
                    if let Ok(made) = made {
                        // The row may have gone while the preview was made.
                        if url.try_set(Some(made.clone())).is_some() {
                            image_tools::revoke(&made);
                        }
                    }
                });
            }
            _ => {}
        }
    });

    on_cleanup(move || {
        if let Some(old) = url.try_get_untracked().flatten() {
            image_tools::revoke(&old);
        }
    });

    view! {
        <span class="du__preview" node_ref=holder hidden=stored>
            {move || url.get().map(|src| view! {
                <img class="du__preview-img" src=src alt=move || uploader.lang().preview_alt(&entry.name.get())/>
            })}
        </span>
    }
}

/// The stored image: a thumbnail and each variant's URL with a copy button.
#[component]
fn Variants(
    /// The image record from the upload host.
    image: ImageRecord,
    /// The queue, for the language of the labels.
    uploader: Uploader,
) -> impl IntoView {
    let lang = move || uploader.lang();
    let preview = image.preview_url().map(str::to_string);
    let filename = image.filename.clone().unwrap_or_else(|| image.id.clone());
    view! {
        <div class="du__result">
            {preview.map(|src| view! {
                <img class="du__thumb" src=src alt=move || lang().preview_alt(&filename) width="64" height="64" decoding="async"/>
            })}
            <ul class="du__variants" aria-label=move || lang().image_urls()>
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
                                aria-label=lang().copy_label(&name)
                                on:click=move |_| copied.set(crate::browser::clipboard::copy_text(&url_for_copy))
                            >{move || if copied.get() { lang().copied() } else { lang().copy() }}</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}
