//! The reactive shell around the core: it holds the list (each entry with its signals, its
//! `File` and its running upload), tells [`crate::core::queue::Queue`] what happened, does
//! the effects it answers with through [`crate::browser`], and reports to the host page. It is
//! `Copy` (arena handles), so event handlers and views can all hold it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::File;

use crate::api::{parse_host_answer, ImageRecord, UploadTarget};
use crate::backend::{request_upload_target, verify_uploaded, BackendConfig};
use crate::browser::persist::Keeper;
use crate::browser::timer;
use crate::browser::transport::{UploadOutcome, XhrUpload};
use crate::components::Preview;
use crate::core::check::{after_measure, downscale_sizes, plan_check, AfterMeasure, CheckPlan};
use crate::core::pace::{Pace, Show, SHOW_EVERY_MS};
use crate::core::paste::PasteScope;
use crate::core::queue::{Effect, Happened, Now, Queue, QueueConfig};
use crate::error::UploadError;
use crate::i18n::Lang;
use crate::image_tools;
use crate::queue::{BatchSummary, RetryPolicy, UploadState};
use crate::validate::{self, Rejection, Restrictions};

/// Files added in one task: a thousand files dropped at once join the list 25 at a time,
/// so the first rows show at once and the page never freezes.
const ADD_CHUNK: usize = 25;
/// The files added in the task that receives them, before the first URL requests leave.
const FIRST_CHUNK: usize = 6;
/// Longest time new rows wait for the batch's first uploads to leave (see
/// [`Uploader::draw_rows`]): within the issue's 100 ms for the first rows.
const HOLD_ROWS_MS: u32 = 80;

/// What the list shows of one file, all in one value, kept with the file's handles and
/// tracked through one `RwSignal<u32>` version: no reactive value type of its own (every
/// signal value type instantiates the reactive graph's generic code again; wasm −337 gzip,
/// −174 brotli against a `RwSignal<FileView>`).
#[derive(Debug, Clone, PartialEq)]
pub struct FileView {
    /// File name (changes when the file is re-encoded).
    pub name: String,
    /// Size in bytes (changes when the file is re-encoded).
    pub size: u64,
    /// Pixel size, once known.
    pub pixels: Option<(u32, u32)>,
    /// Where the upload is.
    pub state: UploadState,
}

/// The browser handles of one file, which are not `Send`, and what its row shows.
struct Handles {
    /// What the row shows. Kept here, views tracking the entry's `version`, not in a
    /// `RwSignal<FileView>`: one signal value type fewer for the bundle.
    view: FileView,
    /// The file (replaced when it is re-encoded); its bytes never enter wasm memory.
    file: File,
    /// The request sending it, while one runs (dropping it aborts the request).
    upload: Option<XhrUpload>,
    /// The row's local preview, while the row is drawn (see `components::file_row`). Kept
    /// here, not in a signal of the row's own: a `RwSignal<Preview>` was one more signal
    /// value type, whose arena code the bundle carried.
    preview: Preview,
}

impl Drop for Handles {
    /// A preview still made when the handles go (the file removed, or the widget unmounted
    /// before its row's cleanup ran) gives its object URL back.
    fn drop(&mut self) {
        if let Preview::Made(url) = &self.preview {
            image_tools::revoke(url);
        }
    }
}

/// Moves a version on (views that track it run again): how every `RwSignal<u32>` version of
/// the widget says that what it stands for changed.
pub(crate) fn bump(version: &mut u32) {
    *version = version.wrapping_add(1);
}

/// One file in the widget's list: what it shows, the browser's `File` and its running upload,
/// all in one place and all disposed together when the file is removed. The queue holds the
/// file's truth; `view.state` is what the row shows of it, brought up to date at the list's
/// pace (see [`crate::core::pace`]).
#[derive(Debug, Clone, Copy)]
pub struct FileEntry {
    /// Stable key for the list and for the browser handles.
    pub key: u32,
    /// Bumped whenever what the row shows changes; views track it.
    version: RwSignal<u32>,
    handles: StoredValue<Handles, LocalStorage>,
}

impl FileEntry {
    fn new(key: u32, file: File) -> Self {
        Self {
            key,
            version: RwSignal::new(0),
            handles: StoredValue::new_local(Handles {
                view: FileView {
                    name: file.name(),
                    size: file.size() as u64,
                    pixels: None,
                    state: UploadState::Checking,
                },
                file,
                upload: None,
                preview: Preview::Absent,
            }),
        }
    }

    /// What the row shows, subscribing: the one accessor the views read through.
    pub fn get(&self) -> FileView {
        self.version.track();
        self.handles.with_value(|h| h.view.clone())
    }

    /// What the row shows, without subscribing (`None` once the file is removed).
    fn now(&self) -> Option<FileView> {
        self.handles.try_with_value(|h| h.view.clone())
    }

    /// Changes what the row shows, if the file is still in the list.
    fn change(&self, change: impl FnOnce(&mut FileView)) {
        // In place: a copy changed and set back cloned the whole view (name, state) each time.
        if self
            .handles
            .try_update_value(|h| change(&mut h.view))
            .is_some()
        {
            self.version.try_update(bump);
        }
    }

    /// The file, if the entry is still in the list.
    fn file(&self) -> Option<File> {
        self.handles.try_with_value(|h| h.file.clone())
    }

    /// The row's preview, without subscribing (`None` once the file is removed); rows track
    /// a version of their own.
    pub(crate) fn preview(&self) -> Option<Preview> {
        self.handles.try_with_value(|h| h.preview.clone())
    }

    /// Replaces the row's preview; the one it had (`None` once the file is removed).
    pub(crate) fn replace_preview(&self, now: Preview) -> Option<Preview> {
        self.handles
            .try_update_value(|h| std::mem::replace(&mut h.preview, now))
    }

    /// Takes the running request out (to abort it, or to read its answer).
    fn take_upload(&self) -> Option<XhrUpload> {
        self.handles.try_update_value(|h| h.upload.take()).flatten()
    }

    /// Whether the entry is still in the list: async work checks this after every wait,
    /// since a removed entry's signals are disposed.
    fn alive(&self) -> bool {
        !self.version.is_disposed()
    }

    /// Frees the entry's signal and handles; a running upload is aborted (dropped).
    fn dispose(&self) {
        self.version.dispose();
        self.handles.dispose();
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

/// A callback to the host page: a shared function, not Leptos' `Callback`, which is an arena
/// value of its own type for each argument type (four of them, in a bundle that needs none:
/// the embed's events are hooks themselves, and the component wraps its `Callback` props).
pub type Hook<T> = std::sync::Arc<dyn Fn(T) + Send + Sync>;

/// Callbacks to the host page.
#[derive(Clone, Default)]
pub struct Callbacks {
    /// Runs when a file starts a try (asks for its upload URL).
    pub on_start: Option<Hook<FileStarted>>,
    /// Runs with the image record of each stored file.
    pub on_success: Option<Hook<ImageRecord>>,
    /// Runs with each failed file.
    pub on_error: Option<Hook<FileFailure>>,
    /// Runs whenever the batch summary changes: at each state change, and with upload
    /// progress, which reaches the queue every [`SHOW_EVERY_MS`] at most.
    pub on_progress: Option<Hook<BatchSummary>>,
    /// Runs once each time the whole batch has finished.
    pub on_complete: Option<Hook<BatchSummary>>,
}

/// A Leptos `Callback` prop as a [`Hook`].
pub fn hook<T: 'static>(callback: Option<Callback<T>>) -> Option<Hook<T>> {
    callback.map(|callback| std::sync::Arc::new(move |value: T| callback.run(value)) as Hook<T>)
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
    /// Where pasted files are taken from.
    pub paste: PasteScope,
    /// The file input's `capture` attribute (`environment`, `user`), if any.
    pub capture: Option<String>,
    /// Language of every string.
    pub lang: Lang,
    /// The file picker's `accept` filter.
    pub picker_accept: String,
    /// Keep files not yet stored across a reload (IndexedDB) and resume them.
    pub persist: bool,
}

/// The queue: file list, browser handles that are not `Send`, and settings.
#[derive(Clone, Copy)]
pub struct Uploader {
    /// The files, in the order they were added (sorted by key).
    pub entries: Entries,
    /// Bumped when the list shows a changed batch summary (the queue's, in [`Inner`]), at the
    /// list's pace; views that show it track this, for the same reason as `settings_changed`.
    summary_changed: RwSignal<u32>,
    /// Bumped when the settings change. The settings live in [`Inner`], and views that show
    /// them track this: a `RwSignal<u32>` is a type the bundle carries anyway, a
    /// `RwSignal<Settings>` would be one more.
    settings_changed: RwSignal<u32>,
    /// Bumped when the list shows a new announcement (at its pace), which lives in [`Inner`]
    /// for the same reason.
    announced: RwSignal<u32>,
    /// The parts no view reads, in one stored value (one value type for the bundle to carry).
    /// Local, like the files' handles and the element references: one storage kind's code
    /// for stored values (wasm −126 gzip, −32 brotli against a sync one).
    inner: StoredValue<Inner, LocalStorage>,
}

/// The files of an [`Uploader`], in the order they were added (sorted by key). The list
/// lives in [`Inner`] and views track `version`, a `RwSignal<u32>` as the bundle has
/// anyway: a `RwSignal<Vec<FileEntry>>` was one more signal value type (wasm −752 gzip,
/// −638 brotli).
#[derive(Clone, Copy)]
pub struct Entries {
    inner: StoredValue<Inner, LocalStorage>,
    version: RwSignal<u32>,
}

impl Entries {
    /// Reads the list, subscribing.
    pub fn with<T>(&self, read: impl FnOnce(&Vec<FileEntry>) -> T) -> T {
        self.version.track();
        self.inner.with_value(|inner| read(&inner.entries))
    }

    /// Reads the list without subscribing (`None` once the widget is gone).
    pub fn try_with_untracked<T>(&self, read: impl FnOnce(&Vec<FileEntry>) -> T) -> Option<T> {
        self.inner.try_with_value(|inner| read(&inner.entries))
    }

    /// Changes the list without telling the views (see [`Entries::notify`]).
    pub fn update_untracked(&self, change: impl FnOnce(&mut Vec<FileEntry>)) {
        self.inner
            .try_update_value(|inner| change(&mut inner.entries));
    }

    /// Changes the list and tells the views.
    pub fn update(&self, change: impl FnOnce(&mut Vec<FileEntry>)) {
        self.update_untracked(change);
        self.notify();
    }

    /// Tells the views that the list changed.
    pub fn notify(&self) {
        self.version.try_update(bump);
    }
}

/// The uploader's non-reactive parts.
struct Inner {
    /// The files (see [`Entries`]).
    entries: Vec<FileEntry>,
    settings: Settings,
    /// The latest sentence for the polite live region.
    announcement: String,
    queue: Queue,
    next_key: u32,
    callbacks: Callbacks,
    /// Progress reported and not yet told to the queue, one latest figure per file.
    progress: Vec<(u32, u64, u64)>,
    /// Where the files are kept across a reload, with `persist`.
    keeper: Option<Keeper>,
    /// Rows added but not yet drawn: the batch's first uploads are not all on the wire.
    rows_held: bool,
    /// The rest of a large choice, listed once the rows before it are drawn.
    joining: Vec<File>,
    /// When the list last showed what changed (see [`crate::core::pace`]).
    pace: Pace,
    /// What changed and waits for the list to show it.
    unshown: Unshown,
}

/// What an uploader's timer does when it fires (see [`Uploader::after`]).
enum Timer {
    /// The list's pace: show what waited, if it still waits.
    Show,
    /// Hand the upload progress gathered since the last time to the queue.
    Progress,
    /// Draw rows held for the first uploads, sent or not.
    HoldOver,
    /// A retry's wait is over.
    WaitOver {
        /// The file's key.
        key: u32,
        /// The wait's turn, as the effect gave it.
        turn: u32,
    },
}

/// What changed since the list last showed it (see [`Uploader::show`]).
#[derive(Default)]
struct Unshown {
    /// The files whose rows do not show their latest progress yet.
    keys: Vec<u32>,
    /// The batch summary changed.
    summary: bool,
    /// There is a new sentence for the live region.
    announcement: bool,
}

impl Settings {
    /// The parts of the settings the queue's rules read.
    fn queue_config(&self) -> QueueConfig {
        QueueConfig {
            concurrency: self.concurrency,
            max_files: self.restrictions.max_files,
            retry: self.retry,
            verify: self.verify.is_some(),
        }
    }
}

impl Uploader {
    /// A queue with these settings and callbacks.
    pub fn new(settings: Settings, callbacks: Callbacks) -> Self {
        let keeper = settings
            .persist
            .then(|| Keeper::next(&settings.backend.url));
        let inner = StoredValue::new_local(Inner {
            entries: Vec::new(),
            queue: Queue::new(settings.queue_config()),
            settings,
            announcement: String::new(),
            next_key: 0,
            callbacks,
            progress: Vec::new(),
            keeper,
            rows_held: false,
            joining: Vec::new(),
            pace: Pace::default(),
            unshown: Unshown::default(),
        });
        Self {
            inner,
            entries: Entries {
                inner,
                version: RwSignal::new(0),
            },
            summary_changed: RwSignal::new(0),
            settings_changed: RwSignal::new(0),
            announced: RwSignal::new(0),
        }
    }

    /// The latest sentence for the polite live region (reactive).
    pub fn announcement(&self) -> String {
        self.announced.track();
        self.inner
            .try_with_value(|inner| inner.announcement.clone())
            .unwrap_or_default()
    }

    /// Says `text` in the live region. Only ever called while [`Uploader::tell`] does the
    /// queue's effects: `tell` then shows it, at the list's pace (see [`Uploader::show`]); a
    /// sentence set anywhere else would wait for the next change to be shown.
    fn announce(&self, text: String) {
        self.inner.try_update_value(|inner| {
            inner.announcement = text;
            inner.unshown.announcement = true;
        });
    }

    /// Reads the settings without subscribing (`None` once the widget is gone).
    fn settings_untracked<T>(&self, read: impl FnOnce(&Settings) -> T) -> Option<T> {
        self.inner.try_with_value(|inner| read(&inner.settings))
    }

    /// Reads the settings, subscribing to their changes.
    fn settings_tracked<T>(&self, read: impl FnOnce(&Settings) -> T) -> Option<T> {
        self.settings_changed.track();
        self.settings_untracked(read)
    }

    /// With `persist`: lists the files kept before the page was reloaded, and resumes them.
    /// A file stored before the reload shows as done; one that was being sent is asked about
    /// (with `verify`) before it is sent again.
    pub fn resume_kept(&self) {
        let Some(keeper) = self.keeper() else { return };
        let uploader = *self;
        spawn_local(async move {
            let kept = keeper.take().await;
            if kept.is_empty() || !uploader.alive() {
                return;
            }
            let first = uploader.take_keys(kept.len());
            let mut events = Vec::new();
            let mut added = Vec::new();
            for (kept, key) in kept.into_iter().zip(first..) {
                let image_json = kept.image.as_ref().map(crate::embed::image_json);
                keeper.keep(
                    key,
                    &kept.file,
                    kept.tried.as_deref(),
                    image_json.as_deref(),
                    true,
                );
                let entry = FileEntry::new(key, kept.file);
                events.push(Happened::Resumed {
                    key,
                    size: entry.now().map_or(0, |v| v.size),
                    tried: kept.tried,
                    image: kept.image,
                });
                added.push(entry);
            }
            uploader
                .entries
                .update_untracked(|entries| entries.extend(added));
            uploader.tell(events);
            uploader.entries.notify();
        });
    }

    fn keeper(&self) -> Option<Keeper> {
        self.inner.try_with_value(|i| i.keeper.clone()).flatten()
    }

    /// The host page's callbacks (all `Copy` handles).
    /// One of the host page's callbacks, if it gave one: only that one is cloned (a clone of
    /// all five, then dropped, was inlined at each call).
    fn callback<T>(&self, pick: fn(&Callbacks) -> &Option<Hook<T>>) -> Option<Hook<T>> {
        self.inner
            .try_with_value(|i| pick(&i.callbacks).clone())
            .flatten()
    }

    /// Reserves `count` keys for new files; returns the first.
    fn take_keys(&self, count: usize) -> u32 {
        self.inner
            .try_update_value(|i| {
                let first = i.next_key;
                i.next_key += count as u32;
                first
            })
            .unwrap_or_default()
    }

    /// Whether the widget still exists: work that resumes after a wait checks this, since an
    /// unmounted widget's signals are gone.
    fn alive(&self) -> bool {
        self.entries.try_with_untracked(|_| ()).is_some()
    }

    /// Aborts every running request without reporting anything: the widget is going away.
    pub fn shut_down(&self) {
        let entries = self
            .entries
            .try_with_untracked(Vec::clone)
            .unwrap_or_default();
        for entry in entries {
            if let Some(upload) = entry.take_upload() {
                upload.abort();
            }
        }
    }

    /// The queue's language (reactive: views that show text follow a change of language).
    pub fn lang(&self) -> Lang {
        self.settings_tracked(|s| s.lang).unwrap_or_default()
    }

    /// Where pasted files are taken from, read without subscribing (at each paste).
    pub fn paste_scope(&self) -> PasteScope {
        self.settings_untracked(|s| s.paste)
            .unwrap_or(PasteScope::Off)
    }

    /// The file input's `capture` attribute (reactive).
    pub fn capture(&self) -> Option<String> {
        self.settings_tracked(|s| s.capture.clone()).flatten()
    }

    /// The file picker's `accept` filter (reactive).
    pub fn picker_accept(&self) -> String {
        self.settings_tracked(|s| s.picker_accept.clone())
            .unwrap_or_default()
    }

    /// The queue's language, read without subscribing.
    pub fn lang_untracked(&self) -> Lang {
        self.settings_untracked(|s| s.lang).unwrap_or_default()
    }

    /// Changes settings while the widget runs; files already added keep going.
    pub fn configure(&self, change: impl FnOnce(&mut Settings)) {
        let Some(config) = self.inner.try_update_value(|inner| {
            change(&mut inner.settings);
            inner.settings.queue_config()
        }) else {
            return;
        };
        self.settings_changed.update(bump);
        self.tell_one(Happened::Configured(config));
    }

    /// The file behind an entry, if it is still in the list.
    pub fn file(&self, key: u32) -> Option<File> {
        self.entry(key).and_then(|entry| entry.file())
    }

    fn entry(&self, key: u32) -> Option<FileEntry> {
        self.entries.try_with_untracked(|entries| {
            // Keys only grow and the list keeps its order: it is sorted by key.
            let index = entries.binary_search_by_key(&key, |e| e.key).ok()?;
            Some(entries[index])
        })?
    }

    /// Tells the queue what happened, does what the queue answers, and shows the states that
    /// changed: at once, or with the next changes at the list's pace (see [`Uploader::show`]).
    /// One concrete function (not generic over the events' source): the bundle carries it once.
    fn tell(&self, events: Vec<Happened>) {
        let now = Now {
            ms: timer::now_ms(),
            random: timer::random(),
        };
        // What the visitor did shows at once.
        let by_visitor = events.iter().any(Happened::by_visitor);
        let Some((effects, changed, before, summary, draw)) = self.inner.try_update_value(
            |Inner {
                 queue, rows_held, ..
             }| {
                let before = queue.summary();
                let mut effects = Vec::new();
                for happened in events {
                    effects.extend(queue.handle(happened, now));
                }
                let changed: Vec<(u32, UploadState)> = queue
                    .take_changed()
                    .into_iter()
                    .filter_map(|key| Some((key, queue.state(key)?.clone())))
                    .collect();
                // The held rows are drawn once the first uploads are sent (below, after them).
                let draw = *rows_held && queue.slots_filled();
                *rows_held &= !draw;
                (effects, changed, before, queue.summary(), draw)
            },
        ) else {
            return;
        };
        let keeper = self.keeper();
        if let Some(keeper) = &keeper {
            for (key, state) in &changed {
                match state {
                    UploadState::Done { image } => {
                        keeper.stored(*key, &crate::embed::image_json(image))
                    }
                    // The visitor said no, or the file can never be sent: not resumed.
                    UploadState::Cancelled
                    | UploadState::Failed {
                        error: UploadError::Rejected(_),
                    } => keeper.forget(*key),
                    _ => {}
                }
            }
        }
        let mut news = false;
        for (key, state) in changed {
            let Some(entry) = self.entry(key) else {
                continue;
            };
            // Shown at the list's pace, as the summary is, whatever changed: each drawn change
            // of a row costs a frame (see `core::pace`).
            if entry.handles.try_with_value(|h| h.view.state == state) != Some(false) {
                continue;
            }
            news = true;
            self.inner.try_update_value(|inner| {
                if !inner.unshown.keys.contains(&key) {
                    inner.unshown.keys.push(key);
                }
            });
        }
        if before != summary {
            news = true;
            self.inner
                .try_update_value(|inner| inner.unshown.summary = true);
            if let Some(callback) = self.callback(|c| &c.on_progress) {
                callback(summary);
            }
        }
        // A failure is said at once: a later sentence of the same burst would replace it
        // before screen readers heard it.
        let urgent = by_visitor || effects.iter().any(|e| matches!(e, Effect::Failed { .. }));
        for effect in effects {
            self.perform(effect);
        }
        if news || urgent {
            self.show_at_pace(urgent);
        }
        if draw {
            self.rows_drawn();
        }
    }

    /// [`Uploader::tell`] of one event: the one-element list built in one place.
    fn tell_one(&self, happened: Happened) {
        self.tell(vec![happened]);
    }

    /// Shows what changed now, or sets the timer that will, at the list's pace
    /// ([`crate::core::pace`]: at most ten times a second during a burst of changes).
    fn show_at_pace(&self, urgent: bool) {
        let Some(show) = self
            .inner
            .try_update_value(|inner| inner.pace.changed(timer::monotonic_ms(), urgent))
        else {
            return;
        };
        match show {
            Show::Now => self.show(),
            Show::Later { in_ms } => self.after(in_ms as u32, Timer::Show),
            Show::Waiting => {}
        }
    }

    /// Shows what waited: each row's latest state, the summary and the live region's sentence.
    fn show(&self) {
        let Some(unshown) = self
            .inner
            .try_update_value(|inner| std::mem::take(&mut inner.unshown))
        else {
            return;
        };
        for key in unshown.keys {
            // The queue's state now: the file may have moved on since it changed.
            let state = self
                .inner
                .try_with_value(|inner| inner.queue.state(key).cloned())
                .flatten();
            if let (Some(state), Some(entry)) = (state, self.entry(key)) {
                entry.change(|view| view.state = state);
            }
        }
        if unshown.summary {
            self.summary_changed.update(bump);
        }
        if unshown.announcement {
            self.announced.update(bump);
        }
    }

    /// Draws the rows just added, unless the batch's first uploads are not all sent yet: then
    /// the rows wait for them (at most [`HOLD_ROWS_MS`]). On two cores, drawing the rows at the
    /// start held back the browser's delivery of the first checks' reads and URL answers
    /// (measured, 20 files of 1.7 MB, same run: the first upload left 73-126 ms after the
    /// choice with the rows drawn at once, 22-37 ms with the rows and the rest of the files
    /// held; the bare XHR loop's, 9-15 ms).
    fn draw_rows(&self) {
        let hold = self.inner.try_update_value(|inner| {
            let was = inner.rows_held;
            inner.rows_held = !inner.queue.slots_filled();
            (inner.rows_held, was)
        });
        match hold {
            Some((false, _)) => self.rows_drawn(),
            Some((true, false)) => self.after(HOLD_ROWS_MS, Timer::HoldOver),
            _ => {}
        }
    }

    /// Does `what` in `ms` milliseconds. Every timer of the uploader goes through here: one
    /// future type for all of them, where each `async` block would be a type of its own for
    /// the bundle to carry.
    fn after(&self, ms: u32, what: Timer) {
        let uploader = *self;
        spawn_local(async move {
            timer::sleep_ms(ms).await;
            uploader.fired(what);
        });
    }

    /// A timer set by [`Uploader::after`] fired.
    fn fired(&self, what: Timer) {
        match what {
            Timer::Show => {
                let due = self
                    .inner
                    .try_update_value(|inner| inner.pace.due(timer::monotonic_ms()));
                if due == Some(true) {
                    self.show();
                }
            }
            Timer::Progress => {
                let Some(pending) = self
                    .inner
                    .try_update_value(|i| std::mem::take(&mut i.progress))
                else {
                    return;
                };
                self.tell(
                    pending
                        .into_iter()
                        .map(|(key, sent, total)| Happened::Progress { key, sent, total })
                        .collect(),
                );
            }
            Timer::HoldOver => {
                let held = self
                    .inner
                    .try_update_value(|inner| std::mem::take(&mut inner.rows_held));
                if held == Some(true) {
                    self.rows_drawn();
                }
            }
            Timer::WaitOver { key, turn } => self.tell_one(Happened::WaitOver { key, turn }),
        }
    }

    fn perform(&self, effect: Effect) {
        if !self.alive() {
            return;
        }
        match effect {
            Effect::Check { key } => {
                if let Some(entry) = self.entry(key) {
                    let uploader = *self;
                    spawn_local(async move { uploader.check(entry).await });
                }
            }
            Effect::RequestUrl { key } => {
                // Sent now (see request_upload_target); only the answer is awaited later.
                let Some(pending) = self.settings_untracked(|s| request_upload_target(&s.backend))
                else {
                    return;
                };
                let uploader = *self;
                spawn_local(async move {
                    let answer = pending.await;
                    uploader.tell_one(Happened::UrlAnswered { key, answer });
                });
            }
            Effect::Started { key, attempt } => {
                let (Some(view), Some(callback)) = (
                    self.entry(key).and_then(|entry| entry.now()),
                    self.callback(|c| &c.on_start),
                ) else {
                    return;
                };
                callback(FileStarted {
                    file_name: view.name,
                    size: view.size,
                    attempt,
                });
            }
            Effect::Send { key, target } => {
                if let Some(keeper) = self.keeper() {
                    keeper.tried(key, &target.id);
                }
                self.send(key, target)
            }
            Effect::Abort { key } => {
                // Progress of the aborted try must not land on the next one.
                self.inner
                    .try_update_value(|inner| inner.progress.retain(|(k, ..)| *k != key));
                if let Some(upload) = self.entry(key).and_then(|entry| entry.take_upload()) {
                    upload.abort();
                }
            }
            Effect::Verify { key, id } => {
                // Only what the request needs: a whole `Settings` clone is code of its own.
                let Some((backend, verify)) =
                    self.settings_untracked(|s| (s.backend.clone(), s.verify.clone()))
                else {
                    return;
                };
                let uploader = *self;
                spawn_local(async move {
                    let verify = verify.as_deref().unwrap_or_default();
                    let answer = verify_uploaded(&backend, verify, &id).await;
                    uploader.tell_one(Happened::Verified { key, answer });
                });
            }
            Effect::Wait { key, turn, ms } => self.after(ms, Timer::WaitOver { key, turn }),
            Effect::Stored { key, image } => {
                if let Some(view) = self.entry(key).and_then(|entry| entry.now()) {
                    self.announce(self.lang_untracked().announce_done(&view.name));
                }
                if let Some(callback) = self.callback(|c| &c.on_success) {
                    callback(image);
                }
            }
            Effect::Failed { key, error } => self.report_failure(key, error),
            Effect::Completed(summary) => {
                // Nothing is left to resume.
                if let Some(keeper) = self.keeper() {
                    keeper.forget_all();
                }
                self.announce(self.lang_untracked().status(&summary));
                // Shown before the page hears of it: a page told `upload-complete` finds the
                // list's final state (its render effects queued ahead of the page's own).
                self.show_at_pace(true);
                if let Some(callback) = self.callback(|c| &c.on_complete) {
                    callback(summary);
                }
            }
        }
    }

    /// Adds files: each is listed, checked against the restrictions, then queued. Files past
    /// `max_files` are listed as refused, so the user sees why. Many files are added a chunk
    /// per task, so the page stays responsive.
    pub fn add_files(&self, files: impl IntoIterator<Item = File>) {
        let mut files: Vec<File> = files.into_iter().collect();
        // The first chunk is small: its URL requests leave once it is listed.
        if files.len() <= FIRST_CHUNK {
            return self.add_chunk(files, 0);
        }
        let rest = files.split_off(FIRST_CHUNK);
        let chosen = FIRST_CHUNK + rest.len();
        // The rest joins once the first chunk's rows are drawn, which waits for the first
        // uploads to be sent (see `draw_rows`): listing a file reads its size, and Chromium
        // answers `File.size` of a chosen file with a synchronous round trip to the browser
        // process, a quarter of a millisecond or more per file while the first checks and URL
        // answers wait.
        self.inner
            .try_update_value(|inner| inner.joining.extend(rest));
        // The queue hears how many are chosen: the batch is not over while some are to join.
        self.add_chunk(files, chosen);
    }

    /// Shows the rows added so far, and starts listing the rest of a large choice, a chunk
    /// per task.
    fn rows_drawn(&self) {
        self.entries.notify();
        let Some(rest) = self
            .inner
            .try_update_value(|inner| std::mem::take(&mut inner.joining))
            .filter(|rest| !rest.is_empty())
        else {
            return;
        };
        let uploader = *self;
        spawn_local(async move {
            for chunk in rest.chunks(ADD_CHUNK) {
                // A task boundary: the browser paints and handles input between chunks.
                timer::sleep_ms(0).await;
                if !uploader.alive() {
                    return;
                }
                uploader.add_chunk(chunk.to_vec(), 0);
            }
        });
    }

    /// Lists `files`; `chosen`, when not 0, is how many files the choice holds in all,
    /// these first.
    fn add_chunk(&self, files: Vec<File>, chosen: usize) {
        if files.is_empty() {
            return;
        }
        let first = self.take_keys(files.len());
        let added: Vec<FileEntry> = files
            .into_iter()
            .zip(first..)
            .map(|(file, key)| FileEntry::new(key, file))
            .collect();
        if let Some(keeper) = self.keeper() {
            for entry in &added {
                if let Some(file) = entry.file() {
                    keeper.keep(entry.key, &file, None, None, false);
                }
            }
        }
        let expect = (chosen > 0).then_some(Happened::Expect { files: chosen });
        let events: Vec<Happened> = expect
            .into_iter()
            .chain(added.iter().map(|entry| Happened::Added {
                key: entry.key,
                size: entry.now().map_or(0, |v| v.size),
            }))
            .collect();
        // The queue hears of the files before the list re-renders: the requests it asks for
        // (checks, the first URLs) are queued ahead of the rendering, so they leave first.
        self.entries
            .update_untracked(|entries| entries.extend(added));
        self.tell(events);
        self.draw_rows();
    }

    /// Checks one file: its type from its first bytes, its size, and (for raster images) its
    /// pixel size. With `downscale`, an image over the limits is re-encoded to fit instead of
    /// being refused.
    async fn check(self, entry: FileEntry) {
        let Some(file) = entry.file() else {
            return;
        };
        // Only what the check needs: a whole `Settings` clone is code of its own.
        let Some((restrictions, downscale)) =
            self.settings_untracked(|s| (s.restrictions.clone(), s.downscale))
        else {
            return;
        };
        let restrictions = &restrictions;
        let head = image_tools::read_head(&file, validate::HEAD_BYTES)
            .await
            .unwrap_or_default();
        if !(self.alive() && entry.alive()) {
            return;
        }
        let found = validate::sniff_type(&head);
        let size = entry.now().map_or(0, |v| v.size);
        let verdict = match plan_check(restrictions, found, size, downscale) {
            CheckPlan::Decided(verdict) => verdict,
            CheckPlan::Measure { so_far } => {
                // The headers tell the size in a few small reads; only formats the probe does
                // not read, or broken headers, are decoded to learn it.
                let from_headers = image_tools::header_pixel_size(&file, size, &head).await;
                let pixels = match from_headers {
                    Some(pixels) => Some(pixels),
                    None => image_tools::pixel_size(&file).await,
                };
                if !(self.alive() && entry.alive()) {
                    return;
                }
                if pixels.is_some() {
                    entry.change(|view| view.pixels = pixels);
                }
                match after_measure(restrictions, so_far, pixels, downscale) {
                    AfterMeasure::Decided(verdict) => verdict,
                    AfterMeasure::Downscale { width, height } => {
                        self.downscale(&entry, &file, width, height, restrictions)
                            .await
                    }
                }
            }
        };
        let Some(view) = entry.now().filter(|_| self.alive()) else {
            return;
        };
        let size = view.size;
        self.tell_one(Happened::Checked {
            key: entry.key,
            verdict,
            size,
        });
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
                entry.change(|view| {
                    view.name = smaller.name();
                    view.size = smaller.size() as u64;
                    view.pixels = Some((w, h));
                });
                if let Some(keeper) = self.keeper() {
                    keeper.replace_file(entry.key, &smaller);
                }
                entry.handles.try_update_value(|h| h.file = smaller);
                return Ok(());
            }
        }
        Err(Rejection::TooLarge {
            size: file.size() as u64,
            max: r.max_bytes,
        })
    }

    /// POSTs a file to its one-time URL; progress and the host's answer go to the queue.
    fn send(&self, key: u32, target: UploadTarget) {
        let Some(entry) = self.entry(key) else { return };
        let Some(file) = entry.file() else {
            return;
        };
        let Some(stall_timeout_ms) = self.settings_untracked(|s| s.retry.stall_timeout_ms) else {
            return;
        };
        let uploader = *self;
        let started = XhrUpload::start(
            &target.upload_url,
            &file,
            stall_timeout_ms,
            move |sent, total| uploader.progress(key, sent, total),
        );
        let upload = match started {
            Ok(upload) => upload,
            Err(error) => {
                return self.tell_one(Happened::Sent {
                    key,
                    answer: Err(error),
                })
            }
        };
        let finished = upload.finished();
        entry.handles.try_update_value(|h| h.upload = Some(upload));
        spawn_local(async move {
            let _ = finished.await;
            // Gone if the file was cancelled (the upload was taken and aborted) or removed.
            let Some(upload) = entry.take_upload() else {
                return;
            };
            let answer = match upload.outcome() {
                UploadOutcome::Aborted => return,
                UploadOutcome::Failed(error) => Err(error),
                UploadOutcome::Answered(answer) => parse_host_answer(answer.status, &answer.body),
            };
            uploader.tell_one(Happened::Sent { key, answer });
        });
    }

    /// Keeps the latest progress of a file; the queue hears all of it at the list's pace
    /// ([`SHOW_EVERY_MS`]), so a hundred progress events a second cost ten updates. A timer, not
    /// an animation frame: each frame asked for makes the browser draw one (measured: 558
    /// frames, each with a commit, for 1,000 small files, with nothing on screen to change).
    fn progress(&self, key: u32, sent: u64, total: u64) {
        let first = self.inner.try_update_value(
            |Inner {
                 progress: pending, ..
             }| {
                let first = pending.is_empty();
                match pending.iter_mut().find(|(k, ..)| *k == key) {
                    Some(latest) => *latest = (key, sent, total),
                    None => pending.push((key, sent, total)),
                }
                first
            },
        );
        if first == Some(true) {
            self.after(SHOW_EVERY_MS as u32, Timer::Progress);
        }
    }

    fn report_failure(&self, key: u32, error: UploadError) {
        let Some(name) = self
            .entry(key)
            .and_then(|entry| entry.now())
            .map(|v| v.name)
        else {
            return;
        };
        let lang = self.lang_untracked();
        self.announce(lang.announce_failed(&name, &error));
        if let Some(callback) = self.callback(|c| &c.on_error) {
            callback(FileFailure {
                file_name: name,
                message: lang.error(&error),
                error,
            });
        }
    }

    /// Cancels a file that is checking, queued, running or waiting to retry; a running
    /// request is aborted.
    pub fn cancel(&self, key: u32) {
        self.tell_one(Happened::Cancel { key });
    }

    /// Puts a failed or cancelled file back in the queue with its retries renewed; it will
    /// get a fresh upload URL.
    pub fn retry(&self, key: u32) {
        // A cancelled file was forgotten by storage (see `tell`): kept again, so that a reload
        // during its new try resumes it. (A failed one is still kept, with its last try.)
        let cancelled = self
            .inner
            .try_with_value(|i| matches!(i.queue.state(key), Some(UploadState::Cancelled)));
        if let (Some(true), Some(keeper), Some(file)) = (cancelled, self.keeper(), self.file(key)) {
            keeper.keep(key, &file, None, None, false);
        }
        self.tell_one(Happened::Retry { key });
    }

    /// Removes a file from the list, cancelling it first, and frees everything it held.
    pub fn remove(&self, key: u32) {
        let Some(entry) = self.entry(key) else {
            return;
        };
        self.tell_one(Happened::Remove { key });
        if let Some(keeper) = self.keeper() {
            keeper.forget(key);
        }
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
        self.tell_where(UploadState::can_cancel, |key| Happened::Cancel { key });
    }

    /// Retries every failed file that a retry can help (not the ones refused before sending).
    pub fn retry_failed(&self) {
        self.tell_where(
            |state| matches!(state, UploadState::Failed { .. }) && state.can_retry(),
            |key| Happened::Retry { key },
        );
    }

    /// Tells the queue `event` of every file whose state passes `wanted`. Function pointers,
    /// not generics: the bundle carries this (and the queue's search) once.
    fn tell_where(&self, wanted: fn(&UploadState) -> bool, event: fn(u32) -> Happened) {
        let keys = self.keys_where(wanted);
        self.tell(keys.into_iter().map(event).collect());
    }

    /// The keys of the files whose state passes `wanted`, read first so that acting on them
    /// may change the list.
    fn keys_where(&self, wanted: fn(&UploadState) -> bool) -> Vec<u32> {
        self.inner
            .try_with_value(|i| i.queue.keys_where(wanted))
            .unwrap_or_default()
    }

    /// The files and their states, for pages that read the widget's state: the queue's
    /// states, which the rows may show a moment later (see [`Uploader::show`]).
    pub fn files_untracked(&self) -> Vec<(String, u64, UploadState)> {
        self.inner
            .try_with_value(|inner| {
                inner
                    .entries
                    .iter()
                    .filter_map(|entry| {
                        let view = entry.now()?;
                        let state = inner.queue.state(entry.key)?.clone();
                        Some((view.name, view.size, state))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The batch summary, read without subscribing.
    pub fn summary_now(&self) -> BatchSummary {
        self.summary_untracked().unwrap_or_default()
    }

    /// The batch at a glance (reactive), kept up to date by the queue (never recounted).
    pub fn summary(&self) -> BatchSummary {
        self.summary_changed.track();
        self.summary_now()
    }

    /// The batch summary without subscribing; `None` once the widget is gone.
    pub fn summary_untracked(&self) -> Option<BatchSummary> {
        self.inner.try_with_value(|inner| inner.queue.summary())
    }
}
