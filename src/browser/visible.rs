//! "Has this element scrolled into view yet?", as a signal, with the observer's lifetime
//! tied to the component that asked.

use super::element_ref::ElementRef;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{IntersectionObserver, IntersectionObserverEntry};

type Watcher = (IntersectionObserver, Closure<dyn FnMut(js_sys::Array)>);

/// A yes/no signal: what [`visible_once`] returns, and a copy button's "copied".
///
/// Kept as a `RwSignal<u32>` (0 or 1), not a `RwSignal<bool>`: every signal value type links
/// its own copy of Leptos' arena and subscriber code, and the bundle has `u32` signals
/// anyway (scroll position, versions), so `bool` was one type for two flags.
#[derive(Debug, Clone, Copy)]
pub struct Flag(RwSignal<u32>);

impl Flag {
    /// A flag, down.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self(RwSignal::new(0))
    }

    /// Whether it is up, subscribing.
    pub fn get(&self) -> bool {
        self.0.get() > 0
    }

    /// Whether it is up, without subscribing (`None` once its owner is gone).
    pub fn try_get_untracked(&self) -> Option<bool> {
        self.0.try_get_untracked().map(|n| n > 0)
    }

    /// Raises or lowers it, if its owner is still there.
    pub fn set(&self, up: bool) {
        self.0.try_set(u32::from(up));
    }
}

/// Becomes `true`, once, when the element behind `node` (or, if it has one, its closest
/// ancestor matching `closest`) first intersects the viewport. The observer stops then, and
/// when the calling component is disposed.
///
/// Watching an ancestor matters for an element that takes no room until it has content: a
/// box of no size never intersects.
///
/// A [`Flag`], not a `ReadSignal<bool>`: every signal value type links its own copy of
/// Leptos' arena code. Callers only read it.
pub fn visible_once(node: ElementRef, closest: &'static str) -> Flag {
    let visible = Flag::new();
    let watcher: StoredValue<Option<Watcher>, LocalStorage> = StoredValue::new_local(None);
    // Disconnects but keeps the callback alive: `stop` runs inside that very callback, and a
    // closure must not be dropped while it runs. Both go when the owner is disposed.
    let stop = move || {
        watcher.try_with_value(|watching| {
            if let Some((observer, _)) = watching {
                observer.disconnect();
            }
        });
    };
    // Boxed: effects of this shape are then one type, whose effect code the bundle carries
    // once (the summary's speed effect is the same type).
    let run: Box<dyn FnMut(Option<()>)> = Box::new(move |_| {
        let Some(element) = node.get() else { return };
        if visible.try_get_untracked() != Some(false) || watcher.with_value(Option::is_some) {
            return;
        }
        let callback = Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
            let seen = entries.iter().any(|entry| {
                entry
                    .unchecked_into::<IntersectionObserverEntry>()
                    .is_intersecting()
            });
            if seen {
                // The component may be gone by the time the browser reports.
                visible.set(true);
                stop();
            }
        });
        let target = element
            .closest(closest)
            .ok()
            .flatten()
            .unwrap_or_else(|| element.clone().into());
        if let Ok(observer) = IntersectionObserver::new(callback.as_ref().unchecked_ref()) {
            observer.observe(&target);
            watcher.set_value(Some((observer, callback)));
        }
    });
    Effect::new(run);
    on_cleanup(stop);
    visible
}
