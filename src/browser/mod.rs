//! Every call into the browser (`web_sys`, `js_sys`), each behind a small typed wrapper, so
//! that the core stays pure and the components only arrange views.
//!
//! - `transport`: the upload as an `XMLHttpRequest` that aborts on drop;
//! - [`backend`]: the one-time URL request and the verification;
//! - [`image`]: head bytes, pixel size (from the headers or decoded), previews, downscaling;
//! - [`json`]: the browser's own JSON, read and built without serde_json;
//! - [`paste`]: page-level paste, one document listener for every widget;
//! - [`timer`]: timeouts, animation frames, the clock and randomness for retries;
//! - [`visible`]: "has this scrolled into view yet";
//! - [`clipboard`]: copying a URL;
//! - [`element_ref`]: a rendered element, one reference type whatever the element.

pub mod backend;
pub mod clipboard;
pub mod element_ref;
pub mod image;
pub mod json;
pub mod paste;
pub mod persist;
pub mod timer;
pub(crate) mod transport;
pub mod visible;

/// The files of a `FileList` (a picker's, a drop's, a paste's): one helper, so the bundle
/// carries this loop once.
pub(crate) fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}
