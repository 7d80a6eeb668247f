//! Percentiles, means and histograms with the seed guide's rules.

/// The seed's latency histogram buckets, in seconds (`model_prediction_latency_seconds`).
pub const LATENCY_BUCKETS_SECONDS: [f64; 6] = [0.01, 0.05, 0.1, 0.5, 1.0, 5.0];
/// The seed's confidence buckets (`model_confidence_score`).
pub const CONFIDENCE_BUCKETS: [f64; 10] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
/// The seed's input-length buckets (`model_input_length`).
pub const INPUT_LENGTH_BUCKETS: [f64; 6] = [10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0];

/// The seed's percentile: `sorted[int(n * q)]` (its p95 rule, used for p50 and p99 too), clamped
/// to the last element. `sorted` ascending and non-empty; `q` in [0, 1].
pub fn percentile_seed(sorted: &[f64], q: f64) -> f64 {
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
    fn seed_rule_and_nearest_rank() {
        let sorted: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(percentile_seed(&sorted, 0.95), 95.0);
        assert_eq!(percentile_nearest_rank(&sorted, 0.95), 94.0);
        assert_eq!(percentile_seed(&[7.0], 0.99), 7.0);
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
