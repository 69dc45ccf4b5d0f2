//! The upload queue behind the widget: adds files, runs uploads within the concurrency limit,
//! and reports to the host page. It is `Copy` (arena handles), so event handlers and views can
//! all hold it.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::File;

use crate::api::{parse_error_detail, parse_image_record, ImageRecord};
use crate::backend::{request_upload_target, BackendConfig};
use crate::error::{Side, UploadError};
use crate::queue::{BatchSummary, UploadEvent, UploadState};
use crate::transport::{UploadOutcome, XhrUpload};

/// One file in the widget's list.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// Stable key for the list and for the browser handles.
    pub key: u32,
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Where the upload is.
    pub state: RwSignal<UploadState>,
}

/// A failed file, as the `on_error` callback receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFailure {
    /// Name of the file.
    pub file_name: String,
    /// Why it failed.
    pub error: UploadError,
}

/// Callbacks to the host page.
#[derive(Clone, Default)]
pub struct Callbacks {
    /// Runs with the image record of each stored file.
    pub on_success: Option<Callback<ImageRecord>>,
    /// Runs with each failed file.
    pub on_error: Option<Callback<FileFailure>>,
    /// Runs on every progress event and state change.
    pub on_progress: Option<Callback<BatchSummary>>,
    /// Runs once each time the whole batch has finished.
    pub on_complete: Option<Callback<BatchSummary>>,
}

/// The queue: file list, browser handles that are not `Send`, and settings.
#[derive(Clone, Copy)]
pub struct Controller {
    /// The files, in the order they were added.
    pub entries: RwSignal<Vec<FileEntry>>,
    files: StoredValue<HashMap<u32, File>, LocalStorage>,
    running: StoredValue<HashMap<u32, XhrUpload>, LocalStorage>,
    next_key: StoredValue<u32>,
    backend: StoredValue<BackendConfig>,
    concurrency: StoredValue<usize>,
    callbacks: StoredValue<Callbacks>,
    /// Whether files were added since the last `on_complete`.
    batch_open: StoredValue<bool>,
}

impl Controller {
    /// A queue for `backend`, running at most `concurrency` uploads at once.
    pub fn new(backend: BackendConfig, concurrency: usize, callbacks: Callbacks) -> Self {
        Self {
            entries: RwSignal::new(Vec::new()),
            files: StoredValue::new_local(HashMap::new()),
            running: StoredValue::new_local(HashMap::new()),
            next_key: StoredValue::new(0),
            backend: StoredValue::new(backend),
            concurrency: StoredValue::new(concurrency.max(1)),
            callbacks: StoredValue::new(callbacks),
            batch_open: StoredValue::new(false),
        }
    }

    /// The batch summary (reactive: read it inside a closure or `Memo`).
    pub fn summary(&self) -> BatchSummary {
        self.entries.with(|entries| {
            let states: Vec<(u64, UploadState)> = entries.iter().map(|e| (e.size, e.state.get())).collect();
            BatchSummary::of(states.iter().map(|(size, state)| (*size, state)))
        })
    }

    fn summary_untracked(&self) -> BatchSummary {
        self.entries.with_untracked(|entries| {
            let states: Vec<(u64, UploadState)> = entries.iter().map(|e| (e.size, e.state.get_untracked())).collect();
            BatchSummary::of(states.iter().map(|(size, state)| (*size, state)))
        })
    }

    /// Queues files and starts as many as the concurrency limit allows.
    pub fn add_files(&self, files: impl IntoIterator<Item = File>) {
        let mut added = Vec::new();
        for file in files {
            let key = self.next_key.get_value();
            self.next_key.set_value(key + 1);
            added.push(FileEntry { key, name: file.name(), size: file.size() as u64, state: RwSignal::new(UploadState::Queued) });
            self.files.update_value(|files| {
                files.insert(key, file);
            });
        }
        if added.is_empty() {
            return;
        }
        self.batch_open.set_value(true);
        self.entries.update(|entries| entries.extend(added));
        self.pump();
    }

    fn entry(&self, key: u32) -> Option<FileEntry> {
        self.entries.with_untracked(|entries| entries.iter().find(|e| e.key == key).cloned())
    }

    /// Starts queued files while slots are free. A URL is asked for only when its file starts,
    /// so none expires while waiting in the queue.
    fn pump(&self) {
        let entries = self.entries.get_untracked();
        let mut active = entries.iter().filter(|e| e.state.get_untracked().is_active()).count();
        for entry in entries {
            if active >= self.concurrency.get_value() {
                break;
            }
            if entry.state.get_untracked() == UploadState::Queued {
                entry.state.update(|s| *s = s.apply(UploadEvent::Start));
                active += 1;
                let controller = *self;
                spawn_local(async move { controller.run(entry).await });
            }
        }
        self.report_progress();
        self.check_complete();
    }

    async fn run(self, entry: FileEntry) {
        let backend = self.backend.get_value();
        let target = request_upload_target(&backend).await;
        if entry.state.get_untracked() != UploadState::RequestingUrl {
            // Cancelled or removed while the URL was on its way.
            return self.pump();
        }
        let target = match target {
            Ok(target) => target,
            Err(error) => return self.fail(&entry, error),
        };
        let Some(file) = self.files.with_value(|files| files.get(&entry.key).cloned()) else {
            return self.pump();
        };
        entry.state.update(|s| *s = s.apply(UploadEvent::UrlReceived { total: entry.size }));
        let state = entry.state;
        let controller = self;
        let upload = match XhrUpload::start(&target.upload_url, &file, move |sent, total| {
            state.update(|s| *s = s.apply(UploadEvent::Progress { sent, total }));
            controller.report_progress();
        }) {
            Ok(upload) => upload,
            Err(error) => return self.fail(&entry, error),
        };
        let finished = upload.finished();
        self.running.update_value(|running| {
            running.insert(entry.key, upload);
        });
        let _ = finished.await;
        let Some(upload) = self.running.try_update_value(|running| running.remove(&entry.key)).flatten() else {
            return self.pump();
        };
        match upload.outcome() {
            UploadOutcome::Aborted => self.pump(),
            UploadOutcome::Failed(error) => self.fail(&entry, error),
            UploadOutcome::Answered(answer) if (200..300).contains(&answer.status) => match parse_image_record(&answer.body) {
                Ok(image) => {
                    entry.state.update(|s| *s = s.apply(UploadEvent::Succeeded(image.clone())));
                    if let Some(callback) = self.callbacks.with_value(|c| c.on_success) {
                        callback.run(image);
                    }
                    self.pump();
                }
                Err(malformed) => self.fail(&entry, UploadError::Malformed { side: Side::UploadHost, detail: malformed.0 }),
            },
            UploadOutcome::Answered(answer) => self.fail(
                &entry,
                UploadError::Status { side: Side::UploadHost, status: answer.status, detail: parse_error_detail(&answer.body) },
            ),
        }
    }

    fn fail(&self, entry: &FileEntry, error: UploadError) {
        entry.state.update(|s| *s = s.apply(UploadEvent::Failed(error.clone())));
        if let Some(callback) = self.callbacks.with_value(|c| c.on_error) {
            callback.run(FileFailure { file_name: entry.name.clone(), error });
        }
        self.pump();
    }

    /// Cancels a queued or running file; a running request is aborted.
    pub fn cancel(&self, key: u32) {
        if let Some(entry) = self.entry(key) {
            entry.state.update(|s| *s = s.apply(UploadEvent::Cancel));
        }
        if let Some(Some(upload)) = self.running.try_update_value(|running| running.remove(&key)) {
            upload.abort();
        }
        self.pump();
    }

    /// Puts a failed or cancelled file back in the queue; it will get a fresh upload URL.
    pub fn retry(&self, key: u32) {
        if let Some(entry) = self.entry(key) {
            entry.state.update(|s| *s = s.apply(UploadEvent::Retry));
            self.batch_open.set_value(true);
        }
        self.pump();
    }

    /// Removes a file from the list, cancelling it first.
    pub fn remove(&self, key: u32) {
        self.cancel(key);
        self.entries.update(|entries| entries.retain(|e| e.key != key));
        self.files.update_value(|files| {
            files.remove(&key);
        });
    }

    fn report_progress(&self) {
        if let Some(callback) = self.callbacks.with_value(|c| c.on_progress) {
            callback.run(self.summary_untracked());
        }
    }

    fn check_complete(&self) {
        let summary = self.summary_untracked();
        if summary.is_complete() && self.batch_open.get_value() {
            self.batch_open.set_value(false);
            if let Some(callback) = self.callbacks.with_value(|c| c.on_complete) {
                callback.run(summary);
            }
        }
    }
}
