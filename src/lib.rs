//! # direct-upload
//!
//! An upload widget for Cloudflare Images *Direct Creator Upload*, written with Leptos and
//! compiled to WebAssembly. For each chosen file it asks the site's backend for a one-time
//! upload URL, POSTs the file straight to Cloudflare's upload host with real progress, and
//! shows the stored image's variant URLs.
//!
//! ```no_run
//! use direct_upload::DirectUpload;
//! use leptos::prelude::*;
//!
//! leptos::mount::mount_to_body(|| view! { <DirectUpload backend="/api/direct-upload"/> });
//! ```
#![deny(missing_docs)]

pub mod browser;
pub mod components;
pub mod core;
pub mod embed;
mod i18n;
pub mod options;
pub(crate) mod uploader;

// The core and the browser layer under the names the crate has always had.
pub use crate::browser::{backend, image as image_tools};
pub use crate::core::{error, state as queue, validate, wire as api};

pub use api::{ImageRecord, UploadTarget};
pub use backend::{BackendConfig, Credentials};
pub use components::{DirectUpload, FileFailure, FileStarted};
pub use error::{Side, UploadError};
pub use i18n::Lang;
pub use queue::{BatchSummary, RetryPolicy, UploadState};
pub use validate::{Rejection, Restrictions};
