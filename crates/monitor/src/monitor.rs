//! `Monitor`: the shared object. Requests push records through [`Recorder`]s (lock-free); the
//! host analyses on demand from any thread (under a lock that the request path never takes).

use std::cell::Cell;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::alerts::{Alert, AlertMetric, Level, Thresholds};
use crate::baseline::{Baseline, BaselineSamples, MIN_BASELINE_SAMPLES};
use crate::error::{ErrorKind, MonitorError, Result};
use crate::ingest::{Ingest, Recorder};
use crate::record::{Record, MAX_FEATURES, NO_LABEL};
use crate::snapshot::{
    BaselineSummary, Drift, DriftReport, LabelDrift, Snapshot, VersionCounts, WindowSummary, MAX_VERSIONS,
    MAX_VERSION_LEN, STATUS_SLOTS,
};
use crate::stats::{
    chi2_contingency_2xk, f32_from_key, f32_key, histogram_upper_inclusive, ks_2samp_sorted, mean, percentile_seed,
    psi, sort_by_keys, SortScratch, CONFIDENCE_BUCKETS, INPUT_LENGTH_BUCKETS, LATENCY_BUCKETS_SECONDS,
};
use crate::totals::Totals;

/// Largest window.
pub const MAX_WINDOW: usize = 1 << 16;
/// Largest ring per recorder.
pub const MAX_RING_CAPACITY: usize = 1 << 20;
/// Most recorders (concurrent sessions) per monitor.
pub const MAX_RECORDERS: usize = 4096;
/// Most labels a monitor counts one by one.
pub const MAX_LABELS: usize = 1 << 16;

/// How a monitor is sized and what it watches. Fixed at creation (thresholds can change later).
#[derive(Clone, Debug, PartialEq)]
pub struct MonitorConfig {
    /// Records the analysis window keeps (the last N requests); 1..=65536, default 1024.
    pub window: usize,
    /// Records each recorder's ring holds between analyses (rounded up to a power of two);
    /// 1..=2^20, default 1024. A full ring drops (and counts) new records.
    pub ring_capacity: usize,
    /// Recorders (sessions) that can be attached at once; 1..=4096, default 16.
    pub max_recorders: usize,
    /// Labels counted one by one (the model's label count; larger indexes share one "other"
    /// count); 0..=65536, default 0 (then only "other").
    pub label_count: usize,
    /// Indexes of the input tensor values watched for drift, at most 8 (tensor models only).
    pub feature_indices: Vec<u32>,
    /// Alert thresholds.
    pub thresholds: Thresholds,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            window: 1024,
            ring_capacity: 1024,
            max_recorders: 16,
            label_count: 0,
            feature_indices: Vec::new(),
            thresholds: Thresholds::default(),
        }
    }
}

impl MonitorConfig {
    /// Checks every field against its documented range.
    pub fn validate(&self) -> Result<()> {
        let ranges = [
            ("window", self.window, 1, MAX_WINDOW),
            ("ring_capacity", self.ring_capacity, 1, MAX_RING_CAPACITY),
            ("max_recorders", self.max_recorders, 1, MAX_RECORDERS),
            ("label_count", self.label_count, 0, MAX_LABELS),
            ("feature count", self.feature_indices.len(), 0, MAX_FEATURES),
        ];
        for (name, value, low, high) in ranges {
            if value < low || value > high {
                return Err(MonitorError::invalid(format!("{name} must be in {low}..={high}, got {value}")));
            }
        }
        self.thresholds.validate()
    }
}

/// What the level callback receives.
#[derive(Debug)]
pub struct LevelChange<'a> {
    /// The level before this analysis.
    pub previous: Level,
    /// The new level.
    pub current: Level,
    /// The analysis that changed it.
    pub snapshot: &'a Snapshot,
}

/// Called when an analysis changes the overall level; runs on the thread that called the
/// analysis, with the monitor's analysis lock held: it must not call the same monitor's
/// analysis methods (they return `InvalidState` if it does).
pub type LevelCallback = Box<dyn FnMut(&LevelChange<'_>) + Send>;

/// The on-device monitor. Cheap to clone (shared); `Send + Sync`.
#[derive(Clone)]
pub struct Monitor {
    inner: Arc<Inner>,
}

struct Inner {
    ingest: Arc<Ingest>,
    config: MonitorConfig,
    versions: Mutex<heapless::Vec<heapless::String<MAX_VERSION_LEN>, MAX_VERSIONS>>,
    analysis: Mutex<Analysis>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

thread_local! {
    /// The monitor whose level callback this thread is running (its address), or 0.
    static IN_CALLBACK: Cell<usize> = const { Cell::new(0) };
}

impl Monitor {
    /// A monitor; allocates its window, rings and scratch up front.
    pub fn new(config: MonitorConfig) -> Result<Monitor> {
        config.validate()?;
        let ingest = Arc::new(Ingest::new(config.max_recorders, config.ring_capacity, &config.feature_indices));
        let analysis = Analysis::new(&config);
        Ok(Monitor {
            inner: Arc::new(Inner {
                ingest,
                config,
                versions: Mutex::new(heapless::Vec::new()),
                analysis: Mutex::new(analysis),
            }),
        })
    }

    /// The configuration it was created with (thresholds as at creation).
    pub fn config(&self) -> &MonitorConfig {
        &self.inner.config
    }

    /// A recorder for one session serving model version `version` (at most 64 bytes; at most
    /// 16 distinct versions per monitor). Errors: `LimitReached` when all `max_recorders` lanes
    /// are taken or the version table is full, `InvalidArgument` for a too-long version.
    pub fn recorder(&self, version: &str) -> Result<Recorder> {
        let id = self.version_id(version)?;
        self.inner.ingest.claim(id).ok_or_else(|| {
            MonitorError::new(
                ErrorKind::LimitReached,
                format!("all {} recorder lanes of this monitor are in use", self.inner.config.max_recorders),
            )
        })
    }

    fn version_id(&self, version: &str) -> Result<u16> {
        let mut versions = self.inner.versions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = versions.iter().position(|v| v.as_str() == version) {
            return Ok(i as u16);
        }
        let name = heapless::String::try_from(version)
            .map_err(|_| MonitorError::invalid(format!("model version names are at most {MAX_VERSION_LEN} bytes")))?;
        versions.push(name).map_err(|_| {
            MonitorError::new(ErrorKind::LimitReached, format!("a monitor tells at most {MAX_VERSIONS} versions apart"))
        })?;
        Ok((versions.len() - 1) as u16)
    }

    /// Recorder lanes currently attached.
    pub fn recorders_in_use(&self) -> usize {
        self.inner.ingest.lanes_in_use()
    }

    /// Moves waiting records from the rings into the window (cheap; a host may call it on a
    /// timer so that rings do not fill up between analyses). Returns how many it moved.
    pub fn drain(&self) -> Result<usize> {
        let mut analysis = self.lock()?;
        Ok(analysis.drain(&self.inner.ingest))
    }

    /// Drains, then analyses the window: percentiles, histograms, drift against the baseline,
    /// alerts and the overall level. Fires the level callback when the level changed.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let mut analysis = self.lock()?;
        analysis.drain(&self.inner.ingest);
        let versions = self.inner.versions.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let snapshot = analysis.analyze(&self.inner.ingest, &versions);
        if snapshot.level != analysis.level {
            let previous = std::mem::replace(&mut analysis.level, snapshot.level);
            if let Some(callback) = analysis.callback.as_mut() {
                let _marker = CallbackMarker::enter(&self.inner);
                callback(&LevelChange { previous, current: snapshot.level, snapshot: &snapshot });
            }
        }
        Ok(snapshot)
    }

    /// Freezes the window as the baseline (drains first). Errors with `InsufficientData` when
    /// the window has fewer than 100 successful requests (the seed's rule).
    pub fn freeze_baseline(&self) -> Result<()> {
        let mut analysis = self.lock()?;
        analysis.drain(&self.inner.ingest);
        let baseline = analysis.baseline_from_window()?;
        analysis.baseline = Some(baseline);
        Ok(())
    }

    /// Sets a baseline from the host (e.g. shipped with the model). Its features must be empty
    /// or one per chosen feature; its label counts empty, or `label_count` or `label_count + 1` long.
    pub fn set_baseline(&self, baseline: Baseline) -> Result<()> {
        let features = self.inner.config.feature_indices.len();
        if !baseline.features.is_empty() && baseline.features.len() != features {
            return Err(MonitorError::invalid(format!(
                "the baseline has {} features, this monitor watches {features}",
                baseline.features.len()
            )));
        }
        let labels = self.inner.config.label_count;
        let mut baseline = baseline;
        match baseline.label_counts.len() {
            0 => {}
            n if n == labels => baseline.label_counts.push(0),
            n if n == labels + 1 => {}
            n => {
                return Err(MonitorError::invalid(format!(
                    "the baseline has {n} label counts, this monitor counts {labels} labels"
                )))
            }
        }
        self.lock()?.baseline = Some(baseline);
        Ok(())
    }

    /// Builds a baseline from samples and sets it (see [`Baseline::from_samples`]).
    pub fn load_baseline(&self, samples: &BaselineSamples<'_>) -> Result<()> {
        self.set_baseline(Baseline::from_samples(samples)?)
    }

    /// The current baseline, to persist or ship.
    pub fn baseline(&self) -> Result<Option<Baseline>> {
        Ok(self.lock()?.baseline.clone())
    }

    /// Removes the baseline (drift and alerts stop until a new one is set).
    pub fn clear_baseline(&self) -> Result<()> {
        self.lock()?.baseline = None;
        Ok(())
    }

    /// Empties the window (totals and the baseline stay).
    pub fn reset_window(&self) -> Result<()> {
        let mut analysis = self.lock()?;
        analysis.drain(&self.inner.ingest);
        analysis.window.clear();
        analysis.next = 0;
        Ok(())
    }

    /// Current thresholds.
    pub fn thresholds(&self) -> Result<Thresholds> {
        Ok(self.lock()?.thresholds)
    }

    /// Replaces the thresholds (validated first).
    pub fn set_thresholds(&self, thresholds: Thresholds) -> Result<()> {
        thresholds.validate()?;
        self.lock()?.thresholds = thresholds;
        Ok(())
    }

    /// Installs (or with `None` removes) the level-change callback.
    pub fn set_level_callback(&self, callback: Option<LevelCallback>) -> Result<()> {
        self.lock()?.callback = callback;
        Ok(())
    }

    fn lock(&self) -> Result<MutexGuard<'_, Analysis>> {
        let me = Arc::as_ptr(&self.inner) as usize;
        if IN_CALLBACK.with(|c| c.get()) == me {
            return Err(MonitorError::new(
                ErrorKind::InvalidState,
                "a monitor's level callback must not call that monitor's analysis functions",
            ));
        }
        Ok(self.inner.analysis.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Marks this thread as running `inner`'s callback until dropped (also on unwind).
struct CallbackMarker(usize);

impl CallbackMarker {
    fn enter(inner: &Arc<Inner>) -> CallbackMarker {
        let previous = IN_CALLBACK.with(|c| c.replace(Arc::as_ptr(inner) as usize));
        CallbackMarker(previous)
    }
}

impl Drop for CallbackMarker {
    fn drop(&mut self) {
        IN_CALLBACK.with(|c| c.set(self.0));
    }
}

/// Everything behind the analysis lock.
struct Analysis {
    window: Vec<Record>,
    capacity: usize,
    next: usize,
    processed: u64,
    status_counts: [u64; STATUS_SLOTS],
    version_counts: [[u64; 2]; MAX_VERSIONS],
    totals: Totals,
    label_count: usize,
    feature_count: usize,
    baseline: Option<Baseline>,
    thresholds: Thresholds,
    level: Level,
    callback: Option<LevelCallback>,
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
    fn new(config: &MonitorConfig) -> Analysis {
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
            level: Level::Ok,
            callback: None,
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

    fn drain(&mut self, ingest: &Ingest) -> usize {
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
        w.latency_p50_us = percentile_seed(&s.latency, 0.50);
        w.latency_p95_us = percentile_seed(&s.latency, 0.95);
        w.latency_p99_us = percentile_seed(&s.latency, 0.99);
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

    fn analyze(&mut self, ingest: &Ingest, versions: &[heapless::String<MAX_VERSION_LEN>]) -> Snapshot {
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
        // The degradation checks wait for `min_alert_samples` (or a full window, if the window is
        // smaller): latency and confidence count successes, the error rate all requests.
        let needed = t.min_alert_samples.min(self.capacity) as u64;
        snapshot.degradation_tested = snapshot.window.count - snapshot.window.errors >= needed;
        snapshot.alerts = alerts(&snapshot, baseline, &t, needed, s);
        snapshot.level = snapshot.alerts.iter().map(|a| a.level).max().unwrap_or(Level::Ok);
        snapshot
    }

    fn baseline_from_window(&mut self) -> Result<Baseline> {
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

/// The seed's degradation checks plus one alert per drifted test, most severe first.
fn alerts(
    snapshot: &Snapshot,
    baseline: &Baseline,
    t: &Thresholds,
    needed: u64,
    scratch: &Scratch,
) -> heapless::Vec<Alert, { crate::snapshot::MAX_ALERTS }> {
    let mut out = heapless::Vec::new();
    let w = &snapshot.window;
    if w.count == 0 {
        return out;
    }
    // The seed's rule: above `warning` is a warning, above `critical` critical.
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
    let mut drift_alert = |metric: AlertMetric, feature: u32, drift: &Drift, current: &[f64], reference: &[f64]| {
        if drift.drifted {
            let (now, then) = (mean(current), mean(reference));
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
    drift_alert(AlertMetric::LatencyDrift, 0, &d.latency, &scratch.latency, &baseline.latency_us);
    drift_alert(AlertMetric::ConfidenceDrift, 0, &d.confidence, &scratch.confidence, &baseline.confidence);
    drift_alert(AlertMetric::InputLengthDrift, 0, &d.input_length, &scratch.length, &baseline.input_length);
    for i in 0..d.feature_count {
        let reference = baseline.features.get(i).map(Vec::as_slice).unwrap_or(&[]);
        drift_alert(AlertMetric::FeatureDrift, i as u32, &d.features[i], &scratch.features[i], reference);
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
