//! Which widget takes a paste made outside every widget: the rule for page-level paste.
//!
//! A visitor who copies a screenshot and presses Ctrl-V (Cmd-V) anywhere on the page expects
//! it to land in the upload widget, as FilePond does. A paste into a text field belongs to the
//! field; a paste inside a widget is that widget's own. For the rest of the page: with one
//! widget that takes page pastes, that one; with several, the one the visitor used last
//! (focused, clicked or gave files to); none if they have used none, since guessing could put a
//! private screenshot in the wrong form.

/// Where a widget takes pasted files from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PasteScope {
    /// Anywhere on the page (outside text fields), by the rule of [`page_paste_target`].
    #[default]
    Page,
    /// Only while the focus is inside the widget.
    Widget,
    /// Never.
    Off,
}

impl PasteScope {
    /// The scope an option value names: `page`, `widget` or `off` (also `false`, `none`);
    /// `None` for anything else.
    ///
    /// ```
    /// use direct_upload::core::paste::PasteScope;
    ///
    /// assert_eq!(PasteScope::from_name("widget"), Some(PasteScope::Widget));
    /// assert_eq!(PasteScope::from_name("false"), Some(PasteScope::Off));
    /// assert_eq!(PasteScope::from_name("everywhere"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<PasteScope> {
        // Attribute values: HTML white space is ASCII.
        match name.trim_ascii() {
            "page" | "" => Some(PasteScope::Page),
            "widget" => Some(PasteScope::Widget),
            "off" | "false" | "none" => Some(PasteScope::Off),
            _ => None,
        }
    }
}

/// A widget on the page, as the page-level paste rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasteCandidate {
    /// Which widget.
    pub id: u32,
    /// Its paste scope.
    pub scope: PasteScope,
    /// When the visitor last used it (any clock; 0: never).
    pub last_used: u64,
}

/// The widget that takes a page-level paste, if any.
///
/// ```
/// use direct_upload::core::paste::{page_paste_target, PasteCandidate, PasteScope};
///
/// let one = [PasteCandidate { id: 1, scope: PasteScope::Page, last_used: 0 }];
/// assert_eq!(page_paste_target(&one), Some(1));
/// let two = [one[0], PasteCandidate { id: 2, scope: PasteScope::Page, last_used: 5 }];
/// assert_eq!(page_paste_target(&two), Some(2), "the one used last");
/// ```
pub fn page_paste_target(widgets: &[PasteCandidate]) -> Option<u32> {
    let mut takers = widgets.iter().filter(|w| w.scope == PasteScope::Page);
    let first = takers.next()?;
    if takers.next().is_none() {
        return Some(first.id);
    }
    widgets
        .iter()
        .filter(|w| w.scope == PasteScope::Page && w.last_used > 0)
        .max_by_key(|w| w.last_used)
        .map(|w| w.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widget(id: u32, scope: PasteScope, last_used: u64) -> PasteCandidate {
        PasteCandidate {
            id,
            scope,
            last_used,
        }
    }

    #[test]
    fn one_widget_takes_the_pages_pastes_unless_it_declines() {
        assert_eq!(
            page_paste_target(&[widget(7, PasteScope::Page, 0)]),
            Some(7)
        );
        assert_eq!(page_paste_target(&[widget(7, PasteScope::Widget, 9)]), None);
        assert_eq!(page_paste_target(&[widget(7, PasteScope::Off, 9)]), None);
        assert_eq!(page_paste_target(&[]), None);
    }

    #[test]
    fn among_several_the_one_used_last_and_none_before_any_is_used() {
        let unused = [
            widget(1, PasteScope::Page, 0),
            widget(2, PasteScope::Page, 0),
        ];
        assert_eq!(page_paste_target(&unused), None, "no guessing");
        let used = [
            widget(1, PasteScope::Page, 30),
            widget(2, PasteScope::Page, 10),
            widget(3, PasteScope::Off, 99),
        ];
        assert_eq!(page_paste_target(&used), Some(1));
        let declining_rest = [
            widget(1, PasteScope::Off, 30),
            widget(2, PasteScope::Page, 0),
        ];
        assert_eq!(
            page_paste_target(&declining_rest),
            Some(2),
            "the only widget taking page pastes"
        );
    }
}
