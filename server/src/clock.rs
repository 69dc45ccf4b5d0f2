//! The service's idea of now: the wall clock plus an offset that only test controls move.
//!
//! The emulator and the reference backend each hold a clone: they stand for two machines whose
//! clocks agree, as Cloudflare's and a site's do, and a test that moves time moves it for both.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use time::OffsetDateTime;

/// A clock that test controls can move forward; clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    /// Now, by this clock.
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
            + time::Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Moves the clock forward by `seconds` (test controls only).
    pub fn advance(&self, seconds: i64) {
        self.offset_secs.fetch_add(seconds, Ordering::Relaxed);
    }
}
