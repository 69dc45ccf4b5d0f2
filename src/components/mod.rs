//! The Leptos components: the widget and its parts.

mod file_row;
pub(crate) mod widget;

pub use crate::uploader::{FileFailure, FileStarted};
pub use widget::DirectUpload;
