//! The alert decisions: whether the degradation checks are judged yet, which alerts fire at
//! which level, and the overall level. Inputs are an analysis's window summary and drift report
//! and the baseline; nothing here touches the window itself.

use crate::alerts::{Alert, AlertMetric, Level, Thresholds};
use crate::baseline::Baseline;
use crate::snapshot::{Drift, Snapshot, MAX_ALERTS};
use crate::stats::mean;

/// Judges `snapshot` (its window summary and drift report filled in) against `baseline`: sets
/// `degradation_tested`, the alerts and the overall level. `window_capacity` is the monitor's
/// window size.
pub(crate) fn judge(snapshot: &mut Snapshot, baseline: &Baseline, t: &Thresholds, window_capacity: usize) {
    // The degradation checks wait for `min_alert_samples` (or a full window, if the window is
    // smaller): latency and confidence count successes, the error rate all requests.
    let needed = t.min_alert_samples.min(window_capacity) as u64;
    snapshot.degradation_tested = snapshot.window.count - snapshot.window.errors >= needed;
    snapshot.error_rate_tested = snapshot.window.count >= needed;
    snapshot.alerts = alerts(snapshot, baseline, t, needed);
    snapshot.level = overall_level(&snapshot.alerts);
}

/// The most severe alert's level, or ok.
fn overall_level(alerts: &[Alert]) -> Level {
    alerts.iter().map(|a| a.level).max().unwrap_or(Level::Ok)
}

/// The degradation checks (p95 latency, mean confidence, error rate against the baseline's)
/// plus one alert per drifted test, most severe first. The error-rate check runs once the window
/// holds `needed` requests; the other two wait for `snapshot.degradation_tested`.
fn alerts(snapshot: &Snapshot, baseline: &Baseline, t: &Thresholds, needed: u64) -> heapless::Vec<Alert, MAX_ALERTS> {
    let mut out = heapless::Vec::new();
    let w = &snapshot.window;
    if w.count == 0 {
        return out;
    }
    // A change strictly above `warning` is a warning, strictly above `critical` critical.
    let mut degradation = |metric, current: f64, base: f64, change: f64, warning: f64, critical: f64| {
        let level = if change > critical {
            Level::Critical
        } else if change > warning {
            Level::Warning
        } else {
            return;
        };
        let alert =
            Alert { metric, feature: 0, level, current, baseline: base, change_pct: change * 100.0, p_value: f64::NAN };
        let _ = out.push(alert);
    };
    if baseline.latency_p95_us > 0.0 && snapshot.degradation_tested {
        let increase = (w.latency_p95_us - baseline.latency_p95_us) / baseline.latency_p95_us;
        degradation(
            AlertMetric::LatencyP95,
            w.latency_p95_us,
            baseline.latency_p95_us,
            increase,
            t.latency_p95_warning,
            t.latency_p95_critical,
        );
    }
    if baseline.confidence_mean > 0.0 && snapshot.degradation_tested {
        let drop = (baseline.confidence_mean - w.confidence_mean) / baseline.confidence_mean;
        degradation(
            AlertMetric::ConfidenceMean,
            w.confidence_mean,
            baseline.confidence_mean,
            drop,
            t.confidence_drop_warning,
            t.confidence_drop_critical,
        );
    }
    if w.count >= needed {
        degradation(
            AlertMetric::ErrorRate,
            w.error_rate,
            baseline.error_rate,
            w.error_rate - baseline.error_rate,
            t.error_rate_warning,
            t.error_rate_critical,
        );
    }
    let mut push = |alert: Alert| {
        let _ = out.push(alert);
    };
    let d = &snapshot.drift;
    // `now` is the window's mean of the tested samples (the summary's mean: a drifted test had
    // at least `min_drift_samples` of them), `reference` the baseline's sorted samples.
    let mut drift_alert = |metric: AlertMetric, feature: u32, drift: &Drift, now: f64, reference: &[f64]| {
        if drift.drifted {
            let then = mean(reference);
            let change_pct = if then != 0.0 { (now - then) / then.abs() * 100.0 } else { 0.0 };
            push(Alert {
                metric,
                feature,
                level: t.drift_level,
                current: now,
                baseline: then,
                change_pct,
                p_value: drift.p_value,
            });
        }
    };
    drift_alert(AlertMetric::LatencyDrift, 0, &d.latency, w.latency_mean_us, &baseline.latency_us);
    drift_alert(AlertMetric::ConfidenceDrift, 0, &d.confidence, w.confidence_mean, &baseline.confidence);
    drift_alert(AlertMetric::InputLengthDrift, 0, &d.input_length, w.input_length_mean, &baseline.input_length);
    for i in 0..d.feature_count {
        let reference = baseline.features.get(i).map(Vec::as_slice).unwrap_or(&[]);
        drift_alert(AlertMetric::FeatureDrift, i as u32, &d.features[i], w.feature_means[i], reference);
    }
    if d.labels.drifted {
        push(Alert {
            metric: AlertMetric::LabelDrift,
            feature: 0,
            level: t.drift_level,
            current: d.labels.psi,
            baseline: 0.0,
            change_pct: 0.0,
            p_value: d.labels.p_value,
        });
    }
    out.sort_by_key(|a| std::cmp::Reverse(a.level));
    out
}
