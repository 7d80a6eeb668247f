//! The reference distribution drift and alerts compare against: frozen from the window or
//! loaded from the host (e.g. shipped with the model).

use crate::error::{ErrorKind, MonitorError, Result};
use crate::stats::{mean, percentile_floor_index, sort_for_ks};

/// Fewest latency and confidence samples a baseline may have (100).
pub const MIN_BASELINE_SAMPLES: usize = 100;

/// Raw samples to build a [`Baseline`] from. Values need not be sorted.
#[derive(Clone, Copy, Debug, Default)]
pub struct BaselineSamples<'a> {
    /// Latencies in microseconds (at least 100).
    pub latency_us: &'a [f64],
    /// Confidences of successful requests (at least 100).
    pub confidence: &'a [f64],
    /// Input lengths (may be empty: then input length is not tested for drift).
    pub input_length: &'a [f64],
    /// One sample per chosen input feature, in the monitor's feature order (may be empty: then
    /// features are not tested; otherwise exactly as many as the monitor tracks).
    pub features: &'a [&'a [f64]],
    /// Predicted-label counts (may be empty: then labels are not tested).
    pub label_counts: &'a [u64],
    /// Share of requests that failed, in [0, 1].
    pub error_rate: f64,
}

/// A frozen reference: sorted samples plus the summary values the alerts use.
#[derive(Clone, Debug, PartialEq)]
pub struct Baseline {
    pub(crate) latency_us: Vec<f64>,
    pub(crate) confidence: Vec<f64>,
    pub(crate) input_length: Vec<f64>,
    pub(crate) features: Vec<Vec<f64>>,
    pub(crate) label_counts: Vec<u64>,
    pub(crate) error_rate: f64,
    pub(crate) latency_p95_us: f64,
    pub(crate) confidence_mean: f64,
}

impl Baseline {
    /// Validates and sorts `samples`. Errors: fewer than 100 latencies or confidences
    /// (`InsufficientData`), a NaN or infinity, a negative latency, an error rate outside [0, 1].
    pub fn from_samples(samples: &BaselineSamples<'_>) -> Result<Baseline> {
        for (name, values) in [("latency", samples.latency_us), ("confidence", samples.confidence)] {
            if values.len() < MIN_BASELINE_SAMPLES {
                return Err(MonitorError::new(
                    ErrorKind::InsufficientData,
                    format!("a baseline needs at least {MIN_BASELINE_SAMPLES} {name} samples, got {}", values.len()),
                ));
            }
        }
        let mut named: Vec<(String, &[f64])> = vec![
            ("latency".into(), samples.latency_us),
            ("confidence".into(), samples.confidence),
            ("input_length".into(), samples.input_length),
        ];
        for (i, f) in samples.features.iter().enumerate() {
            named.push((format!("feature {i}"), f));
        }
        for (name, values) in &named {
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(MonitorError::invalid(format!("baseline {name} sample {i} is not finite")));
            }
        }
        if samples.latency_us.iter().any(|v| *v < 0.0) {
            return Err(MonitorError::invalid("baseline latencies must be >= 0"));
        }
        if !(0.0..=1.0).contains(&samples.error_rate) {
            return Err(MonitorError::invalid(format!(
                "baseline error rate must be in [0, 1], got {}",
                samples.error_rate
            )));
        }
        let sorted = |values: &[f64]| {
            let mut v = values.to_vec();
            sort_for_ks(&mut v);
            v
        };
        let latency_us = sorted(samples.latency_us);
        let confidence = sorted(samples.confidence);
        Ok(Baseline {
            latency_p95_us: percentile_floor_index(&latency_us, 0.95),
            confidence_mean: mean(samples.confidence),
            latency_us,
            confidence,
            input_length: sorted(samples.input_length),
            features: samples.features.iter().map(|f| sorted(f)).collect(),
            label_counts: samples.label_counts.to_vec(),
            error_rate: samples.error_rate,
        })
    }

    /// Sorted latencies (µs).
    pub fn latency_us(&self) -> &[f64] {
        &self.latency_us
    }

    /// Sorted confidences.
    pub fn confidence(&self) -> &[f64] {
        &self.confidence
    }

    /// Sorted input lengths.
    pub fn input_length(&self) -> &[f64] {
        &self.input_length
    }

    /// Sorted samples of each chosen feature.
    pub fn features(&self) -> &[Vec<f64>] {
        &self.features
    }

    /// Predicted-label counts.
    pub fn label_counts(&self) -> &[u64] {
        &self.label_counts
    }

    /// Error rate.
    pub fn error_rate(&self) -> f64 {
        self.error_rate
    }

    /// p95 latency (µs) by the floor-index rule `sorted[floor(n · 0.95)]`.
    pub fn latency_p95_us(&self) -> f64 {
        self.latency_p95_us
    }

    /// Mean confidence.
    pub fn confidence_mean(&self) -> f64 {
        self.confidence_mean
    }
}
