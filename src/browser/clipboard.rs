//! Copying text for the visitor.

/// Puts `text` on the clipboard; false where the page has no clipboard access.
pub fn copy_text(text: &str) -> bool {
    match web_sys::window() {
        Some(window) => {
            // The promise is not awaited: the button shows "copied" at once, as people expect.
            let _ = window.navigator().clipboard().write_text(text);
            true
        }
        None => false,
    }
}
