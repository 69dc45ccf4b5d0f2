//! A reference to a rendered element, filled by the `node_ref` attribute.

use leptos::prelude::*;
use leptos::tachys::html::element::ElementType;
use leptos::tachys::html::node_ref::NodeRefContainer;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

use super::visible::Flag;

/// Like Leptos' `NodeRef`, but one type whatever the element: a `NodeRef<E>` is a signal of
/// `E`'s own web-sys type, and each element type it is used with is one more signal value
/// type whose generic code the bundle carries.
///
/// The element in a local stored value, and a [`Flag`] raised once it is there, for readers
/// to track: not a signal of the element, which would be a value type of its own (wasm
/// −208 gzip, −125 brotli; measured −116 / +22 before the file list and views left their
/// signals).
#[derive(Debug, Clone, Copy)]
pub struct ElementRef {
    element: StoredValue<Option<HtmlElement>, LocalStorage>,
    loaded: Flag,
}

impl ElementRef {
    /// An empty reference, filled when the element it is given to (`node_ref=`) renders.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self {
            element: StoredValue::new_local(None),
            loaded: Flag::new(),
        }
    }

    /// The element once rendered, subscribing.
    pub fn get(&self) -> Option<HtmlElement> {
        self.loaded.get();
        self.get_untracked()
    }

    /// The element once rendered, without subscribing (`None` after its owner is gone).
    pub fn get_untracked(&self) -> Option<HtmlElement> {
        self.element.try_with_value(Option::clone).flatten()
    }
}

impl<E: ElementType> NodeRefContainer<E> for ElementRef {
    fn load(self, el: &web_sys::Element) {
        let element = el.clone().unchecked_into();
        if self
            .element
            .try_update_value(|slot| *slot = Some(element))
            .is_some()
        {
            self.loaded.set(true);
        }
    }
}
