//! Every word the widget shows, in every language it speaks: one table per language
//! ([`en`], [`de`]) and the formatting of sizes ([`format`]). Components, events and
//! `state()` never hold text: they ask [`Lang`], which picks the table, so what a page reads
//! in an event is what the visitor reads on screen. A new language is one more file.

mod de;
mod en;
pub(crate) mod format;

use crate::core::error::{Side, UploadError};
use crate::core::state::{BatchSummary, UploadState};
use crate::core::throughput::seconds_left;
use crate::core::validate::Rejection;
use format::{fill, format_bytes, format_duration, number};

/// A text of the widget: its place in each language's table. Plain texts, and sentences whose
/// `{0}`, `{1}`, … [`format::fill`] replaces.
///
/// One string per language, the texts in this order, each ended by a NUL, rather than a
/// function per sentence and language (each `format!` cost its call site an argument table
/// and a call into `core::fmt`) or a struct of `&str` (a pointer and a length per text and
/// language, which compress badly).
#[derive(Clone, Copy)]
enum Word {
    /// Label of the whole widget.
    Region,
    /// The picker button.
    Choose,
    /// The line under the picker button.
    Hint,
    /// Label of the total progress bar.
    TotalProgress,
    /// The states of a file, in a word or two.
    Checking,
    /// See `Checking`.
    Queued,
    /// See `Checking`.
    Preparing,
    /// See `Checking`.
    Done,
    /// See `Checking`.
    Failed,
    /// See `Checking`.
    Cancelled,
    /// The buttons.
    Cancel,
    /// See `Cancel`.
    Retry,
    /// See `Cancel`.
    Remove,
    /// See `Cancel`.
    ClearFinished,
    /// See `Cancel`.
    Copy,
    /// The copy button after copying.
    Copied,
    /// Label of the file list once it scrolls on its own.
    Files,
    /// Label of the variant list.
    ImageUrls,
    /// The decimal separator of sizes.
    Decimal,
    /// The unit of sizes under 1000 bytes.
    Bytes,
    /// Sentences: {0} the file's name.
    FileProgress,
    /// {0} the attempt, counted from 1.
    Retrying,
    /// {0} the file's name.
    CancelLabel,
    /// {0} the file's name.
    RetryLabel,
    /// {0} the file's name.
    RemoveLabel,
    /// {0} the variant's name.
    CopyLabel,
    /// {0} the file's name.
    PreviewAlt,
    /// {0} the file's name.
    AnnounceDone,
    /// {0} the file's name, {1} the error.
    AnnounceFailed,
    /// {0} files stored, {1} files in all.
    StoredOf,
    /// {0} a count.
    FailedCount,
    /// {0} a count.
    CancelledCount,
    /// {0} a duration.
    TimeLeft,
    /// {0} files stored, {1} failed.
    FinishedWithFailures,
    /// {0} files stored.
    FinishedAll,
    /// The sides of a failure.
    Backend,
    /// See `Backend`.
    UploadHost,
    /// Errors: {0} the side, {1} the browser's words.
    Unreachable,
    /// {0} the side, {1} the HTTP status, {2} `code` or nothing, {3} `: ` and the message, or
    /// nothing.
    Status,
    /// {0} Cloudflare's code.
    Code,
    /// {0} the side, {1} what was wrong.
    Malformed,
    /// {0} seconds.
    Stalled,
    /// {0} the image's id.
    NotConfirmed,
    /// {0} the rejection.
    Rejected,
    /// {0} the browser's words.
    Browser,
    /// Rejections: {0} the type found.
    WrongType,
    /// No type found.
    NotAnImage,
    /// {0} the size, {1} the limit.
    TooLarge,
    /// {0} the size, {1} the minimum.
    TooSmall,
    /// {0}×{1} pixels, {2} the limit per side.
    SideTooLong,
    /// {0}×{1} pixels, {2} the limit in megapixels.
    TooManyPixels,
    /// {0} the most files.
    TooManyFiles,
    /// The browser cannot read it.
    Unreadable,
}

/// A language's table: `words! { Region: "…", … }`, every [`Word`] once and in its order,
/// which a compile-time assertion checks; a `const &str` of the texts, each ended by a NUL.
macro_rules! words {
    ($($word:ident: $text:literal,)*) => {{
        const _: () = {
            let mut at = 0;
            $(
                assert!($crate::i18n::Word::$word as usize == at, "a word out of place");
                at += 1;
            )*
            assert!(at == $crate::i18n::Word::Unreadable as usize + 1, "a word missing");
        };
        concat!($($text, "\0"),*)
    }};
}
use words;

/// The widget's language.
///
/// ```no_run
/// use direct_upload::{DirectUpload, Lang};
/// use leptos::prelude::*;
///
/// # fn page() -> impl IntoView {
/// view! { <DirectUpload backend="/api/direct-upload" lang=Lang::De/> }
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Lang {
    /// English (the default).
    #[default]
    En,
    /// German.
    De,
}

impl Lang {
    /// The language for a BCP 47 tag (`de`, `de-CH`, …); English for anything unknown.
    ///
    /// ```
    /// use direct_upload::Lang;
    ///
    /// assert_eq!(Lang::from_tag("de-CH"), Lang::De);
    /// assert_eq!(Lang::from_tag("pt-BR"), Lang::En);
    /// ```
    pub fn from_tag(tag: &str) -> Lang {
        // The primary subtag, compared without allocating or a str pattern searcher.
        let end = tag
            .bytes()
            .position(|b| b == b'-' || b == b'_')
            .unwrap_or(tag.len());
        if tag.as_bytes()[..end].eq_ignore_ascii_case(b"de") {
            Lang::De
        } else {
            Lang::En
        }
    }

    /// The BCP 47 tag, for the widget's `lang` attribute.
    ///
    /// ```
    /// use direct_upload::Lang;
    ///
    /// assert_eq!(Lang::De.tag(), "de");
    /// ```
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// A text in this language: the `word as usize`-th of its table. A byte loop: at most a
    /// few KB to scan, and `str::split` would link core's pattern searcher.
    fn word(self, word: Word) -> &'static str {
        let mut rest = match self {
            Lang::En => en::WORDS,
            Lang::De => de::WORDS,
        };
        let end = |text: &str| text.bytes().position(|b| b == 0).unwrap_or(text.len());
        for _ in 0..word as usize {
            rest = rest.get(end(rest) + 1..).unwrap_or_default();
        }
        rest.get(..end(rest)).unwrap_or_default()
    }

    /// A size in this language (`1.5 MB`, `1,5 MB`).
    pub(crate) fn bytes(self, bytes: u64) -> String {
        format_bytes(bytes, self.word(Word::Decimal), self.word(Word::Bytes))
    }
    /// Label of the whole widget.
    pub(crate) fn region(self) -> &'static str {
        self.word(Word::Region)
    }
    /// The picker button.
    pub(crate) fn choose(self) -> &'static str {
        self.word(Word::Choose)
    }
    /// The line under the picker button.
    pub(crate) fn hint(self) -> &'static str {
        self.word(Word::Hint)
    }
    /// Label of the total progress bar.
    pub(crate) fn total_progress(self) -> &'static str {
        self.word(Word::TotalProgress)
    }
    /// Label of one file's progress bar.
    pub(crate) fn file_progress(self, name: &str) -> String {
        fill(self.word(Word::FileProgress), &[name])
    }
    /// The status line without a speed (see [`Lang::progress`]); once the batch has
    /// finished, the sentence the live region announces.
    pub(crate) fn status(self, s: &BatchSummary) -> String {
        self.progress(s, None)
    }
    /// The status line. While files are pending: how many are stored of how many, how many
    /// failed or were cancelled, the speed and the time left, each only when there is one
    /// ("148 of 200 stored, 2 failed, 31 MB/s, about 4 s left"). Once the batch has
    /// finished, a sentence that says how it ended.
    pub(crate) fn progress(self, s: &BatchSummary, bytes_per_second: Option<u64>) -> String {
        let count = |n: usize| number(n as u64);
        if s.files == 0 {
            return String::new();
        }
        if s.pending == 0 {
            return if s.failed > 0 {
                fill(
                    self.word(Word::FinishedWithFailures),
                    &[&count(s.done), &count(s.failed)],
                )
            } else {
                fill(self.word(Word::FinishedAll), &[&count(s.done)])
            };
        }
        // Parts appended with their separator: `[String]::join` links its own copy loop.
        let mut line = fill(
            self.word(Word::StoredOf),
            &[&count(s.done), &count(s.files)],
        );
        let mut part = |text: &str| {
            line.push_str(", ");
            line.push_str(text);
        };
        if s.failed > 0 {
            part(&fill(self.word(Word::FailedCount), &[&count(s.failed)]));
        }
        if s.cancelled > 0 {
            part(&fill(
                self.word(Word::CancelledCount),
                &[&count(s.cancelled)],
            ));
        }
        if let Some(rate) = bytes_per_second {
            // "/s" and the symbols of sizes and times are the same in every language here.
            part(&(self.bytes(rate) + "/s"));
            let remaining = s.bytes_total.saturating_sub(s.bytes_sent);
            if let Some(left) = seconds_left(remaining, rate).filter(|&left| left > 0) {
                part(&fill(self.word(Word::TimeLeft), &[&format_duration(left)]));
            }
        }
        line
    }
    /// A file's state in a word or two.
    pub(crate) fn state(self, state: &UploadState, percent: u32) -> String {
        match state {
            UploadState::Checking => self.word(Word::Checking).into(),
            UploadState::Queued => self.word(Word::Queued).into(),
            UploadState::RequestingUrl => self.word(Word::Preparing).into(),
            UploadState::Uploading { .. } => number(u64::from(percent)) + " %",
            UploadState::Done { .. } => self.word(Word::Done).into(),
            UploadState::Failed { .. } => self.word(Word::Failed).into(),
            UploadState::RetryWaiting { attempt, .. } => fill(
                self.word(Word::Retrying),
                &[&number(u64::from(*attempt) + 1)],
            ),
            UploadState::Cancelled => self.word(Word::Cancelled).into(),
        }
    }
    /// Cancel button.
    pub(crate) fn cancel(self) -> &'static str {
        self.word(Word::Cancel)
    }
    /// Cancel button's label.
    pub(crate) fn cancel_label(self, name: &str) -> String {
        fill(self.word(Word::CancelLabel), &[name])
    }
    /// Retry button.
    pub(crate) fn retry(self) -> &'static str {
        self.word(Word::Retry)
    }
    /// Retry button's label.
    pub(crate) fn retry_label(self, name: &str) -> String {
        fill(self.word(Word::RetryLabel), &[name])
    }
    /// Remove button.
    pub(crate) fn remove(self) -> &'static str {
        self.word(Word::Remove)
    }
    /// Remove button's label.
    pub(crate) fn remove_label(self, name: &str) -> String {
        fill(self.word(Word::RemoveLabel), &[name])
    }
    /// Clear-finished button.
    pub(crate) fn clear_finished(self) -> &'static str {
        self.word(Word::ClearFinished)
    }
    /// Copy button.
    pub(crate) fn copy(self) -> &'static str {
        self.word(Word::Copy)
    }
    /// Copy button after copying.
    pub(crate) fn copied(self) -> &'static str {
        self.word(Word::Copied)
    }
    /// Copy button's label.
    pub(crate) fn copy_label(self, variant: &str) -> String {
        fill(self.word(Word::CopyLabel), &[variant])
    }
    /// Label of the file list once it scrolls on its own.
    pub(crate) fn files(self) -> &'static str {
        self.word(Word::Files)
    }
    /// Label of the variant list.
    pub(crate) fn image_urls(self) -> &'static str {
        self.word(Word::ImageUrls)
    }
    /// Alternative text of a preview.
    pub(crate) fn preview_alt(self, name: &str) -> String {
        fill(self.word(Word::PreviewAlt), &[name])
    }
    /// Announced when a file is stored.
    pub(crate) fn announce_done(self, name: &str) -> String {
        fill(self.word(Word::AnnounceDone), &[name])
    }
    /// Announced when a file fails for good.
    pub(crate) fn announce_failed(self, name: &str, error: &UploadError) -> String {
        fill(self.word(Word::AnnounceFailed), &[name, &self.error(error)])
    }
    /// An error as the visitor reads it (the events and `state()` carry the same text).
    pub(crate) fn error(self, error: &UploadError) -> String {
        let side = |side: &Side| match side {
            Side::Backend => self.word(Word::Backend),
            Side::UploadHost => self.word(Word::UploadHost),
        };
        match error {
            UploadError::Network { side: s, detail } => {
                fill(self.word(Word::Unreachable), &[side(s), detail])
            }
            UploadError::Status {
                side: s,
                status,
                detail,
            } => {
                let code = detail
                    .code
                    .map(|code| fill(self.word(Word::Code), &[&number(code)]))
                    .unwrap_or_default();
                let mut message = String::new();
                if let Some(text) = &detail.message {
                    message.push_str(": ");
                    message.push_str(text);
                }
                fill(
                    self.word(Word::Status),
                    &[side(s), &number(u64::from(*status)), &code, &message],
                )
            }
            UploadError::Malformed { side: s, detail } => {
                fill(self.word(Word::Malformed), &[side(s), detail])
            }
            UploadError::Stalled { seconds } => {
                fill(self.word(Word::Stalled), &[&number(u64::from(*seconds))])
            }
            UploadError::NotConfirmed { id } => fill(self.word(Word::NotConfirmed), &[id]),
            UploadError::Rejected(why) => fill(self.word(Word::Rejected), &[&self.rejection(why)]),
            UploadError::Browser(detail) => fill(self.word(Word::Browser), &[detail]),
        }
    }
    /// Why a file was refused before upload.
    fn rejection(self, rejection: &Rejection) -> String {
        match rejection {
            Rejection::Type { found: Some(found) } => fill(self.word(Word::WrongType), &[found]),
            Rejection::Type { found: None } => self.word(Word::NotAnImage).into(),
            Rejection::TooLarge { size, max } => fill(
                self.word(Word::TooLarge),
                &[&self.bytes(*size), &self.bytes(*max)],
            ),
            Rejection::TooSmall { size, min } => fill(
                self.word(Word::TooSmall),
                &[&self.bytes(*size), &self.bytes(*min)],
            ),
            Rejection::SideTooLong { width, height, max } => fill(
                self.word(Word::SideTooLong),
                &[
                    &number(u64::from(*width)),
                    &number(u64::from(*height)),
                    &number(u64::from(*max)),
                ],
            ),
            Rejection::TooManyPixels { width, height, max } => fill(
                self.word(Word::TooManyPixels),
                &[
                    &number(u64::from(*width)),
                    &number(u64::from(*height)),
                    &number(max / 1_000_000),
                ],
            ),
            Rejection::TooManyFiles { max } => {
                fill(self.word(Word::TooManyFiles), &[&number(*max as u64)])
            }
            Rejection::Unreadable => self.word(Word::Unreadable).into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::validate::Rejection;

    #[test]
    fn the_drop_zone_drawn_before_the_code_arrives_has_the_widgets_words() {
        let script = include_str!("../../js/direct-upload.js");
        let line = script
            .lines()
            .find_map(|l| l.strip_prefix("const WORDS = "))
            .expect("js/direct-upload.js has a WORDS table");
        let words: serde_json::Value = serde_json::from_str(line.trim_end_matches(';')).unwrap();
        for lang in [Lang::En, Lang::De] {
            assert_eq!(
                words[lang.tag()],
                serde_json::json!([lang.region(), lang.choose(), lang.hint()]),
                "js/direct-upload.js WORDS.{} must be src/i18n's words",
                lang.tag()
            );
        }
    }

    #[test]
    fn tags_choose_the_language() {
        assert_eq!(Lang::from_tag("de-CH"), Lang::De);
        assert_eq!(Lang::from_tag("fr"), Lang::En);
        assert_eq!(Lang::from_tag("DE_at"), Lang::De);
        assert_eq!(Lang::from_tag("dex"), Lang::En);
    }

    #[test]
    fn german_formats_numbers_and_errors_its_own_way() {
        let summary = BatchSummary {
            files: 2,
            done: 0,
            failed: 0,
            cancelled: 0,
            pending: 2,
            uploading: 1,
            bytes_sent: 1_500_000,
            bytes_total: 3_000_000,
        };
        assert_eq!(Lang::De.status(&summary), "0 von 2 gespeichert");
        assert_eq!(
            Lang::De.progress(&summary, Some(1_500_000)),
            "0 von 2 gespeichert, 1,5 MB/s, noch etwa 1 s"
        );
        assert_eq!(Lang::En.status(&summary), "0 of 2 stored");
        let error = UploadError::Rejected(Rejection::TooLarge {
            size: 14_000_000,
            max: 10_485_760,
        });
        assert_eq!(
            Lang::De.error(&error),
            "Vor dem Upload abgelehnt: 14 MB ist größer als 10 MB"
        );
        assert_eq!(
            Lang::En.error(&error),
            "Refused before upload: 14 MB is larger than 10 MB"
        );
    }

    /// A long batch under way, the issue's own example.
    fn under_way() -> BatchSummary {
        BatchSummary {
            files: 200,
            done: 148,
            failed: 2,
            cancelled: 0,
            pending: 50,
            uploading: 3,
            bytes_sent: 1_476_000_000,
            bytes_total: 1_600_000_000,
        }
    }

    #[test]
    fn the_status_line_counts_and_estimates_in_both_languages() {
        let summary = under_way();
        assert_eq!(
            Lang::En.progress(&summary, Some(31_000_000)),
            "148 of 200 stored, 2 failed, 31 MB/s, about 4 s left"
        );
        assert_eq!(
            Lang::De.progress(&summary, Some(31_000_000)),
            "148 von 200 gespeichert, 2 fehlgeschlagen, 31 MB/s, noch etwa 4 s"
        );
        let cancelled = BatchSummary {
            failed: 0,
            cancelled: 3,
            ..summary
        };
        assert_eq!(
            Lang::En.progress(&cancelled, Some(820_000)),
            "148 of 200 stored, 3 cancelled, 820 KB/s, about 3 min left"
        );
        assert_eq!(
            Lang::De.progress(&cancelled, None),
            "148 von 200 gespeichert, 3 abgebrochen"
        );
    }

    #[test]
    fn without_a_speed_or_with_nothing_left_the_line_says_no_more_than_it_knows() {
        let summary = under_way();
        assert_eq!(
            Lang::En.progress(&summary, None),
            "148 of 200 stored, 2 failed",
            "no speed: no speed and no time left"
        );
        let sent = BatchSummary {
            bytes_sent: summary.bytes_total,
            ..summary
        };
        assert_eq!(
            Lang::En.progress(&sent, Some(31_000_000)),
            "148 of 200 stored, 2 failed, 31 MB/s",
            "every byte sent (files being confirmed): no time left to announce"
        );
    }

    #[test]
    fn a_finished_batch_says_how_it_ended() {
        let ended = BatchSummary {
            done: 198,
            pending: 0,
            uploading: 0,
            ..under_way()
        };
        assert_eq!(
            Lang::En.progress(&ended, Some(31_000_000)),
            "198 uploaded, 2 failed"
        );
        assert_eq!(Lang::De.status(&ended), "198 hochgeladen, 2 fehlgeschlagen");
        let all = BatchSummary {
            failed: 0,
            done: 200,
            ..ended
        };
        assert_eq!(Lang::En.status(&all), "All 200 uploaded");
        assert_eq!(Lang::En.status(&BatchSummary::default()), "");
    }
}
