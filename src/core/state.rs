//! The per-file state machine and the batch summary derived from it. Pure Rust: every
//! transition is tested natively.

use crate::api::ImageRecord;
use crate::error::UploadError;
use crate::validate::Rejection;

/// When and how often failed uploads are tried again.
///
/// ```
/// use direct_upload::RetryPolicy;
///
/// let patient = RetryPolicy { max_retries: 6, stall_timeout_ms: 60_000, ..RetryPolicy::default() };
/// // The third retry waits between 2 and 4 seconds.
/// assert!((2_000..=4_000).contains(&patient.delay_ms(3, 0.3)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Automatic retries after the first try (0: none).
    pub max_retries: u32,
    /// Delay before the first retry, in milliseconds; each further retry doubles it.
    pub base_delay_ms: u32,
    /// Longest delay, in milliseconds.
    pub max_delay_ms: u32,
    /// An upload with no progress for this long is aborted and retried (0: never).
    pub stall_timeout_ms: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay_ms: 1_000,
            max_delay_ms: 30_000,
            stall_timeout_ms: 30_000,
        }
    }
}

impl RetryPolicy {
    /// The wait before retry `attempt` (1-based): exponential, capped, with "equal jitter" so
    /// that many clients failing together do not come back together, yet never wait zero.
    /// `random` is uniform in [0, 1).
    ///
    /// ```
    /// use direct_upload::RetryPolicy;
    ///
    /// let policy = RetryPolicy::default(); // 1 s base, 30 s cap
    /// assert_eq!(policy.delay_ms(1, 0.0), 500);
    /// assert_eq!(policy.delay_ms(10, 0.0), 15_000);
    /// ```
    pub fn delay_ms(&self, attempt: u32, random: f64) -> u32 {
        let exponential = (self.base_delay_ms as u64) << attempt.saturating_sub(1).min(20);
        let capped = exponential.min(self.max_delay_ms as u64) as f64;
        (capped / 2.0 + random.clamp(0.0, 1.0) * capped / 2.0).round() as u32
    }
}

/// Where one file is in its upload. One enum, so impossible states cannot be represented.
///
/// ```
/// use direct_upload::UploadState;
///
/// let state = UploadState::Uploading { sent: 300, total: 1_000 };
/// assert_eq!((state.name(), state.percent()), ("uploading", 30));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadState {
    /// Being checked against the restrictions (type from the bytes, size, dimensions).
    Checking,
    /// Waiting for a free upload slot.
    Queued,
    /// Asking the backend for a one-time upload URL.
    RequestingUrl,
    /// Sending the file; `sent` of `total` bytes have left the browser.
    Uploading {
        /// Bytes sent so far.
        sent: u64,
        /// Bytes to send (the multipart body, slightly more than the file).
        total: u64,
    },
    /// Stored by Cloudflare.
    Done {
        /// The image record the upload host returned.
        image: ImageRecord,
    },
    /// Failed; the error says why and which side.
    Failed {
        /// What went wrong.
        error: UploadError,
    },
    /// Failed for a passing reason; waiting before trying again with a fresh upload URL.
    RetryWaiting {
        /// Which retry comes next (1 for the first).
        attempt: u32,
        /// Why the last try failed.
        error: UploadError,
    },
    /// Stopped by the user.
    Cancelled,
}

/// Something that happens to an upload.
///
/// ```
/// use direct_upload::queue::{UploadEvent, UploadState};
///
/// assert_eq!(UploadState::Queued.apply(UploadEvent::Start), UploadState::RequestingUrl);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadEvent {
    /// The restrictions were checked.
    Checked(Result<(), Rejection>),
    /// A slot is free: ask for an upload URL.
    Start,
    /// The backend answered with a URL: start sending `total` bytes.
    UrlReceived {
        /// Size of the file.
        total: u64,
    },
    /// The browser reported upload progress.
    Progress {
        /// Bytes sent.
        sent: u64,
        /// Bytes to send.
        total: u64,
    },
    /// The upload host stored the image.
    Succeeded(ImageRecord),
    /// The backend or the upload host failed for good.
    Failed(UploadError),
    /// The backend or the upload host failed for a passing reason; retry `attempt` is due later.
    WillRetry {
        /// Why it failed.
        error: UploadError,
        /// Which retry comes next.
        attempt: u32,
    },
    /// The wait before a retry is over.
    RetryDue,
    /// The user cancelled.
    Cancel,
    /// The user asked to try a failed or cancelled file again.
    Retry,
}

impl UploadState {
    /// The state after `event`. Events that do not apply leave the state as it is: a late
    /// progress or answer from an aborted request cannot revive a cancelled file.
    ///
    /// ```
    /// use direct_upload::queue::{UploadEvent, UploadState};
    ///
    /// let running = UploadState::RequestingUrl.apply(UploadEvent::UrlReceived { total: 100 });
    /// assert_eq!(running, UploadState::Uploading { sent: 0, total: 100 });
    /// assert_eq!(running.apply(UploadEvent::Cancel).apply(UploadEvent::Progress { sent: 50, total: 100 }), UploadState::Cancelled);
    /// ```
    pub fn apply(&self, event: UploadEvent) -> UploadState {
        use UploadEvent as E;
        use UploadState as S;
        match (self, event) {
            (S::Checking, E::Checked(Ok(()))) => S::Queued,
            (S::Checking, E::Checked(Err(rejection))) => S::Failed {
                error: UploadError::Rejected(rejection),
            },
            (S::Queued, E::Start) => S::RequestingUrl,
            (S::RequestingUrl, E::UrlReceived { total }) => S::Uploading { sent: 0, total },
            (S::Uploading { sent: before, .. }, E::Progress { sent, total }) => {
                // Progress never goes backwards, and never past the total.
                S::Uploading {
                    sent: sent.max(*before).min(total),
                    total,
                }
            }
            // From RequestingUrl: the backend says an earlier try stored it after all.
            (S::Uploading { .. } | S::RequestingUrl, E::Succeeded(image)) => S::Done { image },
            (S::RequestingUrl | S::Uploading { .. }, E::Failed(error)) => S::Failed { error },
            (S::RequestingUrl | S::Uploading { .. }, E::WillRetry { error, attempt }) => {
                S::RetryWaiting { attempt, error }
            }
            (S::RetryWaiting { .. }, E::RetryDue) => S::Queued,
            (
                S::Checking
                | S::Queued
                | S::RequestingUrl
                | S::Uploading { .. }
                | S::RetryWaiting { .. },
                E::Cancel,
            ) => S::Cancelled,
            // A refused file cannot become acceptable by trying again.
            (
                S::Failed {
                    error: UploadError::Rejected(_),
                },
                E::Retry,
            ) => self.clone(),
            (S::Failed { .. } | S::Cancelled | S::RetryWaiting { .. }, E::Retry) => S::Queued,
            (state, _) => state.clone(),
        }
    }

    /// Whether a retry (by hand, or `retryFailed()`) can help: a failed file that was not
    /// refused before sending, a cancelled one, or one waiting for its automatic retry.
    /// [`UploadState::apply`] agrees: `Retry` queues exactly these.
    ///
    /// ```
    /// use direct_upload::{Rejection, UploadError, UploadState};
    ///
    /// assert!(UploadState::Cancelled.can_retry());
    /// let refused = UploadState::Failed { error: UploadError::Rejected(Rejection::Unreadable) };
    /// assert!(!refused.can_retry(), "a refused file stays refused");
    /// ```
    pub fn can_retry(&self) -> bool {
        match self {
            UploadState::Failed {
                error: UploadError::Rejected(_),
            } => false,
            UploadState::Failed { .. }
            | UploadState::Cancelled
            | UploadState::RetryWaiting { .. } => true,
            _ => false,
        }
    }

    /// Whether the file can still be cancelled (it has not finished).
    ///
    /// ```
    /// use direct_upload::UploadState;
    ///
    /// assert!(UploadState::Queued.can_cancel());
    /// assert!(!UploadState::Cancelled.can_cancel());
    /// ```
    pub fn can_cancel(&self) -> bool {
        !self.is_finished()
    }

    /// Done, failed or cancelled: nothing more will happen without the user.
    ///
    /// ```
    /// use direct_upload::UploadState;
    ///
    /// assert!(UploadState::Cancelled.is_finished());
    /// assert!(!UploadState::Queued.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            UploadState::Done { .. } | UploadState::Failed { .. } | UploadState::Cancelled
        )
    }

    /// Holding an upload slot.
    ///
    /// ```
    /// use direct_upload::UploadState;
    ///
    /// assert!(UploadState::RequestingUrl.is_active());
    /// assert!(!UploadState::Queued.is_active());
    /// ```
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            UploadState::RequestingUrl | UploadState::Uploading { .. }
        )
    }

    /// Share of the file sent, in whole percent (0 to 100).
    ///
    /// ```
    /// use direct_upload::UploadState;
    ///
    /// assert_eq!(UploadState::Uploading { sent: 1, total: 4 }.percent(), 25);
    /// ```
    pub fn percent(&self) -> u32 {
        match self {
            UploadState::Uploading { sent, total } if *total > 0 => {
                share((*sent).min(*total), 100, *total) as u32
            }
            UploadState::Done { .. } => 100,
            _ => 0,
        }
    }

    /// A short machine-readable name, used as the row's `data-state`.
    ///
    /// ```
    /// use direct_upload::UploadState;
    ///
    /// assert_eq!(UploadState::Checking.name(), "checking");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            UploadState::Checking => "checking",
            UploadState::RetryWaiting { .. } => "retrying",
            UploadState::Queued => "queued",
            UploadState::RequestingUrl => "requesting",
            UploadState::Uploading { .. } => "uploading",
            UploadState::Done { .. } => "done",
            UploadState::Failed { .. } => "failed",
            UploadState::Cancelled => "cancelled",
        }
    }
}

/// The whole batch at a glance, derived from the files' states.
///
/// ```
/// use direct_upload::BatchSummary;
///
/// let summary = BatchSummary { files: 2, done: 2, bytes_sent: 10, bytes_total: 10, ..Default::default() };
/// assert!(summary.is_complete());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BatchSummary {
    /// Files in the list.
    pub files: usize,
    /// Files stored.
    pub done: usize,
    /// Files that failed.
    pub failed: usize,
    /// Files the user cancelled.
    pub cancelled: usize,
    /// Files still being checked, waiting or uploading.
    pub pending: usize,
    /// Files holding an upload slot right now (asking for a URL or sending).
    pub uploading: usize,
    /// File bytes sent (a finished file counts whole).
    pub bytes_sent: u64,
    /// File bytes of all files that are neither failed nor cancelled.
    pub bytes_total: u64,
}

impl BatchSummary {
    /// Sums up `(file size, state)` pairs.
    ///
    /// ```
    /// use direct_upload::{BatchSummary, UploadState};
    ///
    /// let states = [(100, UploadState::Uploading { sent: 50, total: 100 }), (100, UploadState::Queued)];
    /// let summary = BatchSummary::of(states.iter().map(|(size, state)| (*size, state)));
    /// assert_eq!((summary.files, summary.pending, summary.percent()), (2, 2, 25));
    /// ```
    pub fn of<'a>(files: impl IntoIterator<Item = (u64, &'a UploadState)>) -> Self {
        let mut summary = BatchSummary::default();
        for (size, state) in files {
            summary.add(size, state);
        }
        summary
    }

    /// Counts one more file of `size` bytes in `state`. With [`BatchSummary::remove`], a
    /// queue keeps its summary up to date in constant time per change, however long the list.
    ///
    /// ```
    /// use direct_upload::{BatchSummary, UploadState};
    ///
    /// let mut summary = BatchSummary::default();
    /// summary.add(100, &UploadState::Queued);
    /// summary.remove(100, &UploadState::Queued);
    /// summary.add(100, &UploadState::Uploading { sent: 40, total: 100 });
    /// assert_eq!((summary.files, summary.uploading, summary.bytes_sent), (1, 1, 40));
    /// ```
    pub fn add(&mut self, size: u64, state: &UploadState) {
        self.files += 1;
        *self.count_of(state) += 1;
        if state.is_active() {
            self.uploading += 1;
        }
        // Failed and cancelled files are out of the running: the bar measures what is
        // still coming and what arrived, so a batch with failures still ends at 100 %.
        if let Some(sent) = Self::bytes_of(size, state) {
            self.bytes_total += size;
            self.bytes_sent += sent;
        }
    }

    /// Takes back what [`BatchSummary::add`] counted for the same `size` and `state`.
    pub fn remove(&mut self, size: u64, state: &UploadState) {
        self.files -= 1;
        *self.count_of(state) -= 1;
        if state.is_active() {
            self.uploading -= 1;
        }
        if let Some(sent) = Self::bytes_of(size, state) {
            self.bytes_total -= size;
            self.bytes_sent -= sent;
        }
    }

    fn count_of(&mut self, state: &UploadState) -> &mut usize {
        match state {
            UploadState::Done { .. } => &mut self.done,
            UploadState::Failed { .. } => &mut self.failed,
            UploadState::Cancelled => &mut self.cancelled,
            _ => &mut self.pending,
        }
    }

    /// The file bytes a file counts as sent, or `None` when it is out of the running.
    /// Integer arithmetic: the same `(size, state)` always gives the same bytes, so
    /// `remove` takes back exactly what `add` counted.
    fn bytes_of(size: u64, state: &UploadState) -> Option<u64> {
        match state {
            UploadState::Cancelled | UploadState::Failed { .. } => None,
            UploadState::Done { .. } => Some(size),
            UploadState::Uploading { sent, total } if *total > 0 => {
                Some(share((*sent).min(*total), size, *total))
            }
            _ => Some(0),
        }
    }

    /// Overall progress in percent (0 to 100), by bytes.
    ///
    /// ```
    /// use direct_upload::BatchSummary;
    ///
    /// assert_eq!(BatchSummary { files: 1, pending: 1, bytes_sent: 1, bytes_total: 3, ..Default::default() }.percent(), 33);
    /// ```
    pub fn percent(&self) -> u32 {
        if self.bytes_total == 0 {
            return if self.files > 0 && self.pending == 0 {
                100
            } else {
                0
            };
        }
        share(self.bytes_sent.min(self.bytes_total), 100, self.bytes_total) as u32
    }

    /// True when files were added and none is still waiting or uploading.
    ///
    /// ```
    /// use direct_upload::BatchSummary;
    ///
    /// assert!(!BatchSummary::default().is_complete(), "nothing added, nothing complete");
    /// ```
    pub fn is_complete(&self) -> bool {
        self.files > 0 && self.pending == 0
    }
}

/// `part × scale ÷ whole`, rounded down (0 when `whole` is 0), for `part ≤ whole`: exact in
/// `u64` whenever the factors have at most 64 significant bits together, as they do for every
/// real file and batch (the upload host takes 10 MB a file); in `f64` beyond. Not `u128`: its
/// division routine (`__udivti3`, about 1 KB of wasm) was linked only for this. Not
/// `checked_mul` either: on wasm32 it calls a 128-bit multiplication routine (`__multi3`).
fn share(part: u64, scale: u64, whole: u64) -> u64 {
    if part.leading_zeros() + scale.leading_zeros() >= u64::BITS {
        (part * scale).checked_div(whole).unwrap_or(0)
    } else {
        (part as f64 * scale as f64 / whole as f64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ErrorDetail;
    use crate::error::Side;

    #[test]
    fn shares_are_exact_where_u64_holds_the_product_and_close_beyond() {
        let exact = |part: u64, scale: u64, whole: u64| {
            (part as u128 * scale as u128 / whole as u128) as u64
        };
        for (part, scale, whole) in [(1, 100, 4), (1, 100, 3), (2, 100, 3), (0, 100, 7)] {
            assert_eq!(share(part, scale, whole), exact(part, scale, whole));
        }
        let ten_mb = 10 * 1024 * 1024;
        assert_eq!(share(ten_mb - 1, ten_mb, ten_mb), ten_mb - 1);
        assert_eq!(share(5, 100, 0), 0);
        // Far beyond any real size: the f64 path, within a part in 2^50.
        let big = u64::MAX / 3;
        let got = share(big, 100, u64::MAX);
        assert!(got.abs_diff(exact(big, 100, u64::MAX)) <= 1, "{got}");
    }

    fn record() -> ImageRecord {
        ImageRecord {
            id: "i".into(),
            filename: None,
            uploaded: None,
            require_signed_urls: false,
            variants: vec![],
            draft: false,
        }
    }

    #[test]
    fn the_happy_path() {
        let s = UploadState::Queued.apply(UploadEvent::Start);
        assert_eq!(s, UploadState::RequestingUrl);
        let s = s.apply(UploadEvent::UrlReceived { total: 100 });
        assert_eq!(
            s,
            UploadState::Uploading {
                sent: 0,
                total: 100
            }
        );
        let s = s.apply(UploadEvent::Progress {
            sent: 40,
            total: 120,
        });
        assert_eq!(
            s,
            UploadState::Uploading {
                sent: 40,
                total: 120
            }
        );
        let s = s.apply(UploadEvent::Succeeded(record()));
        assert!(matches!(s, UploadState::Done { .. }));
        assert_eq!(s.percent(), 100);
    }

    #[test]
    fn progress_never_goes_backwards() {
        let s = UploadState::Uploading {
            sent: 50,
            total: 100,
        }
        .apply(UploadEvent::Progress {
            sent: 10,
            total: 100,
        });
        assert_eq!(
            s,
            UploadState::Uploading {
                sent: 50,
                total: 100
            }
        );
    }

    #[test]
    fn a_cancelled_file_ignores_late_answers() {
        let s = UploadState::Uploading { sent: 5, total: 10 }.apply(UploadEvent::Cancel);
        assert_eq!(s, UploadState::Cancelled);
        assert_eq!(
            s.apply(UploadEvent::Succeeded(record())),
            UploadState::Cancelled
        );
        assert_eq!(
            s.apply(UploadEvent::Progress {
                sent: 10,
                total: 10
            }),
            UploadState::Cancelled
        );
    }

    #[test]
    fn failures_keep_their_error_and_can_be_retried() {
        let error = UploadError::Status {
            side: Side::UploadHost,
            status: 500,
            detail: ErrorDetail::default(),
        };
        let s = UploadState::RequestingUrl.apply(UploadEvent::Failed(error.clone()));
        assert_eq!(s, UploadState::Failed { error });
        assert_eq!(s.apply(UploadEvent::Retry), UploadState::Queued);
        assert_eq!(
            UploadState::Done { image: record() }.apply(UploadEvent::Retry),
            UploadState::Done { image: record() }
        );
    }

    #[test]
    fn checking_leads_to_the_queue_or_a_refusal_that_cannot_be_retried() {
        assert_eq!(
            UploadState::Checking.apply(UploadEvent::Checked(Ok(()))),
            UploadState::Queued
        );
        let refused =
            UploadState::Checking.apply(UploadEvent::Checked(Err(Rejection::TooManyFiles {
                max: 2,
            })));
        assert_eq!(
            refused,
            UploadState::Failed {
                error: UploadError::Rejected(Rejection::TooManyFiles { max: 2 })
            }
        );
        assert_eq!(
            refused.apply(UploadEvent::Retry),
            refused,
            "retrying a refused file changes nothing"
        );
    }

    #[test]
    fn a_passing_failure_waits_then_queues_again() {
        let error = UploadError::Network {
            side: Side::Backend,
            detail: "down".into(),
        };
        let s = UploadState::RequestingUrl.apply(UploadEvent::WillRetry {
            error: error.clone(),
            attempt: 1,
        });
        assert_eq!(s, UploadState::RetryWaiting { attempt: 1, error });
        assert_eq!(s.apply(UploadEvent::RetryDue), UploadState::Queued);
        assert_eq!(s.apply(UploadEvent::Cancel), UploadState::Cancelled);
        assert!(
            !s.is_finished() && !s.is_active(),
            "a waiting file holds no slot and is not finished"
        );
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let policy = RetryPolicy {
            max_retries: 5,
            base_delay_ms: 1000,
            max_delay_ms: 5000,
            stall_timeout_ms: 0,
        };
        assert_eq!(policy.delay_ms(1, 0.0), 500);
        assert_eq!(policy.delay_ms(1, 0.999_999), 1000);
        assert_eq!(policy.delay_ms(2, 0.0), 1000);
        assert_eq!(policy.delay_ms(3, 0.5), 3000);
        assert_eq!(policy.delay_ms(10, 0.0), 2500, "capped at max_delay_ms");
    }

    #[test]
    fn the_summary_counts_bytes_and_files() {
        let error = UploadError::Browser("x".into());
        let states = [
            (100, UploadState::Done { image: record() }),
            (
                200,
                UploadState::Uploading {
                    sent: 50,
                    total: 100,
                },
            ),
            (300, UploadState::Failed { error }),
            (400, UploadState::Cancelled),
        ];
        let summary = BatchSummary::of(states.iter().map(|(size, state)| (*size, state)));
        assert_eq!(
            (
                summary.files,
                summary.done,
                summary.failed,
                summary.cancelled,
                summary.pending
            ),
            (4, 1, 1, 1, 1)
        );
        assert_eq!(summary.bytes_total, 300);
        assert_eq!(summary.bytes_sent, 200);
        assert_eq!(summary.percent(), 66);
        assert!(!summary.is_complete());
    }
}
