//! Every word the widget shows, in English.

use super::format::format_bytes;
use crate::core::error::{Side, UploadError};
use crate::core::state::BatchSummary;
use crate::core::validate::Rejection;

pub(super) const REGION: &str = "Image upload";
pub(super) const CHOOSE: &str = "Choose images";
pub(super) const HINT: &str =
    "or drop or paste them here. PNG, JPEG, GIF, WebP or SVG, up to 10 MB each.";
pub(super) const TOTAL_PROGRESS: &str = "Total upload progress";
pub(super) const CHECKING: &str = "Checking";
pub(super) const QUEUED: &str = "Waiting";
pub(super) const PREPARING: &str = "Preparing";
pub(super) const DONE: &str = "Uploaded";
pub(super) const FAILED: &str = "Failed";
pub(super) const CANCELLED: &str = "Cancelled";
pub(super) const CANCEL: &str = "Cancel";
pub(super) const RETRY: &str = "Retry";
pub(super) const REMOVE: &str = "Remove";
pub(super) const CLEAR_FINISHED: &str = "Clear finished";
pub(super) const COPY: &str = "Copy";
pub(super) const COPIED: &str = "Copied";
pub(super) const FILES: &str = "Files";
pub(super) const IMAGE_URLS: &str = "Image URLs";

pub(super) fn bytes(bytes: u64) -> String {
    format_bytes(bytes, '.', "bytes")
}
pub(super) fn file_progress(name: &str) -> String {
    format!("Upload progress of {name}")
}
pub(super) fn retrying(attempt: u32) -> String {
    format!("Retrying (attempt {attempt})")
}
pub(super) fn cancel_label(name: &str) -> String {
    format!("Cancel {name}")
}
pub(super) fn retry_label(name: &str) -> String {
    format!("Retry {name}")
}
pub(super) fn remove_label(name: &str) -> String {
    format!("Remove {name} from the list")
}
pub(super) fn copy_label(variant: &str) -> String {
    format!("Copy the {variant} URL")
}
pub(super) fn preview_alt(name: &str) -> String {
    format!("Preview of {name}")
}
pub(super) fn announce_done(name: &str) -> String {
    format!("{name} uploaded.")
}
pub(super) fn announce_failed(name: &str, error: &str) -> String {
    format!("{name} failed: {error}")
}

pub(super) fn stored_of(done: usize, files: usize) -> String {
    format!("{done} of {files} stored")
}
pub(super) fn failed_count(count: usize) -> String {
    format!("{count} failed")
}
pub(super) fn cancelled_count(count: usize) -> String {
    format!("{count} cancelled")
}
pub(super) fn time_left(duration: &str) -> String {
    format!("about {duration} left")
}
pub(super) fn finished(s: &BatchSummary) -> String {
    if s.failed > 0 {
        format!("{} uploaded, {} failed", s.done, s.failed)
    } else {
        format!("All {} uploaded", s.done)
    }
}

fn side(side: Side) -> &'static str {
    match side {
        Side::Backend => "Backend",
        Side::UploadHost => "Upload host",
    }
}

pub(super) fn error(error: &UploadError) -> String {
    let code = |code: Option<u64>| code.map(|c| format!(", code {c}")).unwrap_or_default();
    match error {
        UploadError::Network { side: s, detail } => format!("{} unreachable: {detail}", side(*s)),
        UploadError::Status {
            side: s,
            status,
            detail,
        } => format!(
            "{} error (HTTP {status}{}){}",
            side(*s),
            code(detail.code),
            detail
                .message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ),
        UploadError::Malformed { side: s, detail } => {
            format!("{} answered unexpectedly: {detail}", side(*s))
        }
        UploadError::Stalled { seconds } => {
            format!("Upload host stalled: nothing happened for {seconds} s")
        }
        UploadError::NotConfirmed { id } => {
            format!("Backend could not confirm the upload: image {id} is still a draft")
        }
        UploadError::Rejected(why) => format!("Refused before upload: {}", rejection(why)),
        UploadError::Browser(detail) => format!("The browser could not send the request: {detail}"),
    }
}

pub(super) fn rejection(rejection: &Rejection) -> String {
    match rejection {
        Rejection::Type { found: Some(found) } => format!("{found} is not an accepted image type"),
        Rejection::Type { found: None } => "the file is not an image of an accepted type".into(),
        Rejection::TooLarge { size, max } => {
            format!("{} is larger than {}", bytes(*size), bytes(*max))
        }
        Rejection::TooSmall { size, min } => {
            format!("{} is smaller than {}", bytes(*size), bytes(*min))
        }
        Rejection::SideTooLong { width, height, max } => {
            format!("{width}×{height} pixels: a side is longer than {max} pixels")
        }
        Rejection::TooManyPixels { width, height, max } => format!(
            "{width}×{height} pixels is more than {} megapixels",
            max / 1_000_000
        ),
        Rejection::TooManyFiles { max } => format!("at most {max} files can be added"),
        Rejection::Unreadable => "the browser cannot read this image".into(),
    }
}
