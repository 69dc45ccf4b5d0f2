//! The file list. Up to a few dozen files it renders every row and grows with them; past
//! that it scrolls inside the widget and renders only the rows in view (see
//! [`crate::core::window`]), so a batch of 1,000 files costs a screenful of rows.

use leptos::prelude::*;

use super::file_row::FileRow;
use super::{reactive_attr, reactive_text};
use crate::browser::element_ref::ElementRef;
use crate::browser::timer;
use crate::core::window::{row_window, ListShape};
use crate::i18n::format::push_number;
use crate::uploader::{FileEntry, Uploader};

/// The list's shape. `row_px` reaches the stylesheet as `--du-row` (set on the list), so the
/// arithmetic and the layout cannot disagree.
const SHAPE: ListShape = ListShape {
    row_px: 56,
    overscan: 4,
    threshold: 30,
};

/// Rows a scrolling list shows at once, unless the page's stylesheet gives it another
/// `max-height`: the list's real height is read from the page whenever it scrolls.
const ROWS_IN_VIEW: u32 = 8;

/// The widget's list of files, those of `uploader`'s queue.
///
/// A plain function, not a `#[component]`: a component's props builder and call wrapper
/// are code of their own in the bundle.
pub(crate) fn file_list(uploader: Uploader) -> impl IntoView {
    let list = ElementRef::new();
    let scroll_top = RwSignal::new(0u32);
    let view_px = RwSignal::new(ROWS_IN_VIEW * SHAPE.row_px);
    // Worked out where it is read, not kept in a memo: it is a few integer operations, and a
    // memo would be the only one in the bundle (its generic code is about 1.5 KB gzip).
    let window = move || {
        let count = uploader.entries.with(Vec::len);
        row_window(count, scroll_top.get(), view_px.get(), SHAPE)
    };
    let windowed = move || window().windowed;

    let measure = move || {
        // Also called a frame late, when the widget may be gone.
        if let Some(list) = list.get_untracked() {
            // Set only when changed: what reads them works the window out again.
            let set = |signal: RwSignal<u32>, px: i32| {
                let px = u32::try_from(px).unwrap_or(0);
                if signal.try_get_untracked().is_some_and(|now| now != px) {
                    signal.set(px);
                }
            };
            set(scroll_top, list.scroll_top());
            set(view_px, list.client_height());
        }
    };
    // Once the list starts to scroll on its own, its height is what the stylesheet made it:
    // read after the next frame's style and layout, not from the list that was still growing.
    // Boxed, its last value kept in the closure: the summary's and the visibility watcher's
    // effects are this type, and the bundle carries its effect code once.
    let mut was = false;
    let run: Box<dyn FnMut(Option<()>)> = Box::new(move |_| {
        let now = windowed();
        if now && !was {
            timer::on_next_frame(measure);
        }
        was = now;
    });
    Effect::new(run);

    // The rows in the window.
    let rows = move || {
        let window = window();
        uploader.entries.with(|entries| {
            let end = window.end.min(entries.len());
            entries[window.start.min(end)..end].to_vec()
        })
    };
    // A row, told where it is in the whole list while the list is windowed.
    let row = move |entry: FileEntry| {
        let key = entry.key;
        let position = move || {
            if !windowed() {
                return None;
            }
            uploader.entries.with(|entries| {
                // The list is sorted by key (keys only grow).
                let index = entries.binary_search_by_key(&key, |e| e.key).ok()?;
                Some((index + 1, entries.len()))
            })
        };
        view! { <FileRow entry=entry uploader=uploader position=position/> }
    };
    // The rows not rendered are stood in for by two blocks of their height (the list's
    // `::before` and `::after`), so the scrollbar measures the whole list. Not elements: a
    // `<ul>` may hold only list items. Not padding: a scroll container's own padding makes
    // it taller instead of its content longer.
    let style = move || {
        let window = window();
        // Pushed, not `format!`: see `crate::i18n::format`.
        let mut style = String::from("--du-row: ");
        for (px, next) in [
            (SHAPE.row_px, "px; --du-before: "),
            (window.before_px, "px; --du-after: "),
            (window.after_px, "px"),
        ] {
            push_number(&mut style, u64::from(px));
            style.push_str(next);
        }
        style
    };

    view! {
        <ul
            // The whole class list as one reactive text, not a `class:` toggle: one class
            // type for the bundle (the drop zone's is the same).
            class=reactive_text(move || {
                if windowed() { "du__files du__files--windowed" } else { "du__files" }
            })
            node_ref=list
            // No row rendered means no file: a windowed list always renders some.
            hidden=reactive_attr(move || window().end == 0)
            style=reactive_attr(style)
            // Focusable while it scrolls on its own, so the keyboard can scroll it too.
            tabindex=reactive_attr(move || windowed().then_some("0"))
            aria-label=reactive_attr(move || windowed().then(|| uploader.lang().files()))
            // Scroll events cannot be cancelled, so this listener never delays scrolling:
            // it is passive whatever its options say.
            on:scroll=move |_| measure()
        >
            <For each=rows key=|entry| entry.key children=row/>
        </ul>
    }
}
