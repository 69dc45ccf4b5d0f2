//! Every word the widget shows, in every language it speaks: one table per language
//! ([`en`], [`de`]) and the formatting of sizes ([`format`]). Components, events and
//! `state()` never hold text: they ask [`Lang`], which picks the table, so what a page reads
//! in an event is what the visitor reads on screen. A new language is one more file.

mod de;
mod en;
pub(crate) mod format;

use crate::core::error::UploadError;
use crate::core::state::{BatchSummary, UploadState};

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
        match tag
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
            .as_str()
        {
            "de" => Lang::De,
            _ => Lang::En,
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
    /// The summary line.
    pub(crate) fn status(self, s: &BatchSummary) -> String {
        if s.files == 0 {
            return String::new();
        }
        // The file being sent now, counting those already finished.
        let current = (s.done + s.failed + s.cancelled + 1).min(s.files);
        pick!(self, status(s, current))
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
        assert_eq!(
            Lang::De.status(&summary),
            "Lade Datei 1 von 2 hoch, 50 %: 1,5 MB von 3,0 MB"
        );
        assert_eq!(
            Lang::En.status(&summary),
            "Uploading 1 of 2 files, 50 %: 1.5 MB of 3.0 MB"
        );
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
}
