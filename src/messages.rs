//! Every string the widget shows, in every language it speaks. Components never hold text:
//! they ask [`Lang`] for it, so a new language is one more arm in each match.

use crate::error::{Side, UploadError};
use crate::format::format_bytes;
use crate::queue::{BatchSummary, UploadState};
use crate::validate::Rejection;

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

    fn pick(self, en: &'static str, de: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::De => de,
        }
    }

    /// A size in this language (`1.5 MB`, `1,5 MB`).
    pub(crate) fn bytes(self, bytes: u64) -> String {
        match self {
            Lang::En => format_bytes(bytes, '.', "bytes"),
            Lang::De => format_bytes(bytes, ',', "Bytes"),
        }
    }

    /// Label of the whole widget.
    pub(crate) fn region(self) -> &'static str {
        self.pick("Image upload", "Bilder hochladen")
    }
    /// The picker button.
    pub(crate) fn choose(self) -> &'static str {
        self.pick("Choose images", "Bilder auswählen")
    }
    /// The line under the picker button.
    pub(crate) fn hint(self) -> &'static str {
        self.pick(
            "or drop or paste them here. PNG, JPEG, GIF, WebP or SVG, up to 10 MB each.",
            "oder hierher ziehen oder einfügen. PNG, JPEG, GIF, WebP oder SVG, bis 10 MB pro Datei.",
        )
    }
    /// Label of the total progress bar.
    pub(crate) fn total_progress(self) -> &'static str {
        self.pick("Total upload progress", "Gesamtfortschritt")
    }
    /// Label of one file's progress bar.
    pub(crate) fn file_progress(self, name: &str) -> String {
        match self {
            Lang::En => format!("Upload progress of {name}"),
            Lang::De => format!("Fortschritt von {name}"),
        }
    }
    /// The summary line.
    pub(crate) fn status(self, s: &BatchSummary) -> String {
        if s.files == 0 {
            return String::new();
        }
        let finished = s.done + s.failed + s.cancelled;
        match (self, s.pending > 0, s.failed > 0) {
            (Lang::En, true, _) => format!(
                "Uploading {} of {} files, {} %: {} of {}",
                (finished + 1).min(s.files),
                s.files,
                s.percent(),
                self.bytes(s.bytes_sent),
                self.bytes(s.bytes_total)
            ),
            (Lang::De, true, _) => format!(
                "Lade Datei {} von {} hoch, {} %: {} von {}",
                (finished + 1).min(s.files),
                s.files,
                s.percent(),
                self.bytes(s.bytes_sent),
                self.bytes(s.bytes_total)
            ),
            (Lang::En, false, true) => format!("{} uploaded, {} failed", s.done, s.failed),
            (Lang::De, false, true) => {
                format!("{} hochgeladen, {} fehlgeschlagen", s.done, s.failed)
            }
            (Lang::En, false, false) => format!("All {} uploaded", s.done),
            (Lang::De, false, false) => format!("Alle {} hochgeladen", s.done),
        }
    }
    /// A file's state in a word or two.
    pub(crate) fn state(self, state: &UploadState, percent: u32) -> String {
        match state {
            UploadState::Checking => self.pick("Checking", "Wird geprüft").into(),
            UploadState::Queued => self.pick("Waiting", "Wartet").into(),
            UploadState::RequestingUrl => self.pick("Preparing", "Wird vorbereitet").into(),
            UploadState::Uploading { .. } => format!("{percent} %"),
            UploadState::Done { .. } => self.pick("Uploaded", "Hochgeladen").into(),
            UploadState::Failed { .. } => self.pick("Failed", "Fehlgeschlagen").into(),
            UploadState::RetryWaiting { attempt, .. } => match self {
                Lang::En => format!("Retrying (attempt {})", attempt + 1),
                Lang::De => format!("Neuer Versuch ({}.)", attempt + 1),
            },
            UploadState::Cancelled => self.pick("Cancelled", "Abgebrochen").into(),
        }
    }
    /// Cancel button.
    pub(crate) fn cancel(self) -> &'static str {
        self.pick("Cancel", "Abbrechen")
    }
    /// Cancel button's label.
    pub(crate) fn cancel_label(self, name: &str) -> String {
        match self {
            Lang::En => format!("Cancel {name}"),
            Lang::De => format!("{name} abbrechen"),
        }
    }
    /// Retry button.
    pub(crate) fn retry(self) -> &'static str {
        self.pick("Retry", "Erneut versuchen")
    }
    /// Retry button's label.
    pub(crate) fn retry_label(self, name: &str) -> String {
        match self {
            Lang::En => format!("Retry {name}"),
            Lang::De => format!("{name} erneut versuchen"),
        }
    }
    /// Remove button.
    pub(crate) fn remove(self) -> &'static str {
        self.pick("Remove", "Entfernen")
    }
    /// Remove button's label.
    pub(crate) fn remove_label(self, name: &str) -> String {
        match self {
            Lang::En => format!("Remove {name} from the list"),
            Lang::De => format!("{name} aus der Liste entfernen"),
        }
    }
    /// Clear-finished button.
    pub(crate) fn clear_finished(self) -> &'static str {
        self.pick("Clear finished", "Fertige entfernen")
    }
    /// Copy button.
    pub(crate) fn copy(self) -> &'static str {
        self.pick("Copy", "Kopieren")
    }
    /// Copy button after copying.
    pub(crate) fn copied(self) -> &'static str {
        self.pick("Copied", "Kopiert")
    }
    /// Copy button's label.
    pub(crate) fn copy_label(self, variant: &str) -> String {
        match self {
            Lang::En => format!("Copy the {variant} URL"),
            Lang::De => format!("URL von {variant} kopieren"),
        }
    }
    /// Label of the variant list.
    pub(crate) fn image_urls(self) -> &'static str {
        self.pick("Image URLs", "Bild-URLs")
    }
    /// Alternative text of a preview.
    pub(crate) fn preview_alt(self, name: &str) -> String {
        match self {
            Lang::En => format!("Preview of {name}"),
            Lang::De => format!("Vorschau von {name}"),
        }
    }
    /// Announced when a file is stored.
    pub(crate) fn announce_done(self, name: &str) -> String {
        match self {
            Lang::En => format!("{name} uploaded."),
            Lang::De => format!("{name} hochgeladen."),
        }
    }
    /// Announced when a file fails for good.
    pub(crate) fn announce_failed(self, name: &str, error: &UploadError) -> String {
        match self {
            Lang::En => format!("{name} failed: {}", self.error(error)),
            Lang::De => format!("{name} fehlgeschlagen: {}", self.error(error)),
        }
    }

    fn side(self, side: Side) -> &'static str {
        match side {
            Side::Backend => "Backend",
            Side::UploadHost => self.pick("Upload host", "Upload-Host"),
        }
    }

    /// An error in this language. English is the error's own `Display`.
    pub(crate) fn error(self, error: &UploadError) -> String {
        if self == Lang::En {
            return match error {
                UploadError::Rejected(rejection) => {
                    format!("Refused before upload: {}", self.rejection(rejection))
                }
                other => other.to_string(),
            };
        }
        let code = |code: Option<u64>| code.map(|c| format!(", Code {c}")).unwrap_or_default();
        match error {
            UploadError::Network { side, detail } => {
                format!("{} nicht erreichbar: {detail}", self.side(*side))
            }
            UploadError::Status {
                side,
                status,
                detail,
            } => format!(
                "{}-Fehler (HTTP {status}{}){}",
                self.side(*side),
                code(detail.code),
                detail
                    .message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ),
            UploadError::Malformed { side, detail } => {
                format!("Unerwartete Antwort vom {}: {detail}", self.side(*side))
            }
            UploadError::Stalled { seconds } => {
                format!("Upload-Host hängt: {seconds} s lang geschah nichts")
            }
            UploadError::NotConfirmed { id } => {
                format!("Backend bestätigt den Upload nicht: Bild {id} ist noch ein Entwurf")
            }
            UploadError::Rejected(rejection) => {
                format!("Vor dem Upload abgelehnt: {}", self.rejection(rejection))
            }
            UploadError::Browser(detail) => {
                format!("Der Browser konnte die Anfrage nicht senden: {detail}")
            }
        }
    }

    /// Why a file was refused, in this language.
    pub(crate) fn rejection(self, rejection: &Rejection) -> String {
        let pixels = |w: &u32, h: &u32| format!("{w}×{h}");
        match (self, rejection) {
            (Lang::En, Rejection::Type { found: Some(found) }) => {
                format!("{found} is not an accepted image type")
            }
            (Lang::En, Rejection::Type { found: None }) => {
                "the file is not an image of an accepted type".into()
            }
            (Lang::En, Rejection::TooLarge { size, max }) => {
                format!("{} is larger than {}", self.bytes(*size), self.bytes(*max))
            }
            (Lang::En, Rejection::TooSmall { size, min }) => {
                format!("{} is smaller than {}", self.bytes(*size), self.bytes(*min))
            }
            (Lang::En, Rejection::SideTooLong { width, height, max }) => {
                format!(
                    "{} pixels: a side is longer than {max} pixels",
                    pixels(width, height)
                )
            }
            (Lang::En, Rejection::TooManyPixels { width, height, max }) => {
                format!(
                    "{} pixels is more than {} megapixels",
                    pixels(width, height),
                    max / 1_000_000
                )
            }
            (Lang::En, Rejection::TooManyFiles { max }) => {
                format!("at most {max} files can be added")
            }
            (Lang::En, Rejection::Unreadable) => "the browser cannot read this image".into(),
            (Lang::De, Rejection::Type { found: Some(found) }) => {
                format!("{found} ist kein zulässiger Bildtyp")
            }
            (Lang::De, Rejection::Type { found: None }) => {
                "die Datei ist kein Bild eines zulässigen Typs".into()
            }
            (Lang::De, Rejection::TooLarge { size, max }) => {
                format!("{} ist größer als {}", self.bytes(*size), self.bytes(*max))
            }
            (Lang::De, Rejection::TooSmall { size, min }) => {
                format!("{} ist kleiner als {}", self.bytes(*size), self.bytes(*min))
            }
            (Lang::De, Rejection::SideTooLong { width, height, max }) => {
                format!(
                    "{} Pixel: eine Seite ist länger als {max} Pixel",
                    pixels(width, height)
                )
            }
            (Lang::De, Rejection::TooManyPixels { width, height, max }) => {
                format!(
                    "{} Pixel sind mehr als {} Megapixel",
                    pixels(width, height),
                    max / 1_000_000
                )
            }
            (Lang::De, Rejection::TooManyFiles { max }) => {
                format!("höchstens {max} Dateien möglich")
            }
            (Lang::De, Rejection::Unreadable) => "der Browser kann dieses Bild nicht lesen".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
