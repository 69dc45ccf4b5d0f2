//! How fast a batch is going and how long it has left: the bytes sent over the last few
//! seconds, in whole bytes per second and whole seconds (no floats: formatting them would
//! pull core's float printer into the wasm).

use std::collections::VecDeque;

/// How far back the speed looks: long enough to smooth over the bursts in which the browser
/// reports progress, short enough to follow a change of network.
pub const WINDOW_MS: u64 = 3_000;

/// The shortest span a speed is worked out over: a few milliseconds of progress say nothing.
pub const MIN_SPAN_MS: u64 = 500;

/// The speed meter: samples of the batch's bytes sent, in, bytes per second, out.
///
/// ```
/// use direct_upload::core::throughput::Throughput;
///
/// let mut meter = Throughput::default();
/// meter.record(10_000, 0);
/// meter.record(11_000, 2_000_000);
/// meter.record(12_000, 4_000_000);
/// assert_eq!(meter.bytes_per_second(), Some(2_000_000));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Throughput {
    /// `(milliseconds, bytes sent so far)`, oldest first.
    samples: VecDeque<(u64, u64)>,
}

impl Throughput {
    /// Notes that `bytes_sent` bytes of the batch had been sent at `now_ms`.
    ///
    /// A count that goes down (a file removed, cancelled or sent again from the start) or a
    /// clock that goes back starts the measurement over: the bytes before and after do not
    /// measure the same thing.
    pub fn record(&mut self, now_ms: u64, bytes_sent: u64) {
        if let Some(&(at, sent)) = self.samples.back() {
            if bytes_sent < sent || now_ms < at {
                self.samples.clear();
            } else if now_ms == at {
                self.samples.pop_back();
            }
        }
        self.samples.push_back((now_ms, bytes_sent));
        // The newest sample that is at least a window old stays, as the window's start.
        let window_start = now_ms.saturating_sub(WINDOW_MS);
        while self.samples.len() > 2 && self.samples[1].0 <= window_start {
            self.samples.pop_front();
        }
    }

    /// Forgets every sample: the batch has finished.
    pub fn clear(&mut self) {
        self.samples.clear();
    }

    /// Bytes per second over the samples kept; `None` until they span [`MIN_SPAN_MS`], and
    /// while nothing moves (a speed of zero says no more than no speed, and would make the
    /// time left endless).
    ///
    /// ```
    /// use direct_upload::core::throughput::Throughput;
    ///
    /// let mut meter = Throughput::default();
    /// meter.record(0, 0);
    /// meter.record(100, 1_000);
    /// assert_eq!(meter.bytes_per_second(), None, "a tenth of a second says nothing yet");
    /// ```
    pub fn bytes_per_second(&self) -> Option<u64> {
        let (&(first_ms, first_sent), &(last_ms, last_sent)) =
            (self.samples.front()?, self.samples.back()?);
        let span = last_ms - first_ms;
        let sent = last_sent - first_sent;
        if span < MIN_SPAN_MS || sent == 0 {
            return None;
        }
        // Capped, not `saturating_mul` (on wasm32 a 128-bit multiplication routine): only
        // exabytes in a sample could reach the cap.
        Some(sent.min(u64::MAX / 1_000) * 1_000 / span)
    }
}

/// Whole seconds, rounded up, to send `remaining` bytes at `bytes_per_second`; `None` at a
/// speed of zero.
///
/// ```
/// use direct_upload::core::throughput::seconds_left;
///
/// assert_eq!(seconds_left(124_000_000, 31_000_000), Some(4));
/// assert_eq!(seconds_left(1, 31_000_000), Some(1));
/// assert_eq!(seconds_left(1, 0), None);
/// ```
pub fn seconds_left(remaining: u64, bytes_per_second: u64) -> Option<u64> {
    (bytes_per_second > 0).then(|| remaining.div_ceil(bytes_per_second))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A steady upload from nothing: `rate` bytes per second, sampled every `every_ms` from
    /// `from_ms` to `to_ms`.
    fn steady(meter: &mut Throughput, from_ms: u64, to_ms: u64, every_ms: u64, rate: u64) {
        for ms in (from_ms..=to_ms).step_by(every_ms as usize) {
            meter.record(ms, (ms - from_ms) * rate / 1_000);
        }
    }

    #[test]
    fn a_steady_upload_measures_its_speed() {
        let mut meter = Throughput::default();
        steady(&mut meter, 0, 10_000, 16, 31_000_000);
        let rate = meter.bytes_per_second().unwrap();
        assert!(
            (30_900_000..=31_100_000).contains(&rate),
            "31 MB/s measured as {rate}"
        );
    }

    #[test]
    fn only_the_last_few_seconds_count() {
        let mut meter = Throughput::default();
        // Ten seconds at 1 MB/s, then three at 10 MB/s.
        steady(&mut meter, 0, 10_000, 100, 1_000_000);
        for step in 1..=30u64 {
            meter.record(10_000 + step * 100, 10_000_000 + step * 1_000_000);
        }
        assert_eq!(
            meter.bytes_per_second(),
            Some(10_000_000),
            "the slow start is out of the window"
        );
        assert!(meter.samples.len() <= 32, "old samples are dropped");
    }

    #[test]
    fn an_upload_that_stops_moving_has_no_speed_once_the_window_has_passed() {
        let mut meter = Throughput::default();
        steady(&mut meter, 0, 2_000, 100, 1_000_000);
        for ms in (3_000..=6_000).step_by(1_000) {
            meter.record(ms, 2_000_000);
        }
        assert_eq!(meter.bytes_per_second(), None);
    }

    #[test]
    fn a_count_that_goes_down_starts_over() {
        let mut meter = Throughput::default();
        steady(&mut meter, 0, 2_000, 100, 1_000_000);
        meter.record(2_100, 500_000);
        assert_eq!(meter.bytes_per_second(), None, "one sample is no speed");
        meter.record(2_700, 1_100_000);
        assert_eq!(meter.bytes_per_second(), Some(1_000_000));
    }

    #[test]
    fn two_samples_in_the_same_millisecond_keep_the_later() {
        let mut meter = Throughput::default();
        meter.record(0, 0);
        meter.record(1_000, 1_000);
        meter.record(1_000, 2_000);
        assert_eq!(meter.bytes_per_second(), Some(2_000));
        meter.clear();
        assert_eq!(meter.bytes_per_second(), None);
    }

    #[test]
    fn the_time_left_rounds_up() {
        assert_eq!(seconds_left(0, 10), Some(0));
        assert_eq!(seconds_left(10, 10), Some(1));
        assert_eq!(seconds_left(11, 10), Some(2));
    }
}
