//! A reference to a rendered element, filled by the `node_ref` attribute.

use leptos::prelude::*;
use leptos::tachys::html::element::ElementType;
use leptos::tachys::html::node_ref::NodeRefContainer;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

/// Like Leptos' `NodeRef`, but one type whatever the element: a `NodeRef<E>` is a signal of
/// `E`'s own web-sys type, and each element type it is used with is one more signal value
/// type whose generic code the bundle carries.
#[derive(Debug, Clone, Copy)]
pub struct ElementRef(RwSignal<Option<SendWrapper<HtmlElement>>>);

impl ElementRef {
    /// An empty reference, filled when the element it is given to (`node_ref=`) renders.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self(RwSignal::new(None))
    }

    /// The element once rendered, subscribing.
    pub fn get(&self) -> Option<HtmlElement> {
        self.0.try_get().flatten().map(SendWrapper::take)
    }

    /// The element once rendered, without subscribing (`None` after its owner is gone).
    pub fn get_untracked(&self) -> Option<HtmlElement> {
        self.0.try_get_untracked().flatten().map(SendWrapper::take)
    }
}

impl<E: ElementType> NodeRefContainer<E> for ElementRef {
    fn load(self, el: &web_sys::Element) {
        // Only ever runs in the browser's one thread, so the wrapper is never sent anywhere.
        self.0
            .try_set(Some(SendWrapper::new(el.clone().unchecked_into())));
    }
}
