//! `mle_monitor`: the on-device monitor from C (types in `monitor_types`).

use std::ffi::c_void;

use mlops_edge_monitor::{BaselineSamples, LevelChange, Monitor, MAX_FEATURES};

use super::abi::{check_out, init, read_in, write_out};
use super::args::{output, slice};
use super::boundary::guard;
use super::handle::{self, Handle};
use super::monitor_types::{
    config_from_c, mle_baseline, mle_monitor_options, mle_monitor_thresholds, mle_snapshot, snapshot_to_c,
    thresholds_from_c, thresholds_to_c,
};
use super::session::{mle_session, with_session};
use super::status::mle_status;
use super::userdata::{mle_free_userdata, Userdata};
use crate::error::{fail, Result, Status};

/// The on-device monitor (opaque). Every function on it is safe from any thread, concurrently.
pub struct mle_monitor {
    _private: [u8; 0],
}

impl Handle for Monitor {
    type C = mle_monitor;
    const MAGIC: u64 = u64::from_le_bytes(*b"mle:mntr");
    const NAME: &'static str = "mle_monitor";
}

/// Called when an analysis changes the overall level: `(userdata, previous, current, snapshot)`
/// (the snapshot's `struct_size` is the library's: check it before reading a field your header
/// added). Runs on the thread that called `mle_monitor_snapshot` (or, for a runtime's monitors,
/// the thread of the analysis), inside that call; it must not call analysis functions of the
/// same monitor (they fail with `MLE_ERR_INVALID_STATE`).
pub type mle_level_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, previous: i32, current: i32, snapshot: *const mle_snapshot)>;

/// The monitor behind a handle argument.
///
/// # Safety
/// `ptr` is NULL or a handle of this library (see `handle::get`).
pub(crate) unsafe fn monitor_ref<'a>(ptr: *const mle_monitor) -> Result<&'a Monitor> {
    // SAFETY: per the caller's contract.
    unsafe { handle::get::<Monitor>(ptr, "monitor") }
}

/// Fill `*options` with the defaults (pass `sizeof(mle_monitor_options)`).
///
/// # Safety
/// `options` is NULL or points to `struct_size` writable bytes.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_options_init(options: *mut mle_monitor_options, struct_size: usize) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| unsafe { init(options, struct_size, "options") })
}

/// Create a monitor (`options` NULL = defaults). Attach it to sessions with
/// `mle_session_attach_monitor`; free it with `mle_monitor_free`.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL `out`, a field out of range).
///
/// # Safety
/// `options` is NULL or a struct of `struct_size` bytes; `out` is NULL or writable.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_new(
    options: *const mle_monitor_options,
    out: *mut *mut mle_monitor,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let out = unsafe { output(out, "out")? };
        let config = if options.is_null() {
            Default::default()
        } else {
            // SAFETY: per this function's contract.
            config_from_c(&unsafe { read_in(options, "options")? })?
        };
        *out = handle::into_raw(Monitor::new(config)?);
        Ok(())
    })
}

/// Free a monitor. NULL is ignored. Sessions still attached keep their rings alive until they
/// detach or are freed (their records are then discarded). The level callback's
/// `free_userdata` runs here, on the calling thread, unless a session or runtime still holds
/// the monitor: then it runs when the last of them lets go, on that thread.
///
/// # Safety
/// `monitor` is NULL or a live handle; no call uses it after this one.
///
/// Thread safety: not concurrently with other calls on the same monitor.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_free(monitor: *mut mle_monitor) {
    // SAFETY: per this function's contract.
    let _ = guard(|| unsafe { handle::free::<Monitor>(monitor, "monitor") }.map(drop));
}

/// Attach `monitor` to `session`: every later request on the session pushes one record
/// (lock-free, no allocation) into the session's own ring of the monitor.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL/invalid handles, a watched feature index outside
/// the model's tensor input), `MLE_ERR_SESSION_BUSY`, `MLE_ERR_LIMIT_REACHED` (all
/// `max_sessions` lanes attached, or 16 model versions already seen).
///
/// # Safety
/// Both handles are NULL or live.
///
/// Thread safety: not concurrently with other calls on the same session.
#[no_mangle]
pub unsafe extern "C" fn mle_session_attach_monitor(
    session: *mut mle_session,
    monitor: *const mle_monitor,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let monitor = unsafe { monitor_ref(monitor)? };
        // SAFETY: per this function's contract.
        unsafe { with_session(session, |s| s.session.attach_monitor(monitor)) }
    })
}

/// Detach the session's monitor, if any.
///
/// # Safety
/// `session` is NULL or live.
///
/// Thread safety: not concurrently with other calls on the same session.
#[no_mangle]
pub unsafe extern "C" fn mle_session_detach_monitor(session: *mut mle_session) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| unsafe {
        with_session(session, |s| {
            s.session.detach_monitor();
            Ok(())
        })
    })
}

/// Analyse the monitor into `*out` (set `out->struct_size` first): drain the rings, compute the
/// window's statistics, drift against the baseline and alerts, and fire the level callback if
/// the level changed. `label_counts` (may be NULL with capacity 0) receives the window's
/// predicted-label counts, `label_count + 1` values (the last counts labels out of range);
/// `*labels_written` (may be NULL) gets that number. Too small a buffer:
/// `MLE_ERR_BUFFER_TOO_SMALL`, nothing written.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT`, `MLE_ERR_BUFFER_TOO_SMALL`, `MLE_ERR_INVALID_STATE`
/// (called from this monitor's level callback).
///
/// # Safety
/// `monitor` is NULL or live; `out` is NULL or a writable struct of `struct_size` bytes;
/// `label_counts` is NULL or `label_capacity` writable values; `labels_written` NULL or writable.
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
        // SAFETY: per this function's contract.
        let monitor = unsafe { monitor_ref(monitor)? };
        // Checked before the analysis, which drains the rings and may fire the level callback.
        // SAFETY: per this function's contract.
        unsafe { check_out(out, "out")? };
        let needed = monitor.config().label_count + 1;
        // SAFETY: per this function's contract.
        let buffer = unsafe { super::args::optional_out_slice(label_counts, label_capacity, "label_counts")? };
        if buffer.as_ref().is_some_and(|b| b.len() < needed) {
            return fail(Status::BufferTooSmall, format!("label_counts holds {label_capacity}, needs {needed}"));
        }
        if label_counts.is_null() && label_capacity != 0 {
            return fail(Status::InvalidArgument, "label_counts is NULL but label_capacity is not 0");
        }
        let snapshot = monitor.snapshot()?;
        // SAFETY: per this function's contract.
        unsafe { write_out(out, &snapshot_to_c(&snapshot), "out")? };
        if let Some(buffer) = buffer {
            buffer[..needed].copy_from_slice(&snapshot.label_counts[..needed]);
        }
        // SAFETY: NULL or writable.
        unsafe { super::args::write_optional(labels_written, needed) };
        Ok(())
    })
}

/// Move waiting records into the window without analysing (cheap; call it on a timer so rings
/// do not fill between analyses). `*moved` (may be NULL) gets the number moved.
///
/// # Safety
/// `monitor` is NULL or live; `moved` is NULL or writable.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_drain(monitor: *const mle_monitor, moved: *mut usize) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let n = unsafe { monitor_ref(monitor)? }.drain()?;
        // SAFETY: NULL or writable.
        unsafe { super::args::write_optional(moved, n) };
        Ok(())
    })
}

/// Freeze the current window as the baseline (needs at least 100 successful requests:
/// otherwise `MLE_ERR_INSUFFICIENT_DATA`).
///
/// # Safety
/// `monitor` is NULL or live.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_freeze_baseline(monitor: *const mle_monitor) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| Ok(unsafe { monitor_ref(monitor)? }.freeze_baseline()?))
}

/// Load a baseline from the host (copied; the arrays can be freed after the call).
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL pointer with a non-zero count, NaN or infinite
/// values, negative latency, error rate outside [0, 1], feature or label counts that do not
/// match the monitor), `MLE_ERR_INSUFFICIENT_DATA` (fewer than 100 latencies or confidences).
///
/// # Safety
/// `monitor` is NULL or live; `baseline` is NULL or a struct of `struct_size` bytes whose
/// pointers are NULL (count 0) or valid for their counts.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_load_baseline(
    monitor: *const mle_monitor,
    baseline: *const mle_baseline,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let monitor = unsafe { monitor_ref(monitor)? };
        // SAFETY: per this function's contract.
        unsafe { with_baseline_samples(baseline, |samples| Ok(monitor.load_baseline(samples)?)) }
    })
}

/// Reads a C baseline and hands its samples (borrowed from the caller's arrays) to `f`.
///
/// # Safety
/// `baseline` is NULL or a struct of `struct_size` bytes whose pointers are NULL (count 0) or
/// valid for their counts, for the duration of the call.
pub(super) unsafe fn with_baseline_samples<T>(
    baseline: *const mle_baseline,
    f: impl FnOnce(&BaselineSamples<'_>) -> Result<T>,
) -> Result<T> {
    // SAFETY: per this function's contract.
    let b = unsafe { read_in(baseline, "baseline")? };
    if b.feature_count > MAX_FEATURES {
        return fail(Status::InvalidArgument, format!("feature_count must be at most {MAX_FEATURES}"));
    }
    // SAFETY: per this function's contract: each pointer is NULL with count 0 or valid.
    let (latency_us, confidence, input_length, label_counts) = unsafe {
        (
            slice(b.latency_us, b.latency_count, "baseline.latency_us")?,
            slice(b.confidence, b.confidence_count, "baseline.confidence")?,
            slice(b.input_length, b.input_length_count, "baseline.input_length")?,
            slice(b.label_counts, b.label_count, "baseline.label_counts")?,
        )
    };
    let mut features = Vec::with_capacity(b.feature_count);
    for i in 0..b.feature_count {
        // SAFETY: as above.
        features.push(unsafe { slice(b.features[i], b.feature_counts[i], "baseline.features[i]")? });
    }
    f(&BaselineSamples {
        latency_us,
        confidence,
        input_length,
        features: &features,
        label_counts,
        error_rate: b.error_rate,
    })
}

/// Remove the baseline (drift tests and alerts stop).
///
/// # Safety
/// `monitor` is NULL or live.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_clear_baseline(monitor: *const mle_monitor) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| Ok(unsafe { monitor_ref(monitor)? }.clear_baseline()?))
}

/// Empty the window (totals and baseline stay).
///
/// # Safety
/// `monitor` is NULL or live.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_reset_window(monitor: *const mle_monitor) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| Ok(unsafe { monitor_ref(monitor)? }.reset_window()?))
}

/// Fill `*thresholds` with the defaults (pass `sizeof(mle_monitor_thresholds)`): p95 latency +50%
/// warning / +100% critical, mean confidence −10% / −20%, error rate +5 / +20 points, drift at
/// p < 0.05 as a warning, 30 samples before drift tests and degradation alerts.
///
/// # Safety
/// `thresholds` is NULL or points to `struct_size` writable bytes.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_thresholds_init(
    thresholds: *mut mle_monitor_thresholds,
    struct_size: usize,
) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| unsafe { init(thresholds, struct_size, "thresholds") })
}

/// The monitor's current thresholds into `*out` (set `out->struct_size` first).
///
/// # Safety
/// `monitor` is NULL or live; `out` is NULL or a writable struct of `struct_size` bytes.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_get_thresholds(
    monitor: *const mle_monitor,
    out: *mut mle_monitor_thresholds,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let monitor = unsafe { monitor_ref(monitor)? };
        // SAFETY: per this function's contract.
        unsafe { write_out(out, &thresholds_to_c(&monitor.thresholds()?), "out") }
    })
}

/// Replace the thresholds.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (non-finite or negative values, warning above critical,
/// p-values outside (0, 1), unknown drift level, min_drift_samples < 2, min_alert_samples < 1).
///
/// # Safety
/// `monitor` is NULL or live; `thresholds` is NULL or a struct of `struct_size` bytes.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_set_thresholds(
    monitor: *const mle_monitor,
    thresholds: *const mle_monitor_thresholds,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let (monitor, t) = unsafe { (monitor_ref(monitor)?, read_in(thresholds, "thresholds")?) };
        monitor.set_thresholds(thresholds_from_c(&t)?)?;
        Ok(())
    })
}

/// The host's level callback and its userdata (freed when the callback is dropped).
struct HostCallback {
    callback: unsafe extern "C" fn(*mut c_void, i32, i32, *const mle_snapshot),
    userdata: Userdata,
}

impl HostCallback {
    fn call(&self, change: &LevelChange<'_>) {
        let c = snapshot_to_c(change.snapshot);
        // SAFETY: the host's function with its own userdata, per the documented contract; the
        // snapshot lives through the call.
        unsafe { (self.callback)(self.userdata.get(), change.previous as i32, change.current as i32, &c) };
    }
}

/// Install the level-change callback (NULL `callback` removes it). The callback runs inside
/// `mle_monitor_snapshot`, on the thread that called it (any thread that analyses); it must not
/// call this monitor's analysis functions.
///
/// `free_userdata` (may be NULL) is called exactly once with `userdata`: when the callback is
/// replaced or removed (on the thread of that later `mle_monitor_set_level_callback` call),
/// when the monitor is freed (on the thread that drops its last reference: `mle_monitor_free`,
/// or the session or runtime that held it last), or at once, on the calling thread, if this call
/// fails or `callback` is NULL.
///
/// # Safety
/// `monitor` is NULL or live; `callback` and `free_userdata` are NULL or functions safe to call
/// with `userdata` from any thread.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_set_level_callback(
    monitor: *const mle_monitor,
    callback: mle_level_callback,
    userdata: *mut c_void,
    free_userdata: mle_free_userdata,
) -> mle_status {
    let userdata = Userdata::new(userdata, free_userdata);
    guard(move || {
        // SAFETY: per this function's contract.
        let monitor = unsafe { monitor_ref(monitor)? };
        let Some(callback) = callback else {
            drop(userdata); // not kept: released now, as documented
            return Ok(monitor.set_level_callback(None)?);
        };
        let host = HostCallback { callback, userdata };
        monitor.set_level_callback(Some(Box::new(move |change: &LevelChange<'_>| host.call(change))))?;
        Ok(())
    })
}
