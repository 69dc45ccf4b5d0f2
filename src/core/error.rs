//! Why an upload failed, with the words a person reads. Every failure names the side that
//! failed (the site's backend or the upload host) and Cloudflare's code where there is one.

use std::fmt;

use crate::api::ErrorDetail;
use crate::validate::Rejection;

/// Which server a failure came from.
///
/// ```
/// use direct_upload::{Side, UploadError};
///
/// let error = UploadError::Stalled { seconds: 30 };
/// assert_eq!(error.side(), Some(Side::UploadHost));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The site's backend that hands out one-time upload URLs.
    Backend,
    /// The upload host that receives the file.
    UploadHost,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Backend => "Backend",
            Side::UploadHost => "Upload host",
        })
    }
}

/// A failed upload.
///
/// ```
/// use direct_upload::{Side, UploadError};
///
/// let error = UploadError::Network { side: Side::Backend, detail: "connection refused".into() };
/// assert_eq!(error.to_string(), "Backend unreachable: connection refused");
/// assert!(error.is_transient());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    /// The request never got an answer (server down, DNS, CORS, connection reset).
    #[error("{side} unreachable: {detail}")]
    Network {
        /// Which server.
        side: Side,
        /// What the browser said.
        detail: String,
    },
    /// The server answered with an error status.
    #[error("{side} error (HTTP {status}{}){}", code_suffix(.detail.code), message_suffix(.detail.message.as_deref()))]
    Status {
        /// Which server.
        side: Side,
        /// HTTP status.
        status: u16,
        /// Code and message from the body, if any.
        detail: ErrorDetail,
    },
    /// The server answered 2xx with something unusable.
    #[error("{side} answered unexpectedly: {detail}")]
    Malformed {
        /// Which server.
        side: Side,
        /// What was wrong with the answer.
        detail: String,
    },
    /// Nothing moved for the stall timeout; the request was aborted.
    #[error("Upload host stalled: nothing happened for {seconds} s")]
    Stalled {
        /// The stall timeout.
        seconds: u32,
    },
    /// The backend says the image is still a draft after the upload host accepted it.
    #[error("Backend could not confirm the upload: image {id} is still a draft")]
    NotConfirmed {
        /// The image id.
        id: String,
    },
    /// Refused before anything was sent.
    #[error("Refused before upload: {0}")]
    Rejected(Rejection),
    /// The browser could not even start the request.
    #[error("The browser could not send the request: {0}")]
    Browser(String),
}

fn code_suffix(code: Option<u64>) -> String {
    code.map(|c| format!(", code {c}")).unwrap_or_default()
}

fn message_suffix(message: Option<&str>) -> String {
    message.map(|m| format!(": {m}")).unwrap_or_default()
}

impl UploadError {
    /// Cloudflare's error code, if the server gave one.
    ///
    /// ```
    /// use direct_upload::api::ErrorDetail;
    /// use direct_upload::{Side, UploadError};
    ///
    /// let error = UploadError::Status { side: Side::UploadHost, status: 415, detail: ErrorDetail { code: Some(5455), message: None } };
    /// assert_eq!(error.code(), Some(5455));
    /// ```
    pub fn code(&self) -> Option<u64> {
        match self {
            UploadError::Status { detail, .. } => detail.code,
            _ => None,
        }
    }

    /// Which side failed, if a server was involved.
    ///
    /// ```
    /// use direct_upload::{Side, UploadError};
    ///
    /// assert_eq!(UploadError::Network { side: Side::Backend, detail: "refused".into() }.side(), Some(Side::Backend));
    /// ```
    pub fn side(&self) -> Option<Side> {
        match self {
            UploadError::Network { side, .. }
            | UploadError::Status { side, .. }
            | UploadError::Malformed { side, .. } => Some(*side),
            UploadError::Stalled { .. } => Some(Side::UploadHost),
            UploadError::NotConfirmed { .. } => Some(Side::Backend),
            UploadError::Rejected(_) | UploadError::Browser(_) => None,
        }
    }

    /// Whether trying again (with a fresh upload URL) can succeed: network errors, 5xx, 429 and
    /// Cloudflare's transient codes; never a refusal of the file itself.
    ///
    /// ```
    /// use direct_upload::api::ErrorDetail;
    /// use direct_upload::{Side, UploadError};
    ///
    /// let outage = UploadError::Status { side: Side::UploadHost, status: 415, detail: ErrorDetail { code: Some(5550), message: None } };
    /// let too_big = UploadError::Status { side: Side::UploadHost, status: 413, detail: ErrorDetail { code: Some(5413), message: None } };
    /// assert!(outage.is_transient());
    /// assert!(!too_big.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            UploadError::Network { .. } | UploadError::Stalled { .. } => true,
            UploadError::Status { status, detail, .. } => match detail.code {
                Some(5408 | 5500 | 5503 | 5550) => true,
                Some(5413 | 5415 | 5455) => false,
                _ => *status >= 500 || *status == 429 || *status == 408,
            },
            UploadError::Malformed { .. }
            | UploadError::NotConfirmed { .. }
            | UploadError::Rejected(_)
            | UploadError::Browser(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_side_and_the_code() {
        let error = UploadError::Status {
            side: Side::UploadHost,
            status: 413,
            detail: ErrorDetail {
                code: Some(5413),
                message: Some("Maximum image size of 10 MB reached".into()),
            },
        };
        assert_eq!(
            error.to_string(),
            "Upload host error (HTTP 413, code 5413): Maximum image size of 10 MB reached"
        );
        let bare = UploadError::Status {
            side: Side::Backend,
            status: 500,
            detail: ErrorDetail::default(),
        };
        assert_eq!(bare.to_string(), "Backend error (HTTP 500)");
    }

    #[test]
    fn transient_failures_are_told_from_permanent_ones() {
        let status = |status, code| UploadError::Status {
            side: Side::UploadHost,
            status,
            detail: ErrorDetail {
                code,
                message: None,
            },
        };
        assert!(status(500, None).is_transient());
        assert!(
            status(415, Some(5550)).is_transient(),
            "the outage answer 415 {{code:5550}} is transient"
        );
        assert!(!status(413, Some(5413)).is_transient());
        assert!(!status(415, Some(5455)).is_transient());
        assert!(!status(409, Some(5409)).is_transient());
        assert!(UploadError::Network {
            side: Side::Backend,
            detail: "down".into()
        }
        .is_transient());
    }
}
