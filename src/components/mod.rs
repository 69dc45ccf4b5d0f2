//! The Leptos components: the widget and its parts.

mod file_list;
mod file_row;
mod summary;
pub(crate) mod widget;

pub use crate::uploader::{FileFailure, FileStarted};
pub use widget::DirectUpload;
