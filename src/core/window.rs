//! Which rows of a long file list are in the page. Past a few dozen files the list scrolls
//! inside the widget and only the rows in view (and a few around them) are rendered; the
//! rows left out are stood in for by blocks of their height, so the scrollbar stays honest.
//! Every row has the same height, which makes this whole-pixel arithmetic: no measuring, no
//! floats.

/// The shape of a list, fixed by the stylesheet and the component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListShape {
    /// Height of every row, in CSS pixels.
    pub row_px: u32,
    /// Rows rendered beyond each edge of the view, so a quick scroll does not show a gap.
    pub overscan: usize,
    /// Lists of up to this many rows render every row and do not scroll by themselves.
    pub threshold: usize,
}

/// The rows to render, and the room the others take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RowWindow {
    /// Index of the first row rendered.
    pub start: usize,
    /// One past the index of the last row rendered.
    pub end: usize,
    /// Pixels taken by the rows above `start` that are not rendered.
    pub before_px: u32,
    /// Pixels taken by the rows from `end` on that are not rendered.
    pub after_px: u32,
    /// Whether the list is past the threshold: it scrolls inside the widget.
    pub windowed: bool,
}

/// The rows of a list of `count` rows worth rendering, when its scroll container is scrolled
/// down by `scroll_top` pixels and shows `view_px` pixels of it.
///
/// ```
/// use direct_upload::core::window::{row_window, ListShape};
///
/// let shape = ListShape { row_px: 50, overscan: 2, threshold: 30 };
/// // 1,000 rows, 400 px of them in view, scrolled to the 100th row.
/// let window = row_window(1_000, 5_000, 400, shape);
/// assert_eq!((window.start, window.end), (98, 111));
/// assert_eq!((window.before_px, window.after_px), (4_900, 44_450));
/// // Short lists render every row.
/// assert_eq!(row_window(12, 0, 400, shape).end, 12);
/// ```
pub fn row_window(count: usize, scroll_top: u32, view_px: u32, shape: ListShape) -> RowWindow {
    if count <= shape.threshold {
        return RowWindow {
            start: 0,
            end: count,
            ..RowWindow::default()
        };
    }
    let row_px = shape.row_px.max(1);
    // Clamped: a list that just lost rows may still report the old, deeper scroll position.
    let first = ((scroll_top / row_px) as usize).min(count - 1);
    // A row cut at the top and one cut at the bottom can both be partly in view.
    let in_view = view_px.div_ceil(row_px) as usize + 1;
    let start = first.saturating_sub(shape.overscan);
    let end = first
        .saturating_add(in_view)
        .saturating_add(shape.overscan)
        .min(count);
    let px = |rows: usize| {
        u32::try_from(rows)
            .unwrap_or(u32::MAX)
            .saturating_mul(row_px)
    };
    RowWindow {
        start,
        end,
        before_px: px(start),
        after_px: px(count - end),
        windowed: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: ListShape = ListShape {
        row_px: 56,
        overscan: 4,
        threshold: 30,
    };

    /// The rendered rows and the blocks standing in for the others add up to the whole list, whatever the scroll.
    fn assert_honest(count: usize, window: RowWindow) {
        let rendered = (window.end - window.start) as u32 * SHAPE.row_px;
        assert_eq!(
            window.before_px + rendered + window.after_px,
            count as u32 * SHAPE.row_px,
            "the scrollbar must measure the whole list: {window:?}"
        );
    }

    #[test]
    fn up_to_the_threshold_every_row_is_rendered_without_scrolling() {
        for count in [0, 1, 30] {
            let window = row_window(count, 9_999, 448, SHAPE);
            assert_eq!(
                window,
                RowWindow {
                    start: 0,
                    end: count,
                    before_px: 0,
                    after_px: 0,
                    windowed: false
                }
            );
        }
        assert!(row_window(31, 0, 448, SHAPE).windowed);
    }

    #[test]
    fn at_the_top_the_view_and_the_overscan_below_it_are_rendered() {
        // 448 px are exactly 8 rows; a ninth can peek in once scrolled by a pixel.
        let window = row_window(1_000, 0, 448, SHAPE);
        assert_eq!((window.start, window.end), (0, 13));
        assert_eq!(window.before_px, 0);
        assert_honest(1_000, window);
    }

    #[test]
    fn in_the_middle_the_overscan_is_on_both_sides() {
        // Scrolled half a row past row 500.
        let window = row_window(1_000, 500 * 56 + 28, 448, SHAPE);
        assert_eq!((window.start, window.end), (496, 513));
        assert_eq!(window.before_px, 496 * 56);
        assert_honest(1_000, window);
    }

    #[test]
    fn at_the_bottom_the_last_row_is_rendered() {
        let bottom = 1_000 * 56 - 448;
        let window = row_window(1_000, bottom, 448, SHAPE);
        assert_eq!(window.end, 1_000);
        assert_eq!(window.after_px, 0);
        assert_honest(1_000, window);
    }

    #[test]
    fn a_scroll_position_past_a_shrunken_list_still_shows_its_end() {
        let window = row_window(40, 1_000 * 56, 448, SHAPE);
        assert_eq!((window.start, window.end), (35, 40));
        assert_honest(40, window);
    }

    #[test]
    fn an_unmeasured_view_still_renders_a_row_and_its_overscan() {
        let window = row_window(1_000, 0, 0, SHAPE);
        assert_eq!((window.start, window.end), (0, 5));
        assert_honest(1_000, window);
    }
}
