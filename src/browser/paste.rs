//! Page-level paste: one `paste` listener on the document serves every widget on the page.
//! A paste the focused element handles itself (a text field, a contenteditable, a widget's own
//! drop zone, which marks it handled) is left alone; files pasted anywhere else go to the
//! widget [`crate::core::paste::page_paste_target`] names.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ClipboardEvent, File, HtmlElement};

use crate::core::paste::{page_paste_target, PasteCandidate, PasteScope};

/// A widget as the page's paste listener knows it.
struct Member {
    id: u32,
    scope: Box<dyn Fn() -> PasteScope>,
    last_used: Cell<u64>,
    take: Rc<dyn Fn(Vec<File>)>,
}

#[derive(Default)]
struct Page {
    members: Vec<Member>,
    next_id: u32,
    /// Counts uses: "used last" is an order, not a time.
    uses: u64,
    listener: Option<Closure<dyn FnMut(ClipboardEvent)>>,
}

thread_local! {
    static PAGE: RefCell<Page> = RefCell::new(Page::default());
}

/// A widget's membership in page-level paste; dropping it ends it, and the document's
/// listener goes with the last member.
#[must_use = "dropping it stops page-level paste for the widget"]
pub struct PasteMembership {
    id: u32,
}

impl PasteMembership {
    /// Notes that the visitor used this widget (focused it, clicked it, gave it files): among
    /// several widgets, pastes go to the one used last.
    pub fn used(&self) {
        self.user().used();
    }

    /// A `Copy` handle that notes uses of this membership, for event handlers to hold while
    /// the membership itself is owned by the widget's cleanup.
    pub fn user(&self) -> PasteUser {
        PasteUser { id: self.id }
    }
}

/// Notes uses of a widget's paste membership; does nothing once the membership has ended.
#[derive(Debug, Clone, Copy)]
pub struct PasteUser {
    id: u32,
}

impl PasteUser {
    /// See [`PasteMembership::used`].
    pub fn used(self) {
        PAGE.with_borrow_mut(|page| {
            page.uses += 1;
            let uses = page.uses;
            if let Some(member) = page.members.iter().find(|m| m.id == self.id) {
                member.last_used.set(uses);
            }
        });
    }
}

impl Drop for PasteMembership {
    fn drop(&mut self) {
        let listener = PAGE.with_borrow_mut(|page| {
            page.members.retain(|m| m.id != self.id);
            if page.members.is_empty() {
                page.listener.take()
            } else {
                None
            }
        });
        if let (Some(listener), Some(document)) = (listener, document()) {
            let _ = document
                .remove_event_listener_with_callback("paste", listener.as_ref().unchecked_ref());
        }
    }
}

fn document() -> Option<web_sys::Document> {
    web_sys::window()?.document()
}

/// Makes a widget a member of page-level paste: `scope` is read at each paste (it follows the
/// widget's settings), and `take` receives the pasted files.
pub fn join(
    scope: impl Fn() -> PasteScope + 'static,
    take: impl Fn(Vec<File>) + 'static,
) -> PasteMembership {
    PAGE.with_borrow_mut(|page| {
        page.next_id += 1;
        let id = page.next_id;
        page.members.push(Member {
            id,
            scope: Box::new(scope),
            last_used: Cell::new(0),
            take: Rc::new(take),
        });
        if page.listener.is_none() {
            let listener = Closure::<dyn FnMut(ClipboardEvent)>::new(on_page_paste);
            if let Some(document) = document() {
                let _ = document
                    .add_event_listener_with_callback("paste", listener.as_ref().unchecked_ref());
            }
            page.listener = Some(listener);
        }
        PasteMembership { id }
    })
}

/// Whether the paste belongs to what has the focus: a text field or editable content.
fn for_a_text_field(event: &ClipboardEvent) -> bool {
    let Some(element) = event
        .target()
        .and_then(|t| t.dyn_into::<HtmlElement>().ok())
    else {
        return false;
    };
    matches!(element.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
        || element.is_content_editable()
}

fn on_page_paste(event: ClipboardEvent) {
    if event.default_prevented() || for_a_text_field(&event) {
        return;
    }
    let files = super::files_of(event.clipboard_data().and_then(|data| data.files()));
    if files.is_empty() {
        return;
    }
    // The callback is taken out first: it may add files, which must not find the page borrowed.
    let take = PAGE.with_borrow(|page| {
        let candidates: Vec<PasteCandidate> = page
            .members
            .iter()
            .map(|m| PasteCandidate {
                id: m.id,
                scope: (m.scope)(),
                last_used: m.last_used.get(),
            })
            .collect();
        let id = page_paste_target(&candidates)?;
        page.members
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.take.clone())
    });
    if let Some(take) = take {
        event.prevent_default();
        take(files);
    }
}
