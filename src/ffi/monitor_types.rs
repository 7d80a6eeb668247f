//! The monitor's C structs and constants, and their conversions to and from the Rust types.

use std::ffi::c_char;

use mlops_edge_monitor::{
    Alert, Drift, Level, MonitorConfig, Snapshot, Thresholds, MAX_ALERTS, MAX_FEATURES, MAX_VERSIONS, MAX_VERSION_LEN,
    STATUS_SLOTS,
};

use super::abi::Extensible;
use crate::error::{fail, Result, Status};

/// Input features a monitor can watch.
pub const MLE_MAX_FEATURES: usize = 8;
/// Status codes counted one by one in a snapshot (larger codes share the last slot).
pub const MLE_STATUS_SLOTS: usize = 32;
/// Model versions a monitor tells apart.
pub const MLE_MAX_VERSIONS: usize = 16;
/// Longest version string, in bytes (without the NUL).
pub const MLE_MAX_VERSION_LEN: usize = 64;
/// Bytes of a version string buffer (`MLE_MAX_VERSION_LEN` + NUL).
pub const MLE_VERSION_BUFFER: usize = 65;
/// Most alerts in one snapshot.
pub const MLE_MAX_ALERTS: usize = 16;

const _: () = assert!(
    MLE_MAX_FEATURES == MAX_FEATURES
        && MLE_STATUS_SLOTS == STATUS_SLOTS
        && MLE_MAX_VERSIONS == MAX_VERSIONS
        && MLE_MAX_VERSION_LEN == MAX_VERSION_LEN
        && MLE_MAX_ALERTS == MAX_ALERTS
        && MLE_VERSION_BUFFER == MAX_VERSION_LEN + 1
);

/// Level: no alert.
pub const MLE_LEVEL_OK: i32 = 0;
/// Level: at least one warning.
pub const MLE_LEVEL_WARNING: i32 = 1;
/// Level: at least one critical alert.
pub const MLE_LEVEL_CRITICAL: i32 = 2;

/// Alert metric: p95 latency against the baseline's.
pub const MLE_ALERT_LATENCY_P95: i32 = 0;
/// Alert metric: mean confidence against the baseline's.
pub const MLE_ALERT_CONFIDENCE_MEAN: i32 = 1;
/// Alert metric: error rate against the baseline's.
pub const MLE_ALERT_ERROR_RATE: i32 = 2;
/// Alert metric: KS drift of latency.
pub const MLE_ALERT_LATENCY_DRIFT: i32 = 3;
/// Alert metric: KS drift of confidence.
pub const MLE_ALERT_CONFIDENCE_DRIFT: i32 = 4;
/// Alert metric: KS drift of input length.
pub const MLE_ALERT_INPUT_LENGTH_DRIFT: i32 = 5;
/// Alert metric: KS drift of one watched feature (`mle_alert.feature`).
pub const MLE_ALERT_FEATURE_DRIFT: i32 = 6;
/// Alert metric: predicted-label distribution drift (chi-square).
pub const MLE_ALERT_LABEL_DRIFT: i32 = 7;

/// How a monitor is sized: `mle_monitor_options_init` fills the defaults (every field 0 also
/// means its default, except `struct_size`).
#[repr(C)]
pub struct mle_monitor_options {
    /// `sizeof(mle_monitor_options)`.
    pub struct_size: u32,
    /// Records the analysis window keeps, 1..=65536 (0 = 1024).
    pub window: u32,
    /// Records each session's ring holds between analyses, 1..=2^20, rounded up to a power of two
    /// (0 = 1024). A full ring drops and counts new records.
    pub ring_capacity: u32,
    /// Sessions that can be attached at once, 1..=4096 (0 = 16).
    pub max_sessions: u32,
    /// Labels counted one by one (usually the model's label count), 0..=65536.
    pub label_count: u32,
    /// How many of `feature_indices` are used, 0..=8.
    pub feature_count: u32,
    /// Indexes of tensor input values watched for drift (tensor models).
    pub feature_indices: [u32; MLE_MAX_FEATURES],
}

/// Alert thresholds. `mle_monitor_thresholds_init` fills the defaults (a field missing from an
/// older caller's struct takes its default too).
#[repr(C)]
#[derive(Copy, Clone)]
pub struct mle_monitor_thresholds {
    /// `sizeof(mle_monitor_thresholds)`.
    pub struct_size: u32,
    /// Level of drift alerts: `MLE_LEVEL_WARNING` (default) or `MLE_LEVEL_CRITICAL`.
    pub drift_level: i32,
    /// Relative p95 latency increase over the baseline for a warning (default 0.5 = +50%).
    pub latency_p95_warning: f64,
    /// ... for a critical alert (default 1.0 = +100%).
    pub latency_p95_critical: f64,
    /// Relative mean-confidence drop for a warning (default 0.1).
    pub confidence_drop_warning: f64,
    /// ... for a critical alert (default 0.2).
    pub confidence_drop_critical: f64,
    /// Absolute error-rate increase over the baseline for a warning (default 0.05).
    pub error_rate_warning: f64,
    /// ... for a critical alert (default 0.20).
    pub error_rate_critical: f64,
    /// KS drift when p < this (default 0.05; divided by the feature count for features).
    pub drift_p_value: f64,
    /// Label drift when the chi-square p < this (default 0.05).
    pub label_drift_p_value: f64,
    /// Fewest window samples for a drift test (default 30, at least 2).
    pub min_drift_samples: u32,
    /// Fewest window samples before the p95 latency, mean confidence and error-rate alerts are
    /// raised (default 30; latency and confidence count successes, the error rate every request;
    /// a smaller window is judged once full). 1 judges from the first request.
    pub min_alert_samples: u32,
}

/// One KS drift test (docs/monitor.md).
#[repr(C)]
#[derive(Copy, Clone, Default)]
pub struct mle_drift {
    /// 1 if the test ran (baseline sample present, enough window samples), else 0.
    pub tested: u32,
    /// 1 if `p_value < threshold`.
    pub drifted: u32,
    /// KS statistic D.
    pub statistic: f64,
    /// Two-sided p-value (as scipy's ks_2samp).
    pub p_value: f64,
    /// Threshold used (Bonferroni-corrected for features).
    pub threshold: f64,
    /// Window samples.
    pub current_count: u64,
    /// Baseline samples.
    pub baseline_count: u64,
}

/// Output (label) drift.
#[repr(C)]
#[derive(Copy, Clone, Default)]
pub struct mle_label_drift {
    /// 1 if the test ran.
    pub tested: u32,
    /// 1 if `p_value` < the label threshold.
    pub drifted: u32,
    /// Chi-square statistic (scipy chi2_contingency, Yates at 1 dof).
    pub statistic: f64,
    /// Its p-value.
    pub p_value: f64,
    /// Degrees of freedom.
    pub dof: u32,
    /// Population stability index of the label shares.
    pub psi: f64,
}

/// One alert.
#[repr(C)]
#[derive(Copy, Clone, Default)]
pub struct mle_alert {
    /// `MLE_ALERT_*`.
    pub metric: i32,
    /// `MLE_LEVEL_WARNING` or `MLE_LEVEL_CRITICAL`.
    pub level: i32,
    /// Feature position for `MLE_ALERT_FEATURE_DRIFT` (0 otherwise).
    pub feature: u32,
    /// The window's value (p95 µs, mean confidence, error rate; mean for drift; PSI for labels).
    pub current: f64,
    /// The baseline's value.
    pub baseline: f64,
    /// Change in percent (increase for latency/error rate, drop for confidence).
    pub change_pct: f64,
    /// Drift p-value (NaN for degradation alerts).
    pub p_value: f64,
}

/// Requests of one model version.
#[repr(C)]
#[derive(Copy, Clone)]
pub struct mle_version_counts {
    /// The version (NUL-terminated).
    pub version: [c_char; MLE_VERSION_BUFFER],
    /// Successful requests.
    pub ok: u64,
    /// Failed requests.
    pub errors: u64,
}

/// One analysis of a monitor (set `struct_size` before the call). Latencies in microseconds;
/// percentiles by the floor-index rule `sorted[floor(n*q)]`; histograms per bucket (not
/// cumulative), upper bound inclusive (Prometheus `le`), the last bucket +Inf.
#[repr(C)]
pub struct mle_snapshot {
    /// `sizeof(mle_snapshot)`, set by the caller (the level callback receives the library's).
    pub struct_size: u32,
    /// `MLE_LEVEL_*`: the most severe alert's level.
    pub level: i32,
    /// Records taken from the rings since creation.
    pub processed: u64,
    /// Records refused by full rings since creation.
    pub dropped: u64,
    /// Records still waiting in the rings.
    pub pending: u64,
    /// Processed requests per status code (index = `mle_status`; the last slot holds larger codes).
    pub status_counts: [u64; MLE_STATUS_SLOTS],
    /// Entries used in `versions`.
    pub version_count: u32,
    /// Processed requests per model version.
    pub versions: [mle_version_counts; MLE_MAX_VERSIONS],
    /// Records in the window.
    pub window_count: u64,
    /// Failed requests in the window.
    pub window_errors: u64,
    /// `window_errors / window_count`.
    pub error_rate: f64,
    /// Seconds between the window's first and last answer.
    pub window_seconds: f64,
    /// `(window_count - 1) / window_seconds`.
    pub throughput_per_second: f64,
    /// p50 latency (µs).
    pub latency_p50_us: f64,
    /// p95 latency (µs).
    pub latency_p95_us: f64,
    /// p99 latency (µs).
    pub latency_p99_us: f64,
    /// Mean latency (µs).
    pub latency_mean_us: f64,
    /// Largest latency (µs).
    pub latency_max_us: f64,
    /// Seconds buckets ≤0.01, ≤0.05, ≤0.1, ≤0.5, ≤1, ≤5, +Inf.
    pub latency_histogram: [u64; 7],
    /// Mean confidence of successful requests.
    pub confidence_mean: f64,
    /// Buckets ≤0.1 … ≤1.0, +Inf.
    pub confidence_histogram: [u64; 11],
    /// Mean input length of successful requests.
    pub input_length_mean: f64,
    /// Buckets ≤10, ≤50, ≤100, ≤500, ≤1000, ≤5000, +Inf.
    pub input_length_histogram: [u64; 7],
    /// Mean of each watched feature (NaN when none was seen).
    pub feature_means: [f64; MLE_MAX_FEATURES],
    /// 1 if a baseline is set.
    pub has_baseline: u32,
    /// 1 once the degradation alerts (p95 latency, mean confidence, error rate) are judged against
    /// the baseline: the window holds the thresholds' `min_alert_samples` successful requests (or
    /// is full, when smaller). Until then those alerts stay silent, so `MLE_LEVEL_OK` means "not
    /// judged yet" as much as "healthy".
    pub degradation_tested: u32,
    /// Baseline samples.
    pub baseline_count: u64,
    /// Baseline p95 latency (µs).
    pub baseline_latency_p95_us: f64,
    /// Baseline mean confidence.
    pub baseline_confidence_mean: f64,
    /// Baseline error rate.
    pub baseline_error_rate: f64,
    /// KS drift of latency.
    pub drift_latency: mle_drift,
    /// KS drift of confidence.
    pub drift_confidence: mle_drift,
    /// KS drift of input length.
    pub drift_input_length: mle_drift,
    /// Entries used in `drift_features`.
    pub feature_count: u32,
    /// KS drift of each watched feature.
    pub drift_features: [mle_drift; MLE_MAX_FEATURES],
    /// Label drift.
    pub drift_labels: mle_label_drift,
    /// Entries used in `alerts` (most severe first).
    pub alert_count: u32,
    /// The alerts.
    pub alerts: [mle_alert; MLE_MAX_ALERTS],
}

/// A reference distribution from the host (e.g. shipped with the model). Pointers may be NULL
/// only with a count of 0; at least 100 latencies and 100 confidences are required.
#[repr(C)]
pub struct mle_baseline {
    /// `sizeof(mle_baseline)`.
    pub struct_size: u32,
    /// Latencies in microseconds.
    pub latency_us: *const f64,
    /// Their count (>= 100).
    pub latency_count: usize,
    /// Confidences of successful requests.
    pub confidence: *const f64,
    /// Their count (>= 100).
    pub confidence_count: usize,
    /// Input lengths (may be empty).
    pub input_length: *const f64,
    /// Their count.
    pub input_length_count: usize,
    /// Samples of each watched feature (0, or the monitor's feature count).
    pub feature_count: usize,
    /// One pointer per feature.
    pub features: [*const f64; MLE_MAX_FEATURES],
    /// Sample count of each feature.
    pub feature_counts: [usize; MLE_MAX_FEATURES],
    /// Predicted-label counts (0, label_count or label_count + 1 of them).
    pub label_counts: *const u64,
    /// Their count.
    pub label_count: usize,
    /// Error rate in [0, 1].
    pub error_rate: f64,
}

// SAFETY: repr(C), struct_size first, plain data.
unsafe impl Extensible for mle_monitor_options {
    const NAME: &'static str = "mle_monitor_options";
    const SIZES: &'static [usize] = &[std::mem::size_of::<mle_monitor_options>()];
    fn defaults() -> Self {
        let d = MonitorConfig::default();
        mle_monitor_options {
            struct_size: std::mem::size_of::<Self>() as u32,
            window: d.window as u32,
            ring_capacity: d.ring_capacity as u32,
            max_sessions: d.max_recorders as u32,
            label_count: 0,
            feature_count: 0,
            feature_indices: [0; MLE_MAX_FEATURES],
        }
    }
}

// SAFETY: repr(C), struct_size first, plain data.
unsafe impl Extensible for mle_monitor_thresholds {
    const NAME: &'static str = "mle_monitor_thresholds";
    const SIZES: &'static [usize] = &[std::mem::size_of::<mle_monitor_thresholds>()];
    fn defaults() -> Self {
        thresholds_to_c(&Thresholds::default())
    }
}

// SAFETY: repr(C), struct_size first, plain data.
unsafe impl Extensible for mle_baseline {
    const NAME: &'static str = "mle_baseline";
    const SIZES: &'static [usize] = &[std::mem::size_of::<mle_baseline>()];
    fn defaults() -> Self {
        // SAFETY: all-zero is a valid value (NULL pointers, zero counts).
        unsafe { std::mem::zeroed() }
    }
}

super::abi::extensible_out! {
    mle_snapshot: &[std::mem::size_of::<mle_snapshot>()];
}

/// A monitor configuration from its C options (the thresholds: the defaults). A field left 0
/// takes its default.
pub(crate) fn config_from_c(o: &mle_monitor_options) -> Result<MonitorConfig> {
    if o.feature_count as usize > MAX_FEATURES {
        return fail(Status::InvalidArgument, format!("feature_count must be at most {MAX_FEATURES}"));
    }
    let d = MonitorConfig::default();
    let or_default = |v: u32, default: usize| if v == 0 { default } else { v as usize };
    Ok(MonitorConfig {
        window: or_default(o.window, d.window),
        ring_capacity: or_default(o.ring_capacity, d.ring_capacity),
        max_recorders: or_default(o.max_sessions, d.max_recorders),
        label_count: o.label_count as usize,
        feature_indices: o.feature_indices[..o.feature_count as usize].to_vec(),
        ..d
    })
}

/// Thresholds from C (checked by the monitor when applied).
pub(crate) fn thresholds_from_c(t: &mle_monitor_thresholds) -> Result<Thresholds> {
    let Some(drift_level) = Level::from_code(t.drift_level) else {
        return fail(Status::InvalidArgument, format!("drift_level {} is not an MLE_LEVEL_* value", t.drift_level));
    };
    Ok(Thresholds {
        latency_p95_warning: t.latency_p95_warning,
        latency_p95_critical: t.latency_p95_critical,
        confidence_drop_warning: t.confidence_drop_warning,
        confidence_drop_critical: t.confidence_drop_critical,
        error_rate_warning: t.error_rate_warning,
        error_rate_critical: t.error_rate_critical,
        drift_p_value: t.drift_p_value,
        label_drift_p_value: t.label_drift_p_value,
        drift_level,
        min_drift_samples: t.min_drift_samples as usize,
        min_alert_samples: t.min_alert_samples as usize,
    })
}

/// Thresholds as their C struct.
pub(crate) fn thresholds_to_c(t: &Thresholds) -> mle_monitor_thresholds {
    mle_monitor_thresholds {
        struct_size: std::mem::size_of::<mle_monitor_thresholds>() as u32,
        drift_level: t.drift_level as i32,
        latency_p95_warning: t.latency_p95_warning,
        latency_p95_critical: t.latency_p95_critical,
        confidence_drop_warning: t.confidence_drop_warning,
        confidence_drop_critical: t.confidence_drop_critical,
        error_rate_warning: t.error_rate_warning,
        error_rate_critical: t.error_rate_critical,
        drift_p_value: t.drift_p_value,
        label_drift_p_value: t.label_drift_p_value,
        min_drift_samples: t.min_drift_samples.min(u32::MAX as usize) as u32,
        min_alert_samples: t.min_alert_samples.min(u32::MAX as usize) as u32,
    }
}

fn drift_to_c(d: &Drift) -> mle_drift {
    mle_drift {
        tested: d.tested as u32,
        drifted: d.drifted as u32,
        statistic: d.statistic,
        p_value: d.p_value,
        threshold: d.threshold,
        current_count: d.current_count,
        baseline_count: d.baseline_count,
    }
}

fn alert_to_c(a: &Alert) -> mle_alert {
    mle_alert {
        metric: a.metric as i32,
        level: a.level as i32,
        feature: a.feature,
        current: a.current,
        baseline: a.baseline,
        change_pct: a.change_pct,
        p_value: a.p_value,
    }
}

/// A snapshot as its C struct, `struct_size` the library's own.
pub(crate) fn snapshot_to_c(s: &Snapshot) -> mle_snapshot {
    let empty_version = mle_version_counts { version: [0; MLE_VERSION_BUFFER], ok: 0, errors: 0 };
    let mut versions = [empty_version; MAX_VERSIONS];
    for (dst, v) in versions.iter_mut().zip(&s.versions) {
        for (c, byte) in dst.version.iter_mut().zip(v.version.as_bytes()) {
            *c = *byte as c_char;
        }
        dst.ok = v.ok;
        dst.errors = v.errors;
    }
    let mut alerts = [mle_alert::default(); MAX_ALERTS];
    for (dst, a) in alerts.iter_mut().zip(&s.alerts) {
        *dst = alert_to_c(a);
    }
    let mut drift_features = [mle_drift::default(); MAX_FEATURES];
    for (dst, d) in drift_features.iter_mut().zip(&s.drift.features) {
        *dst = drift_to_c(d);
    }
    let w = &s.window;
    let b = s.baseline.unwrap_or_default();
    let l = &s.drift.labels;
    mle_snapshot {
        struct_size: std::mem::size_of::<mle_snapshot>() as u32,
        level: s.level as i32,
        processed: s.processed,
        dropped: s.dropped,
        pending: s.pending,
        status_counts: s.status_counts,
        version_count: s.versions.len() as u32,
        versions,
        window_count: w.count,
        window_errors: w.errors,
        error_rate: w.error_rate,
        window_seconds: w.span_seconds,
        throughput_per_second: w.throughput_per_second,
        latency_p50_us: w.latency_p50_us,
        latency_p95_us: w.latency_p95_us,
        latency_p99_us: w.latency_p99_us,
        latency_mean_us: w.latency_mean_us,
        latency_max_us: w.latency_max_us,
        latency_histogram: w.latency_histogram,
        confidence_mean: w.confidence_mean,
        confidence_histogram: w.confidence_histogram,
        input_length_mean: w.input_length_mean,
        input_length_histogram: w.input_length_histogram,
        feature_means: w.feature_means,
        has_baseline: s.baseline.is_some() as u32,
        degradation_tested: s.degradation_tested as u32,
        baseline_count: b.count,
        baseline_latency_p95_us: b.latency_p95_us,
        baseline_confidence_mean: b.confidence_mean,
        baseline_error_rate: b.error_rate,
        drift_latency: drift_to_c(&s.drift.latency),
        drift_confidence: drift_to_c(&s.drift.confidence),
        drift_input_length: drift_to_c(&s.drift.input_length),
        feature_count: s.drift.feature_count as u32,
        drift_features,
        drift_labels: mle_label_drift {
            tested: l.tested as u32,
            drifted: l.drifted as u32,
            statistic: l.statistic,
            p_value: l.p_value,
            dof: l.dof,
            psi: l.psi,
        },
        alert_count: s.alerts.len() as u32,
        alerts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_constants_match_the_rust_enums() {
        use mlops_edge_monitor::AlertMetric as M;
        assert_eq!(MLE_LEVEL_OK, Level::Ok as i32);
        assert_eq!(MLE_LEVEL_WARNING, Level::Warning as i32);
        assert_eq!(MLE_LEVEL_CRITICAL, Level::Critical as i32);
        let pairs = [
            (MLE_ALERT_LATENCY_P95, M::LatencyP95),
            (MLE_ALERT_CONFIDENCE_MEAN, M::ConfidenceMean),
            (MLE_ALERT_ERROR_RATE, M::ErrorRate),
            (MLE_ALERT_LATENCY_DRIFT, M::LatencyDrift),
            (MLE_ALERT_CONFIDENCE_DRIFT, M::ConfidenceDrift),
            (MLE_ALERT_INPUT_LENGTH_DRIFT, M::InputLengthDrift),
            (MLE_ALERT_FEATURE_DRIFT, M::FeatureDrift),
            (MLE_ALERT_LABEL_DRIFT, M::LabelDrift),
        ];
        for (c, m) in pairs {
            assert_eq!(c, m as i32);
        }
    }

    #[test]
    fn threshold_defaults_round_trip() {
        let t = Thresholds::default();
        assert_eq!(thresholds_from_c(&thresholds_to_c(&t)).unwrap(), t);
    }
}
