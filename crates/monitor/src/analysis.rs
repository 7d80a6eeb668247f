//! `Analysis`: the window and everything an analysis computes from it. The monitor keeps one
//! behind its analysis lock; it drains the rings into the bounded window, gathers and sorts the
//! window's samples, summarizes them, runs the drift tests against the baseline and hands the
//! result to the alert decisions ([`crate::alerts::decide`]).

use crate::alerts::{decide, Level, Thresholds};
use crate::baseline::{Baseline, BaselineSamples, MIN_BASELINE_SAMPLES};
use crate::config::MonitorConfig;
use crate::error::{ErrorKind, MonitorError, Result};
use crate::ingest::Ingest;
use crate::record::{Record, MAX_FEATURES, NO_LABEL};
use crate::snapshot::{
    BaselineSummary, Drift, DriftReport, LabelDrift, Snapshot, VersionCounts, WindowSummary, MAX_VERSIONS,
    MAX_VERSION_LEN, STATUS_SLOTS,
};
use crate::stats::{
    chi2_contingency_2xk, f32_from_key, f32_key, histogram_upper_inclusive, ks_2samp_sorted, mean,
    percentile_floor_index, psi, sort_by_keys, SortScratch, CONFIDENCE_BUCKETS, INPUT_LENGTH_BUCKETS,
    LATENCY_BUCKETS_SECONDS,
};
use crate::totals::Totals;

/// The window, the counts since creation, the baseline and thresholds, and the scratch memory
/// an analysis works in. Not synchronised: the caller holds the monitor's analysis lock.
pub(crate) struct Analysis {
    window: Vec<Record>,
    capacity: usize,
    next: usize,
    processed: u64,
    status_counts: [u64; STATUS_SLOTS],
    version_counts: [[u64; 2]; MAX_VERSIONS],
    totals: Totals,
    label_count: usize,
    feature_count: usize,
    /// What drift and the degradation checks compare against (none: no drift, no alerts).
    pub(crate) baseline: Option<Baseline>,
    /// When alerts fire.
    pub(crate) thresholds: Thresholds,
    scratch: Scratch,
}

/// Preallocated working memory: an analysis sorts into these, never allocating for them.
struct Scratch {
    latency: Vec<f64>,
    confidence: Vec<f64>,
    length: Vec<f64>,
    features: Vec<Vec<f64>>,
    labels: Vec<u64>,
    ks: Vec<f64>,
    sort: SortScratch,
}

impl Analysis {
    /// An empty window sized by `config`, with its scratch memory allocated up front.
    pub(crate) fn new(config: &MonitorConfig) -> Analysis {
        let w = config.window;
        let features = config.feature_indices.len();
        Analysis {
            window: Vec::with_capacity(w),
            capacity: w,
            next: 0,
            processed: 0,
            status_counts: [0; STATUS_SLOTS],
            version_counts: [[0; 2]; MAX_VERSIONS],
            totals: Totals::default(),
            label_count: config.label_count,
            feature_count: features,
            baseline: None,
            thresholds: config.thresholds,
            scratch: Scratch {
                latency: Vec::with_capacity(w),
                confidence: Vec::with_capacity(w),
                length: Vec::with_capacity(w),
                features: (0..features).map(|_| Vec::with_capacity(w)).collect(),
                labels: vec![0; config.label_count + 1],
                ks: Vec::with_capacity(w + 2),
                sort: SortScratch::with_capacity(w),
            },
        }
    }

    /// Moves every waiting record from `ingest`'s rings into the window (the oldest records
    /// leave a full window) and into the counts since creation. Returns how many it moved.
    pub(crate) fn drain(&mut self, ingest: &Ingest) -> usize {
        // SAFETY: `self` is behind the monitor's analysis mutex, held by the caller: this is the
        // only consumer of every lane.
        unsafe {
            ingest.drain(|record| {
                self.processed += 1;
                self.status_counts[(record.status as usize).min(STATUS_SLOTS - 1)] += 1;
                self.totals.add(&record);
                if let Some(counts) = self.version_counts.get_mut(record.version as usize) {
                    counts[usize::from(!record.is_ok())] += 1;
                }
                if self.window.len() < self.capacity {
                    self.window.push(record);
                } else {
                    self.window[self.next] = record;
                }
                self.next = (self.next + 1) % self.capacity;
            })
        }
    }

    /// Empties the window (the counts since creation, the baseline and thresholds stay).
    pub(crate) fn clear_window(&mut self) {
        self.window.clear();
        self.next = 0;
    }

    /// Fills the scratch vectors (sorted) and the label counts from the window. Each sample is
    /// radix-sorted on its native integer or f32 key (1–4 byte passes), then widened to f64.
    fn gather(&mut self) -> (u64, u64, u64) {
        let s = &mut self.scratch;
        s.labels.iter_mut().for_each(|c| *c = 0);
        let (mut errors, mut first, mut last) = (0u64, u64::MAX, 0u64);
        for r in &self.window {
            first = first.min(r.timestamp_ns);
            last = last.max(r.timestamp_ns);
            if !r.is_ok() {
                errors += 1;
                continue;
            }
            let label = if r.label == NO_LABEL { usize::MAX } else { r.label as usize };
            s.labels[label.min(self.label_count)] += 1;
        }
        let window = &self.window;
        let ok = || window.iter().filter(|r| r.is_ok());
        sort_by_keys(
            &mut s.sort,
            |keys| keys.extend(window.iter().map(|r| r.latency_ns)),
            |ns| ns as f64 / 1000.0,
            &mut s.latency,
        );
        let f32_value = |k: u64| f64::from(f32_from_key(k as u32));
        sort_by_keys(
            &mut s.sort,
            |keys| keys.extend(ok().filter(|r| r.confidence.is_finite()).map(|r| u64::from(f32_key(r.confidence)))),
            f32_value,
            &mut s.confidence,
        );
        sort_by_keys(
            &mut s.sort,
            |keys| keys.extend(ok().map(|r| u64::from(r.input_length))),
            |n| n as f64,
            &mut s.length,
        );
        for (i, values) in s.features.iter_mut().enumerate() {
            sort_by_keys(
                &mut s.sort,
                |keys| {
                    keys.extend(ok().map(|r| r.features[i]).filter(|v| v.is_finite()).map(|v| u64::from(f32_key(v))))
                },
                f32_value,
                values,
            );
        }
        (errors, first, last)
    }

    fn summarize(&mut self) -> WindowSummary {
        let (errors, first, last) = self.gather();
        let s = &self.scratch;
        let count = self.window.len() as u64;
        let mut w = WindowSummary { count, errors, feature_means: [f64::NAN; MAX_FEATURES], ..Default::default() };
        if count == 0 {
            return w;
        }
        w.error_rate = errors as f64 / count as f64;
        w.span_seconds = (last - first) as f64 / 1e9;
        if count >= 2 && last > first {
            w.throughput_per_second = (count - 1) as f64 / w.span_seconds;
        }
        w.latency_p50_us = percentile_floor_index(&s.latency, 0.50);
        w.latency_p95_us = percentile_floor_index(&s.latency, 0.95);
        w.latency_p99_us = percentile_floor_index(&s.latency, 0.99);
        w.latency_mean_us = mean(&s.latency);
        w.latency_max_us = *s.latency.last().expect("count > 0");
        for v in &s.latency {
            histogram_upper_inclusive(&LATENCY_BUCKETS_SECONDS, v / 1e6, &mut w.latency_histogram);
        }
        w.confidence_mean = mean(&s.confidence);
        for v in &s.confidence {
            histogram_upper_inclusive(&CONFIDENCE_BUCKETS, *v, &mut w.confidence_histogram);
        }
        w.input_length_mean = mean(&s.length);
        for v in &s.length {
            histogram_upper_inclusive(&INPUT_LENGTH_BUCKETS, *v, &mut w.input_length_histogram);
        }
        for (m, values) in w.feature_means.iter_mut().zip(&s.features) {
            if !values.is_empty() {
                *m = mean(values);
            }
        }
        w
    }

    /// Analyses the window (drained by the caller): its summary, the drift tests against the
    /// baseline, then the alert decisions and overall level. `versions` names the model
    /// versions, in the order of their ids.
    pub(crate) fn analyze(&mut self, ingest: &Ingest, versions: &[heapless::String<MAX_VERSION_LEN>]) -> Snapshot {
        let window = self.summarize();
        let mut snapshot = Snapshot {
            processed: self.processed,
            dropped: ingest.dropped(),
            pending: ingest.pending(),
            status_counts: self.status_counts,
            totals: self.totals,
            versions: versions
                .iter()
                .zip(&self.version_counts)
                .map(|(name, counts)| VersionCounts { version: name.clone(), ok: counts[0], errors: counts[1] })
                .collect(),
            window,
            label_counts: self.scratch.labels.clone(),
            baseline: None,
            drift: DriftReport { feature_count: self.feature_count, ..Default::default() },
            degradation_tested: false,
            error_rate_tested: false,
            alerts: heapless::Vec::new(),
            level: Level::Ok,
        };
        let Some(baseline) = &self.baseline else {
            return snapshot;
        };
        snapshot.baseline = Some(BaselineSummary {
            count: baseline.latency_us.len() as u64,
            latency_p95_us: baseline.latency_p95_us,
            confidence_mean: baseline.confidence_mean,
            error_rate: baseline.error_rate,
        });
        let t = self.thresholds;
        let s = &mut self.scratch;
        let test = |current: &[f64], reference: &[f64], threshold: f64, ks: &mut Vec<f64>| -> Drift {
            if reference.is_empty() || current.len() < t.min_drift_samples {
                return Drift { threshold, current_count: current.len() as u64, ..Default::default() };
            }
            let r = ks_2samp_sorted(current, reference, ks);
            Drift {
                tested: true,
                statistic: r.statistic,
                p_value: r.p_value,
                threshold,
                drifted: r.p_value < threshold,
                current_count: current.len() as u64,
                baseline_count: reference.len() as u64,
            }
        };
        let drift = &mut snapshot.drift;
        drift.latency = test(&s.latency, &baseline.latency_us, t.drift_p_value, &mut s.ks);
        drift.confidence = test(&s.confidence, &baseline.confidence, t.drift_p_value, &mut s.ks);
        drift.input_length = test(&s.length, &baseline.input_length, t.drift_p_value, &mut s.ks);
        let per_feature = t.drift_p_value / self.feature_count.max(1) as f64;
        for i in 0..self.feature_count {
            let reference = baseline.features.get(i).map(Vec::as_slice).unwrap_or(&[]);
            drift.features[i] = test(&s.features[i], reference, per_feature, &mut s.ks);
        }
        let window_ok = (snapshot.window.count - snapshot.window.errors) as usize;
        if !baseline.label_counts.is_empty() && window_ok >= t.min_drift_samples {
            if let Some(chi) = chi2_contingency_2xk(&baseline.label_counts, &s.labels) {
                drift.labels = LabelDrift {
                    tested: true,
                    statistic: chi.statistic,
                    p_value: chi.p_value,
                    dof: chi.dof as u32,
                    psi: psi(&baseline.label_counts, &s.labels).unwrap_or(0.0),
                    drifted: chi.p_value < t.label_drift_p_value,
                };
            }
        }
        decide::judge(&mut snapshot, baseline, &t, self.capacity);
        snapshot
    }

    /// A baseline from the window (drained by the caller). Errors with `InsufficientData` when
    /// the window has fewer than [`MIN_BASELINE_SAMPLES`] successful requests with a finite
    /// confidence.
    pub(crate) fn baseline_from_window(&mut self) -> Result<Baseline> {
        let window = self.summarize();
        let s = &self.scratch;
        if s.confidence.len() < MIN_BASELINE_SAMPLES {
            return Err(MonitorError::new(
                ErrorKind::InsufficientData,
                format!(
                    "a baseline needs at least {MIN_BASELINE_SAMPLES} successful requests in the window, it has {}",
                    s.confidence.len()
                ),
            ));
        }
        let features: Vec<&[f64]> = s.features.iter().map(Vec::as_slice).collect();
        Baseline::from_samples(&BaselineSamples {
            latency_us: &s.latency,
            confidence: &s.confidence,
            input_length: &s.length,
            features: &features,
            label_counts: &s.labels,
            error_rate: window.error_rate,
        })
    }
}
