//! The reactive shell around the core: it holds the list (each entry with its signals, its
//! `File` and its running upload), asks [`crate::core::queue`] what to do, does it through
//! [`crate::browser`], and reports to the host page. It is `Copy` (arena handles), so event
//! handlers and views can all hold it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::File;

use crate::api::{parse_error_detail, parse_image_record, ImageRecord};
use crate::backend::{request_upload_target, verify_uploaded, BackendConfig};
use crate::browser::timer;
use crate::browser::transport::{UploadOutcome, XhrUpload};
use crate::core::queue::{
    admit, after_failure, after_measure, batch_completes, downscale_sizes, plan_check, to_start,
    AfterFailure, AfterMeasure, CheckPlan,
};
use crate::error::{Side, UploadError};
use crate::i18n::Lang;
use crate::image_tools;
use crate::queue::{BatchSummary, RetryPolicy, UploadEvent, UploadState};
use crate::validate::{self, Rejection, Restrictions};

/// One file in the widget's list: its signals, the browser's `File` and its running upload,
/// all in one place and all disposed together when the file is removed.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// Stable key for the list and for the browser handles.
    pub key: u32,
    /// File name (changes when the file is re-encoded).
    pub name: RwSignal<String>,
    /// Size in bytes (changes when the file is re-encoded).
    pub size: RwSignal<u64>,
    /// Pixel size, once known.
    pub pixels: RwSignal<Option<(u32, u32)>>,
    /// Where the upload is.
    pub state: RwSignal<UploadState>,
    /// Automatic retries used so far.
    retries: StoredValue<u32>,
    /// Counts scheduled retries (never reset), so a timer from an earlier wait cannot end a
    /// later one early after a retry by hand.
    scheduled: StoredValue<u32>,
    /// The file (replaced when it is re-encoded); its bytes never enter wasm memory.
    file: StoredValue<File, LocalStorage>,
    /// The request sending it, while one runs (dropping it aborts the request).
    upload: StoredValue<Option<XhrUpload>, LocalStorage>,
}

impl FileEntry {
    /// Whether the entry is still in the list: async work checks this after every wait,
    /// since a removed entry's signals are disposed.
    fn alive(&self) -> bool {
        self.state.try_get_untracked().is_some()
    }

    /// Frees the entry's signals and values; a running upload is aborted (dropped).
    fn dispose(&self) {
        self.name.dispose();
        self.size.dispose();
        self.pixels.dispose();
        self.state.dispose();
        self.retries.dispose();
        self.scheduled.dispose();
        self.file.dispose();
        self.upload.dispose();
    }
}

/// A failed file, as the `on_error` callback receives it.
///
/// ```no_run
/// use direct_upload::{DirectUpload, FileFailure};
/// use leptos::prelude::*;
///
/// # fn page() -> impl IntoView {
/// view! {
///     <DirectUpload
///         backend="/api/direct-upload"
///         on_error=Callback::new(|failure: FileFailure| leptos::logging::warn!("{}: {}", failure.file_name, failure.error))
///     />
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFailure {
    /// Name of the file.
    pub file_name: String,
    /// Why it failed.
    pub error: UploadError,
    /// What the screen shows for it, in the widget's language: events and `state()` carry
    /// this same text, so a page never shows the visitor a second wording.
    pub message: String,
}

/// A file whose upload starts, as the `on_start` callback receives it.
///
/// ```no_run
/// use direct_upload::{DirectUpload, FileStarted};
/// use leptos::prelude::*;
///
/// # fn page() -> impl IntoView {
/// view! {
///     <DirectUpload
///         backend="/api/direct-upload"
///         on_start=Callback::new(|started: FileStarted| leptos::logging::log!("{} (try {})", started.file_name, started.attempt))
///     />
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStarted {
    /// Name of the file.
    pub file_name: String,
    /// Size in bytes.
    pub size: u64,
    /// 1 for the first try, 2 for the first retry, …
    pub attempt: u32,
}

/// Callbacks to the host page.
#[derive(Clone, Default)]
pub struct Callbacks {
    /// Runs when a file starts a try (asks for its upload URL).
    pub on_start: Option<Callback<FileStarted>>,
    /// Runs with the image record of each stored file.
    pub on_success: Option<Callback<ImageRecord>>,
    /// Runs with each failed file.
    pub on_error: Option<Callback<FileFailure>>,
    /// Runs on every progress event and state change.
    pub on_progress: Option<Callback<BatchSummary>>,
    /// Runs once each time the whole batch has finished.
    pub on_complete: Option<Callback<BatchSummary>>,
}

/// Everything the queue is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How to reach the backend.
    pub backend: BackendConfig,
    /// Where to confirm an upload (`{verify}/{id}`), if anywhere.
    pub verify: Option<String>,
    /// Uploads at once.
    pub concurrency: usize,
    /// What is accepted.
    pub restrictions: Restrictions,
    /// Retries and stall detection.
    pub retry: RetryPolicy,
    /// Re-encode images over the limits instead of refusing them.
    pub downscale: bool,
    /// Language of every string.
    pub lang: Lang,
    /// The file picker's `accept` filter.
    pub picker_accept: String,
}

/// The queue: file list, browser handles that are not `Send`, and settings.
#[derive(Clone, Copy)]
pub struct Uploader {
    /// The files, in the order they were added.
    pub entries: RwSignal<Vec<FileEntry>>,
    /// The latest sentence for the polite live region.
    pub announcement: RwSignal<String>,
    next_key: StoredValue<u32>,
    settings: RwSignal<Settings>,
    callbacks: StoredValue<Callbacks>,
    /// Whether files were added since the last `on_complete`.
    batch_open: StoredValue<bool>,
}

impl Uploader {
    /// A queue with these settings and callbacks.
    pub fn new(settings: Settings, callbacks: Callbacks) -> Self {
        Self {
            entries: RwSignal::new(Vec::new()),
            announcement: RwSignal::new(String::new()),
            next_key: StoredValue::new(0),
            settings: RwSignal::new(settings),
            callbacks: StoredValue::new(callbacks),
            batch_open: StoredValue::new(false),
        }
    }

    /// Whether the widget still exists: work that resumes after a wait checks this, since an
    /// unmounted widget's signals are gone.
    fn alive(&self) -> bool {
        self.entries.try_with_untracked(|_| ()).is_some()
    }

    /// Aborts every running request without reporting anything: the widget is going away.
    pub fn shut_down(&self) {
        let entries = self.entries.try_get_untracked().unwrap_or_default();
        for entry in entries {
            if let Some(Some(upload)) = entry.upload.try_update_value(Option::take) {
                upload.abort();
            }
        }
    }

    /// The queue's language (reactive: views that show text follow a change of language).
    pub fn lang(&self) -> Lang {
        self.settings.try_with(|s| s.lang).unwrap_or_default()
    }

    /// The file picker's `accept` filter (reactive).
    pub fn picker_accept(&self) -> String {
        self.settings
            .try_with(|s| s.picker_accept.clone())
            .unwrap_or_default()
    }

    /// The queue's language, read without subscribing.
    pub fn lang_untracked(&self) -> Lang {
        self.settings
            .try_with_untracked(|s| s.lang)
            .unwrap_or_default()
    }

    /// Changes settings while the widget runs; files already added keep going.
    pub fn configure(&self, change: impl FnOnce(&mut Settings)) {
        self.settings.update(change);
        self.pump();
    }

    /// The file behind an entry, if it is still in the list.
    pub fn file(&self, key: u32) -> Option<File> {
        self.entry(key).and_then(|entry| entry.file.try_get_value())
    }

    fn summarize(entries: &[FileEntry], tracked: bool) -> BatchSummary {
        let states: Vec<(u64, UploadState)> = entries
            .iter()
            .map(|e| {
                if tracked {
                    (e.size.get(), e.state.get())
                } else {
                    (e.size.get_untracked(), e.state.get_untracked())
                }
            })
            .collect();
        BatchSummary::of(states.iter().map(|(size, state)| (*size, state)))
    }

    /// The batch summary (reactive: read it inside a closure or `Memo`).
    pub fn summary(&self) -> BatchSummary {
        self.entries.with(|entries| Self::summarize(entries, true))
    }

    fn summary_untracked(&self) -> BatchSummary {
        self.entries
            .with_untracked(|entries| Self::summarize(entries, false))
    }

    /// Adds files: each is checked against the restrictions, then queued. Files past
    /// `max_files` are listed as refused, so the user sees why.
    pub fn add_files(&self, files: impl IntoIterator<Item = File>) {
        let (max_files, mut count) = (
            self.settings.with_untracked(|s| s.restrictions.max_files),
            self.entries.with_untracked(|entries| entries.len()),
        );
        let mut added = Vec::new();
        for file in files {
            let key = self.next_key.get_value();
            self.next_key.set_value(key + 1);
            let state = match admit(count, max_files) {
                Ok(()) => UploadState::Checking,
                Err(rejection) => UploadState::Failed {
                    error: UploadError::Rejected(rejection),
                },
            };
            count += 1;
            added.push(FileEntry {
                key,
                name: RwSignal::new(file.name()),
                size: RwSignal::new(file.size() as u64),
                pixels: RwSignal::new(None),
                state: RwSignal::new(state),
                retries: StoredValue::new(0),
                scheduled: StoredValue::new(0),
                file: StoredValue::new_local(file),
                upload: StoredValue::new_local(None),
            });
        }
        if added.is_empty() {
            return;
        }
        self.batch_open.set_value(true);
        self.entries
            .update(|entries| entries.extend(added.iter().cloned()));
        for entry in added {
            if entry.state.get_untracked() == UploadState::Checking {
                let uploader = *self;
                spawn_local(async move { uploader.check(entry).await });
            } else if let UploadState::Failed { error } = entry.state.get_untracked() {
                self.report_failure(&entry, error);
            }
        }
        self.pump();
    }

    /// Checks one file: its type from its first bytes, its size, and (for raster images) its
    /// pixel size as the browser decodes it. With `downscale`, an image over the limits is
    /// re-encoded to fit instead of being refused.
    async fn check(self, entry: FileEntry) {
        let Some(file) = entry.file.try_get_value() else {
            return;
        };
        let settings = self.settings.get_untracked();
        let restrictions = &settings.restrictions;
        let head = image_tools::read_head(&file, validate::HEAD_BYTES)
            .await
            .unwrap_or_default();
        if !(self.alive() && entry.alive()) {
            return;
        }
        let found = validate::sniff_type(&head);
        let size = entry.size.get_untracked();
        let verdict = match plan_check(restrictions, found, size, settings.downscale) {
            CheckPlan::Decided(verdict) => verdict,
            CheckPlan::Measure { so_far } => {
                let pixels = image_tools::pixel_size(&file).await;
                if !(self.alive() && entry.alive()) {
                    return;
                }
                if pixels.is_some() {
                    entry.pixels.set(pixels);
                }
                match after_measure(restrictions, so_far, pixels, settings.downscale) {
                    AfterMeasure::Decided(verdict) => verdict,
                    AfterMeasure::Downscale { width, height } => {
                        self.downscale(&entry, &file, width, height, restrictions)
                            .await
                    }
                }
            }
        };
        if !(self.alive() && entry.alive()) {
            return;
        }
        entry
            .state
            .update(|s| *s = s.apply(UploadEvent::Checked(verdict.clone())));
        if let Err(rejection) = verdict {
            // Unless the file was cancelled or removed while it was being checked.
            if matches!(entry.state.get_untracked(), UploadState::Failed { .. }) {
                self.report_failure(&entry, UploadError::Rejected(rejection));
            }
        }
        self.pump();
    }

    /// Replaces a file that is over the limits by a re-encoded one that fits in
    /// `width`×`height` and the byte limit, trying smaller sizes if quality alone cannot.
    async fn downscale(
        &self,
        entry: &FileEntry,
        file: &File,
        width: u32,
        height: u32,
        r: &Restrictions,
    ) -> Result<(), Rejection> {
        for (w, h) in downscale_sizes(width, height) {
            let made = image_tools::downscale(file, w, h, r.max_bytes).await;
            if !(self.alive() && entry.alive()) {
                // Removed meanwhile: the verdict will not be applied.
                return Ok(());
            }
            if let Ok(smaller) = made {
                entry.name.set(smaller.name());
                entry.size.set(smaller.size() as u64);
                entry.pixels.set(Some((w, h)));
                entry.file.set_value(smaller);
                return Ok(());
            }
        }
        Err(Rejection::TooLarge {
            size: file.size() as u64,
            max: r.max_bytes,
        })
    }

    fn entry(&self, key: u32) -> Option<FileEntry> {
        self.entries
            .with_untracked(|entries| entries.iter().find(|e| e.key == key).cloned())
    }

    /// Starts queued files while slots are free. A URL is asked for only when its file starts,
    /// so none expires while waiting in the queue.
    fn pump(&self) {
        if !self.alive() {
            return;
        }
        let entries = self.entries.get_untracked();
        let concurrency = self.settings.with_untracked(|s| s.concurrency);
        let states: Vec<UploadState> = entries.iter().map(|e| e.state.get_untracked()).collect();
        for index in to_start(&states, concurrency) {
            let entry = entries[index].clone();
            entry.state.update(|s| *s = s.apply(UploadEvent::Start));
            let uploader = *self;
            spawn_local(async move { uploader.run(entry).await });
        }
        self.report_progress();
        self.check_complete();
    }

    async fn run(self, entry: FileEntry) {
        let settings = self.settings.get_untracked();
        if let Some(callback) = self.callbacks.with_value(|c| c.on_start) {
            let started = FileStarted {
                file_name: entry.name.get_untracked(),
                size: entry.size.get_untracked(),
                attempt: entry.retries.get_value() + 1,
            };
            callback.run(started);
        }
        // Every try asks for a fresh URL: a used or expired one is never posted to twice.
        let target = request_upload_target(&settings.backend).await;
        if entry.state.try_get_untracked() != Some(UploadState::RequestingUrl) {
            // Cancelled or removed while the URL was on its way.
            return self.pump();
        }
        let target = match target {
            Ok(target) => target,
            Err(error) => return self.fail(&entry, error),
        };
        let Some(file) = entry.file.try_get_value() else {
            return self.pump();
        };
        entry.state.update(|s| {
            *s = s.apply(UploadEvent::UrlReceived {
                total: entry.size.get_untracked(),
            })
        });
        let state = entry.state;
        let uploader = self;
        let upload = match XhrUpload::start(
            &target.upload_url,
            &file,
            settings.retry.stall_timeout_ms,
            move |sent, total| {
                state.try_update(|s| *s = s.apply(UploadEvent::Progress { sent, total }));
                uploader.report_progress();
            },
        ) {
            Ok(upload) => upload,
            Err(error) => return self.fail(&entry, error),
        };
        let finished = upload.finished();
        entry.upload.set_value(Some(upload));
        let _ = finished.await;
        // Gone if the file was cancelled (the upload was taken and aborted) or removed.
        let Some(upload) = entry.upload.try_update_value(Option::take).flatten() else {
            return self.pump();
        };
        let image = match upload.outcome() {
            UploadOutcome::Aborted => return self.pump(),
            UploadOutcome::Failed(error) => return self.fail(&entry, error),
            UploadOutcome::Answered(answer) if (200..300).contains(&answer.status) => {
                match parse_image_record(&answer.body) {
                    Ok(image) => image,
                    Err(malformed) => {
                        return self.fail(
                            &entry,
                            UploadError::Malformed {
                                side: Side::UploadHost,
                                detail: malformed.0,
                            },
                        )
                    }
                }
            }
            UploadOutcome::Answered(answer) => {
                let detail = parse_error_detail(&answer.body);
                return self.fail(
                    &entry,
                    UploadError::Status {
                        side: Side::UploadHost,
                        status: answer.status,
                        detail,
                    },
                );
            }
        };
        if let Some(verify) = &settings.verify {
            let verified = verify_uploaded(&settings.backend, verify, &image.id).await;
            // Gone, or cancelled while the backend was asked: the answer no longer matters.
            if !(self.alive() && entry.alive())
                || !matches!(entry.state.get_untracked(), UploadState::Uploading { .. })
            {
                return self.pump();
            }
            if let Err(error) = verified {
                // The file did reach the upload host: never retried automatically.
                return self.fail_for_good(&entry, error);
            }
        }
        entry
            .state
            .update(|s| *s = s.apply(UploadEvent::Succeeded(image.clone())));
        self.announcement
            .set(self.lang().announce_done(&entry.name.get_untracked()));
        if let Some(callback) = self.callbacks.with_value(|c| c.on_success) {
            callback.run(image);
        }
        self.pump();
    }

    /// A failed try: retried after a backoff when the failure is passing and retries are
    /// left, failed for good otherwise.
    fn fail(&self, entry: &FileEntry, error: UploadError) {
        if !self.alive() || !entry.alive() {
            return;
        }
        let policy = self.settings.with_untracked(|s| s.retry);
        let used = entry.retries.get_value();
        let AfterFailure::RetryAfter { attempt, delay_ms } =
            after_failure(&error, used, &policy, timer::random())
        else {
            return self.fail_for_good(entry, error);
        };
        entry.retries.set_value(attempt);
        entry
            .state
            .update(|s| *s = s.apply(UploadEvent::WillRetry { error, attempt }));
        let turn = entry.scheduled.get_value() + 1;
        entry.scheduled.set_value(turn);
        let (uploader, state, scheduled) = (*self, entry.state, entry.scheduled);
        spawn_local(async move {
            timer::sleep_ms(delay_ms).await;
            // Only if still waiting for this very retry: it may have been cancelled, removed,
            // or retried by hand and be waiting for a later one.
            if scheduled.try_get_value() == Some(turn)
                && matches!(
                    state.try_get_untracked(),
                    Some(UploadState::RetryWaiting { .. })
                )
            {
                state.update(|s| *s = s.apply(UploadEvent::RetryDue));
                uploader.pump();
            }
        });
        self.pump();
    }

    fn fail_for_good(&self, entry: &FileEntry, error: UploadError) {
        if !self.alive() || !entry.alive() {
            return;
        }
        entry
            .state
            .update(|s| *s = s.apply(UploadEvent::Failed(error.clone())));
        self.report_failure(entry, error);
        self.pump();
    }

    fn report_failure(&self, entry: &FileEntry, error: UploadError) {
        if !self.alive() {
            return;
        }
        let name = entry.name.get_untracked();
        self.announcement
            .set(self.lang().announce_failed(&name, &error));
        if let Some(callback) = self.callbacks.with_value(|c| c.on_error) {
            callback.run(FileFailure {
                file_name: name,
                message: self.lang_untracked().error(&error),
                error,
            });
        }
    }

    /// Cancels a file that is checking, queued, running or waiting to retry; a running
    /// request is aborted.
    pub fn cancel(&self, key: u32) {
        if let Some(entry) = self.entry(key) {
            entry.state.update(|s| *s = s.apply(UploadEvent::Cancel));
            if let Some(Some(upload)) = entry.upload.try_update_value(Option::take) {
                upload.abort();
            }
        }
        self.pump();
    }

    /// Puts a failed or cancelled file back in the queue with its retries renewed; it will
    /// get a fresh upload URL.
    pub fn retry(&self, key: u32) {
        if let Some(entry) = self.entry(key) {
            entry.retries.set_value(0);
            entry.state.update(|s| *s = s.apply(UploadEvent::Retry));
            self.batch_open.set_value(true);
        }
        self.pump();
    }

    /// Removes a file from the list, cancelling it first, and frees everything it held.
    pub fn remove(&self, key: u32) {
        self.cancel(key);
        let Some(entry) = self.entry(key) else {
            return;
        };
        self.entries
            .update(|entries| entries.retain(|e| e.key != key));
        // After the list has re-rendered: its row may still read the signals until then.
        spawn_local(async move {
            leptos::task::tick().await;
            entry.dispose();
        });
    }

    /// Removes every stored or cancelled file from the list.
    pub fn clear_finished(&self) {
        for key in self
            .keys_where(|state| matches!(state, UploadState::Done { .. } | UploadState::Cancelled))
        {
            self.remove(key);
        }
    }

    /// Cancels every file that has not finished.
    pub fn cancel_all(&self) {
        for key in self.keys_where(UploadState::can_cancel) {
            self.cancel(key);
        }
    }

    /// Retries every failed file that a retry can help (not the ones refused before sending).
    pub fn retry_failed(&self) {
        for key in self
            .keys_where(|state| matches!(state, UploadState::Failed { .. }) && state.can_retry())
        {
            self.retry(key);
        }
    }

    /// The keys of the files whose state passes `wanted`, read first so that acting on them
    /// may change the list.
    fn keys_where(&self, wanted: impl Fn(&UploadState) -> bool) -> Vec<u32> {
        self.entries
            .try_with_untracked(|entries| {
                entries
                    .iter()
                    .filter(|e| e.state.with_untracked(&wanted))
                    .map(|e| e.key)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The files and their states, for pages that read the widget's state.
    pub fn files_untracked(&self) -> Vec<(String, u64, UploadState)> {
        self.entries.with_untracked(|entries| {
            entries
                .iter()
                .map(|e| {
                    (
                        e.name.get_untracked(),
                        e.size.get_untracked(),
                        e.state.get_untracked(),
                    )
                })
                .collect()
        })
    }

    /// The batch summary, read without subscribing.
    pub fn summary_now(&self) -> BatchSummary {
        self.summary_untracked()
    }

    fn report_progress(&self) {
        if !self.alive() {
            return;
        }
        if let Some(callback) = self.callbacks.with_value(|c| c.on_progress) {
            callback.run(self.summary_untracked());
        }
    }

    fn check_complete(&self) {
        let summary = self.summary_untracked();
        if batch_completes(&summary, self.batch_open.get_value()) {
            self.batch_open.set_value(false);
            self.announcement
                .set(self.lang_untracked().status(&summary));
            if let Some(callback) = self.callbacks.with_value(|c| c.on_complete) {
                callback.run(summary);
            }
        }
    }
}
