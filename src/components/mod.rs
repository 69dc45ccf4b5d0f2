//! The Leptos components: the widget and its parts.

mod controller;
mod file_row;
mod widget;

pub use controller::FileFailure;
pub use widget::DirectUpload;
