//! The Leptos components: the widget and its parts.

pub(crate) mod controller;
mod file_row;
pub(crate) mod widget;

pub use controller::{FileFailure, FileStarted};
pub use widget::DirectUpload;
