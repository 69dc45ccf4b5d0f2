//! The list's rules: how many files run and which start, when a file's one-time URL is asked
//! for, whether a failed try is retried and after how long, when a batch is complete. They are
//! the rules most likely to change, so they live here, in pure Rust, where a native test runs
//! a whole batch in microseconds.
//!
//! [`Queue`] is the list as data. The browser shell tells it what happened (a [`Happened`]:
//! files added, a check's verdict, a URL arrived, the upload host answered, a timer fired, the
//! visitor cancelled) and does the [`Effect`]s it answers with (check this file, ask for a
//! URL, send, abort, wait, report). The small functions below it are the single rules it is
//! built from, each tested on its own.
//!
//! ```
//! use direct_upload::core::queue::{Effect, Happened, Queue, QueueConfig, Now, CHECK_HOLD_MS};
//!
//! let mut queue = Queue::new(QueueConfig { concurrency: 1, ..QueueConfig::default() });
//! let now = Now { ms: 0, random: 0.5 };
//! let effects = queue.handle(Happened::Added { key: 7, size: 1_000 }, now);
//! // Checking starts at once (with the timer that ends its hold on a slot), and so does the
//! // request for the URL the file will need.
//! let hold = Effect::Wait { key: 7, turn: 0, ms: CHECK_HOLD_MS as u32 };
//! assert_eq!(effects, vec![Effect::Check { key: 7 }, hold, Effect::RequestUrl { key: 7 }]);
//! ```

use std::borrow::Borrow;

use super::error::{Side, UploadError};
use super::state::{BatchSummary, RetryPolicy, UploadEvent, UploadState};
use super::validate::Rejection;
use super::wire::{ImageRecord, UploadTarget};

#[cfg(test)]
mod scenarios;

/// How many files are checked at once: checks read the file (and may decode it), so a
/// thousand files dropped together are checked a few at a time, in order, and the first ones
/// can start while the rest wait.
pub const CHECKS_AT_ONCE: usize = 4;

/// How long a file still being checked keeps a slot for itself, so that a later file whose
/// check ended first does not start before it (see [`to_start`]). A check reads a few hundred
/// bytes in a few milliseconds; one that re-encodes a large photo, or never ends (a decode the
/// browser never settles), lets the files after it go on after this long.
pub const CHECK_HOLD_MS: u64 = 1_000;

/// The timer that ends a check's hold on a slot after [`CHECK_HOLD_MS`]. It names the file's
/// turn: when it fires, the file is still being checked, or the timer is stale.
fn check_hold(key: u32, turn: u32) -> Effect {
    Effect::Wait {
        key,
        turn,
        ms: CHECK_HOLD_MS as u32,
    }
}

/// What a file whose check has kept its slot for [`CHECK_HOLD_MS`] counts as for
/// [`to_start`]: a file that neither starts nor keeps a slot.
static NOT_WAITING: UploadState = UploadState::Cancelled;

/// A URL asked for ahead of its file's turn is used only this long after it arrived. One-time
/// URLs expire (Cloudflare's shortest allowed expiry is two minutes); an older one is replaced
/// by a fresh request rather than risked.
pub const URL_FRESH_MS: u64 = 60_000;

/// A running upload with this many bytes or fewer left is about to free its slot: the next
/// file's URL is asked for now, so the slot is refilled in the same task it frees. Files up to
/// this size ask at the start of the upload before them (their whole upload is the "tail";
/// progress arrives too rarely to catch a short one). Even at 1 Mbit/s, 4 MiB take about
/// 34 s, well within [`URL_FRESH_MS`].
pub const TAIL_BYTES: u64 = 4 << 20;

/// What the queue is configured with (the parts of the settings its rules read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// Uploads at once (0 counts as 1).
    pub concurrency: usize,
    /// Most files in the list, if limited.
    pub max_files: Option<usize>,
    /// Retries and their backoff.
    pub retry: RetryPolicy,
    /// Whether each upload is confirmed with the backend before it counts as stored.
    pub verify: bool,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            concurrency: 3,
            max_files: None,
            retry: RetryPolicy::default(),
            verify: false,
        }
    }
}

/// The moment an event is handled: the clock (for the age of URLs asked for ahead) and a
/// uniform random number in [0, 1) (for retry jitter), passed in so the queue stays pure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Now {
    /// Milliseconds on any monotonic clock.
    pub ms: u64,
    /// Uniform in [0, 1).
    pub random: f64,
}

/// Something that happened, as the shell tells the queue.
#[derive(Debug, Clone, PartialEq)]
pub enum Happened {
    /// A file of `size` bytes joined the list under `key` (keys only grow).
    Added {
        /// The file's key.
        key: u32,
        /// Its size in bytes.
        size: u64,
    },
    /// `files` more files were chosen and will each join with [`Happened::Added`] (a large
    /// choice joins a chunk at a time): until they have, the batch is not complete, even if
    /// every file listed so far has finished.
    Expect {
        /// How many files are still to join.
        files: usize,
    },
    /// A file kept across a reload joined the list under `key`: stored already (`image`), or
    /// still to send, and then, if a try before the reload may have stored it (`tried`), that
    /// image is asked about before the file is sent again.
    Resumed {
        /// The file's key.
        key: u32,
        /// Its size in bytes.
        size: u64,
        /// The image id of the last try before the reload that may have stored it.
        tried: Option<String>,
        /// Its image, if it was stored before the reload.
        image: Option<ImageRecord>,
    },
    /// A file's check ended; `size` is its size now (smaller if it was re-encoded).
    Checked {
        /// The file's key.
        key: u32,
        /// Accepted, or why not.
        verdict: Result<(), Rejection>,
        /// Its size in bytes after the check.
        size: u64,
    },
    /// The backend answered a URL request made for `key`.
    UrlAnswered {
        /// The key the request was made for.
        key: u32,
        /// The one-time URL, or why there is none.
        answer: Result<UploadTarget, UploadError>,
    },
    /// The browser reported upload progress (`sent` of `total` bytes of the request body).
    Progress {
        /// The file's key.
        key: u32,
        /// Bytes sent.
        sent: u64,
        /// Bytes to send.
        total: u64,
    },
    /// The upload host answered (an aborted request answers nothing).
    Sent {
        /// The file's key.
        key: u32,
        /// The stored image, or why not.
        answer: Result<ImageRecord, UploadError>,
    },
    /// The backend answered what it knows of an image ([`Effect::Verify`]).
    Verified {
        /// The file's key.
        key: u32,
        /// The image's record if it is stored (no longer a draft), or why not
        /// ([`UploadError::NotConfirmed`] for a draft).
        answer: Result<ImageRecord, UploadError>,
    },
    /// The wait asked for by [`Effect::Wait`] is over.
    WaitOver {
        /// The file's key.
        key: u32,
        /// The wait's turn, as the effect gave it.
        turn: u32,
    },
    /// The visitor cancelled a file.
    Cancel {
        /// The file's key.
        key: u32,
    },
    /// The visitor asked to try a file again.
    Retry {
        /// The file's key.
        key: u32,
    },
    /// The visitor removed a file from the list.
    Remove {
        /// The file's key.
        key: u32,
    },
    /// The settings changed.
    Configured(QueueConfig),
}

impl Happened {
    /// Whether the visitor (or the page, for a setting) did it, rather than a request or a
    /// timer: what the visitor does is shown at once (see [`crate::core::pace`]).
    pub fn by_visitor(&self) -> bool {
        matches!(
            self,
            Self::Cancel { .. } | Self::Retry { .. } | Self::Remove { .. } | Self::Configured(_)
        )
    }
}

/// What the shell must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Check the file against the restrictions, then tell [`Happened::Checked`].
    Check {
        /// The file's key.
        key: u32,
    },
    /// Ask the backend for a one-time URL, then tell [`Happened::UrlAnswered`] with this key.
    RequestUrl {
        /// The key to answer with.
        key: u32,
    },
    /// The file takes an upload slot: report that try `attempt` starts.
    Started {
        /// The file's key.
        key: u32,
        /// 1 for the first try, 2 for the first retry, …
        attempt: u32,
    },
    /// POST the file to `target`, then tell [`Happened::Progress`] and [`Happened::Sent`].
    Send {
        /// The file's key.
        key: u32,
        /// Where to.
        target: UploadTarget,
    },
    /// Abort the file's running upload (it answers nothing afterwards).
    Abort {
        /// The file's key.
        key: u32,
    },
    /// Ask the backend whether image `id` is stored, then tell [`Happened::Verified`]. Used to
    /// confirm an upload, and before retrying a try that may have stored the file.
    Verify {
        /// The file's key.
        key: u32,
        /// The image id to confirm.
        id: String,
    },
    /// Wait `ms`, then tell [`Happened::WaitOver`] with this key and turn.
    Wait {
        /// The file's key.
        key: u32,
        /// Which wait this is (a stale timer names an older turn and is ignored).
        turn: u32,
        /// Milliseconds.
        ms: u32,
    },
    /// Report a stored file.
    Stored {
        /// The file's key.
        key: u32,
        /// Its image record.
        image: ImageRecord,
    },
    /// Report a file that failed for good.
    Failed {
        /// The file's key.
        key: u32,
        /// Why.
        error: UploadError,
    },
    /// Report that every file of the batch has finished.
    Completed(BatchSummary),
}

/// Where a file's one-time URL is.
#[derive(Debug, Clone, PartialEq, Default)]
enum Url {
    /// None asked for.
    #[default]
    None,
    /// Asked for; the answer will name this file's key.
    Asked,
    /// Here, since `at` ms.
    Ready { target: UploadTarget, at: u64 },
    /// The request asked ahead failed; the failure counts when the file's turn comes.
    Refused(UploadError),
}

/// One file as the queue sees it.
#[derive(Debug, Clone, PartialEq)]
struct Item {
    key: u32,
    size: u64,
    state: UploadState,
    /// Whether its check is running in the shell: from [`Effect::Check`] until its
    /// [`Happened::Checked`], also when the file was cancelled meanwhile (the check runs on,
    /// and counts towards [`CHECKS_AT_ONCE`]).
    check_running: bool,
    /// Whether a check has passed or refused it (a retry does not check it again).
    checked: bool,
    /// Whether its check has held a slot for [`CHECK_HOLD_MS`] (a timer says so).
    held_over: bool,
    /// Automatic retries used since it was added or retried by hand.
    retries: u32,
    /// Counts the waits it was given; a timer names its turn.
    turn: u32,
    url: Url,
    /// The image the host stored while the backend confirms it.
    confirming: Option<ImageRecord>,
    /// The image id of the try being sent.
    sending: Option<String>,
    /// The image id of an earlier try that may have stored the file (its answer was lost):
    /// asked about before the file is sent again, so it is never stored twice.
    unconfirmed: Option<String>,
    /// Whether the backend is being asked about `unconfirmed`.
    looking_up: bool,
}

impl Item {
    fn new(key: u32, size: u64, state: UploadState) -> Self {
        Self {
            key,
            size,
            state,
            check_running: false,
            checked: false,
            held_over: false,
            retries: 0,
            turn: 0,
            url: Url::None,
            confirming: None,
            sending: None,
            unconfirmed: None,
            looking_up: false,
        }
    }
}

/// The list's rules as a state machine over plain data: see the [module docs](self).
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    config: QueueConfig,
    items: Vec<Item>,
    summary: BatchSummary,
    /// Whether files were added or retried since the batch last completed.
    batch_open: bool,
    /// Files chosen that have not joined yet ([`Happened::Expect`]).
    expected: usize,
    /// Files stored since the batch last completed: with the files on the wire, what
    /// [`Queue::slots_filled`] counts (stored files of earlier batches do not).
    stored_in_batch: usize,
    /// Keys whose state changed since [`Queue::take_changed`], sorted, each once.
    changed: Vec<u32>,
}

impl Queue {
    /// An empty queue.
    pub fn new(config: QueueConfig) -> Self {
        Self {
            config,
            items: Vec::new(),
            summary: BatchSummary::default(),
            batch_open: false,
            expected: 0,
            stored_in_batch: 0,
            changed: Vec::new(),
        }
    }

    /// The batch summary, kept up to date as states change (not recounted).
    pub fn summary(&self) -> BatchSummary {
        self.summary
    }

    /// A file's state, if it is in the list.
    pub fn state(&self, key: u32) -> Option<&UploadState> {
        self.find(key).map(|index| &self.items[index].state)
    }

    /// The keys whose state changed since the last call, each once, in list order.
    pub fn take_changed(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.changed)
    }

    /// Notes that a key's state changed. The keys are kept sorted and each once as they come
    /// (a handful at a time), rather than sorted when taken: a sort of the whole is 3.5 KB of
    /// wasm, and this is the only one the bundle had.
    fn mark_changed(&mut self, key: u32) {
        if let Err(at) = self.changed.binary_search(&key) {
            self.changed.insert(at, key);
        }
    }

    /// Whether the start of a batch is over: as many files as there are upload slots are
    /// being sent or were stored in this batch (small files may be stored before the last
    /// slot's first upload leaves), or nothing waits for a slot. Until then the shell keeps main-thread
    /// work that can wait (drawing the new rows) out of the way of the first checks and URL
    /// answers, whose delivery it would delay.
    pub fn slots_filled(&self) -> bool {
        let sending = self
            .items
            .iter()
            .filter(|item| matches!(item.state, UploadState::Uploading { .. }))
            .count();
        sending + self.stored_in_batch >= self.config.concurrency.max(1)
            || !self.items.iter().any(|item| {
                matches!(
                    item.state,
                    UploadState::Checking | UploadState::Queued | UploadState::RequestingUrl
                )
            })
    }

    /// The keys of the files whose state passes `wanted`, in list order.
    pub fn keys_where(&self, wanted: impl Fn(&UploadState) -> bool) -> Vec<u32> {
        self.items
            .iter()
            .filter(|item| wanted(&item.state))
            .map(|item| item.key)
            .collect()
    }

    /// Takes in what happened and answers what to do; then fills free slots, asks for URLs
    /// ahead where a slot is about to free, and reports a completed batch.
    pub fn handle(&mut self, happened: Happened, now: Now) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.apply(happened, now, &mut effects);
        self.advance(now, &mut effects);
        effects
    }

    /// Appends a file to the list, counting it in the summary; a file still to send (or one
    /// just refused, which the page hears of too) opens the batch.
    fn list(&mut self, item: Item, opens_batch: bool) {
        self.summary.add(item.size, &item.state);
        self.batch_open |= opens_batch;
        self.mark_changed(item.key);
        self.items.push(item);
    }

    fn find(&self, key: u32) -> Option<usize> {
        // Keys only grow and the list keeps its order, so it is sorted by key.
        self.items.binary_search_by_key(&key, |item| item.key).ok()
    }

    /// Moves a file to a new state, keeping the summary and the changed keys right.
    fn set_state(&mut self, index: usize, state: UploadState) {
        let item = &mut self.items[index];
        if item.state == state {
            return;
        }
        self.summary.remove(item.size, &item.state);
        self.summary.add(item.size, &state);
        item.state = state;
        let key = item.key;
        self.mark_changed(key);
    }

    fn event(&mut self, index: usize, event: UploadEvent) {
        let next = self.items[index].state.apply(event);
        self.set_state(index, next);
    }

    fn apply(&mut self, happened: Happened, now: Now, effects: &mut Vec<Effect>) {
        match happened {
            Happened::Expect { files } => self.expected += files,
            Happened::Added { key, size } => {
                self.expected = self.expected.saturating_sub(1);
                let state = match admit(self.items.len(), self.config.max_files) {
                    Ok(()) => UploadState::Checking,
                    Err(rejection) => UploadState::Failed {
                        error: UploadError::Rejected(rejection),
                    },
                };
                if let UploadState::Failed { error } = &state {
                    effects.push(Effect::Failed {
                        key,
                        error: error.clone(),
                    });
                }
                self.list(Item::new(key, size, state), true);
            }
            Happened::Resumed {
                key,
                size,
                tried,
                image,
            } => {
                let state = match image {
                    Some(image) => UploadState::Done { image },
                    None => UploadState::Checking,
                };
                let opens_batch = !state.is_finished();
                let mut item = Item::new(key, size, state);
                // Without a way to ask, the file is sent again (the page chose so).
                item.unconfirmed = tried.filter(|_| self.config.verify);
                self.list(item, opens_batch);
            }
            Happened::Checked { key, verdict, size } => {
                let Some(index) = self.find(key) else { return };
                let item = &mut self.items[index];
                item.check_running = false;
                if !matches!(item.state, UploadState::Checking) {
                    return; // cancelled meanwhile: a retry checks it again
                }
                item.checked = true;
                self.summary.remove(item.size, &item.state);
                item.size = size;
                self.summary.add(item.size, &item.state);
                self.event(index, UploadEvent::Checked(verdict.clone()));
                if let Err(rejection) = verdict {
                    effects.push(Effect::Failed {
                        key,
                        error: UploadError::Rejected(rejection),
                    });
                    self.pass_on_url(index, now, effects);
                }
            }
            Happened::UrlAnswered { key, answer } => self.url_answered(key, answer, now, effects),
            Happened::Progress { key, sent, total } => {
                if let Some(index) = self.find(key) {
                    self.event(index, UploadEvent::Progress { sent, total });
                }
            }
            Happened::Sent { key, answer } => {
                let Some(index) = self.find(key) else { return };
                if !matches!(self.items[index].state, UploadState::Uploading { .. })
                    || self.items[index].confirming.is_some()
                {
                    return;
                }
                match answer {
                    Ok(image) if self.config.verify => {
                        effects.push(Effect::Verify {
                            key,
                            id: image.id.clone(),
                        });
                        self.items[index].confirming = Some(image);
                    }
                    Ok(image) => self.stored(index, image, effects),
                    Err(error) => self.try_failed(index, error, now, effects),
                }
            }
            Happened::Verified { key, answer } => {
                let Some(index) = self.find(key) else { return };
                let item = &mut self.items[index];
                if let Some(image) = item.confirming.take() {
                    match answer {
                        Ok(_) => self.stored(index, image, effects),
                        // The backend could not be asked: the image is asked about again
                        // after a wait, and never sent again unless it turns out a draft.
                        Err(error) if error.is_transient() => {
                            item.unconfirmed = Some(image.id);
                            self.try_failed(index, error, now, effects);
                        }
                        // The host stored it yet the backend calls it a draft: not retried.
                        Err(error) => self.failed_for_good(index, error, effects),
                    }
                } else if std::mem::take(&mut item.looking_up) {
                    self.looked_up(index, answer, now, effects);
                }
                // Otherwise it was cancelled while the backend was asked.
            }
            Happened::WaitOver { key, turn } => {
                let Some(index) = self.find(key) else { return };
                // Only the wait for this very retry: a retry by hand may have started a newer one.
                // (The timer of a check's hold names the turn of the file being checked.)
                let item = &mut self.items[index];
                if item.turn == turn {
                    item.held_over = true;
                    self.event(index, UploadEvent::RetryDue);
                }
            }
            Happened::Cancel { key } => {
                if let Some(index) = self.find(key) {
                    self.cancel(index, now, effects);
                }
            }
            Happened::Retry { key } => {
                let Some(index) = self.find(key) else { return };
                let item = &mut self.items[index];
                if item.state.can_retry() {
                    item.retries = 0;
                    // A timer still running for an automatic retry must not end a later wait.
                    item.turn += 1;
                    // Queued again, as `UploadEvent::Retry` queues every file that can retry.
                    let state = if item.checked {
                        UploadState::Queued
                    } else {
                        // Cancelled before its check ended: never sent unchecked. A check still
                        // running decides (one check at a time), with a hold timer of this turn.
                        item.held_over = false;
                        if item.check_running {
                            effects.push(check_hold(key, item.turn));
                        }
                        UploadState::Checking
                    };
                    self.set_state(index, state);
                    self.batch_open = true;
                }
            }
            Happened::Remove { key } => {
                let Some(index) = self.find(key) else { return };
                self.cancel(index, now, effects);
                let item = self.items.remove(index);
                self.summary.remove(item.size, &item.state);
                self.changed.retain(|changed| *changed != key);
            }
            Happened::Configured(config) => self.config = config,
        }
    }

    fn cancel(&mut self, index: usize, now: Now, effects: &mut Vec<Effect>) {
        let item = &mut self.items[index];
        if !item.state.can_cancel() {
            return;
        }
        if matches!(item.state, UploadState::Uploading { .. }) {
            effects.push(Effect::Abort { key: item.key });
        }
        item.confirming = None;
        item.looking_up = false;
        self.event(index, UploadEvent::Cancel);
        self.pass_on_url(index, now, effects);
    }

    fn stored(&mut self, index: usize, image: ImageRecord, effects: &mut Vec<Effect>) {
        self.stored_in_batch += 1;
        self.event(index, UploadEvent::Succeeded(image.clone()));
        effects.push(Effect::Stored {
            key: self.items[index].key,
            image,
        });
    }

    fn failed_for_good(&mut self, index: usize, error: UploadError, effects: &mut Vec<Effect>) {
        self.event(index, UploadEvent::Failed(error.clone()));
        effects.push(Effect::Failed {
            key: self.items[index].key,
            error,
        });
    }

    /// A try failed: waited for and tried again with a fresh URL when the failure passes
    /// and retries are left, failed for good otherwise.
    fn try_failed(
        &mut self,
        index: usize,
        error: UploadError,
        now: Now,
        effects: &mut Vec<Effect>,
    ) {
        let item = &mut self.items[index];
        let sent = item.sending.take();
        let asks_first = self.config.verify && may_have_stored(&error);
        if asks_first {
            // Asked about before the next send (see `start`).
            item.unconfirmed = sent.or(item.unconfirmed.take());
        }
        let used = item.retries;
        match after_failure(&error, used, &self.config.retry, now.random, asks_first) {
            AfterFailure::GiveUp => self.failed_for_good(index, error, effects),
            AfterFailure::RetryAfter { attempt, delay_ms } => {
                let item = &mut self.items[index];
                item.retries = attempt;
                item.turn += 1;
                item.url = Url::None;
                effects.push(Effect::Wait {
                    key: item.key,
                    turn: item.turn,
                    ms: delay_ms,
                });
                self.event(index, UploadEvent::WillRetry { error, attempt });
            }
        }
    }

    fn url_answered(
        &mut self,
        key: u32,
        answer: Result<UploadTarget, UploadError>,
        now: Now,
        effects: &mut Vec<Effect>,
    ) {
        let asked = self
            .find(key)
            .filter(|index| matches!(self.items[*index].url, Url::Asked));
        let Some(index) = asked else {
            // Its file is gone or has no use for it: a URL is not tied to a file, so the
            // next file waiting gets it; a failure for a file that is gone means nothing.
            if let Ok(target) = answer {
                self.give_url(target, now.ms, None, now, effects);
            }
            return;
        };
        match (&self.items[index].state, answer) {
            (UploadState::RequestingUrl, Ok(target)) if !self.items[index].looking_up => {
                self.items[index].url = Url::None;
                self.send(index, target, effects);
            }
            (UploadState::RequestingUrl, Err(error)) if !self.items[index].looking_up => {
                self.items[index].url = Url::None;
                self.try_failed(index, error, now, effects);
            }
            // Kept for later: not yet its turn, or an earlier try may have stored it.
            (
                UploadState::Checking | UploadState::Queued | UploadState::RequestingUrl,
                Ok(target),
            ) => {
                self.items[index].url = Url::Ready { target, at: now.ms };
            }
            (
                UploadState::Checking | UploadState::Queued | UploadState::RequestingUrl,
                Err(error),
            ) => {
                self.items[index].url = Url::Refused(error);
            }
            (_, answer) => {
                self.items[index].url = Url::None;
                if let Ok(target) = answer {
                    self.give_url(target, now.ms, Some(index), now, effects);
                }
            }
        }
    }

    /// A file leaving the line hands its unused URL to the next file that has none.
    fn pass_on_url(&mut self, index: usize, now: Now, effects: &mut Vec<Effect>) {
        if let Url::Ready { target, at } = std::mem::take(&mut self.items[index].url) {
            self.give_url(target, at, Some(index), now, effects);
        }
    }

    /// A URL its file has no use for goes, while fresh, to a file holding a slot and waiting
    /// for its own (sent at once), else to the first file in line without one.
    fn give_url(
        &mut self,
        target: UploadTarget,
        at: u64,
        except: Option<usize>,
        now: Now,
        effects: &mut Vec<Effect>,
    ) {
        if now.ms.saturating_sub(at) > URL_FRESH_MS {
            return;
        }
        let taker = |wanted: fn(&Item) -> bool| {
            self.items
                .iter()
                .enumerate()
                .position(|(index, item)| Some(index) != except && wanted(item))
        };
        if let Some(index) =
            taker(|item| matches!(item.state, UploadState::RequestingUrl) && !item.looking_up)
        {
            // Its own request's answer, when it comes, is passed on in turn.
            self.items[index].url = Url::None;
            self.send(index, target, effects);
        } else if let Some(index) = taker(|item| {
            matches!(item.state, UploadState::Checking | UploadState::Queued)
                && matches!(item.url, Url::None)
        }) {
            self.items[index].url = Url::Ready { target, at };
        }
    }

    fn send(&mut self, index: usize, target: UploadTarget, effects: &mut Vec<Effect>) {
        let total = self.items[index].size;
        self.items[index].sending = Some(target.id.clone());
        self.event(index, UploadEvent::UrlReceived { total });
        effects.push(Effect::Send {
            key: self.items[index].key,
            target,
        });
    }

    /// Fills free slots in list order, asks for URLs ahead, starts checks, and reports a
    /// completed batch.
    fn advance(&mut self, now: Now, effects: &mut Vec<Effect>) {
        // Checks first, so that a file's check starts before its URL is asked for.
        let mut checking = self.items.iter().filter(|item| item.check_running).count();
        for item in &mut self.items {
            if checking >= CHECKS_AT_ONCE {
                break;
            }
            if matches!(item.state, UploadState::Checking) && !item.check_running {
                item.check_running = true;
                checking += 1;
                effects.push(Effect::Check { key: item.key });
                effects.push(check_hold(item.key, item.turn));
            }
        }
        // A failed URL asked ahead frees its slot again at once, so loop until none frees.
        loop {
            let states: Vec<&UploadState> = self
                .items
                .iter()
                .map(|item| {
                    // A check that has held its slot long enough no longer does.
                    if item.held_over && matches!(item.state, UploadState::Checking) {
                        &NOT_WAITING
                    } else {
                        &item.state
                    }
                })
                .collect();
            let Some(&index) = to_start(&states, self.config.concurrency).first() else {
                break;
            };
            self.start(index, now, effects);
        }
        self.ask_ahead(effects);
        if self.expected == 0 && batch_completes(&self.summary, self.batch_open) {
            self.batch_open = false;
            self.stored_in_batch = 0;
            effects.push(Effect::Completed(self.summary));
        }
    }

    /// A queued file takes a slot. If an earlier try may have stored it, the backend is asked
    /// about that image first; otherwise it is sent ([`Queue::send_when_url`]).
    fn start(&mut self, index: usize, now: Now, effects: &mut Vec<Effect>) {
        let item = &self.items[index];
        effects.push(Effect::Started {
            key: item.key,
            attempt: item.retries + 1,
        });
        self.event(index, UploadEvent::Start);
        let item = &mut self.items[index];
        if let Some(id) = item.unconfirmed.clone() {
            item.looking_up = true;
            effects.push(Effect::Verify { key: item.key, id });
            return;
        }
        self.send_when_url(index, now, effects);
    }

    /// The backend answered about an earlier try's image: stored ends the file as a success
    /// (never sent twice); a draft or an unknown id means that try stored nothing, so the file
    /// is sent; no answer at all counts as a failed try (asked again at the next).
    fn looked_up(
        &mut self,
        index: usize,
        answer: Result<ImageRecord, UploadError>,
        now: Now,
        effects: &mut Vec<Effect>,
    ) {
        match answer {
            Ok(image) => {
                self.items[index].unconfirmed = None;
                self.pass_on_url(index, now, effects);
                self.stored(index, image, effects);
            }
            Err(error) if stored_nothing(&error) => {
                self.items[index].unconfirmed = None;
                self.send_when_url(index, now, effects);
            }
            Err(error) => self.try_failed(index, error, now, effects),
        }
    }

    /// A file holding a slot is sent: at once with a fresh URL; otherwise when the one asked
    /// for arrives, or after asking now.
    fn send_when_url(&mut self, index: usize, now: Now, effects: &mut Vec<Effect>) {
        match std::mem::take(&mut self.items[index].url) {
            Url::Ready { target, at } if now.ms.saturating_sub(at) <= URL_FRESH_MS => {
                self.send(index, target, effects)
            }
            Url::Asked => self.items[index].url = Url::Asked,
            Url::Refused(error) => self.try_failed(index, error, now, effects),
            Url::None | Url::Ready { .. } => {
                self.items[index].url = Url::Asked;
                effects.push(Effect::RequestUrl {
                    key: self.items[index].key,
                });
            }
        }
    }

    /// Asks for URLs ahead of their files' turn: one per slot that is free (its file is still
    /// being checked) or about to free (its upload is in its last [`TAIL_BYTES`]), and never
    /// more than one per slot.
    fn ask_ahead(&mut self, effects: &mut Vec<Effect>) {
        let concurrency = self.config.concurrency.max(1);
        let running = self.items.iter().filter(|i| i.state.is_active()).count();
        let ending = self
            .items
            .iter()
            .filter(|item| match item.state {
                UploadState::Uploading { sent, total } => total.saturating_sub(sent) <= TAIL_BYTES,
                _ => false,
            })
            .count();
        let wanted = (concurrency.saturating_sub(running) + ending).min(concurrency);
        let waiting =
            |item: &Item| matches!(item.state, UploadState::Checking | UploadState::Queued);
        let mut ahead = self
            .items
            .iter()
            .filter(|item| waiting(item) && !matches!(item.url, Url::None))
            .count();
        for item in &mut self.items {
            if ahead >= wanted {
                break;
            }
            if waiting(item) && matches!(item.url, Url::None) {
                item.url = Url::Asked;
                ahead += 1;
                effects.push(Effect::RequestUrl { key: item.key });
            }
        }
    }
}

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
/// [0, 1), passed in so that the rule stays a function. When the next try first asks the
/// backend about this one (`asks_first`), a failure that [may have stored](may_have_stored)
/// the file is retried too, whatever it was: the answer decides. That covers an unreadable
/// answer and "this URL has already been used" (code 5409), which is what a browser hears
/// when it re-sends a request on its own after the connection dropped.
///
/// ```
/// use direct_upload::core::queue::{after_failure, AfterFailure};
/// use direct_upload::api::ErrorDetail;
/// use direct_upload::{RetryPolicy, Side, UploadError};
///
/// let down = UploadError::Network { side: Side::Backend, detail: "refused".into() };
/// let policy = RetryPolicy::default();
/// assert_eq!(after_failure(&down, 0, &policy, 0.0, false), AfterFailure::RetryAfter { attempt: 1, delay_ms: 500 });
/// assert_eq!(after_failure(&down, 3, &policy, 0.0, false), AfterFailure::GiveUp);
/// let used = UploadError::Status { side: Side::UploadHost, status: 409, detail: ErrorDetail { code: Some(5409), message: None } };
/// assert_eq!(after_failure(&used, 0, &policy, 0.0, false), AfterFailure::GiveUp);
/// assert_eq!(after_failure(&used, 0, &policy, 0.0, true), AfterFailure::RetryAfter { attempt: 1, delay_ms: 500 });
/// ```
pub fn after_failure(
    error: &UploadError,
    retries_used: u32,
    policy: &RetryPolicy,
    random: f64,
    asks_first: bool,
) -> AfterFailure {
    let retryable = error.is_transient() || (asks_first && may_have_stored(error));
    if !retryable || retries_used >= policy.max_retries {
        return AfterFailure::GiveUp;
    }
    let attempt = retries_used + 1;
    AfterFailure::RetryAfter {
        attempt,
        delay_ms: policy.delay_ms(attempt, random),
    }
}

/// Whether a failed send may still have stored the file: the upload host took the request
/// and its answer was lost (connection dropped, no answer within the watchdog, a 5xx from a
/// proxy or after the commit, an unreadable 2xx), or the URL turned out used (code 5409: the
/// browser re-sends a request by itself when a reused connection drops without an answer, and
/// the first one may have been stored). Other refusals (4xx) stored nothing, and the backend
/// never stores.
///
/// ```
/// use direct_upload::core::queue::may_have_stored;
/// use direct_upload::{Side, UploadError};
///
/// let reset = UploadError::Network { side: Side::UploadHost, detail: "connection reset".into() };
/// let backend_down = UploadError::Network { side: Side::Backend, detail: "refused".into() };
/// assert!(may_have_stored(&reset));
/// assert!(may_have_stored(&UploadError::Stalled { seconds: 30 }));
/// assert!(!may_have_stored(&backend_down));
/// ```
pub fn may_have_stored(error: &UploadError) -> bool {
    match error {
        UploadError::Network { side, .. } | UploadError::Malformed { side, .. } => {
            *side == Side::UploadHost
        }
        UploadError::Status {
            side,
            status,
            detail,
        } => *side == Side::UploadHost && (*status >= 500 || detail.code == Some(URL_USED)),
        UploadError::Stalled { .. } => true,
        UploadError::NotConfirmed { .. } | UploadError::Rejected(_) | UploadError::Browser(_) => {
            false
        }
    }
}

/// Cloudflare's code for an upload URL that was already used.
const URL_USED: u64 = 5409;

/// Whether the backend's answer about an image says that it was never stored: still a draft,
/// or not found.
///
/// ```
/// use direct_upload::core::queue::stored_nothing;
/// use direct_upload::api::ErrorDetail;
/// use direct_upload::{Side, UploadError};
///
/// assert!(stored_nothing(&UploadError::NotConfirmed { id: "a".into() }));
/// let missing = UploadError::Status { side: Side::Backend, status: 404, detail: ErrorDetail::default() };
/// let down = UploadError::Status { side: Side::Backend, status: 503, detail: ErrorDetail::default() };
/// assert!(stored_nothing(&missing));
/// assert!(!stored_nothing(&down), "unknown: asked again before sending");
/// ```
pub fn stored_nothing(error: &UploadError) -> bool {
    matches!(
        error,
        UploadError::NotConfirmed { .. }
            | UploadError::Status {
                side: Side::Backend,
                status: 404,
                ..
            }
    )
}

/// Which queued files start now, by their place in the list: the first queued ones, in the
/// order they were added, as many as there are free slots (`concurrency` minus the files
/// asking for a URL or sending). A file still being checked keeps a slot for itself, so a
/// later file whose check ended first does not start before it: files start in the order
/// chosen, also one at a time (the queue lets a check hold its slot for [`CHECK_HOLD_MS`]).
/// A URL is asked for only when its file starts (or just before, see `Queue::ask_ahead`), so
/// none expires while waiting.
///
/// ```
/// use direct_upload::core::queue::to_start;
/// use direct_upload::UploadState;
///
/// let list = [UploadState::RequestingUrl, UploadState::Queued, UploadState::Queued, UploadState::Checking, UploadState::Queued];
/// assert_eq!(to_start(&list, 3), vec![1, 2]);
/// // The first file is still being checked: the second waits for it, not for a slot.
/// let list = [UploadState::Checking, UploadState::Queued];
/// assert_eq!(to_start(&list, 1), Vec::<usize>::new());
/// assert_eq!(to_start(&list, 2), vec![1]);
/// ```
pub fn to_start<S: Borrow<UploadState>>(states: &[S], concurrency: usize) -> Vec<usize> {
    let running = states.iter().filter(|s| (*s).borrow().is_active()).count();
    let mut free = concurrency.max(1).saturating_sub(running);
    let mut start = Vec::new();
    for (index, state) in states.iter().enumerate() {
        if free == 0 {
            break;
        }
        match state.borrow() {
            UploadState::Queued => start.push(index),
            UploadState::Checking => {}
            _ => continue,
        }
        free -= 1;
    }
    start
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::Side;
    use crate::core::wire::ErrorDetail;

    /// A failure with an HTTP status and maybe Cloudflare's code (shared with the scenarios).
    pub(super) fn status(side: Side, status: u16, code: Option<u64>) -> UploadError {
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
            .map(|used| after_failure(&outage, used, &policy, 0.0, false))
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
                after_failure(&outage, 1, &policy, random, false)
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
                after_failure(&error, 0, &policy, 0.5, false),
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
                    after_failure(&error, 0, &policy, 0.5, false),
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
}
