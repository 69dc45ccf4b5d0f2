//! Whole batches run through [`Queue`], as the shell would drive it, with the effects each
//! step answers checked: what a person would see happen, in microseconds and without a browser.

use super::tests::status;
use super::*;
use crate::core::error::Side;
use crate::core::wire::ErrorDetail;

/// A queue with a clock, playing the shell's part.
struct Batch {
    queue: Queue,
    ms: u64,
}

impl Batch {
    fn new(concurrency: usize) -> Self {
        Self::with(QueueConfig {
            concurrency,
            ..QueueConfig::default()
        })
    }

    fn with(config: QueueConfig) -> Self {
        Self {
            queue: Queue::new(config),
            ms: 1_000,
        }
    }

    fn on(&mut self, happened: Happened) -> Vec<Effect> {
        let effects = self.queue.handle(
            happened,
            Now {
                ms: self.ms,
                random: 0.0,
            },
        );
        // Whatever happened, the summary kept up to date equals one counted afresh.
        let keys = self.queue.keys_where(|_| true);
        let recount = BatchSummary::of(keys.iter().map(|key| {
            let index = self.queue.find(*key).unwrap();
            (self.queue.items[index].size, &self.queue.items[index].state)
        }));
        assert_eq!(
            self.queue.summary(),
            recount,
            "incremental summary after {effects:?}"
        );
        effects
    }

    /// Adds files `keys`, each `size` bytes, and passes their checks.
    fn add_checked(&mut self, keys: std::ops::Range<u32>, size: u64) -> Vec<Effect> {
        let mut effects = Vec::new();
        for key in keys.clone() {
            effects.extend(self.on(Happened::Added { key, size }));
        }
        for key in keys {
            effects.extend(self.on(Happened::Checked {
                key,
                verdict: Ok(()),
                size,
            }));
        }
        effects
    }

    fn url(&mut self, key: u32) -> Vec<Effect> {
        self.on(Happened::UrlAnswered {
            key,
            answer: Ok(target(key)),
        })
    }

    fn stored(&mut self, key: u32) -> Vec<Effect> {
        self.on(Happened::Sent {
            key,
            answer: Ok(image(key)),
        })
    }

    /// The upload host answers file `key` with a passing failure (503, code 5503).
    fn outage(&mut self, key: u32) -> Vec<Effect> {
        self.on(Happened::Sent {
            key,
            answer: Err(outage()),
        })
    }

    /// A list of one 100-byte file, checked and being sent.
    fn sending_one(config: QueueConfig) -> Self {
        let mut batch = Self::with(config);
        batch.add_checked(0..1, 100);
        batch.url(0);
        batch
    }

    /// The visitor cancels file 0 while the backend is asked about its image; the answer
    /// that comes late (stored, even) changes nothing and reports nothing.
    fn cancelled_then_answered(&mut self) {
        self.on(Happened::Cancel { key: 0 });
        assert_eq!(self.state(0), UploadState::Cancelled);
        let late = self.on(Happened::Verified {
            key: 0,
            answer: Ok(image(0)),
        });
        assert!(late.is_empty(), "{late:?}");
        assert_eq!(self.state(0), UploadState::Cancelled);
    }

    fn state(&self, key: u32) -> UploadState {
        self.queue.state(key).cloned().expect("in the list")
    }
}

fn target(key: u32) -> UploadTarget {
    UploadTarget {
        id: format!("id{key}"),
        upload_url: format!("https://upload.test/{key}"),
    }
}

fn image(key: u32) -> ImageRecord {
    ImageRecord {
        id: format!("id{key}"),
        filename: None,
        uploaded: None,
        require_signed_urls: false,
        variants: vec![],
        draft: false,
    }
}

fn outage() -> UploadError {
    UploadError::Status {
        side: Side::UploadHost,
        status: 503,
        detail: ErrorDetail {
            code: Some(5503),
            message: None,
        },
    }
}

/// The keys `pick` finds in `effects`, in order.
fn keys_of(effects: &[Effect], pick: impl Fn(&Effect) -> Option<u32>) -> Vec<u32> {
    effects.iter().filter_map(pick).collect()
}

/// The files sent, in order.
fn sends(effects: &[Effect]) -> Vec<u32> {
    keys_of(effects, |effect| match effect {
        Effect::Send { key, .. } => Some(*key),
        _ => None,
    })
}

/// The files that take a slot, in order.
fn starts(effects: &[Effect]) -> Vec<u32> {
    keys_of(effects, |effect| match effect {
        Effect::Started { key, .. } => Some(*key),
        _ => None,
    })
}

/// The files whose URL is asked for, in order.
fn requests(effects: &[Effect]) -> Vec<u32> {
    keys_of(effects, |effect| match effect {
        Effect::RequestUrl { key } => Some(*key),
        _ => None,
    })
}

#[test]
fn the_first_url_request_leaves_with_the_files_and_never_more_than_one_per_slot() {
    let mut batch = Batch::new(2);
    let mut effects = Vec::new();
    for key in 0..5 {
        effects.extend(batch.on(Happened::Added { key, size: 100 }));
    }
    assert_eq!(
        requests(&effects),
        vec![0, 1],
        "one URL per free slot is asked for while the files are still being checked"
    );
    assert!(
        sends(&effects).is_empty(),
        "nothing is sent before its check"
    );
}

#[test]
fn files_start_in_order_and_a_freed_slot_is_refilled_in_the_same_step() {
    let mut batch = Batch::new(2);
    batch.add_checked(0..5, 100);
    assert_eq!(batch.state(0), UploadState::RequestingUrl);
    assert_eq!(
        batch.state(2),
        UploadState::Queued,
        "two slots, two files running"
    );
    // An upload in its last megabytes is about to free its slot: the next URL is asked now.
    assert_eq!(
        batch.url(0),
        vec![
            Effect::Send {
                key: 0,
                target: target(0)
            },
            Effect::RequestUrl { key: 2 }
        ]
    );
    assert_eq!(
        batch.url(1),
        vec![
            Effect::Send {
                key: 1,
                target: target(1)
            },
            Effect::RequestUrl { key: 3 }
        ]
    );
    let effects = batch.on(Happened::Progress {
        key: 1,
        sent: 10,
        total: 100,
    });
    assert!(
        requests(&effects).is_empty(),
        "never more than one ahead per slot"
    );
    assert!(
        batch.url(2).is_empty(),
        "a URL asked ahead waits for its file's turn"
    );
    assert_eq!(batch.state(2), UploadState::Queued);

    assert_eq!(
        batch.stored(0),
        vec![
            Effect::Stored {
                key: 0,
                image: image(0)
            },
            Effect::Started { key: 2, attempt: 1 },
            Effect::Send {
                key: 2,
                target: target(2)
            },
            Effect::RequestUrl { key: 4 },
        ],
        "the freed slot sends the next file at once, and asks ahead for the one after"
    );
    assert_eq!(batch.state(3), UploadState::Queued);
    assert_eq!(batch.state(4), UploadState::Queued);
}

#[test]
fn a_file_whose_check_ends_first_still_starts_after_the_files_chosen_before_it() {
    let checked = |key| Happened::Checked {
        key,
        verdict: Ok(()),
        size: 100,
    };
    // One at a time: the second file's check ends first, and it waits for the first.
    let mut batch = Batch::new(1);
    batch.on(Happened::Added { key: 0, size: 100 });
    batch.on(Happened::Added { key: 1, size: 100 });
    assert!(starts(&batch.on(checked(1))).is_empty());
    assert_eq!(batch.state(1), UploadState::Queued);
    assert_eq!(starts(&batch.on(checked(0))), vec![0]);
    assert_eq!(
        batch.state(1),
        UploadState::Queued,
        "the only slot is taken"
    );
    // Three at a time: a file still being checked keeps its slot, the others go on.
    let mut batch = Batch::new(3);
    for key in 0..4 {
        batch.on(Happened::Added { key, size: 100 });
    }
    assert_eq!(starts(&batch.on(checked(1))), vec![1]);
    assert_eq!(starts(&batch.on(checked(2))), vec![2]);
    assert!(
        starts(&batch.on(checked(3))).is_empty(),
        "the third slot is the first file's, still being checked"
    );
    assert_eq!(starts(&batch.on(checked(0))), vec![0]);
    // A check that takes long (a photo re-encoded, a decode that never ends) keeps its slot
    // for CHECK_HOLD_MS only: a timer then lets the file after it go.
    let mut batch = Batch::new(1);
    let effects = batch.on(Happened::Added { key: 0, size: 100 });
    let turn = effects
        .iter()
        .find_map(|effect| match effect {
            Effect::Wait { key: 0, turn, ms } => {
                assert_eq!(u64::from(*ms), CHECK_HOLD_MS);
                Some(*turn)
            }
            _ => None,
        })
        .expect("a timer ends the hold, set as the check starts");
    batch.on(Happened::Added { key: 1, size: 100 });
    assert!(starts(&batch.on(checked(1))).is_empty());
    batch.ms += CHECK_HOLD_MS;
    assert_eq!(
        starts(&batch.on(Happened::WaitOver { key: 0, turn })),
        vec![1]
    );
    assert_eq!(
        batch.state(0),
        UploadState::Checking,
        "the timer changes nothing else"
    );
    assert!(
        starts(&batch.on(checked(0))).is_empty(),
        "the only slot is taken"
    );
}

#[test]
fn a_large_upload_asks_ahead_only_in_its_last_four_megabytes() {
    let mut batch = Batch::new(1);
    batch.add_checked(0..1, 8 << 20);
    batch.url(0);
    let effects = batch.on(Happened::Added {
        key: 1,
        size: 8 << 20,
    });
    assert!(
        requests(&effects).is_empty(),
        "the slot is busy for a while yet"
    );
    for (sent, asked, why) in [
        (
            3 << 20,
            vec![],
            "5 MB left: too early, the URL could expire",
        ),
        (5 << 20, vec![1], "3 MB left: ask now"),
    ] {
        let total = 8 << 20;
        let effects = batch.on(Happened::Progress {
            key: 0,
            sent,
            total,
        });
        assert_eq!(requests(&effects), asked, "{why}");
    }
}

#[test]
fn a_url_asked_ahead_that_grew_old_is_replaced_by_a_fresh_one() {
    let mut batch = Batch::new(1);
    batch.add_checked(0..2, 100);
    batch.url(0);
    assert!(batch.url(1).is_empty(), "kept for file 1");
    batch.ms += URL_FRESH_MS + 1;
    let effects = batch.stored(0);
    assert_eq!(
        effects[1..],
        [
            Effect::Started { key: 1, attempt: 1 },
            Effect::RequestUrl { key: 1 }
        ],
        "an old URL may have expired: a new one is asked for"
    );
}

#[test]
fn a_passing_failure_waits_then_tries_again_with_a_fresh_url() {
    let mut batch = Batch::sending_one(QueueConfig {
        concurrency: 1,
        ..QueueConfig::default()
    });
    let effects = batch.outage(0);
    assert_eq!(
        effects,
        vec![Effect::Wait {
            key: 0,
            turn: 1,
            ms: 500
        }]
    );
    assert!(matches!(
        batch.state(0),
        UploadState::RetryWaiting { attempt: 1, .. }
    ));
    let effects = batch.on(Happened::WaitOver { key: 0, turn: 1 });
    assert_eq!(
        effects,
        vec![
            Effect::Started { key: 0, attempt: 2 },
            Effect::RequestUrl { key: 0 }
        ],
        "a used URL is never posted to twice"
    );
    // Three retries by default, each waiting twice as long, then failed for good.
    for (turn, ms) in [(2, 1_000), (3, 2_000)] {
        batch.url(0);
        let effects = batch.outage(0);
        assert_eq!(effects, vec![Effect::Wait { key: 0, turn, ms }]);
        batch.on(Happened::WaitOver { key: 0, turn });
    }
    batch.url(0);
    let effects = batch.outage(0);
    assert_eq!(
        effects[0],
        Effect::Failed {
            key: 0,
            error: outage()
        }
    );
    assert!(matches!(
        effects[1],
        Effect::Completed(BatchSummary { failed: 1, .. })
    ));
}

#[test]
fn a_timer_from_an_earlier_wait_cannot_end_a_later_wait_early() {
    let mut batch = Batch::sending_one(QueueConfig {
        concurrency: 1,
        ..QueueConfig::default()
    });
    batch.outage(0);
    // Retried by hand during the wait, and failing again: a new wait starts.
    batch.on(Happened::Retry { key: 0 });
    batch.url(0);
    let effects = batch.outage(0);
    let Some(Effect::Wait { turn, .. }) = effects.first().cloned() else {
        panic!("waits again: {effects:?}")
    };
    assert!(batch.on(Happened::WaitOver { key: 0, turn: 1 }).is_empty());
    assert!(
        matches!(batch.state(0), UploadState::RetryWaiting { .. }),
        "the first wait's timer is stale"
    );
    assert!(!batch.on(Happened::WaitOver { key: 0, turn }).is_empty());
    assert_eq!(batch.state(0), UploadState::RequestingUrl);
}

#[test]
fn permanent_failures_and_failed_confirmations_are_not_retried() {
    let mut batch = Batch::with(QueueConfig {
        concurrency: 1,
        verify: true,
        ..QueueConfig::default()
    });
    batch.add_checked(0..2, 100);
    batch.url(0);
    let too_big = UploadError::Status {
        side: Side::UploadHost,
        status: 413,
        detail: ErrorDetail {
            code: Some(5413),
            message: None,
        },
    };
    let effects = batch.on(Happened::Sent {
        key: 0,
        answer: Err(too_big.clone()),
    });
    assert_eq!(
        effects[0],
        Effect::Failed {
            key: 0,
            error: too_big
        }
    );
    batch.url(1);
    let effects = batch.stored(1);
    assert_eq!(
        effects,
        vec![Effect::Verify {
            key: 1,
            id: "id1".into()
        }]
    );
    assert!(
        matches!(batch.state(1), UploadState::Uploading { .. }),
        "not stored until confirmed"
    );
    let unconfirmed = UploadError::NotConfirmed { id: "id1".into() };
    let effects = batch.on(Happened::Verified {
        key: 1,
        answer: Err(unconfirmed.clone()),
    });
    assert_eq!(
        effects[0],
        Effect::Failed {
            key: 1,
            error: unconfirmed
        }
    );
}

/// The files whose check starts, in order.
fn checks(effects: &[Effect]) -> Vec<u32> {
    keys_of(effects, |effect| match effect {
        Effect::Check { key } => Some(*key),
        _ => None,
    })
}

#[test]
fn a_cancelled_files_check_counts_until_it_ends() {
    let mut batch = Batch::new(1);
    let mut started = Vec::new();
    for key in 0..=CHECKS_AT_ONCE as u32 {
        started.extend(checks(&batch.on(Happened::Added { key, size: 100 })));
    }
    assert_eq!(started.len(), CHECKS_AT_ONCE, "{started:?}");
    // Cancelling does not stop the check in the browser: it still takes its place.
    assert!(checks(&batch.on(Happened::Cancel { key: 0 })).is_empty());
    let effects = batch.on(Happened::Checked {
        key: 0,
        verdict: Ok(()),
        size: 100,
    });
    assert_eq!(
        checks(&effects),
        vec![CHECKS_AT_ONCE as u32],
        "the next file's check starts once the cancelled one's has ended"
    );
}

#[test]
fn a_file_cancelled_while_checked_is_checked_again_when_retried() {
    let holds = |effects: &[Effect]| {
        keys_of(effects, |effect| match effect {
            Effect::Wait { key, ms, .. } if *ms == CHECK_HOLD_MS as u32 => Some(*key),
            _ => None,
        })
    };
    // Retried while its first check still runs: that check decides, no second one starts
    // (two would both re-encode the file, and the stale one could decide).
    let mut batch = Batch::new(1);
    assert_eq!(
        checks(&batch.on(Happened::Added { key: 0, size: 100 })),
        vec![0]
    );
    batch.on(Happened::Cancel { key: 0 });
    assert_eq!(batch.state(0), UploadState::Cancelled);
    let effects = batch.on(Happened::Retry { key: 0 });
    assert_eq!(
        batch.state(0),
        UploadState::Checking,
        "not queued unchecked"
    );
    assert!(checks(&effects).is_empty(), "{effects:?}");
    assert_eq!(
        holds(&effects),
        vec![0],
        "its hold on a slot ends by a timer again"
    );
    assert!(starts(&effects).is_empty(), "{effects:?}");
    // The check refuses it (say, the file is not an image after all): never sent.
    let effects = batch.on(Happened::Checked {
        key: 0,
        verdict: Err(Rejection::Unreadable),
        size: 100,
    });
    assert!(
        sends(&effects).is_empty() && starts(&effects).is_empty(),
        "{effects:?}"
    );
    assert!(matches!(batch.state(0), UploadState::Failed { .. }));

    // Retried after its first check ended unheard (the file was cancelled): checked afresh.
    let mut batch = Batch::new(1);
    batch.on(Happened::Added { key: 0, size: 100 });
    batch.on(Happened::Cancel { key: 0 });
    let late = batch.on(Happened::Checked {
        key: 0,
        verdict: Ok(()),
        size: 100,
    });
    assert!(late.is_empty(), "{late:?}");
    let effects = batch.on(Happened::Retry { key: 0 });
    assert_eq!(batch.state(0), UploadState::Checking);
    assert_eq!(checks(&effects), vec![0], "its check starts again");
    assert_eq!(holds(&effects), vec![0]);

    // A file cancelled after its check passed is not checked again.
    let mut batch = Batch::new(1);
    batch.add_checked(0..2, 100);
    batch.on(Happened::Cancel { key: 1 });
    let effects = batch.on(Happened::Retry { key: 1 });
    assert_eq!(batch.state(1), UploadState::Queued);
    assert!(checks(&effects).is_empty(), "{effects:?}");
}

#[test]
fn cancel_works_in_every_unfinished_state_and_late_answers_change_nothing() {
    // Checking, and a file whose URL was asked ahead: the URL goes to the next file.
    let mut batch = Batch::new(1);
    batch.on(Happened::Added { key: 0, size: 100 });
    batch.on(Happened::Added { key: 1, size: 100 });
    batch.url(0);
    assert!(batch.on(Happened::Cancel { key: 0 }).is_empty());
    assert_eq!(batch.state(0), UploadState::Cancelled);
    let effects = batch.on(Happened::Checked {
        key: 1,
        verdict: Ok(()),
        size: 100,
    });
    assert_eq!(
        sends(&effects),
        vec![1],
        "the cancelled file's unused URL went to the next file"
    );
    assert!(
        batch
            .on(Happened::Checked {
                key: 0,
                verdict: Ok(()),
                size: 100
            })
            .is_empty(),
        "a check ending after the cancel changes nothing"
    );
    assert_eq!(batch.state(0), UploadState::Cancelled);

    // Requesting its URL: the late URL goes to the next file.
    let mut batch = Batch::new(1);
    batch.add_checked(0..2, 100);
    batch.on(Happened::Cancel { key: 0 });
    let effects = batch.url(0);
    assert_eq!(
        sends(&effects),
        vec![1],
        "the cancelled file's URL went to the file holding a slot and waiting for one"
    );
    assert_eq!(batch.state(0), UploadState::Cancelled);
    assert!(
        batch.url(1).is_empty(),
        "file 1's own URL, arriving late, is not sent twice"
    );

    // Uploading: the request is aborted, and a late answer stores nothing.
    let mut batch = Batch::sending_one(QueueConfig {
        concurrency: 1,
        ..QueueConfig::default()
    });
    let effects = batch.on(Happened::Cancel { key: 0 });
    assert_eq!(effects[0], Effect::Abort { key: 0 });
    assert!(matches!(
        effects[1],
        Effect::Completed(BatchSummary { cancelled: 1, .. })
    ));
    assert!(batch.stored(0).is_empty(), "a late answer changes nothing");
    assert_eq!(batch.state(0), UploadState::Cancelled);

    // Waiting to retry: the timer's end changes nothing.
    let mut batch = Batch::sending_one(QueueConfig {
        concurrency: 1,
        ..QueueConfig::default()
    });
    batch.outage(0);
    batch.on(Happened::Cancel { key: 0 });
    assert!(batch.on(Happened::WaitOver { key: 0, turn: 1 }).is_empty());
    assert_eq!(batch.state(0), UploadState::Cancelled);

    // Being confirmed: the confirmation's answer changes nothing.
    let mut batch = Batch::with(QueueConfig {
        verify: true,
        ..QueueConfig::default()
    });
    batch.add_checked(0..1, 100);
    batch.url(0);
    batch.stored(0);
    batch.cancelled_then_answered();
}

#[test]
fn a_batch_completes_once_and_a_retry_opens_it_again() {
    let mut batch = Batch::new(3);
    batch.add_checked(0..2, 100);
    batch.url(0);
    batch.url(1);
    assert!(batch
        .stored(0)
        .iter()
        .all(|e| !matches!(e, Effect::Completed(_))));
    let effects = batch.on(Happened::Cancel { key: 1 });
    let completed: Vec<_> = effects
        .iter()
        .filter(|e| matches!(e, Effect::Completed(_)))
        .collect();
    assert_eq!(completed.len(), 1);
    assert!(
        batch.on(Happened::Remove { key: 1 }).is_empty(),
        "reported once"
    );
    batch.on(Happened::Added { key: 2, size: 100 });
    assert_eq!(batch.queue.summary().files, 2);
    let effects = batch.on(Happened::Checked {
        key: 2,
        verdict: Err(Rejection::Unreadable),
        size: 100,
    });
    assert!(
        matches!(
            effects.last(),
            Some(Effect::Completed(BatchSummary {
                done: 1,
                failed: 1,
                ..
            }))
        ),
        "{effects:?}"
    );
}

#[test]
fn files_past_max_files_are_listed_as_refused() {
    let mut batch = Batch::with(QueueConfig {
        max_files: Some(1),
        ..QueueConfig::default()
    });
    batch.on(Happened::Added { key: 0, size: 100 });
    let effects = batch.on(Happened::Added { key: 1, size: 100 });
    assert_eq!(
        effects[0],
        Effect::Failed {
            key: 1,
            error: UploadError::Rejected(Rejection::TooManyFiles { max: 1 })
        }
    );
    assert_eq!(
        batch.queue.summary().files,
        2,
        "listed, so the visitor sees why"
    );
}

#[test]
fn a_thousand_files_are_checked_a_few_at_a_time_in_order() {
    let mut batch = Batch::new(3);
    let mut checks = Vec::new();
    for key in 0..1_000 {
        for effect in batch.on(Happened::Added { key, size: 20_000 }) {
            if let Effect::Check { key } = effect {
                checks.push(key);
            }
        }
    }
    assert_eq!(checks, (0..CHECKS_AT_ONCE as u32).collect::<Vec<_>>());
    let effects = batch.on(Happened::Checked {
        key: 0,
        verdict: Ok(()),
        size: 20_000,
    });
    assert!(
        effects.contains(&Effect::Check {
            key: CHECKS_AT_ONCE as u32
        }),
        "{effects:?}"
    );
}

#[test]
fn a_url_refused_ahead_counts_as_a_failed_try_when_its_turn_comes() {
    let mut batch = Batch::new(1);
    batch.on(Happened::Added { key: 0, size: 100 });
    let down = UploadError::Network {
        side: Side::Backend,
        detail: "refused".into(),
    };
    batch.on(Happened::UrlAnswered {
        key: 0,
        answer: Err(down),
    });
    assert_eq!(
        batch.state(0),
        UploadState::Checking,
        "nothing shows before its turn"
    );
    let effects = batch.on(Happened::Checked {
        key: 0,
        verdict: Ok(()),
        size: 100,
    });
    assert_eq!(
        effects,
        vec![
            Effect::Started { key: 0, attempt: 1 },
            Effect::Wait {
                key: 0,
                turn: 1,
                ms: 500
            }
        ]
    );
}

#[test]
fn removing_a_file_frees_its_slot_and_its_counts() {
    let mut batch = Batch::new(1);
    batch.add_checked(0..2, 100);
    batch.url(0);
    let effects = batch.on(Happened::Remove { key: 0 });
    assert_eq!(effects[0], Effect::Abort { key: 0 });
    assert!(effects.contains(&Effect::Started { key: 1, attempt: 1 }));
    assert_eq!(batch.queue.summary().files, 1);
    assert!(batch.queue.state(0).is_none());
    assert!(batch.queue.take_changed().iter().all(|key| *key != 0));
}

/// The upload host's answer was lost: the connection dropped after the body left.
fn answer_lost() -> UploadError {
    UploadError::Network {
        side: Side::UploadHost,
        detail: "connection reset".into(),
    }
}

/// One upload at a time, each confirmed with the backend (which lets a retry ask first).
fn verifying() -> QueueConfig {
    QueueConfig {
        concurrency: 1,
        verify: true,
        ..QueueConfig::default()
    }
}

impl Batch {
    /// File 0 fails with `error` at `answer` (its try's host answer, or its confirmation):
    /// checks that it waits (wait number `turn`), then that at the wait's end the backend is
    /// asked about image `id0` before anything is sent.
    fn waits_then_asks(&mut self, answer: Happened, turn: u32) {
        let effects = self.on(answer);
        assert!(
            matches!(effects[..], [Effect::Wait { key: 0, turn: t, .. }] if t == turn),
            "waits: {effects:?}"
        );
        let effects = self.on(Happened::WaitOver { key: 0, turn });
        assert_eq!(
            effects.last(),
            Some(&Effect::Verify {
                key: 0,
                id: "id0".into()
            }),
            "asks about the earlier try first: {effects:?}"
        );
        assert!(sends(&effects).is_empty() && requests(&effects).is_empty());
    }

    /// The backend says file 0's image is stored: the file is done, nothing is sent.
    fn found_stored(&mut self) -> Vec<Effect> {
        let effects = self.on(Happened::Verified {
            key: 0,
            answer: Ok(image(0)),
        });
        assert!(sends(&effects).is_empty() && requests(&effects).is_empty());
        assert_eq!(
            effects[0],
            Effect::Stored {
                key: 0,
                image: image(0)
            }
        );
        assert_eq!(self.state(0), UploadState::Done { image: image(0) });
        effects
    }
}

fn lost(error: UploadError) -> Happened {
    Happened::Sent {
        key: 0,
        answer: Err(error),
    }
}

#[test]
fn a_try_whose_answer_was_lost_is_looked_up_and_a_stored_image_is_never_sent_again() {
    let mut batch = Batch::sending_one(verifying());
    batch.waits_then_asks(lost(answer_lost()), 1);
    batch.found_stored();
    assert_eq!(batch.queue.summary().done, 1);
}

#[test]
fn a_lost_answer_whose_image_is_still_a_draft_is_sent_again_with_a_fresh_url() {
    let mut batch = Batch::sending_one(verifying());
    batch.waits_then_asks(lost(UploadError::Stalled { seconds: 30 }), 1);
    // A stray URL arriving while the backend is asked is not used for it.
    let effects = batch.on(Happened::UrlAnswered {
        key: 0,
        answer: Ok(target(5)),
    });
    assert!(
        sends(&effects).is_empty(),
        "not sent while the earlier try is unknown"
    );
    // Still a draft: the file asks for a fresh URL and is sent with it.
    let effects = batch.on(Happened::Verified {
        key: 0,
        answer: Err(UploadError::NotConfirmed { id: "id0".into() }),
    });
    assert_eq!(effects, vec![Effect::RequestUrl { key: 0 }]);
    assert_eq!(sends(&batch.url(0)), vec![0]);
    // That second try is stored and confirmed: one image, and the batch completes.
    assert_eq!(
        batch.stored(0),
        vec![Effect::Verify {
            key: 0,
            id: "id0".into()
        }]
    );
    let effects = batch.found_stored();
    assert_eq!(
        effects.len(),
        2,
        "stored, then the batch completes: {effects:?}"
    );
}

#[test]
fn when_the_backend_cannot_say_the_file_waits_and_asks_again_and_never_sends_blind() {
    let mut batch = Batch::sending_one(verifying());
    batch.waits_then_asks(lost(status(Side::UploadHost, 502, None)), 1);
    let down = status(Side::Backend, 503, None);
    for turn in 2..=3 {
        let unanswered = Happened::Verified {
            key: 0,
            answer: Err(down.clone()),
        };
        batch.waits_then_asks(unanswered, turn);
    }
    // Retries used up: it fails with the last reason; nothing was ever sent again.
    let effects = batch.on(Happened::Verified {
        key: 0,
        answer: Err(down.clone()),
    });
    assert_eq!(
        effects[0],
        Effect::Failed {
            key: 0,
            error: down
        }
    );
    // A retry by hand asks about the same image first too.
    let effects = batch.on(Happened::Retry { key: 0 });
    assert_eq!(
        effects.last(),
        Some(&Effect::Verify {
            key: 0,
            id: "id0".into()
        })
    );
}

#[test]
fn refusals_and_failures_before_the_upload_are_retried_without_asking() {
    // A 4xx refusal from the host stored nothing, and it is not retried at all.
    let mut batch = Batch::sending_one(verifying());
    let refused = status(Side::UploadHost, 400, Some(5400));
    let effects = batch.on(lost(refused.clone()));
    assert_eq!(
        effects[0],
        Effect::Failed {
            key: 0,
            error: refused
        }
    );
    let retried_directly = vec![
        Effect::Started { key: 0, attempt: 2 },
        Effect::RequestUrl { key: 0 },
    ];
    // A backend that failed to hand out a URL: the retry goes straight to a new URL.
    let mut batch = Batch::with(verifying());
    batch.add_checked(0..1, 100);
    batch.on(Happened::UrlAnswered {
        key: 0,
        answer: Err(UploadError::Network {
            side: Side::Backend,
            detail: "down".into(),
        }),
    });
    let effects = batch.on(Happened::WaitOver { key: 0, turn: 1 });
    assert_eq!(effects, retried_directly);
    // Without `verify` there is no way to ask: a lost answer is retried directly.
    let mut batch = Batch::sending_one(QueueConfig {
        concurrency: 1,
        ..QueueConfig::default()
    });
    batch.on(lost(answer_lost()));
    let effects = batch.on(Happened::WaitOver { key: 0, turn: 1 });
    assert_eq!(effects, retried_directly);
}

#[test]
fn cancelling_while_the_backend_is_asked_ends_it_and_a_late_answer_changes_nothing() {
    let mut batch = Batch::sending_one(verifying());
    batch.add_checked(1..2, 100);
    batch.on(lost(answer_lost()));
    // File 1 takes the free slot meanwhile; then file 0's turn comes again.
    batch.url(1);
    batch.stored(1);
    batch.on(Happened::Verified {
        key: 1,
        answer: Ok(image(1)),
    });
    batch.on(Happened::WaitOver { key: 0, turn: 1 });
    batch.cancelled_then_answered();
}

#[test]
fn a_confirmation_the_backend_could_not_give_is_asked_again_and_the_file_is_not_sent_twice() {
    let mut batch = Batch::sending_one(verifying());
    batch.stored(0);
    let unanswered = Happened::Verified {
        key: 0,
        answer: Err(UploadError::Network {
            side: Side::Backend,
            detail: "connection reset".into(),
        }),
    };
    batch.waits_then_asks(unanswered, 1);
    batch.found_stored();
}

#[test]
fn a_url_already_used_after_a_dropped_connection_is_looked_up_not_failed() {
    // The browser re-sent the request on its own after the connection dropped: the host says
    // the URL was used, by this very file's first send.
    let used = status(Side::UploadHost, 409, Some(5409));
    let mut batch = Batch::sending_one(verifying());
    batch.waits_then_asks(lost(used.clone()), 1);
    batch.found_stored();
    // Without `verify` nothing can be asked, and a used URL fails the file as before.
    let mut batch = Batch::sending_one(QueueConfig {
        concurrency: 1,
        ..QueueConfig::default()
    });
    let effects = batch.on(lost(used.clone()));
    assert_eq!(
        effects[0],
        Effect::Failed {
            key: 0,
            error: used
        }
    );
}

#[test]
fn files_kept_across_a_reload_resume_and_a_try_that_may_have_stored_is_asked_about_first() {
    let mut batch = Batch::with(verifying());
    // Stored before the reload: shown done, nothing to do.
    let effects = batch.on(Happened::Resumed {
        key: 0,
        size: 100,
        tried: Some("id0".into()),
        image: Some(image(0)),
    });
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(batch.state(0), UploadState::Done { image: image(0) });
    // Being sent when the page reloaded: checked, then asked about, never sent blind.
    let effects = batch.on(Happened::Resumed {
        key: 1,
        size: 100,
        tried: Some("id1".into()),
        image: None,
    });
    assert_eq!(
        effects,
        vec![
            Effect::Check { key: 1 },
            Effect::Wait {
                key: 1,
                turn: 0,
                ms: CHECK_HOLD_MS as u32
            },
            Effect::RequestUrl { key: 1 }
        ]
    );
    let effects = batch.on(Happened::Checked {
        key: 1,
        verdict: Ok(()),
        size: 100,
    });
    assert_eq!(
        effects,
        vec![
            Effect::Started { key: 1, attempt: 1 },
            Effect::Verify {
                key: 1,
                id: "id1".into()
            },
        ]
    );
    // It was stored: done, one image, and the batch of two completes.
    let effects = batch.on(Happened::Verified {
        key: 1,
        answer: Ok(image(1)),
    });
    assert!(sends(&effects).is_empty());
    assert_eq!(
        effects[0],
        Effect::Stored {
            key: 1,
            image: image(1)
        }
    );
    assert!(matches!(effects.last(), Some(Effect::Completed(s)) if s.done == 2));
}

#[test]
fn the_start_is_over_once_every_slot_sends_or_nothing_waits() {
    let mut batch = Batch::new(2);
    assert!(
        batch.queue.slots_filled(),
        "an empty list has no start to wait for"
    );
    batch.add_checked(0..3, 100);
    assert!(
        !batch.queue.slots_filled(),
        "checked, but no upload on the wire yet"
    );
    batch.url(0);
    assert!(!batch.queue.slots_filled(), "one of two slots sends");
    batch.url(1);
    assert!(batch.queue.slots_filled(), "both slots send");

    // A small file may be stored before the other slot's first upload leaves.
    let mut batch = Batch::new(2);
    batch.add_checked(0..3, 100);
    batch.url(0);
    batch.stored(0);
    assert!(
        !batch.queue.slots_filled(),
        "one stored, the next not yet sent"
    );
    batch.url(1);
    assert!(batch.queue.slots_filled(), "one stored and one sending");

    // Files stored in an earlier batch do not count for the next batch's start.
    let mut batch = Batch::new(2);
    batch.add_checked(0..2, 100);
    batch.url(0);
    batch.url(1);
    batch.stored(0);
    batch.stored(1);
    batch.add_checked(2..4, 100);
    assert!(
        !batch.queue.slots_filled(),
        "two stored before, none of the new batch sent"
    );
    batch.url(2);
    batch.url(3);
    assert!(batch.queue.slots_filled(), "the new batch's two slots send");

    // Fewer files than slots: the start is over once they all send.
    let mut batch = Batch::new(3);
    batch.add_checked(0..1, 100);
    batch.url(0);
    assert!(batch.queue.slots_filled(), "the only file sends");

    // A file refused by its check waits for nothing.
    let mut batch = Batch::new(3);
    batch.on(Happened::Added { key: 0, size: 100 });
    assert!(!batch.queue.slots_filled(), "still being checked");
    batch.on(Happened::Checked {
        key: 0,
        verdict: Err(Rejection::Type { found: None }),
        size: 100,
    });
    assert!(
        batch.queue.slots_filled(),
        "refused: nothing left waits for a slot"
    );
}

/// Pins the bug where a large choice, listed a chunk at a time, was reported complete once
/// its first chunk was stored, before the rest had even joined the list.
#[test]
fn a_choice_still_joining_is_not_complete_when_its_first_files_are() {
    let mut batch = Batch::new(3);
    batch.on(Happened::Expect { files: 3 });
    batch.add_checked(0..1, 100);
    let effects = batch.url(0);
    assert!(sends(&effects).len() == 1, "{effects:?}");
    let effects = batch.stored(0);
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Completed(_))),
        "two chosen files have not joined yet: {effects:?}"
    );
    batch.add_checked(1..3, 100);
    batch.url(1);
    batch.url(2);
    batch.stored(1);
    let effects = batch.stored(2);
    assert!(
        matches!(effects.last(), Some(Effect::Completed(s)) if s.done == 3),
        "complete once all three are stored: {effects:?}"
    );
}
