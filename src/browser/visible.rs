//! "Has this element scrolled into view yet?", as a signal, with the observer's lifetime
//! tied to the component that asked.

use super::element_ref::ElementRef;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{IntersectionObserver, IntersectionObserverEntry};

/// An observer and its callback, kept in the effect that made them and dropped with it (when
/// the component is disposed); dropping disconnects the observer first, so the browser
/// never calls the callback once it is gone. Kept there, not in a `StoredValue` of its own
/// type (wasm −455 gzip, −136 brotli).
struct Watcher {
    observer: IntersectionObserver,
    _callback: Closure<dyn FnMut(js_sys::Array, IntersectionObserver)>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}

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
    let mut watcher: Option<Watcher> = None;
    // Boxed: effects of this shape are then one type, whose effect code the bundle carries
    // once (the summary's speed effect is the same type).
    let run: Box<dyn FnMut(Option<()>)> = Box::new(move |_| {
        let Some(element) = node.get() else { return };
        if visible.try_get_untracked() != Some(false) || watcher.is_some() {
            return;
        }
        let callback = Closure::<dyn FnMut(js_sys::Array, IntersectionObserver)>::new(
            move |entries: js_sys::Array, observer: IntersectionObserver| {
                let seen = entries.iter().any(|entry| {
                    entry
                        .unchecked_into::<IntersectionObserverEntry>()
                        .is_intersecting()
                });
                if seen {
                    // The component may be gone by the time the browser reports.
                    visible.set(true);
                    observer.disconnect();
                }
            },
        );
        let target = element
            .closest(closest)
            .ok()
            .flatten()
            .unwrap_or_else(|| element.clone().into());
        if let Ok(observer) = IntersectionObserver::new(callback.as_ref().unchecked_ref()) {
            observer.observe(&target);
            watcher = Some(Watcher {
                observer,
                _callback: callback,
            });
        }
    });
    Effect::new(run);
    visible
}
