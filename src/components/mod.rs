//! The Leptos components: the widget and its parts.

mod file_list;
mod file_row;
mod summary;
pub(crate) mod widget;

pub use crate::uploader::{FileFailure, FileStarted};
pub use widget::DirectUpload;

/// A reactive text or attribute value, boxed: every closure that computes a `T` for a view
/// then has this one type, and the bundle carries the rendering code of a reactive `T` once
/// instead of once per closure.
pub(crate) type Reactive<T> = Box<dyn FnMut() -> T + Send>;

/// Boxes `compute` as a [`Reactive`] value.
pub(crate) fn reactive<T>(compute: impl Fn() -> T + Send + 'static) -> Reactive<T> {
    Box::new(compute)
}
