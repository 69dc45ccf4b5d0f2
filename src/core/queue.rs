//! The list's rules, as pure functions the browser shell asks: how many files run and which
//! start, whether a failed try is retried and after how long, when a batch is complete, and
//! how a file is checked (decode it? downscale it?). They are the rules most likely to change,
//! so they live here, where a native test runs them in microseconds.

use super::error::UploadError;
use super::state::{BatchSummary, RetryPolicy, UploadState};
use super::validate::{check_dimensions, check_file, fit_within, Rejection, Restrictions};

/// What happens after a try failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Wait `delay_ms`, then try again with a fresh upload URL; this is retry `attempt`.
    RetryAfter {
        /// 1 for the first retry, 2 for the second, …
        attempt: u32,
        /// Milliseconds to wait first.
        delay_ms: u32,
    },
    /// Fail for good: the failure is permanent, or no retries are left.
    GiveUp,
}

/// The retry rule: a passing failure (see [`UploadError::is_transient`]) is retried while
/// retries are left, after an exponential backoff with jitter; `random` is uniform in
/// [0, 1), passed in so that the rule stays a function.
///
/// ```
/// use direct_upload::core::queue::{after_failure, AfterFailure};
/// use direct_upload::{RetryPolicy, Side, UploadError};
///
/// let down = UploadError::Network { side: Side::Backend, detail: "refused".into() };
/// let policy = RetryPolicy::default();
/// assert_eq!(after_failure(&down, 0, &policy, 0.0), AfterFailure::RetryAfter { attempt: 1, delay_ms: 500 });
/// assert_eq!(after_failure(&down, 3, &policy, 0.0), AfterFailure::GiveUp);
/// ```
pub fn after_failure(
    error: &UploadError,
    retries_used: u32,
    policy: &RetryPolicy,
    random: f64,
) -> AfterFailure {
    if !error.is_transient() || retries_used >= policy.max_retries {
        return AfterFailure::GiveUp;
    }
    let attempt = retries_used + 1;
    AfterFailure::RetryAfter {
        attempt,
        delay_ms: policy.delay_ms(attempt, random),
    }
}

/// Which queued files start now, by their place in the list: the first queued ones, in the
/// order they were added, as many as there are free slots (`concurrency` minus the files
/// asking for a URL or sending). A URL is asked for only when its file starts, so none
/// expires while waiting.
///
/// ```
/// use direct_upload::core::queue::to_start;
/// use direct_upload::UploadState;
///
/// let list = [UploadState::RequestingUrl, UploadState::Queued, UploadState::Checking, UploadState::Queued, UploadState::Queued];
/// assert_eq!(to_start(&list, 3), vec![1, 3]);
/// ```
pub fn to_start(states: &[UploadState], concurrency: usize) -> Vec<usize> {
    let running = states.iter().filter(|s| s.is_active()).count();
    let free = concurrency.max(1).saturating_sub(running);
    states
        .iter()
        .enumerate()
        .filter(|(_, state)| **state == UploadState::Queued)
        .map(|(index, _)| index)
        .take(free)
        .collect()
}

/// Whether the batch has just completed: every file has finished and files were added (or
/// retried) since the batch last completed, so a page hears "complete" once per batch.
///
/// ```
/// use direct_upload::core::queue::batch_completes;
/// use direct_upload::BatchSummary;
///
/// let finished = BatchSummary { files: 2, done: 1, failed: 1, ..Default::default() };
/// assert!(batch_completes(&finished, true));
/// assert!(!batch_completes(&finished, false), "already reported");
/// ```
pub fn batch_completes(summary: &BatchSummary, batch_open: bool) -> bool {
    batch_open && summary.is_complete()
}

/// Whether one more file may join a list that holds `listed` files.
///
/// ```
/// use direct_upload::core::queue::admit;
/// use direct_upload::Rejection;
///
/// assert_eq!(admit(4, Some(5)), Ok(()));
/// assert_eq!(admit(5, Some(5)), Err(Rejection::TooManyFiles { max: 5 }));
/// assert_eq!(admit(500, None), Ok(()));
/// ```
pub fn admit(listed: usize, max_files: Option<usize>) -> Result<(), Rejection> {
    match max_files {
        Some(max) if listed >= max => Err(Rejection::TooManyFiles { max }),
        _ => Ok(()),
    }
}

/// How a file is checked, from what is known before decoding (its type from its first bytes,
/// and its size).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckPlan {
    /// The verdict is known without decoding.
    Decided(Result<(), Rejection>),
    /// Decode the image to learn its pixel size, then ask [`after_measure`]; `so_far` is
    /// the verdict on type and size (a file too large in bytes may still be downscaled).
    Measure {
        /// Verdict on type and size.
        so_far: Result<(), Rejection>,
    },
}

/// Plans the check: decoding is only worth it for a raster image when there are pixel limits
/// to check, or when `downscale` may have to re-encode it (also when it is too large in
/// bytes, which fewer pixels can fix).
///
/// ```
/// use direct_upload::core::queue::{plan_check, CheckPlan};
/// use direct_upload::{Rejection, Restrictions};
///
/// let limits = Restrictions::default();
/// assert_eq!(plan_check(&limits, Some("image/svg+xml"), 2_000, false), CheckPlan::Decided(Ok(())));
/// assert_eq!(plan_check(&limits, Some("image/png"), 2_000, false), CheckPlan::Measure { so_far: Ok(()) });
/// let huge = plan_check(&limits, Some("image/jpeg"), 20_000_000, true);
/// assert!(matches!(huge, CheckPlan::Measure { so_far: Err(Rejection::TooLarge { .. }) }));
/// ```
pub fn plan_check(
    restrictions: &Restrictions,
    found: Option<&str>,
    size: u64,
    downscale: bool,
) -> CheckPlan {
    let pixel_limits = restrictions.max_side < u32::MAX || restrictions.max_pixels < u64::MAX;
    let raster = found.is_some_and(|t| t != "image/svg+xml") && (pixel_limits || downscale);
    let verdict = check_file(restrictions, found, size);
    let fixable = downscale && matches!(verdict, Err(Rejection::TooLarge { .. }));
    if raster && (verdict.is_ok() || fixable) {
        CheckPlan::Measure { so_far: verdict }
    } else {
        CheckPlan::Decided(verdict)
    }
}

/// What follows a measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterMeasure {
    /// The verdict is known.
    Decided(Result<(), Rejection>),
    /// Re-encode the image to fit `width`×`height` (and the byte limit), then accept it.
    Downscale {
        /// Target width.
        width: u32,
        /// Target height.
        height: u32,
    },
}

/// Decides after decoding: `pixels` is `None` when the browser could not decode the image.
///
/// ```
/// use direct_upload::core::queue::{after_measure, AfterMeasure};
/// use direct_upload::Restrictions;
///
/// let limits = Restrictions::default(); // 12,000 px a side, 100 MP
/// assert_eq!(after_measure(&limits, Ok(()), Some((6_000, 4_000)), true), AfterMeasure::Decided(Ok(())));
/// assert_eq!(after_measure(&limits, Ok(()), Some((24_000, 1_000)), true), AfterMeasure::Downscale { width: 12_000, height: 500 });
/// assert!(matches!(after_measure(&limits, Ok(()), Some((24_000, 1_000)), false), AfterMeasure::Decided(Err(_))));
/// ```
pub fn after_measure(
    restrictions: &Restrictions,
    so_far: Result<(), Rejection>,
    pixels: Option<(u32, u32)>,
    downscale: bool,
) -> AfterMeasure {
    let Some((width, height)) = pixels else {
        return AfterMeasure::Decided(Err(Rejection::Unreadable));
    };
    match check_dimensions(restrictions, width, height).and(so_far) {
        Err(_) if downscale => {
            let (width, height) = fit_within(
                width,
                height,
                restrictions.max_side,
                restrictions.max_pixels,
            );
            AfterMeasure::Downscale { width, height }
        }
        verdict => AfterMeasure::Decided(verdict),
    }
}

/// The sizes a downscale tries, in order: the largest that fits the pixel limits, then 70 %
/// and 50 % of it, for when quality alone cannot bring the file under the byte limit.
///
/// ```
/// use direct_upload::core::queue::downscale_sizes;
///
/// assert_eq!(downscale_sizes(1_000, 800), [(1_000, 800), (700, 560), (500, 400)]);
/// assert_eq!(downscale_sizes(1, 1)[2], (1, 1), "never zero");
/// ```
pub fn downscale_sizes(width: u32, height: u32) -> [(u32, u32); 3] {
    // Integer arithmetic: float formatting is never needed, and 70 % is exact enough.
    let scale = |value: u32, percent: u64| ((value as u64 * percent / 100) as u32).max(1);
    [
        (width.max(1), height.max(1)),
        (scale(width, 70), scale(height, 70)),
        (scale(width, 50), scale(height, 50)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::Side;
    use crate::core::wire::ErrorDetail;

    fn status(side: Side, status: u16, code: Option<u64>) -> UploadError {
        UploadError::Status {
            side,
            status,
            detail: ErrorDetail {
                code,
                message: None,
            },
        }
    }

    #[test]
    fn never_more_files_run_than_the_concurrency_and_they_start_in_order() {
        use UploadState::*;
        let mut list = vec![Queued, Queued, Queued, Queued, Queued];
        let started = to_start(&list, 2);
        assert_eq!(started, vec![0, 1]);
        for index in started {
            list[index] = RequestingUrl;
        }
        assert!(to_start(&list, 2).is_empty(), "both slots are taken");
        list[0] = Uploading { sent: 5, total: 10 };
        assert!(to_start(&list, 2).is_empty(), "sending holds its slot");
        list[1] = Cancelled;
        assert_eq!(
            to_start(&list, 2),
            vec![2],
            "a freed slot starts the next in line"
        );
        assert_eq!(
            to_start(&[Queued, Queued], 0),
            vec![0],
            "a concurrency of 0 still runs one file"
        );
        let waiting = [
            RetryWaiting {
                attempt: 1,
                error: status(Side::UploadHost, 500, None),
            },
            Queued,
        ];
        assert_eq!(
            to_start(&waiting, 1),
            vec![1],
            "a file waiting to retry holds no slot"
        );
    }

    #[test]
    fn the_retry_schedule_backs_off_and_stops() {
        let policy = RetryPolicy {
            max_retries: 3,
            base_delay_ms: 1_000,
            max_delay_ms: 3_000,
            stall_timeout_ms: 0,
        };
        let outage = status(Side::UploadHost, 503, None);
        let delays: Vec<_> = (0..4)
            .map(|used| after_failure(&outage, used, &policy, 0.0))
            .collect();
        // With no jitter drawn, each wait is half its backoff: 1 s, 2 s, then the 3 s cap.
        assert_eq!(
            delays,
            vec![
                AfterFailure::RetryAfter {
                    attempt: 1,
                    delay_ms: 500
                },
                AfterFailure::RetryAfter {
                    attempt: 2,
                    delay_ms: 1_000
                },
                AfterFailure::RetryAfter {
                    attempt: 3,
                    delay_ms: 1_500
                },
                AfterFailure::GiveUp,
            ]
        );
        // Jitter: the same retry waits at least half the backoff, never zero.
        for random in [0.0, 0.25, 0.5, 0.99] {
            let AfterFailure::RetryAfter { delay_ms, .. } =
                after_failure(&outage, 1, &policy, random)
            else {
                panic!("retried")
            };
            assert!((1_000..=2_000).contains(&delay_ms), "{random}: {delay_ms}");
        }
    }

    #[test]
    fn permanent_failures_are_never_retried() {
        let policy = RetryPolicy::default();
        for error in [
            status(Side::UploadHost, 413, Some(5413)),
            status(Side::UploadHost, 415, Some(5455)),
            status(Side::UploadHost, 409, Some(5409)),
            UploadError::Rejected(Rejection::Unreadable),
            UploadError::NotConfirmed { id: "x".into() },
        ] {
            assert_eq!(
                after_failure(&error, 0, &policy, 0.5),
                AfterFailure::GiveUp,
                "{error}"
            );
        }
        for error in [
            status(Side::Backend, 500, None),
            status(Side::UploadHost, 503, Some(5503)),
            UploadError::Stalled { seconds: 30 },
        ] {
            assert!(
                matches!(
                    after_failure(&error, 0, &policy, 0.5),
                    AfterFailure::RetryAfter { .. }
                ),
                "{error} is passing"
            );
        }
    }

    #[test]
    fn cancel_works_in_every_unfinished_state_and_retry_only_where_it_can_help() {
        use UploadState::*;
        let failure = status(Side::UploadHost, 500, None);
        let all = [
            Checking,
            Queued,
            RequestingUrl,
            Uploading { sent: 1, total: 2 },
            RetryWaiting {
                attempt: 1,
                error: failure.clone(),
            },
            Failed {
                error: failure.clone(),
            },
            Failed {
                error: UploadError::Rejected(Rejection::Unreadable),
            },
            Cancelled,
        ];
        for state in &all {
            let cancelled = state.apply(crate::core::state::UploadEvent::Cancel);
            assert_eq!(
                state.can_cancel(),
                cancelled == Cancelled && *state != Cancelled,
                "{state:?}: can_cancel agrees with apply"
            );
            let retried = state.apply(crate::core::state::UploadEvent::Retry);
            assert_eq!(
                state.can_retry(),
                retried == Queued && *state != Queued,
                "{state:?}: can_retry agrees with apply"
            );
        }
    }

    #[test]
    fn a_batch_completes_once_when_every_file_has_finished() {
        let states = [
            UploadState::Cancelled,
            UploadState::Failed {
                error: UploadError::Rejected(Rejection::Unreadable),
            },
        ];
        let finished = BatchSummary::of(states.iter().map(|s| (10, s)));
        assert!(batch_completes(&finished, true));
        assert!(!batch_completes(&finished, false));
        let running = [UploadState::Cancelled, UploadState::Queued];
        let summary = BatchSummary::of(running.iter().map(|s| (10, s)));
        assert!(
            !batch_completes(&summary, true),
            "a queued file keeps it open"
        );
    }

    #[test]
    fn the_check_decodes_only_when_it_must() {
        let limits = Restrictions::default();
        assert_eq!(
            plan_check(&limits, None, 2_000, true),
            CheckPlan::Decided(Err(Rejection::Type { found: None })),
            "an unknown type is refused without decoding, even with downscale"
        );
        assert_eq!(
            plan_check(&Restrictions::off(), Some("image/png"), 2_000, false),
            CheckPlan::Decided(Ok(())),
            "no pixel limits, no downscale: nothing to measure"
        );
        assert!(matches!(
            plan_check(&limits, Some("image/png"), 20_000_000, false),
            CheckPlan::Decided(Err(Rejection::TooLarge { .. }))
        ));
        assert_eq!(
            after_measure(&limits, Ok(()), None, true),
            AfterMeasure::Decided(Err(Rejection::Unreadable))
        );
        assert_eq!(
            after_measure(
                &limits,
                Err(Rejection::TooLarge { size: 20, max: 10 }),
                Some((100, 100)),
                true
            ),
            AfterMeasure::Downscale {
                width: 100,
                height: 100
            },
            "too many bytes: re-encoded at the same size first"
        );
    }
}
