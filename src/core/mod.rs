//! The widget's decisions, in pure Rust: no `web_sys`, `js_sys` or `wasm_bindgen`, so every
//! rule is tested natively with `cargo test` in well under a second.
//!
//! - [`state`]: one file's [`UploadState`](state::UploadState) and its total `apply`;
//! - [`queue`]: the list's rules: which files start, when to retry, when a batch is complete;
//! - [`validate`]: restrictions, type sniffing, the check plan;
//! - [`dimensions`]: an image's pixel size from its header bytes, read in a few small slices;
//! - [`wire`]: what the backend and the upload host answer, as typed results;
//! - [`error`]: [`UploadError`](error::UploadError), knowing its side and code.

pub mod dimensions;
pub mod error;
pub mod queue;
pub mod state;
pub mod validate;
pub mod wire;
