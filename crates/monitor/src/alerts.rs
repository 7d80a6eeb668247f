//! Alert levels, alerts and the thresholds that fire them. The decisions that apply the
//! thresholds to an analysis are in `decide`.

use crate::error::{MonitorError, Result};

pub(crate) mod decide;

/// Overall health as the alerts see it.
#[repr(i32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Level {
    /// No alert.
    #[default]
    Ok = 0,
    /// At least one warning, no critical alert.
    Warning = 1,
    /// At least one critical alert.
    Critical = 2,
}

impl Level {
    /// The level with this code.
    pub fn from_code(code: i32) -> Option<Level> {
        match code {
            0 => Some(Level::Ok),
            1 => Some(Level::Warning),
            2 => Some(Level::Critical),
            _ => None,
        }
    }

    /// "ok", "warning" or "critical".
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Critical => "critical",
        }
    }
}

/// What an alert is about.
#[repr(i32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AlertMetric {
    /// p95 latency of the window against the baseline's (by default +50% warning, +100% critical).
    LatencyP95 = 0,
    /// Mean confidence against the baseline's (by default −10% warning, −20% critical).
    ConfidenceMean = 1,
    /// Error rate of the window minus the baseline's, in absolute terms (by default +5 points
    /// warning, +20 points critical).
    ErrorRate = 2,
    /// KS drift of latency.
    LatencyDrift = 3,
    /// KS drift of confidence.
    ConfidenceDrift = 4,
    /// KS drift of input length.
    InputLengthDrift = 5,
    /// KS drift of one chosen input feature (`Alert::feature`), Bonferroni-corrected.
    FeatureDrift = 6,
    /// Predicted-label distribution drift (chi-square homogeneity test).
    LabelDrift = 7,
}

impl AlertMetric {
    /// A stable name, e.g. "latency_p95".
    pub fn as_str(self) -> &'static str {
        match self {
            AlertMetric::LatencyP95 => "latency_p95",
            AlertMetric::ConfidenceMean => "confidence_mean",
            AlertMetric::ErrorRate => "error_rate",
            AlertMetric::LatencyDrift => "latency_drift",
            AlertMetric::ConfidenceDrift => "confidence_drift",
            AlertMetric::InputLengthDrift => "input_length_drift",
            AlertMetric::FeatureDrift => "feature_drift",
            AlertMetric::LabelDrift => "label_drift",
        }
    }
}

/// One alert.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Alert {
    /// What it is about.
    pub metric: AlertMetric,
    /// For [`AlertMetric::FeatureDrift`]: which chosen feature (0-based); otherwise 0.
    pub feature: u32,
    /// Warning or critical.
    pub level: Level,
    /// The window's value: p95 latency (µs), mean confidence, error rate, or for drift the
    /// window mean of the drifted quantity (for labels: the PSI).
    pub current: f64,
    /// The baseline's value of the same quantity (for labels: 0).
    pub baseline: f64,
    /// Change in percent: the relative increase of p95 latency, the relative drop of mean
    /// confidence, the increase of the error rate in percentage points; for drift, the relative
    /// change of the mean (0 when the baseline's mean is 0, and for labels).
    pub change_pct: f64,
    /// For drift alerts, the test's p-value (NaN otherwise).
    pub p_value: f64,
}

/// When alerts fire. Each field states its default; all are configurable.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// Relative p95 latency increase above which a warning fires (default 0.5 = +50%).
    pub latency_p95_warning: f64,
    /// ... and a critical alert (default 1.0 = +100%).
    pub latency_p95_critical: f64,
    /// Relative mean-confidence drop above which a warning fires (default 0.1 = −10%).
    pub confidence_drop_warning: f64,
    /// ... and a critical alert (default 0.2 = −20%).
    pub confidence_drop_critical: f64,
    /// Absolute error-rate increase over the baseline's for a warning (default 0.05 = 5 points).
    pub error_rate_warning: f64,
    /// ... and a critical alert (default 0.20 = 20 points).
    pub error_rate_critical: f64,
    /// Drift when a KS p-value is below this (default 0.05); across the k chosen input features
    /// each is tested at `drift_p_value / k` (Bonferroni).
    pub drift_p_value: f64,
    /// Output drift when the label chi-square p-value is below this (default 0.05).
    pub label_drift_p_value: f64,
    /// Level of drift alerts (warning by default).
    pub drift_level: Level,
    /// Fewest window samples for a drift test (default 30).
    pub min_drift_samples: usize,
    /// Fewest window samples before the degradation alerts (p95 latency, mean confidence, error
    /// rate) are raised (default 30, as `min_drift_samples`): a p95 or a mean over the first one
    /// or two requests is noise, and one unusual input would otherwise raise a critical alert.
    /// Latency and confidence count the window's successes, the error rate all of its requests;
    /// a window smaller than this is judged once full. 1 judges from the first request (the
    /// thresholds alone, with no minimum sample).
    pub min_alert_samples: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            latency_p95_warning: 0.5,
            latency_p95_critical: 1.0,
            confidence_drop_warning: 0.1,
            confidence_drop_critical: 0.2,
            error_rate_warning: 0.05,
            error_rate_critical: 0.20,
            drift_p_value: 0.05,
            label_drift_p_value: 0.05,
            drift_level: Level::Warning,
            min_drift_samples: 30,
            min_alert_samples: 30,
        }
    }
}

impl Thresholds {
    /// Checks every value: finite, non-negative, warning ≤ critical, p-values in (0, 1),
    /// drift level not `Ok`, at least 2 samples for drift and 1 for the degradation alerts.
    pub fn validate(&self) -> Result<()> {
        let pairs = [
            ("latency_p95", self.latency_p95_warning, self.latency_p95_critical),
            ("confidence_drop", self.confidence_drop_warning, self.confidence_drop_critical),
            ("error_rate", self.error_rate_warning, self.error_rate_critical),
        ];
        for (name, warning, critical) in pairs {
            if !(warning.is_finite() && critical.is_finite() && warning >= 0.0 && critical >= 0.0) {
                return Err(MonitorError::invalid(format!(
                    "{name} thresholds must be finite and >= 0 (warning {warning}, critical {critical})"
                )));
            }
            if warning > critical {
                return Err(MonitorError::invalid(format!(
                    "{name} warning threshold {warning} is above its critical threshold {critical}"
                )));
            }
        }
        for (name, p) in [("drift_p_value", self.drift_p_value), ("label_drift_p_value", self.label_drift_p_value)] {
            // Written so that NaN fails the test too.
            #[allow(clippy::neg_cmp_op_on_partial_ord)]
            if !(p > 0.0 && p < 1.0) {
                return Err(MonitorError::invalid(format!("{name} must be in (0, 1), got {p}")));
            }
        }
        if self.drift_level == Level::Ok {
            return Err(MonitorError::invalid("drift_level must be warning or critical"));
        }
        if self.min_drift_samples < 2 {
            return Err(MonitorError::invalid("min_drift_samples must be at least 2"));
        }
        if self.min_alert_samples < 1 {
            return Err(MonitorError::invalid("min_alert_samples must be at least 1"));
        }
        Ok(())
    }
}
