//! The one place that reads the time. Domain code never does: callers pass `now`.

use jiff::Timestamp;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The system clock, optionally shifted by a number of seconds. The shift is zero
/// in production; tests move it to reach a visit's start time (the browser
/// tests over HTTP, in a `test-clock` build: docs/decisions/0010-test-clock.md).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> Timestamp {
        let now = Timestamp::now();
        let offset = self.offset_secs.load(Ordering::Relaxed);
        now.checked_add(jiff::SignedDuration::from_secs(offset))
            .unwrap_or(now)
    }

    /// Moves this clock (and every clone of it) forward by `secs` (back if
    /// negative).
    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone() {
        let a = Clock::default();
        let b = a.clone();
        let before = b.now();
        a.advance(3600);
        let after = b.now();
        assert!(after.as_second() - before.as_second() >= 3600);
    }
}
