//! One file in the list, as one compact line: preview, name, size, a thin bar, status and
//! actions; under it, a small second line with the error of a failed file or the variant
//! links of a stored one.

use crate::browser::element_ref::ElementRef;
use crate::browser::visible::{visible_once, Flag};
use leptos::either::Either;
use leptos::prelude::*;

use super::{attr_of, reactive_attr, reactive_text, text_of, IntoAttr};
use crate::api::ImageRecord;
use crate::i18n::format::number;
use crate::i18n::Lang;
use crate::image_tools;
use crate::queue::UploadState;
use crate::uploader::{bump, FileEntry, Uploader};

/// Longest side of a local preview: twice the preview box of the stylesheet (40 CSS px), for
/// sharp screens, and no more, so a thousand previews decode quickly and stay small.
const PREVIEW_PX: u32 = 80;

/// The cancel and remove buttons' icon, a cross. A row's buttons are icons so that they fit
/// one line at any width and line up from row to row, whatever the language; the `aria-label`
/// names each button with its file, and the tooltip gives its word.
const CROSS: &str = "M4 4l8 8M12 4l-8 8";
/// The retry button's icon, a circular arrow.
const AGAIN: &str = "M13.5 8A5.5 5.5 0 1 1 11.9 4.1M12.2 1.5v2.8H9.4";
/// The copy button's icon where a narrow row has no room for its word: two sheets.
const COPY: &str = "M6 6h7v7H6zM3.5 10V3.5H10";
/// The copy button's icon once copied, a tick.
const CHECK: &str = "M3.5 8.5l3 3 6-7";

/// One of a row's buttons: `class` for the stylesheet (and the tests), `label` names it with
/// its file for screen readers, `word` is its tooltip, `path` its icon and `act` what it does.
/// Plain data with function pointers, so that the three buttons are one view type.
struct Action {
    class: &'static str,
    label: fn(Lang, &str) -> String,
    word: fn(Lang) -> &'static str,
    path: &'static str,
    act: fn(&Uploader, u32),
}

const CANCEL: Action = Action {
    class: "du__cancel",
    label: Lang::cancel_label,
    word: Lang::cancel,
    path: CROSS,
    act: Uploader::cancel,
};
const RETRY: Action = Action {
    class: "du__retry",
    label: Lang::retry_label,
    word: Lang::retry,
    path: AGAIN,
    act: Uploader::retry,
};
const REMOVE: Action = Action {
    class: "du__remove",
    label: Lang::remove_label,
    word: Lang::remove,
    path: CROSS,
    act: Uploader::remove,
};

/// The action a row's first button offers in `state`: cancel while the file can be
/// cancelled, retry once it can be retried, none otherwise.
fn change(state: &UploadState) -> Option<&'static Action> {
    if state.can_cancel() {
        Some(&CANCEL)
    } else if state.can_retry() {
        Some(&RETRY)
    } else {
        None
    }
}

/// The action of a row's remove button, whatever the state (its slot hides it).
fn removal(_: &UploadState) -> Option<&'static Action> {
    Some(&REMOVE)
}

/// Which action a row's button offers in a state: [`change`] or [`removal`].
type Pick = fn(&UploadState) -> Option<&'static Action>;

/// What a row's attributes and texts read: the one context of its `attr_of` and `text_of`
/// values, so that all of them, the buttons' and the preview's included, are one boxed
/// closure type; each closure was a type of its own, with its own vtable and call shim (the
/// embed −774 gzip, −691 brotli in all; BENCHMARKS.md, "Bundle diet, fifth pass").
#[derive(Clone, Copy)]
struct Row<P> {
    /// The file shown.
    entry: FileEntry,
    /// The queue it belongs to.
    uploader: Uploader,
    /// Where the row is in the whole list (see [`FileRow`]).
    position: P,
    /// The version of the row's preview, which its `<img>` tracks (see [`local_preview`]).
    preview: RwSignal<u32>,
    /// What the button being drawn offers ([`action`]); `change` for the rest of the row.
    pick: Pick,
}

impl<P> Row<P> {
    /// The action the button offers now, tracking the file.
    fn offered(&self) -> Option<&'static Action> {
        (self.pick)(&self.entry.get().state)
    }

    /// The row's preview, tracking its version.
    fn shown(&self) -> Preview {
        self.preview.track();
        self.entry.preview().unwrap_or(Preview::Absent)
    }
}

/// A row's button doing what `row.pick` says for the file's state to the row's file, and
/// hidden while that is nothing.
///
/// One element whose attributes follow the state, not a view chosen per state: that cost
/// its own view code (wasm +542 gzip, +308 brotli as an `AnyView`, +661 / +730 as a plain
/// optional view). A state with no action hides the button instead of removing it; a
/// focused button that goes is blurred either way.
fn action<P: Copy + Send + 'static>(row: Row<P>) -> impl IntoView {
    view! {
        <button
            type="button"
            class=text_of(row, |row| row.offered().map_or("du__action", |what| what.class).into())
            hidden=attr_of(row, |row| row.offered().is_none().into_attr())
            aria-label=attr_of(row, |row| {
                let name = row.entry.get().name;
                row.offered().map(|what| (what.label)(row.uploader.lang(), &name))
            })
            title=attr_of(row, |row| row.offered().map(|what| (what.word)(row.uploader.lang()).into()))
            on:click=move |_| {
                if let Some(what) = row.offered() {
                    (what.act)(&row.uploader, row.entry.key)
                }
            }
        >
            // The icon, drawn in the text's colour, so it follows dark mode and forced
            // colours; screen readers skip it and read the button's label.
            <svg class="du__icon" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
                <path d=attr_of(row, |row| row.offered().map(|what| what.path.into()))/>
            </svg>
        </button>
    }
}

/// A row of the file list.
#[component]
pub fn FileRow<P>(
    /// The file shown.
    entry: FileEntry,
    /// The queue it belongs to.
    uploader: Uploader,
    /// `(position from 1, rows in all)` while the list renders only the rows in view, so
    /// that screen readers still tell where in the whole list a row is. A plain function,
    /// not a `Signal`: no derived signal value type for the bundle to carry.
    position: P,
) -> impl IntoView
where
    P: Fn() -> Option<(usize, usize)> + Copy + Send + Sync + 'static,
{
    let lang = move || uploader.lang();
    let state = move || entry.get().state;
    let row = Row {
        entry,
        uploader,
        position,
        preview: RwSignal::new(0u32),
        pick: change,
    };

    view! {
        <li
            class="du__file"
            data-state=attr_of(row, |Row { entry, .. }| entry.get().state.name().into_attr())
            aria-describedby=attr_of(row, |Row { entry, .. }| {
                matches!(entry.get().state, UploadState::Failed { .. }).then(|| error_id(entry.key))
            })
            aria-posinset=attr_of(row, |Row { position, .. }| position().map(|(at, _)| number(at as u64)))
            aria-setsize=attr_of(row, |Row { position, .. }| position().map(|(_, all)| number(all as u64)))
        >
            {local_preview(row)}
            <span class="du__name" title=attr_of(row, |Row { entry, .. }| Some(entry.get().name))>
                {text_of(row, |Row { entry, .. }| entry.get().name)}
            </span>
            <span class="du__size">{text_of(row, |Row { entry, uploader, .. }| uploader.lang().bytes(entry.get().size))}</span>
            <progress
                class="du__progress"
                max="100"
                value=attr_of(row, |Row { entry, .. }| Some(number(u64::from(entry.get().state.percent()))))
                aria-label=attr_of(row, |Row { entry, uploader, .. }| Some(uploader.lang().file_progress(&entry.get().name)))
                hidden=attr_of(row, |Row { entry, .. }| entry.get().state.is_finished().into_attr())
            ></progress>
            <span class="du__file-status">
                {text_of(row, |Row { entry, uploader, .. }| {
                    let state = entry.get().state;
                    uploader.lang().state(&state, state.percent())
                })}
            </span>
            <div class="du__actions">
                {action(row)}
                <span class="du__remove-slot" hidden=attr_of(row, |Row { entry, .. }| (!entry.get().state.is_finished()).into_attr())>
                    {action(Row { pick: removal, ..row })}
                </span>
            </div>
            // The second line: a failed try's error, or the stored image's links. A plain
            // reactive view, not an `AnyView`: with the embed's mount (which keeps its unmount
            // handle as `dyn Any`), the bundle then has no `AnyView` code at all.
            {move || match state() {
                UploadState::Failed { error } => {
                    Some(Either::Left(error_line(lang().error(&error), Some(error_id(entry.key)), false)))
                }
                UploadState::RetryWaiting { error, .. } => {
                    Some(Either::Left(error_line(lang().error(&error), None, true)))
                }
                UploadState::Done { image } => {
                    Some(Either::Right(untrack(|| variant_links(image, uploader))))
                }
                _ => None,
            }}
        </li>
    }
}

/// The `id` of a row's final error, which the row's `aria-describedby` names.
fn error_id(key: u32) -> String {
    String::from("du-error-") + &number(u64::from(key))
}

/// A row's error on its second line, its whole text also in the tooltip (a long list cuts it
/// to one line); `id` ties a final error to its row for screen readers, and `passing` marks
/// one that an automatic retry may still mend.
fn error_line(text: String, id: Option<String>, passing: bool) -> impl IntoView {
    let title = text.clone();
    // The class list a plain value, not a `class:` toggle: no toggle type for the bundle.
    let class = if passing {
        "du__error du__error--passing"
    } else {
        "du__error"
    };
    // `Some`: a plain `String` attribute value is a type of its own in the bundle, and
    // `Option<String>` is the type `id` has anyway (with the links' `href`: wasm −37 gzip,
    // −143 brotli).
    view! {
        <p class=class id=id title=Some(title)>{text}</p>
    }
}

/// Where a row's preview is. Made one at a time: the effect that makes it runs again whenever
/// the row changes, and a second one would leave the first one's object URL behind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Preview {
    /// Not made yet.
    Absent,
    /// Being made.
    Making,
    /// The browser could not make it. Not tried again while the row stays drawn: the effect
    /// runs on every change of the row, and a decode the browser refuses can take a core for
    /// a long task each time (measured with previews refused: one 156 to 244 ms task per run
    /// of 50 files of 8 MB). A row drawn again (scrolled back into view) tries once more.
    Failed,
    /// Made: its object URL.
    Made(String),
}

/// A small preview made from the visitor's own file, never fetched from the delivery host.
/// It is made only once the row is in view (so 1,000 photos do not decode at once), off the
/// main thread, at the preview box's size, and its object URL is revoked when the row goes
/// (removed, scrolled out of a long list, or the widget unmounted). `row` has the file and
/// its queue, which holds the `File`.
///
/// A plain function, not a `#[component]`: a component's props builder and call wrapper
/// are code of their own in the bundle.
fn local_preview<P: Copy + Send + 'static>(row: Row<P>) -> impl IntoView {
    let Row {
        entry,
        uploader,
        preview: version,
        ..
    } = row;
    let holder = ElementRef::new();
    // The preview itself is kept with the file's browser handles (`FileEntry::preview`);
    // views track `row.preview`, a version: a `RwSignal<u32>` as the bundle has anyway.
    // Disposed with the row: a preview made for a row that is gone is revoked at once.
    // Sets the preview if the row is still drawn; else gives it back.
    let set = move |now: Preview| {
        if version.try_update(bump).is_some() {
            entry.replace_preview(now);
            None
        } else {
            Some(now)
        }
    };
    // The row is watched: it is what scrolls in and out of view.
    let visible = visible_once(holder, ".du__file");

    // Made once the row is visible and the pixel size is known (the check measures it).
    // Boxed, as the summary's, the list's and the visibility watcher's effects are: one
    // effect type for the bundle (wasm −357 gzip, −308 brotli).
    let run: Box<dyn FnMut(Option<()>)> = Box::new(move |_| {
        if !visible.get() || entry.preview() != Some(Preview::Absent) {
            return;
        }
        let Some((width, height)) = entry.get().pixels else {
            return;
        };
        let Some(file) = uploader.file(entry.key) else {
            return;
        };
        set(Preview::Making);
        leptos::task::spawn_local(async move {
            // Previews wait their turn; a row gone meanwhile no longer wants one.
            let wanted = move || !version.is_disposed();
            let made = image_tools::preview_url(&file, width, height, PREVIEW_PX, wanted).await;
            let now = match made {
                Ok(Some(made)) => Preview::Made(made),
                Ok(None) => return,
                Err(_) => Preview::Failed,
            };
            // The row may have gone while the preview was made.
            if let Some(Preview::Made(made)) = set(now) {
                image_tools::revoke(&made);
            }
        });
    });
    Effect::new(run);

    on_cleanup(move || {
        if let Some(Preview::Made(old)) = entry.replace_preview(Preview::Absent) {
            image_tools::revoke(&old);
        }
    });

    view! {
        <span class="du__preview" node_ref=holder>
            // One element whose attributes follow the preview, hidden (and without a `src`,
            // so nothing loads) until it is made, as a row's action button is: not a view of
            // its own (wasm −247 gzip, −125 brotli).
            <img
                class=text_of(row, |row| match row.shown() {
                    Preview::Made(_) => "du__preview-img".into(),
                    _ => "du__preview-none".into(),
                })
                src=attr_of(row, |row| match row.shown() {
                    Preview::Made(src) => Some(src),
                    _ => None,
                })
                alt=attr_of(row, |Row { entry, uploader, .. }| {
                    Some(uploader.lang().preview_alt(&entry.get().name))
                })
                hidden=attr_of(row, |row| (!matches!(row.shown(), Preview::Made(_))).into_attr())
            />
        </span>
    }
}

/// The stored image's variant links, each with a copy button, on one small line. No image is
/// loaded from the delivery host: the row's local preview already shows the picture.
/// `image` is the record from the upload host, `uploader` the queue (for the language of
/// the labels).
///
/// A plain function, not a `#[component]`: a component's props builder and call wrapper
/// are code of their own in the bundle.
fn variant_links(image: ImageRecord, uploader: Uploader) -> impl IntoView {
    let lang = move || uploader.lang();
    view! {
        <ul class="du__variants" aria-label=reactive_attr(move || lang().image_urls())>
            {image.variants.iter().map(|url| {
                let name = ImageRecord::variant_name(url).to_string();
                let label = name.clone();
                let copied = Flag::new();
                let url_for_copy = url.clone();
                let word = move || if copied.get() { lang().copied() } else { lang().copy() };
                view! {
                    <li class="du__variant">
                        <a class="du__variant-link" href=Some(url.clone()) target="_blank" rel="noopener">{label}</a>
                        <button
                            type="button"
                            class="du__copy"
                            aria-label=reactive_attr(move || lang().copy_label(&name))
                            title=reactive_attr(word)
                            on:click=move |_| copied.set(crate::browser::clipboard::copy_text(&url_for_copy))
                        >
                            // One icon whose path changes, not an icon view rebuilt: one
                            // attribute type instead of a reactive view type.
                            <svg class="du__icon" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
                                <path d=reactive_attr(move || if copied.get() { CHECK } else { COPY })/>
                            </svg>
                            <span class="du__word">{reactive_text(word)}</span>
                        </button>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}
