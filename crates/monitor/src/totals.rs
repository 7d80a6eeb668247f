//! Cumulative distributions since the monitor was created: what a metrics backend scrapes
//! (Prometheus histograms and counters must never go down, unlike the window's statistics).

use crate::exphist::ExpHistogram;
use crate::record::Record;
use crate::stats::{
    histogram_upper_inclusive, CONFIDENCE_BUCKETS, INPUT_LENGTH_BUCKETS, LATENCY_EXPORT_BUCKETS_SECONDS,
};

/// A histogram with fixed upper-inclusive bounds (Prometheus `le` semantics); `N` = bounds + 1.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct FixedHistogram<const N: usize> {
    /// Counts per bucket, not cumulative; the last one is `+Inf`.
    pub counts: [u64; N],
    /// Sum of the values observed.
    pub sum: f64,
    /// Values observed.
    pub count: u64,
}

impl<const N: usize> Default for FixedHistogram<N> {
    fn default() -> Self {
        FixedHistogram { counts: [0; N], sum: 0.0, count: 0 }
    }
}

impl<const N: usize> FixedHistogram<N> {
    fn observe(&mut self, bounds: &[f64], value: f64) {
        histogram_upper_inclusive(bounds, value, &mut self.counts);
        self.sum += value;
        self.count += 1;
    }
}

/// Every processed request since the monitor was created (not only the window).
#[derive(Copy, Clone, Debug, PartialEq, Default)]
pub struct Totals {
    /// Latency in seconds of every request (errors too), buckets ≤10 µs, ≤20 µs, ≤50 µs, … ≤5 s,
    /// +Inf ([`LATENCY_EXPORT_BUCKETS_SECONDS`]).
    pub latency_seconds: FixedHistogram<19>,
    /// The same latencies, in seconds, as an OpenTelemetry exponential histogram that a fleet
    /// backend can merge across devices.
    pub latency_exponential: ExpHistogram,
    /// Confidence of successful requests, buckets ≤0.1, ≤0.2, … ≤1.0, +Inf ([`CONFIDENCE_BUCKETS`]).
    pub confidence: FixedHistogram<11>,
    /// Input length of successful requests, buckets ≤10, ≤50, ≤100, ≤500, ≤1000, ≤5000, +Inf
    /// ([`INPUT_LENGTH_BUCKETS`]).
    pub input_length: FixedHistogram<7>,
}

impl Totals {
    pub(crate) fn add(&mut self, record: &Record) {
        let seconds = record.latency_ns as f64 / 1e9;
        self.latency_seconds.observe(&LATENCY_EXPORT_BUCKETS_SECONDS, seconds);
        // Latencies are finite and non-negative, and the histogram rescales to fit any such
        // value: recording cannot fail.
        let _ = self.latency_exponential.record(seconds);
        if record.is_ok() {
            self.confidence.observe(&CONFIDENCE_BUCKETS, f64::from(record.confidence));
            self.input_length.observe(&INPUT_LENGTH_BUCKETS, f64::from(record.input_length));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_count_every_record_and_successes_for_confidence() {
        let mut totals = Totals::default();
        totals.add(&Record::success(2_000_000, 1, 0.95, 12));
        totals.add(&Record::success(70_000_000, 0, 0.15, 600));
        totals.add(&Record::error(20_000_000, 12));
        // 2 ms, 70 ms, 20 ms: the ≤2 ms, ≤0.1 s and ≤20 ms buckets.
        let mut expected = [0; 19];
        expected[7] = 1;
        expected[12] = 1;
        expected[10] = 1;
        assert_eq!(totals.latency_seconds.counts, expected);
        assert_eq!(totals.latency_seconds.count, 3);
        assert!((totals.latency_seconds.sum - 0.092).abs() < 1e-12);
        assert_eq!(totals.latency_exponential.count, 3);
        assert_eq!(totals.confidence.count, 2);
        assert_eq!(totals.confidence.counts[1], 1);
        assert_eq!(totals.confidence.counts[9], 1);
        assert_eq!(totals.input_length.counts, [0, 1, 0, 0, 1, 0, 0]);
    }
}
