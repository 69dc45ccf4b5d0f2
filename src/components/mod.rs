//! The Leptos components: the widget and its parts.

mod file_list;
mod file_row;
mod summary;
pub(crate) mod widget;

pub use crate::uploader::{FileFailure, FileStarted};
pub(crate) use file_row::Preview;
pub use widget::DirectUpload;

/// A reactive text or attribute value, boxed: every closure that computes a `T` for a view
/// then has this one type, and the bundle carries the rendering code of a reactive `T` once
/// instead of once per closure.
pub(crate) type Reactive<T> = Box<dyn FnMut() -> T + Send>;

/// A reactive attribute value, boxed as one type for every attribute: `None` leaves the
/// attribute out, `Some` sets it. Flags, fixed words, texts and optional values all become
/// this one type, so the bundle carries an attribute's render effect and update code once
/// instead of once per value type (each costs about 1 KB of wasm).
pub(crate) type ReactiveAttr = Reactive<Option<String>>;

/// Boxes `compute` as a [`ReactiveAttr`].
pub(crate) fn reactive_attr<V: IntoAttr>(compute: impl Fn() -> V + Send + 'static) -> ReactiveAttr {
    Box::new(move || compute().into_attr())
}

/// Boxes `compute` as a reactive text, always a `String` (one text type in the bundle).
pub(crate) fn reactive_text<V: Into<String>>(
    compute: impl Fn() -> V + Send + 'static,
) -> Reactive<String> {
    Box::new(move || compute().into())
}

/// Boxes `compute(context)` as a [`ReactiveAttr`]. A plain function over a `Copy` context
/// rather than a closure: every attribute over one context type is one closure type, with one
/// vtable and call shim, where each closure was a type of its own.
pub(crate) fn attr_of<C: Copy + Send + 'static>(
    context: C,
    compute: fn(C) -> Option<String>,
) -> ReactiveAttr {
    Box::new(move || compute(context))
}

/// Boxes `compute(context)` as a reactive text, as [`attr_of`] does an attribute.
pub(crate) fn text_of<C: Copy + Send + 'static>(
    context: C,
    compute: fn(C) -> String,
) -> Reactive<String> {
    Box::new(move || compute(context))
}

/// A value an attribute can show, as [`ReactiveAttr`] holds it.
pub(crate) trait IntoAttr {
    /// `None`: no attribute.
    fn into_attr(self) -> Option<String>;
}

/// A flag such as `hidden`: present and empty when true, absent when false.
impl IntoAttr for bool {
    fn into_attr(self) -> Option<String> {
        self.then(String::new)
    }
}

impl IntoAttr for &'static str {
    fn into_attr(self) -> Option<String> {
        Some(self.to_owned())
    }
}

impl IntoAttr for String {
    fn into_attr(self) -> Option<String> {
        Some(self)
    }
}

impl<T: IntoAttr> IntoAttr for Option<T> {
    fn into_attr(self) -> Option<String> {
        self.and_then(IntoAttr::into_attr)
    }
}
