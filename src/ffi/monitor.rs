//! `mle_monitor`: the on-device monitor from C, and the stateless KS helper.

use std::ffi::{c_char, c_void};

use mlops_edge_monitor::{
    self as mon, Alert, BaselineSamples, Drift, Level, LevelChange, Monitor, MonitorConfig, Snapshot, Thresholds,
    MAX_ALERTS, MAX_FEATURES, MAX_VERSIONS, MAX_VERSION_LEN, STATUS_SLOTS,
};

use super::args::{output, required, slice};
use super::boundary::guard;
use super::mle_status;
use super::session::{mle_session, with_session};
use super::userdata::Userdata;
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

const MONITOR_MAGIC: u64 = u64::from_le_bytes(*b"mle:mon\0");

/// The on-device monitor (opaque). Every function on it is safe from any thread, concurrently.
pub struct mle_monitor {
    _private: [u8; 0],
}

#[repr(C)]
struct MonitorHandle {
    magic: u64,
    monitor: Monitor,
}

/// How a monitor is sized (fill with `mle_monitor_options_init`, then change fields).
#[repr(C)]
pub struct mle_monitor_options {
    /// Records the analysis window keeps (1..=65536; default 1024).
    pub window: u32,
    /// Records each session's ring holds between analyses (1..=2^20, rounded up to a power of
    /// two; default 1024). A full ring drops and counts new records.
    pub ring_capacity: u32,
    /// Sessions that can be attached at once (1..=4096; default 16).
    pub max_sessions: u32,
    /// Labels counted one by one (usually the model's label count; default 0).
    pub label_count: u32,
    /// How many of `feature_indices` are used (0..=8).
    pub feature_count: u32,
    /// Indexes of tensor input values watched for drift (tensor models).
    pub feature_indices: [u32; MLE_MAX_FEATURES],
}

/// Alert thresholds (defaults: the seed guide's, see `mle_monitor_thresholds_default`).
#[repr(C)]
#[derive(Copy, Clone)]
pub struct mle_monitor_thresholds {
    /// Relative p95 latency increase for a warning (0.5 = +50%).
    pub latency_p95_warning: f64,
    /// ... for a critical alert (1.0 = +100%).
    pub latency_p95_critical: f64,
    /// Relative mean-confidence drop for a warning (0.1).
    pub confidence_drop_warning: f64,
    /// ... for a critical alert (0.2).
    pub confidence_drop_critical: f64,
    /// Absolute error-rate increase over the baseline for a warning (0.05).
    pub error_rate_warning: f64,
    /// ... for a critical alert (0.20).
    pub error_rate_critical: f64,
    /// KS drift when p < this (0.05; divided by the feature count for features).
    pub drift_p_value: f64,
    /// Label drift when the chi-square p < this (0.05).
    pub label_drift_p_value: f64,
    /// Level of drift alerts: `MLE_LEVEL_WARNING` (default) or `MLE_LEVEL_CRITICAL`.
    pub drift_level: i32,
    /// Fewest window samples for a drift test (30).
    pub min_drift_samples: u32,
    /// Fewest window samples before the p95 latency, mean confidence and error-rate alerts are
    /// raised (30; latency and confidence count successes, the error rate every request; a
    /// smaller window is judged once full). 1 judges from the first request.
    pub min_alert_samples: u32,
}

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

/// One KS drift test (see the README's monitor section).
#[repr(C)]
#[derive(Copy, Clone, Default)]
pub struct mle_drift {
    /// 1 if the test ran (baseline sample present, enough window samples), else 0.
    pub tested: i32,
    /// 1 if `p_value < threshold`.
    pub drifted: i32,
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
    pub tested: i32,
    /// 1 if `p_value` < the label threshold.
    pub drifted: i32,
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

/// One analysis of a monitor. Latencies in microseconds; histograms use the seed guide's
/// buckets, upper bound inclusive (Prometheus `le`), per bucket (not cumulative), last = +Inf.
#[repr(C)]
pub struct mle_snapshot {
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
    /// p50 latency (µs), seed rule `sorted[int(n*0.50)]`.
    pub latency_p50_us: f64,
    /// p95 latency (µs), seed rule `sorted[int(n*0.95)]`.
    pub latency_p95_us: f64,
    /// p99 latency (µs), seed rule `sorted[int(n*0.99)]`.
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
    pub has_baseline: i32,
    /// 1 once the degradation alerts (p95 latency, mean confidence, error rate) are judged against
    /// the baseline: the window holds the thresholds' `min_alert_samples` successful requests (or
    /// is full, when smaller). Until then those alerts stay silent, so `MLE_LEVEL_OK` means "not
    /// judged yet" as much as "healthy".
    pub degradation_tested: i32,
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
    /// `MLE_LEVEL_*`: the most severe alert's level.
    pub level: i32,
    /// Entries used in `alerts` (most severe first).
    pub alert_count: u32,
    /// The alerts.
    pub alerts: [mle_alert; MLE_MAX_ALERTS],
}

/// A reference distribution from the host (e.g. shipped with the model). Pointers may be NULL
/// only with a count of 0; at least 100 latencies and 100 confidences are required.
#[repr(C)]
pub struct mle_baseline {
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

/// Called when an analysis changes the overall level: `(userdata, previous, current, snapshot)`.
/// Runs on the thread that called `mle_monitor_snapshot`, inside that call; it must not call
/// analysis functions of the same monitor (they fail with `MLE_ERR_INVALID_STATE`).
pub type mle_level_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, previous: i32, current: i32, snapshot: *const mle_snapshot)>;

/// Frees a callback's userdata when the callback is replaced or the monitor freed.
pub type mle_free_userdata = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// The monitor behind a handle.
///
/// # Safety
/// `ptr` is NULL or a handle returned by this library and not yet freed (a freed or foreign
/// handle is detected by its magic on a best-effort basis).
pub(super) unsafe fn monitor_ref<'a>(ptr: *const mle_monitor) -> Result<&'a Monitor> {
    // SAFETY: every handle type starts with a u64 magic; caller contract for validity.
    let magic = unsafe { required(ptr as *const u64, "monitor")? };
    if *magic != MONITOR_MAGIC {
        return fail(Status::InvalidArgument, "monitor is not an mle_monitor handle (wrong handle kind or freed)");
    }
    // SAFETY: the magic says it is a live MonitorHandle.
    Ok(unsafe { &(*(ptr as *const MonitorHandle)).monitor })
}

/// Fills `*options` with the defaults. NULL is ignored.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_options_init(options: *mut mle_monitor_options) {
    // SAFETY: C contract: NULL or writable.
    if let Some(o) = unsafe { options.as_mut() } {
        let d = MonitorConfig::default();
        *o = mle_monitor_options {
            window: d.window as u32,
            ring_capacity: d.ring_capacity as u32,
            max_sessions: d.max_recorders as u32,
            label_count: 0,
            feature_count: 0,
            feature_indices: [0; MAX_FEATURES],
        };
    }
}

/// Creates a monitor (`options` NULL = defaults). Attach it to sessions with
/// `mle_session_attach_monitor`.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL `out`, a field out of range).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_new(
    options: *const mle_monitor_options,
    out: *mut *mut mle_monitor,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let (options, out) = unsafe { (options.as_ref(), output(out, "out")?) };
        let config = options.map(config_from_c).transpose()?.unwrap_or_default();
        let monitor = Monitor::new(config)?;
        *out = Box::into_raw(Box::new(MonitorHandle { magic: MONITOR_MAGIC, monitor })) as *mut mle_monitor;
        Ok(())
    })
}

/// Frees a monitor. NULL is ignored. Sessions still attached keep their rings alive until they
/// detach or are freed (their records are then discarded).
///
/// Thread safety: not concurrently with other calls on the same monitor.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_free(monitor: *mut mle_monitor) {
    let _ = guard(|| {
        if monitor.is_null() {
            return Ok(());
        }
        // SAFETY: checks the magic, then takes back the Box made by mle_monitor_new.
        unsafe {
            monitor_ref(monitor)?;
            let mut handle = Box::from_raw(monitor as *mut MonitorHandle);
            handle.magic = 0;
        }
        Ok(())
    });
}

/// Attaches `monitor` to `session`: every later request on the session pushes one record
/// (lock-free, no allocation) into the session's own ring of the monitor.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL/invalid handles, a watched feature index outside
/// the model's tensor input), `MLE_ERR_LIMIT_REACHED` (all `max_sessions` lanes attached, or
/// 16 model versions already seen).
///
/// Thread safety: not concurrently with other calls on the same session.
#[no_mangle]
pub unsafe extern "C" fn mle_session_attach_monitor(
    session: *mut mle_session,
    monitor: *const mle_monitor,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let monitor = unsafe { monitor_ref(monitor)? };
        // SAFETY: C contract; with_session checks the handle.
        unsafe { with_session(session, |s| s.session.attach_monitor(monitor)) }
    })
}

/// Detaches the session's monitor, if any.
///
/// Thread safety: not concurrently with other calls on the same session.
#[no_mangle]
pub unsafe extern "C" fn mle_session_detach_monitor(session: *mut mle_session) -> mle_status {
    guard(|| {
        // SAFETY: C contract; with_session checks the handle.
        unsafe {
            with_session(session, |s| {
                s.session.detach_monitor();
                Ok(())
            })
        }
    })
}

/// Analyses the monitor into `*out`: drains the rings, computes the window's statistics, drift
/// against the baseline and alerts, and fires the level callback if the level changed.
/// `label_counts` (may be NULL with capacity 0) receives the window's predicted-label counts,
/// `label_count + 1` values (the last counts labels out of range); `*labels_written` (may be
/// NULL) gets that number. Too small a buffer: `MLE_ERR_BUFFER_TOO_SMALL`, nothing written.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT`, `MLE_ERR_BUFFER_TOO_SMALL`, `MLE_ERR_INVALID_STATE`
/// (called from this monitor's level callback).
///
/// Thread safety: safe from any thread, concurrently with requests and other analyses.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_snapshot(
    monitor: *const mle_monitor,
    out: *mut mle_snapshot,
    label_counts: *mut u64,
    label_capacity: usize,
    labels_written: *mut usize,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let (monitor, out) = unsafe { (monitor_ref(monitor)?, output(out, "out")?) };
        let needed = monitor.config().label_count + 1;
        if !label_counts.is_null() && label_capacity < needed {
            return fail(Status::BufferTooSmall, format!("label_counts holds {label_capacity}, needs {needed}"));
        }
        if label_counts.is_null() && label_capacity != 0 {
            return fail(Status::InvalidArgument, "label_counts is NULL but label_capacity is not 0");
        }
        let snapshot = monitor.snapshot()?;
        write_snapshot(&snapshot, out);
        if !label_counts.is_null() {
            // SAFETY: non-NULL with at least `needed` writable values (checked above, C contract).
            let dst = unsafe { std::slice::from_raw_parts_mut(label_counts, needed) };
            dst.copy_from_slice(&snapshot.label_counts[..needed]);
        }
        // SAFETY: NULL or writable.
        if let Some(w) = unsafe { labels_written.as_mut() } {
            *w = needed;
        }
        Ok(())
    })
}

/// Moves waiting records into the window without analysing (cheap; call it on a timer so
/// rings do not fill between analyses). `*moved` (may be NULL) gets the number moved.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_drain(monitor: *const mle_monitor, moved: *mut usize) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let n = unsafe { monitor_ref(monitor)? }.drain()?;
        // SAFETY: NULL or writable.
        if let Some(m) = unsafe { moved.as_mut() } {
            *m = n;
        }
        Ok(())
    })
}

/// Freezes the current window as the baseline (needs at least 100 successful requests:
/// otherwise `MLE_ERR_INSUFFICIENT_DATA`).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_baseline_freeze(monitor: *const mle_monitor) -> mle_status {
    // SAFETY: C contract.
    guard(|| Ok(unsafe { monitor_ref(monitor)? }.freeze_baseline()?))
}

/// Loads a baseline from the host (copied; the arrays can be freed after the call).
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL pointer with a non-zero count, NaN or infinite
/// values, negative latency, error rate outside [0, 1], feature or label counts that do not
/// match the monitor), `MLE_ERR_INSUFFICIENT_DATA` (fewer than 100 latencies or confidences).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_baseline_load(
    monitor: *const mle_monitor,
    baseline: *const mle_baseline,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let (monitor, b) = unsafe { (monitor_ref(monitor)?, required(baseline, "baseline")?) };
        if b.feature_count > MAX_FEATURES {
            return fail(Status::InvalidArgument, format!("feature_count must be at most {MAX_FEATURES}"));
        }
        // SAFETY: C contract: each pointer is NULL with count 0 or points to count values.
        let (latency_us, confidence, input_length, label_counts) = unsafe {
            (
                slice(b.latency_us, b.latency_count, "latency_us")?,
                slice(b.confidence, b.confidence_count, "confidence")?,
                slice(b.input_length, b.input_length_count, "input_length")?,
                slice(b.label_counts, b.label_count, "label_counts")?,
            )
        };
        let mut features = Vec::with_capacity(b.feature_count);
        for i in 0..b.feature_count {
            // SAFETY: as above.
            features.push(unsafe { slice(b.features[i], b.feature_counts[i], "features[i]")? });
        }
        monitor.load_baseline(&BaselineSamples {
            latency_us,
            confidence,
            input_length,
            features: &features,
            label_counts,
            error_rate: b.error_rate,
        })?;
        Ok(())
    })
}

/// Removes the baseline (drift tests and alerts stop).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_baseline_clear(monitor: *const mle_monitor) -> mle_status {
    // SAFETY: C contract.
    guard(|| Ok(unsafe { monitor_ref(monitor)? }.clear_baseline()?))
}

/// Empties the window (totals and baseline stay).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_reset_window(monitor: *const mle_monitor) -> mle_status {
    // SAFETY: C contract.
    guard(|| Ok(unsafe { monitor_ref(monitor)? }.reset_window()?))
}

/// A monitor configuration from its C options (thresholds: the defaults).
pub(super) fn config_from_c(o: &mle_monitor_options) -> Result<MonitorConfig> {
    if o.feature_count as usize > MAX_FEATURES {
        return fail(Status::InvalidArgument, format!("feature_count must be at most {MAX_FEATURES}"));
    }
    Ok(MonitorConfig {
        window: o.window as usize,
        ring_capacity: o.ring_capacity as usize,
        max_recorders: o.max_sessions as usize,
        label_count: o.label_count as usize,
        feature_indices: o.feature_indices[..o.feature_count as usize].to_vec(),
        ..MonitorConfig::default()
    })
}

/// Thresholds from C (checked by the monitor when applied).
pub(super) fn thresholds_from_c(t: &mle_monitor_thresholds) -> Result<Thresholds> {
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

pub(super) fn thresholds_to_c(t: &Thresholds) -> mle_monitor_thresholds {
    mle_monitor_thresholds {
        latency_p95_warning: t.latency_p95_warning,
        latency_p95_critical: t.latency_p95_critical,
        confidence_drop_warning: t.confidence_drop_warning,
        confidence_drop_critical: t.confidence_drop_critical,
        error_rate_warning: t.error_rate_warning,
        error_rate_critical: t.error_rate_critical,
        drift_p_value: t.drift_p_value,
        label_drift_p_value: t.label_drift_p_value,
        drift_level: t.drift_level as i32,
        min_drift_samples: t.min_drift_samples.min(u32::MAX as usize) as u32,
        min_alert_samples: t.min_alert_samples.min(u32::MAX as usize) as u32,
    }
}

/// Fills `*out` with the default thresholds (the seed guide's). NULL is ignored.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_thresholds_default(out: *mut mle_monitor_thresholds) {
    // SAFETY: C contract: NULL or writable.
    if let Some(o) = unsafe { out.as_mut() } {
        *o = thresholds_to_c(&Thresholds::default());
    }
}

/// The monitor's current thresholds into `*out`.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_get_thresholds(
    monitor: *const mle_monitor,
    out: *mut mle_monitor_thresholds,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let (monitor, out) = unsafe { (monitor_ref(monitor)?, output(out, "out")?) };
        *out = thresholds_to_c(&monitor.thresholds()?);
        Ok(())
    })
}

/// Replaces the thresholds. Errors: `MLE_ERR_INVALID_ARGUMENT` (non-finite or negative values,
/// warning above critical, p-values outside (0, 1), unknown drift level, min_drift_samples < 2,
/// min_alert_samples < 1).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_set_thresholds(
    monitor: *const mle_monitor,
    thresholds: *const mle_monitor_thresholds,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let (monitor, t) = unsafe { (monitor_ref(monitor)?, required(thresholds, "thresholds")?) };
        monitor.set_thresholds(thresholds_from_c(t)?)?;
        Ok(())
    })
}

/// The host's callback and its userdata (freed when the callback is dropped).
struct HostCallback {
    callback: unsafe extern "C" fn(*mut c_void, i32, i32, *const mle_snapshot),
    userdata: Userdata,
}

impl HostCallback {
    fn call(&self, change: &LevelChange<'_>) {
        let c = snapshot_to_c(change.snapshot);
        // SAFETY: the host's function with its own userdata, per the documented contract
        // (any thread that calls mle_monitor_snapshot).
        unsafe { (self.callback)(self.userdata.get(), change.previous as i32, change.current as i32, &c) };
    }
}

/// Installs the level-change callback (NULL `callback` removes it). `free_userdata` (may be
/// NULL) is called with `userdata` when the callback is replaced, removed, or the monitor freed.
/// The callback runs inside `mle_monitor_snapshot` on its caller's thread and may be called
/// from any thread that analyses; it must not call this monitor's analysis functions.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_set_level_callback(
    monitor: *const mle_monitor,
    callback: mle_level_callback,
    userdata: *mut c_void,
    free_userdata: mle_free_userdata,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let monitor = unsafe { monitor_ref(monitor)? };
        let userdata = Userdata::new(userdata, free_userdata);
        let Some(callback) = callback else {
            drop(userdata); // not kept: released now, as documented
            return Ok(monitor.set_level_callback(None)?);
        };
        let host = HostCallback { callback, userdata };
        monitor.set_level_callback(Some(Box::new(move |change: &LevelChange<'_>| host.call(change))))?;
        Ok(())
    })
}

/// Two-sample Kolmogorov–Smirnov test, two-sided, as `scipy.stats.ks_2samp(a, b)`
/// (method 'auto': exact p-value when both samples have at most 10000 values, otherwise the
/// Kolmogorov distribution at the effective size). The inputs are copied and not modified.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL pointer, `n` or `m` of 0, NaN in either sample,
/// NULL outputs). Infinities are ordinary values.
///
/// Thread safety: safe from any thread (stateless; allocates n + m doubles).
#[no_mangle]
pub unsafe extern "C" fn mle_ks_2samp(
    a: *const f64,
    n: usize,
    b: *const f64,
    m: usize,
    statistic: *mut f64,
    pvalue: *mut f64,
) -> mle_status {
    guard(|| {
        if a.is_null() || b.is_null() {
            return fail(Status::InvalidArgument, "a sample pointer is NULL");
        }
        // SAFETY: C contract: a/b point to n/m doubles; outputs NULL or writable.
        let (a, b, statistic, pvalue) = unsafe {
            (slice(a, n, "a")?, slice(b, m, "b")?, output(statistic, "statistic")?, output(pvalue, "pvalue")?)
        };
        let r = mon::stats::ks_2samp(a, b)?;
        *statistic = r.statistic;
        *pvalue = r.p_value;
        Ok(())
    })
}

fn drift_to_c(d: &Drift) -> mle_drift {
    mle_drift {
        tested: d.tested as i32,
        drifted: d.drifted as i32,
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

/// A snapshot as its C struct (by value).
pub(super) fn snapshot_to_c(s: &Snapshot) -> mle_snapshot {
    let mut c = std::mem::MaybeUninit::<mle_snapshot>::uninit();
    // SAFETY: write_snapshot initialises every field of the struct.
    unsafe {
        write_snapshot(s, &mut *c.as_mut_ptr());
        c.assume_init()
    }
}

pub(super) fn write_snapshot(s: &Snapshot, out: &mut mle_snapshot) {
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
    *out = mle_snapshot {
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
        has_baseline: s.baseline.is_some() as i32,
        degradation_tested: s.degradation_tested as i32,
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
            tested: l.tested as i32,
            drifted: l.drifted as i32,
            statistic: l.statistic,
            p_value: l.p_value,
            dof: l.dof,
            psi: l.psi,
        },
        level: s.level as i32,
        alert_count: s.alerts.len() as u32,
        alerts,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_constants_match_the_rust_enums() {
        use mon::AlertMetric as M;
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
}
