//! Percentiles, means, and histograms with fixed upper-inclusive bucket bounds.

/// Latency bucket bounds in seconds of the monitor window's histogram (the snapshot's, C
/// `mle_snapshot.latency_histogram`): ≤0.01, ≤0.05, ≤0.1, ≤0.5, ≤1, ≤5, then +Inf.
pub const LATENCY_BUCKETS_SECONDS: [f64; 6] = [0.01, 0.05, 0.1, 0.5, 1.0, 5.0];
/// Latency bucket bounds in seconds of the exported cumulative histogram
/// (`model_prediction_latency_seconds`): 1-2-5 steps from 10 µs to 5 s, then +Inf. They contain
/// [`LATENCY_BUCKETS_SECONDS`], so a device's buckets at those bounds keep their meaning (a fleet
/// sum across library versions needs the shared bounds: docs/fleet.md), and resolve what
/// an on-device model takes (microseconds to milliseconds, all below the coarse set's first bound):
/// a fleet's p95 from the summed buckets (`histogram_quantile`) is within one bucket (a factor
/// ≤ 2.5) of the true p95.
pub const LATENCY_EXPORT_BUCKETS_SECONDS: [f64; 18] = [
    0.000_01, 0.000_02, 0.000_05, 0.000_1, 0.000_2, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0,
    2.0, 5.0,
];
/// Confidence bucket bounds (`model_confidence_score`): ≤0.1, ≤0.2, … ≤1.0, then +Inf.
pub const CONFIDENCE_BUCKETS: [f64; 10] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
/// Input-length bucket bounds (`model_input_length`): ≤10, ≤50, ≤100, ≤500, ≤1000, ≤5000, then
/// +Inf.
pub const INPUT_LENGTH_BUCKETS: [f64; 6] = [10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0];

/// The floor-index percentile: `sorted[floor(n · q)]`, clamped to the last element, with no
/// interpolation. It equals [`percentile_nearest_rank`] except when `n · q` is a whole number k
/// with 0 < k < n: then it is `sorted[k]`, one rank higher (p95 of 0..100 is 95, not 94). The
/// monitor's p50, p95 and p99 all use it. `sorted` ascending and non-empty; `q` in [0, 1].
pub fn percentile_floor_index(sorted: &[f64], q: f64) -> f64 {
    let index = (sorted.len() as f64 * q) as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Nearest-rank percentile: the smallest value with at least `q·n` values at or below it
/// (`sorted[ceil(q·n) − 1]`, numpy's `method='inverted_cdf'`).
pub fn percentile_nearest_rank(sorted: &[f64], q: f64) -> f64 {
    let rank = (sorted.len() as f64 * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Arithmetic mean (0 for an empty slice).
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// Adds `value` to Prometheus-style buckets: bucket `i` holds `bounds[i-1] < value ≤ bounds[i]`,
/// the last one (`counts.len() == bounds.len() + 1`) everything above the last bound (`+Inf`).
/// Counts are per bucket, not cumulative. `bounds` ascending.
pub fn histogram_upper_inclusive(bounds: &[f64], value: f64, counts: &mut [u64]) {
    debug_assert_eq!(counts.len(), bounds.len() + 1);
    let bucket = bounds.partition_point(|bound| *bound < value);
    counts[bucket] += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_index_rule_and_nearest_rank() {
        let sorted: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(percentile_floor_index(&sorted, 0.95), 95.0);
        assert_eq!(percentile_nearest_rank(&sorted, 0.95), 94.0);
        assert_eq!(percentile_floor_index(&[7.0], 0.99), 7.0);
    }

    #[test]
    fn buckets_are_upper_inclusive() {
        let mut counts = [0u64; 7];
        for v in [10.0, 10.5, 5000.0, 5000.1, 0.0] {
            histogram_upper_inclusive(&INPUT_LENGTH_BUCKETS, v, &mut counts);
        }
        assert_eq!(counts, [2, 1, 0, 0, 0, 1, 1]);
    }
}
