//! Every word the widget shows, in every language it speaks: one table per language
//! ([`en`], [`de`]) and the formatting of sizes ([`format`]). Components, events and
//! `state()` never hold text: they ask [`Lang`], which picks the table, so what a page reads
//! in an event is what the visitor reads on screen. A new language is one more file.

mod de;
mod en;
pub(crate) mod format;

use crate::core::error::UploadError;
use crate::core::state::{BatchSummary, UploadState};
use crate::core::throughput::seconds_left;
use format::format_duration;

/// Picks the language's entry: `pick!(self, NAME)` for a word, `pick!(self, f(args))` for a
/// sentence.
macro_rules! pick {
    ($lang:expr, $($item:tt)+) => {
        match $lang {
            Lang::En => en::$($item)+,
            Lang::De => de::$($item)+,
        }
    };
}

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

    /// A size in this language (`1.5 MB`, `1,5 MB`).
    pub(crate) fn bytes(self, bytes: u64) -> String {
        pick!(self, bytes(bytes))
    }
    /// Label of the whole widget.
    pub(crate) fn region(self) -> &'static str {
        pick!(self, REGION)
    }
    /// The picker button.
    pub(crate) fn choose(self) -> &'static str {
        pick!(self, CHOOSE)
    }
    /// The line under the picker button.
    pub(crate) fn hint(self) -> &'static str {
        pick!(self, HINT)
    }
    /// Label of the total progress bar.
    pub(crate) fn total_progress(self) -> &'static str {
        pick!(self, TOTAL_PROGRESS)
    }
    /// Label of one file's progress bar.
    pub(crate) fn file_progress(self, name: &str) -> String {
        pick!(self, file_progress(name))
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
        if s.files == 0 {
            return String::new();
        }
        if s.pending == 0 {
            return pick!(self, finished(s));
        }
        // Parts appended with their separator: `[String]::join` links its own copy loop.
        let mut line = pick!(self, stored_of(s.done, s.files));
        let mut part = |text: &str| {
            line.push_str(", ");
            line.push_str(text);
        };
        if s.failed > 0 {
            part(&pick!(self, failed_count(s.failed)));
        }
        if s.cancelled > 0 {
            part(&pick!(self, cancelled_count(s.cancelled)));
        }
        if let Some(rate) = bytes_per_second {
            // "/s" and the symbols of sizes and times are the same in every language here.
            part(&(self.bytes(rate) + "/s"));
            let remaining = s.bytes_total.saturating_sub(s.bytes_sent);
            if let Some(left) = seconds_left(remaining, rate).filter(|&left| left > 0) {
                part(&pick!(self, time_left(&format_duration(left))));
            }
        }
        line
    }
    /// A file's state in a word or two.
    pub(crate) fn state(self, state: &UploadState, percent: u32) -> String {
        match state {
            UploadState::Checking => pick!(self, CHECKING).into(),
            UploadState::Queued => pick!(self, QUEUED).into(),
            UploadState::RequestingUrl => pick!(self, PREPARING).into(),
            UploadState::Uploading { .. } => format!("{percent} %"),
            UploadState::Done { .. } => pick!(self, DONE).into(),
            UploadState::Failed { .. } => pick!(self, FAILED).into(),
            UploadState::RetryWaiting { attempt, .. } => pick!(self, retrying(attempt + 1)),
            UploadState::Cancelled => pick!(self, CANCELLED).into(),
        }
    }
    /// Cancel button.
    pub(crate) fn cancel(self) -> &'static str {
        pick!(self, CANCEL)
    }
    /// Cancel button's label.
    pub(crate) fn cancel_label(self, name: &str) -> String {
        pick!(self, cancel_label(name))
    }
    /// Retry button.
    pub(crate) fn retry(self) -> &'static str {
        pick!(self, RETRY)
    }
    /// Retry button's label.
    pub(crate) fn retry_label(self, name: &str) -> String {
        pick!(self, retry_label(name))
    }
    /// Remove button.
    pub(crate) fn remove(self) -> &'static str {
        pick!(self, REMOVE)
    }
    /// Remove button's label.
    pub(crate) fn remove_label(self, name: &str) -> String {
        pick!(self, remove_label(name))
    }
    /// Clear-finished button.
    pub(crate) fn clear_finished(self) -> &'static str {
        pick!(self, CLEAR_FINISHED)
    }
    /// Copy button.
    pub(crate) fn copy(self) -> &'static str {
        pick!(self, COPY)
    }
    /// Copy button after copying.
    pub(crate) fn copied(self) -> &'static str {
        pick!(self, COPIED)
    }
    /// Copy button's label.
    pub(crate) fn copy_label(self, variant: &str) -> String {
        pick!(self, copy_label(variant))
    }
    /// Label of the file list once it scrolls on its own.
    pub(crate) fn files(self) -> &'static str {
        pick!(self, FILES)
    }
    /// Label of the variant list.
    pub(crate) fn image_urls(self) -> &'static str {
        pick!(self, IMAGE_URLS)
    }
    /// Alternative text of a preview.
    pub(crate) fn preview_alt(self, name: &str) -> String {
        pick!(self, preview_alt(name))
    }
    /// Announced when a file is stored.
    pub(crate) fn announce_done(self, name: &str) -> String {
        pick!(self, announce_done(name))
    }
    /// Announced when a file fails for good.
    pub(crate) fn announce_failed(self, name: &str, error: &UploadError) -> String {
        pick!(self, announce_failed(name, &self.error(error)))
    }
    /// An error as the visitor reads it (the events and `state()` carry the same text).
    pub(crate) fn error(self, error: &UploadError) -> String {
        pick!(self, error(error))
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
