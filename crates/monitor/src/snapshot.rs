//! What an analysis returns.

use crate::alerts::{Alert, Level};
use crate::record::MAX_FEATURES;
use crate::totals::Totals;

/// Request counts are kept per status code below this; larger codes share the last slot.
pub const STATUS_SLOTS: usize = 32;
/// Model versions a monitor tells apart.
pub const MAX_VERSIONS: usize = 16;
/// Longest model version name, in bytes.
pub const MAX_VERSION_LEN: usize = 64;
/// Most alerts one snapshot can hold (3 degradation + 3 drift + 8 features + labels).
pub const MAX_ALERTS: usize = 16;

/// Requests served by one model version since the monitor was created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionCounts {
    /// The version string the recorder was created with.
    pub version: heapless::String<MAX_VERSION_LEN>,
    /// Successful requests.
    pub ok: u64,
    /// Failed requests.
    pub errors: u64,
}

/// Statistics of the bounded window (the last `window` records).
#[derive(Copy, Clone, Debug, PartialEq, Default)]
pub struct WindowSummary {
    /// Records in the window.
    pub count: u64,
    /// Failed requests among them.
    pub errors: u64,
    /// `errors / count` (0 when empty).
    pub error_rate: f64,
    /// Time between the window's first and last answer, in seconds.
    pub span_seconds: f64,
    /// Requests per second over the window: `(count − 1) / span` (0 with fewer than 2 records).
    pub throughput_per_second: f64,
    /// p50 latency (µs). The three percentiles use the floor-index rule `sorted[floor(n · q)]`
    /// on the sorted latencies, clamped to the last one (no interpolation).
    pub latency_p50_us: f64,
    /// p95 latency (µs).
    pub latency_p95_us: f64,
    /// p99 latency (µs).
    pub latency_p99_us: f64,
    /// Mean latency (µs).
    pub latency_mean_us: f64,
    /// Largest latency (µs).
    pub latency_max_us: f64,
    /// Counts per latency bucket (seconds: ≤0.01, ≤0.05, ≤0.1, ≤0.5, ≤1, ≤5, +Inf).
    pub latency_histogram: [u64; 7],
    /// Mean confidence of successful requests.
    pub confidence_mean: f64,
    /// Counts per confidence bucket (≤0.1, ≤0.2, … ≤1.0, +Inf).
    pub confidence_histogram: [u64; 11],
    /// Mean input length of successful requests.
    pub input_length_mean: f64,
    /// Counts per input-length bucket (≤10, ≤50, ≤100, ≤500, ≤1000, ≤5000, +Inf).
    pub input_length_histogram: [u64; 7],
    /// Mean of each chosen input feature over successful requests (NaN when none had it).
    pub feature_means: [f64; MAX_FEATURES],
}

/// The baseline's summary values.
#[derive(Copy, Clone, Debug, PartialEq, Default)]
pub struct BaselineSummary {
    /// Latency samples.
    pub count: u64,
    /// p95 latency (µs), by the floor-index rule `sorted[floor(n · 0.95)]`.
    pub latency_p95_us: f64,
    /// Mean confidence.
    pub confidence_mean: f64,
    /// Error rate.
    pub error_rate: f64,
}

/// One two-sample KS drift test of the window against the baseline.
#[derive(Copy, Clone, Debug, PartialEq, Default)]
pub struct Drift {
    /// Whether the test ran (a baseline sample exists and the window has enough samples).
    pub tested: bool,
    /// KS statistic D.
    pub statistic: f64,
    /// Two-sided p-value (as scipy's `ks_2samp`).
    pub p_value: f64,
    /// The p-value threshold this test used (Bonferroni-corrected for features).
    pub threshold: f64,
    /// `p_value < threshold`.
    pub drifted: bool,
    /// Window samples tested.
    pub current_count: u64,
    /// Baseline samples.
    pub baseline_count: u64,
}

/// Output drift: the predicted-label distribution of the window against the baseline's.
#[derive(Copy, Clone, Debug, PartialEq, Default)]
pub struct LabelDrift {
    /// Whether the test ran.
    pub tested: bool,
    /// Chi-square statistic (`scipy.stats.chi2_contingency` on the 2×k table, Yates at 1 dof).
    pub statistic: f64,
    /// Its p-value.
    pub p_value: f64,
    /// Degrees of freedom (labels seen − 1).
    pub dof: u32,
    /// Population stability index of the window's label shares against the baseline's.
    pub psi: f64,
    /// `p_value < threshold`.
    pub drifted: bool,
}

/// Every drift test of one analysis.
#[derive(Copy, Clone, Debug, PartialEq, Default)]
pub struct DriftReport {
    /// Latency.
    pub latency: Drift,
    /// Confidence.
    pub confidence: Drift,
    /// Input length.
    pub input_length: Drift,
    /// Each chosen input feature (the first `feature_count`).
    pub features: [Drift; MAX_FEATURES],
    /// How many entries of `features` are used.
    pub feature_count: usize,
    /// Predicted labels.
    pub labels: LabelDrift,
}

/// One analysis of the monitor.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Snapshot {
    /// Records taken from the rings since the monitor was created.
    pub processed: u64,
    /// Records refused by full rings since the monitor was created.
    pub dropped: u64,
    /// Records still in the rings (pushed after this analysis drained them).
    pub pending: u64,
    /// Processed requests per status code (index = code; the last slot holds larger codes).
    pub status_counts: [u64; STATUS_SLOTS],
    /// Cumulative distributions of every processed request (for counters and histograms that a
    /// metrics backend scrapes).
    pub totals: Totals,
    /// Processed requests per model version.
    pub versions: heapless::Vec<VersionCounts, MAX_VERSIONS>,
    /// The window's statistics.
    pub window: WindowSummary,
    /// Predicted-label counts in the window: one per label, then one for labels out of range.
    pub label_counts: Vec<u64>,
    /// The baseline, if one is set.
    pub baseline: Option<BaselineSummary>,
    /// Drift tests (all untested without a baseline).
    pub drift: DriftReport,
    /// Whether the degradation checks (p95 latency, mean confidence, error rate) were judged
    /// against the baseline: one is set and the window holds the thresholds' `min_alert_samples`
    /// successful requests (or is full, when the window is smaller). Until then those checks
    /// raise no alert, so an ok `level` means "not judged yet" as much as "healthy".
    pub degradation_tested: bool,
    /// Whether the error-rate check was judged: a baseline is set and the window holds
    /// `min_alert_samples` requests, errors included (a window of mostly errors is judged here
    /// while `degradation_tested`, which counts successes, is not).
    pub error_rate_tested: bool,
    /// Alerts, most severe first.
    pub alerts: heapless::Vec<Alert, MAX_ALERTS>,
    /// The overall level: the most severe alert's, or ok.
    pub level: Level,
}
