//! The widget's decisions, in pure Rust: no `web_sys`, `js_sys` or `wasm_bindgen`, so every
//! rule is tested natively with `cargo test` in well under a second.
//!
//! - [`state`]: one file's [`UploadState`](state::UploadState) and its total `apply`;
//! - [`queue`]: the list as a state machine: which files start, when URLs are asked for,
//!   when to retry, when a batch is complete, as effects for the shell to do;
//! - [`validate`]: restrictions and type sniffing;
//! - [`check`]: the check plan: measure the pixels? downscale?
//! - [`dimensions`]: an image's pixel size from its header bytes, read in a few small slices;
//! - [`wire`]: what the backend and the upload host answer, as typed results;
//! - [`paste`]: which widget takes a paste made elsewhere on the page;
//! - [`error`]: [`UploadError`](error::UploadError), knowing its side and code;
//! - [`window`]: which rows of a long list are rendered;
//! - [`throughput`]: the batch's speed and time left;
//! - [`pace`]: how often the list shows what changed.

pub mod check;
pub mod dimensions;
pub mod error;
pub mod pace;
pub mod paste;
pub mod queue;
pub mod state;
pub mod throughput;
pub mod validate;
pub mod window;
pub mod wire;
