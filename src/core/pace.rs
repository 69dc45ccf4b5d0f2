//! How often the list shows what the queue did. A batch of small files changes the summary a
//! hundred times a second; drawing each change costs a style, layout, paint and composite of
//! the page (measured: about 2.3 ms of the page's main thread per frame, plus as much again in
//! the compositor and GPU process, on the CPU the uploads need). So the summary, the live
//! region and a row's progress show what changed at most once per [`SHOW_EVERY_MS`]: a change
//! after a quiet spell shows at once, changes during a burst are gathered and shown together at
//! the end of the interval. A row's new kind of state (uploading, done, ...) waits for the
//! pace too: drawn at once, 20 photos of 1.7 MB cost the page 0.30 s of renderer CPU against
//! 0.21 s paced, and took 1.65 × a bare upload loop against 1.35 × (same run); a file may then
//! go from queued to done without showing its upload, when it took less than the interval.
//! What the visitor does (cancel, retry, remove, a new setting), a failure and the end of a
//! batch show at once, with whatever waited. The host page's callbacks and events are not
//! paced, but upload progress reaches the queue, and so `on_progress`, every
//! [`SHOW_EVERY_MS`] at most: a bar may lag its upload by up to two intervals. Times are on a
//! monotonic clock.
//!
//! Previews have a pace too ([`preview_wait_ms`]): while files upload, they decode for at most
//! a tenth of the time.

/// The least time between two showings of the list during a burst of changes: ten a second,
/// quick enough for a bar to move smoothly to the eye, a sixth of the frames the screen could
/// draw. (Uppy paces its total progress at one update per 500 ms.)
pub const SHOW_EVERY_MS: u64 = 100;

/// When changes are shown: the time of the last showing, and whether changes wait for the
/// next one.
///
/// ```
/// use direct_upload::core::pace::{Pace, Show};
///
/// let mut pace = Pace::default();
/// assert_eq!(pace.changed(1_000, false), Show::Now); // the first change shows at once
/// assert_eq!(pace.changed(1_030, false), Show::Later { in_ms: 70 }); // a burst waits
/// assert_eq!(pace.changed(1_060, false), Show::Waiting); // ... together
/// assert!(pace.due(1_100)); // the timer fires: show what waited
/// assert_eq!(pace.changed(1_250, false), Show::Now); // quiet since: at once again
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pace {
    /// When changes were last shown (ms, the browser's clock), if ever.
    shown_at: Option<u64>,
    /// Whether changes wait for a showing a timer will bring.
    waiting: bool,
}

/// What to do with a change, as [`Pace::changed`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// Show it now, with anything that waited.
    Now,
    /// Keep it, and set a timer: call [`Pace::due`] in `in_ms`.
    Later {
        /// Milliseconds until the next showing.
        in_ms: u64,
    },
    /// Keep it: a timer is already set.
    Waiting,
}

impl Pace {
    /// Something changed at `now`; `urgent` when the visitor did it (it shows at once).
    pub fn changed(&mut self, now: u64, urgent: bool) -> Show {
        let next = self.shown_at.map(|at| at.saturating_add(SHOW_EVERY_MS));
        match next {
            Some(next) if !urgent && now < next => {
                if std::mem::replace(&mut self.waiting, true) {
                    Show::Waiting
                } else {
                    Show::Later { in_ms: next - now }
                }
            }
            _ => {
                self.shown_at = Some(now);
                self.waiting = false;
                Show::Now
            }
        }
    }

    /// The timer set after [`Show::Later`] fired at `now`: whether anything still waits to be
    /// shown (an urgent change may have shown it already).
    pub fn due(&mut self, now: u64) -> bool {
        if std::mem::take(&mut self.waiting) {
            self.shown_at = Some(now);
            true
        } else {
            false
        }
    }
}

/// While files upload, previews may decode for one part in this many of the time: a preview
/// of a large photo takes a core for tens of milliseconds, and the uploads need the CPU (on
/// the benchmark's two cores, 20 PNGs of 1.7 MB took 1.5 × a bare upload loop with each
/// preview made as soon as the last one was done, 1.07 × with none). At a tenth, a preview of
/// a 1.7 MB photo still comes every quarter of a second while a slow upload runs; with no
/// upload running, previews come one after the other.
pub const PREVIEW_SHARE: u64 = 10;

/// How long the next preview waits, in ms: none while no upload runs; otherwise until the
/// last preview's decoding time has been followed by `PREVIEW_SHARE - 1` times as long.
/// `last` is when the last preview ended and how long it took (ms, the browser's clock).
///
/// ```
/// use direct_upload::core::pace::preview_wait_ms;
///
/// assert_eq!(preview_wait_ms(0, Some((1_000, 30)), 1_000), 0); // no upload: at once
/// assert_eq!(preview_wait_ms(3, None, 1_000), 0); // the first preview: at once
/// assert_eq!(preview_wait_ms(3, Some((1_000, 30)), 1_100), 170); // 270 ms after it ended
/// assert_eq!(preview_wait_ms(3, Some((1_000, 30)), 1_300), 0);
/// ```
pub fn preview_wait_ms(uploads_running: u32, last: Option<(u64, u64)>, now: u64) -> u64 {
    match last {
        Some((ended_at, took)) if uploads_running > 0 => {
            // A decode is capped at a minute: the sum cannot overflow, and no checked
            // multiplication (a 128-bit routine on wasm32) is needed.
            let next = ended_at.saturating_add(took.min(60_000) * (PREVIEW_SHARE - 1));
            next.saturating_sub(now)
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_shown_once_per_interval_and_nothing_is_left_waiting() {
        let mut pace = Pace::default();
        let mut shown = 0;
        let mut timer: Option<u64> = None;
        // A change every 5 ms for a second, the timer fired when it is due.
        for now in (0..1_000).step_by(5) {
            if timer.is_some_and(|at| at <= now) {
                timer = None;
                shown += u32::from(pace.due(now));
            }
            match pace.changed(now, false) {
                Show::Now => shown += 1,
                Show::Later { in_ms } => {
                    assert!(timer.is_none(), "one timer at a time");
                    timer = Some(now + in_ms);
                }
                Show::Waiting => assert!(timer.is_some(), "a change waits only for a set timer"),
            }
        }
        assert_eq!(shown, 10, "ten showings in a second of changes");
        let at = timer.expect("the last changes wait for a timer");
        assert!(pace.due(at), "the timer shows the last changes");
    }

    #[test]
    fn what_the_visitor_does_shows_at_once_and_the_timer_then_finds_nothing() {
        let mut pace = Pace::default();
        assert_eq!(pace.changed(0, false), Show::Now);
        assert_eq!(pace.changed(10, false), Show::Later { in_ms: 90 });
        assert_eq!(pace.changed(20, true), Show::Now, "a cancel shows at once");
        assert!(!pace.due(100), "what waited was shown with the cancel");
        assert_eq!(pace.changed(50, false), Show::Later { in_ms: 70 });
    }

    #[test]
    fn a_change_after_a_quiet_spell_shows_at_once() {
        let mut pace = Pace::default();
        assert_eq!(pace.changed(0, false), Show::Now);
        assert_eq!(pace.changed(100, false), Show::Now);
        assert_eq!(pace.changed(5_000, false), Show::Now);
    }
}
