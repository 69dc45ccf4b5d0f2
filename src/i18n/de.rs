//! Every word the widget shows, in German.

use super::format::format_bytes;
use crate::core::error::{Side, UploadError};
use crate::core::state::BatchSummary;
use crate::core::validate::Rejection;

pub(super) const REGION: &str = "Bilder hochladen";
pub(super) const CHOOSE: &str = "Bilder auswählen";
pub(super) const HINT: &str =
    "oder hierher ziehen oder einfügen. PNG, JPEG, GIF, WebP oder SVG, bis 10 MB pro Datei.";
pub(super) const TOTAL_PROGRESS: &str = "Gesamtfortschritt";
pub(super) const CHECKING: &str = "Wird geprüft";
pub(super) const QUEUED: &str = "Wartet";
pub(super) const PREPARING: &str = "Wird vorbereitet";
pub(super) const DONE: &str = "Hochgeladen";
pub(super) const FAILED: &str = "Fehlgeschlagen";
pub(super) const CANCELLED: &str = "Abgebrochen";
pub(super) const CANCEL: &str = "Abbrechen";
pub(super) const RETRY: &str = "Erneut versuchen";
pub(super) const REMOVE: &str = "Entfernen";
pub(super) const CLEAR_FINISHED: &str = "Fertige entfernen";
pub(super) const COPY: &str = "Kopieren";
pub(super) const COPIED: &str = "Kopiert";
pub(super) const FILES: &str = "Dateien";
pub(super) const IMAGE_URLS: &str = "Bild-URLs";

pub(super) fn bytes(bytes: u64) -> String {
    format_bytes(bytes, ',', "Bytes")
}
pub(super) fn file_progress(name: &str) -> String {
    format!("Fortschritt von {name}")
}
pub(super) fn retrying(attempt: u32) -> String {
    format!("Neuer Versuch ({attempt}.)")
}
pub(super) fn cancel_label(name: &str) -> String {
    format!("{name} abbrechen")
}
pub(super) fn retry_label(name: &str) -> String {
    format!("{name} erneut versuchen")
}
pub(super) fn remove_label(name: &str) -> String {
    format!("{name} aus der Liste entfernen")
}
pub(super) fn copy_label(variant: &str) -> String {
    format!("URL von {variant} kopieren")
}
pub(super) fn preview_alt(name: &str) -> String {
    format!("Vorschau von {name}")
}
pub(super) fn announce_done(name: &str) -> String {
    format!("{name} hochgeladen.")
}
pub(super) fn announce_failed(name: &str, error: &str) -> String {
    format!("{name} fehlgeschlagen: {error}")
}

pub(super) fn stored_of(done: usize, files: usize) -> String {
    format!("{done} von {files} gespeichert")
}
pub(super) fn failed_count(count: usize) -> String {
    format!("{count} fehlgeschlagen")
}
pub(super) fn cancelled_count(count: usize) -> String {
    format!("{count} abgebrochen")
}
pub(super) fn time_left(duration: &str) -> String {
    format!("noch etwa {duration}")
}
pub(super) fn finished(s: &BatchSummary) -> String {
    if s.failed > 0 {
        format!("{} hochgeladen, {} fehlgeschlagen", s.done, s.failed)
    } else {
        format!("Alle {} hochgeladen", s.done)
    }
}

fn side(side: Side) -> &'static str {
    match side {
        Side::Backend => "Backend",
        Side::UploadHost => "Upload-Host",
    }
}

pub(super) fn error(error: &UploadError) -> String {
    let code = |code: Option<u64>| code.map(|c| format!(", Code {c}")).unwrap_or_default();
    match error {
        UploadError::Network { side: s, detail } => {
            format!("{} nicht erreichbar: {detail}", side(*s))
        }
        UploadError::Status {
            side: s,
            status,
            detail,
        } => format!(
            "{}-Fehler (HTTP {status}{}){}",
            side(*s),
            code(detail.code),
            detail
                .message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ),
        UploadError::Malformed { side: s, detail } => {
            format!("Unerwartete Antwort vom {}: {detail}", side(*s))
        }
        UploadError::Stalled { seconds } => {
            format!("Upload-Host hängt: {seconds} s lang geschah nichts")
        }
        UploadError::NotConfirmed { id } => {
            format!("Backend bestätigt den Upload nicht: Bild {id} ist noch ein Entwurf")
        }
        UploadError::Rejected(why) => format!("Vor dem Upload abgelehnt: {}", rejection(why)),
        UploadError::Browser(detail) => {
            format!("Der Browser konnte die Anfrage nicht senden: {detail}")
        }
    }
}

pub(super) fn rejection(rejection: &Rejection) -> String {
    match rejection {
        Rejection::Type { found: Some(found) } => format!("{found} ist kein zulässiger Bildtyp"),
        Rejection::Type { found: None } => "die Datei ist kein Bild eines zulässigen Typs".into(),
        Rejection::TooLarge { size, max } => {
            format!("{} ist größer als {}", bytes(*size), bytes(*max))
        }
        Rejection::TooSmall { size, min } => {
            format!("{} ist kleiner als {}", bytes(*size), bytes(*min))
        }
        Rejection::SideTooLong { width, height, max } => {
            format!("{width}×{height} Pixel: eine Seite ist länger als {max} Pixel")
        }
        Rejection::TooManyPixels { width, height, max } => format!(
            "{width}×{height} Pixel sind mehr als {} Megapixel",
            max / 1_000_000
        ),
        Rejection::TooManyFiles { max } => format!("höchstens {max} Dateien möglich"),
        Rejection::Unreadable => "der Browser kann dieses Bild nicht lesen".into(),
    }
}
