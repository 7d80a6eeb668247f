//! The library's monotonic clock for the deadlines it keeps itself (the telemetry backoff):
//! `Instant::now()`, shifted by what a test asked for when the `test-hooks` feature is on, so a
//! test steps through a five-minute backoff without waiting. Without the feature it is
//! `Instant::now()`.

use std::time::Instant;

/// Now, on the library's clock.
#[inline]
pub(crate) fn now() -> Instant {
    #[cfg(feature = "test-hooks")]
    {
        Instant::now() + testing::offset()
    }
    #[cfg(not(feature = "test-hooks"))]
    {
        Instant::now()
    }
}

/// Moving the clock (test suites only).
#[cfg(feature = "test-hooks")]
pub mod testing {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    static OFFSET_NS: AtomicU64 = AtomicU64::new(0);

    /// Move the library's clock `by` forward, for every thread (it never goes back).
    pub fn advance(by: Duration) {
        OFFSET_NS.fetch_add(by.as_nanos().min(u64::MAX as u128 / 2) as u64, Ordering::SeqCst);
    }

    pub(crate) fn offset() -> Duration {
        Duration::from_nanos(OFFSET_NS.load(Ordering::SeqCst))
    }
}
