//! `mle_telemetry`: the upload queue with the host's upload callback, and the metric exports
//! (Prometheus text, OpenMetrics text, OTLP JSON) of a runtime or a monitor.

use std::ffi::{c_char, c_void};
use std::path::PathBuf;
use std::time::Duration;

use super::args::{c_string, optional_out_slice, output, required, utf8, write_optional};
use super::boundary::guard;
use super::histogram::{exp_histogram_to_c, mle_exp_histogram};
use super::mle_status;
use super::monitor::{mle_free_userdata, mle_monitor, monitor_ref};
use super::runtime::{copy_text, mle_runtime, runtime_ref, MLE_ERROR_BUFFER};
use super::userdata::Userdata;
use crate::error::{fail, Result, Status};
use crate::export::prometheus::TextFormat;
use crate::export::{otlp, prometheus, unix_nanos_now, Metrics};
use crate::telemetry::{Batch, FlushReport, Telemetry, TelemetryOptions, TelemetryStats, Verdict};

const TELEMETRY_MAGIC: u64 = u64::from_le_bytes(*b"mle:tlmy");

/// Upload callback answer: delivered; the batch is done.
pub const MLE_UPLOAD_OK: i32 = 0;
/// Upload callback answer: not delivered; offer the same batch again after a backoff.
pub const MLE_UPLOAD_RETRY: i32 = 1;
/// Upload callback answer: give up on the batch (its records are counted as dropped).
pub const MLE_UPLOAD_DROP: i32 = 2;

/// Metrics format: Prometheus text exposition 0.0.4.
pub const MLE_METRICS_PROMETHEUS: u32 = 0;
/// Metrics format: OpenMetrics 1.0 text (ends with `# EOF`).
pub const MLE_METRICS_OPENMETRICS: u32 = 1;
/// Metrics format: OTLP JSON (`ExportMetricsServiceRequest`).
pub const MLE_METRICS_OTLP_JSON: u32 = 2;

/// Telemetry (opaque): the record queue, batches, spool and upload hooks. Thread-safe.
pub struct mle_telemetry {
    _private: [u8; 0],
}

/// What an `mle_telemetry` pointer points to (a `Box`), magic first.
#[repr(C)]
struct TelemetryHandle {
    magic: u64,
    telemetry: Telemetry,
}

/// A batch handed to the upload callback. Valid only during the call: copy what you keep.
#[repr(C)]
pub struct mle_batch {
    /// Unique per device and rising; the same on every offer of this batch.
    pub id: u64,
    /// JSON Lines text (schema `mlops_edge.telemetry` v1, see the README), not NUL-terminated.
    pub data: *const u8,
    /// Bytes of `data`.
    pub len: usize,
    /// Records in the batch (lines after the header line).
    pub records: usize,
    /// Sequence number of the first record.
    pub first_seq: u64,
    /// Sequence number of the last record.
    pub last_seq: u64,
    /// 1 on the first offer, one more per RETRY.
    pub attempt: u32,
}

/// Uploads a batch: return `MLE_UPLOAD_OK`, `MLE_UPLOAD_RETRY` or `MLE_UPLOAD_DROP` (any other
/// value counts as RETRY: nothing is lost). Called on the thread calling `mle_telemetry_flush`.
pub type mle_upload_callback = Option<unsafe extern "C" fn(userdata: *mut c_void, batch: *const mle_batch) -> i32>;

/// A batch's worth of records is waiting (`waiting` = records since the last flush). Called on
/// a request thread, once until the next flush: only signal your scheduler from it.
pub type mle_ready_callback = Option<unsafe extern "C" fn(userdata: *mut c_void, waiting: u64)>;

/// Telemetry options. Fill with `mle_telemetry_options_init`, then change what you need.
#[repr(C)]
pub struct mle_telemetry_options {
    /// Records the lock-free queue holds (16..=1048576; default 4096).
    pub queue_capacity: u32,
    /// Fraction of successful requests recorded (0..=1; default 1). Errors and events: always.
    pub request_sample_rate: f64,
    /// Most records per batch (1..=100000; default 500).
    pub batch_max_records: u32,
    /// Most bytes per batch (1024..=67108864; default 262144).
    pub batch_max_bytes: u32,
    /// Backoff after the first RETRY, ms (default 1000); doubles per RETRY, with jitter.
    pub retry_initial_ms: u32,
    /// Longest backoff, ms (default 300000).
    pub retry_max_ms: u32,
    /// Spool file path (UTF-8), or NULL for no spool (default).
    pub spool_path: *const c_char,
    /// Largest spool file (4096..=1073741824; default 4 MiB).
    pub spool_max_bytes: u64,
    /// 1: fsync every spool write (survives power loss); 0 (default): survives an app kill.
    pub spool_sync: u32,
    /// Device id written into each batch header (UTF-8, at most 64 bytes), or NULL.
    pub device_id: *const c_char,
    /// The upload callback (required).
    pub upload: mle_upload_callback,
    /// The "upload ready" signal, or NULL.
    pub ready: mle_ready_callback,
    /// Passed to both callbacks.
    pub userdata: *mut c_void,
    /// Called once with `userdata` when the telemetry is freed (or creation fails), or NULL.
    pub free_userdata: mle_free_userdata,
}

/// Telemetry counters. Exact: `recorded = sent + dropped_queue_full + dropped_by_host + pending`.
#[repr(C)]
pub struct mle_telemetry_stats {
    /// Records accepted (sampled requests, errors, events, records recovered from the spool).
    pub recorded: u64,
    /// Successful requests not recorded because of sampling.
    pub sampled_out: u64,
    /// Records in batches answered OK.
    pub sent: u64,
    /// Records in batches answered RETRY (once per answer).
    pub retried: u64,
    /// Oldest records pushed out of a full queue or buffer.
    pub dropped_queue_full: u64,
    /// Records in batches answered DROP.
    pub dropped_by_host: u64,
    /// Records waiting.
    pub pending: u64,
    /// Batches answered OK.
    pub batches_sent: u64,
    /// RETRY answers.
    pub batches_retried: u64,
    /// Batches answered DROP.
    pub batches_dropped: u64,
    /// Records recovered from the spool at creation.
    pub recovered: u64,
    /// Bytes cut off the spool's end at creation (torn or corrupt tail).
    pub spool_torn_bytes: u64,
    /// Spool file size now.
    pub spool_bytes: u64,
    /// Records that did not fit in the spool (kept in memory only).
    pub spool_skipped: u64,
    /// Spool writes that failed.
    pub spool_errors: u64,
    /// The last spool error (empty if none).
    pub last_spool_error: [c_char; MLE_ERROR_BUFFER],
}

/// What one `mle_telemetry_flush` did.
#[repr(C)]
pub struct mle_flush_report {
    /// Batches answered OK.
    pub batches_sent: u64,
    /// Batches answered DROP.
    pub batches_dropped: u64,
    /// 1 when the last batch was answered RETRY.
    pub retried: u32,
    /// 1 when a batch waits for its backoff (then see `retry_after_ms`).
    pub backing_off: u32,
    /// Milliseconds until the waiting batch may be offered again: flush again after that.
    pub retry_after_ms: u64,
    /// Records still waiting.
    pub pending: u64,
}

/// The telemetry behind a handle.
///
/// # Safety
/// `ptr` is NULL or a handle returned by this library and not yet freed.
pub(super) unsafe fn telemetry_ref<'a>(ptr: *const mle_telemetry) -> Result<&'a Telemetry> {
    // SAFETY: every handle type starts with a u64 magic.
    let magic = unsafe { required(ptr as *const u64, "telemetry")? };
    if *magic != TELEMETRY_MAGIC {
        return fail(Status::InvalidArgument, "telemetry is not an mle_telemetry handle (wrong handle kind or freed)");
    }
    // SAFETY: the magic says it is a live TelemetryHandle.
    Ok(unsafe { &(*(ptr as *const TelemetryHandle)).telemetry })
}

/// Fills `*options` with the defaults (no callbacks, no spool). NULL is ignored.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_telemetry_options_init(options: *mut mle_telemetry_options) {
    // SAFETY: C contract: NULL or writable.
    let Some(o) = (unsafe { options.as_mut() }) else { return };
    let d = TelemetryOptions::default();
    *o = mle_telemetry_options {
        queue_capacity: d.queue_capacity as u32,
        request_sample_rate: d.request_sample_rate,
        batch_max_records: d.batch_max_records as u32,
        batch_max_bytes: d.batch_max_bytes as u32,
        retry_initial_ms: d.retry_initial.as_millis() as u32,
        retry_max_ms: d.retry_max.as_millis() as u32,
        spool_path: std::ptr::null(),
        spool_max_bytes: d.spool_max_bytes,
        spool_sync: 0,
        device_id: std::ptr::null(),
        upload: None,
        ready: None,
        userdata: std::ptr::null_mut(),
        free_userdata: None,
    };
}

/// Creates telemetry. With a spool path, recovers what the spool holds (see `recovered` and
/// `spool_torn_bytes` from `mle_telemetry_get_stats`). `free_userdata` is called when the telemetry is
/// freed, and also when creation fails.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL options/out, no upload callback, values out of
/// range, spool_sync not 0/1), `MLE_ERR_INVALID_UTF8`, `MLE_ERR_IO` (spool cannot be opened or
/// is not a spool file).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_telemetry_new(
    options: *const mle_telemetry_options,
    out: *mut *mut mle_telemetry,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let o = unsafe { required(options, "options")? };
        // Owns the userdata from here: freed on every early return.
        let userdata = Userdata::new(o.userdata, o.free_userdata);
        // SAFETY: C contract.
        let out = unsafe { output(out, "out")? };
        let Some(upload) = o.upload else {
            return fail(Status::InvalidArgument, "options.upload (the upload callback) is NULL");
        };
        if o.spool_sync > 1 {
            return fail(Status::InvalidArgument, "spool_sync must be 0 or 1");
        }
        let text = |ptr: *const c_char, name: &str| -> Result<Option<String>> {
            if ptr.is_null() {
                return Ok(None);
            }
            // SAFETY: non-NULL strings are NUL-terminated per the contract.
            let bytes = unsafe { c_string(ptr, name)? };
            Ok(Some(utf8(bytes, name)?.to_string()))
        };
        let options = TelemetryOptions {
            queue_capacity: o.queue_capacity as usize,
            request_sample_rate: o.request_sample_rate,
            batch_max_records: o.batch_max_records as usize,
            batch_max_bytes: o.batch_max_bytes as usize,
            retry_initial: Duration::from_millis(o.retry_initial_ms.into()),
            retry_max: Duration::from_millis(o.retry_max_ms.into()),
            spool_path: text(o.spool_path, "spool_path")?.map(PathBuf::from),
            spool_max_bytes: o.spool_max_bytes,
            spool_sync: o.spool_sync == 1,
            device_id: text(o.device_id, "device_id")?.unwrap_or_default(),
        };
        let userdata = std::sync::Arc::new(userdata);
        let ready = o.ready.map(|ready| {
            let userdata = std::sync::Arc::clone(&userdata);
            Box::new(move |waiting: u64| {
                // SAFETY: the host's function with the host's userdata, as registered.
                unsafe { ready(userdata.get(), waiting) }
            }) as crate::telemetry::ReadyCallback
        });
        let upload = Box::new(move |batch: &Batch<'_>| {
            let c = mle_batch {
                id: batch.id,
                data: batch.data.as_ptr(),
                len: batch.data.len(),
                records: batch.records,
                first_seq: batch.first_seq,
                last_seq: batch.last_seq,
                attempt: batch.attempt,
            };
            // SAFETY: the host's function with the host's userdata; `c` and the bytes it points
            // to live through the call.
            match unsafe { upload(userdata.get(), &c) } {
                MLE_UPLOAD_OK => Verdict::Ok,
                MLE_UPLOAD_DROP => Verdict::Drop,
                MLE_UPLOAD_RETRY => Verdict::Retry,
                other => {
                    log::warn!("upload callback returned {other}, not an MLE_UPLOAD_* value: treated as RETRY");
                    Verdict::Retry
                }
            }
        });
        let telemetry = Telemetry::new(options, upload, ready)?;
        *out = Box::into_raw(Box::new(TelemetryHandle { magic: TELEMETRY_MAGIC, telemetry })) as *mut mle_telemetry;
        Ok(())
    })
}

/// Frees the handle (a runtime using this telemetry keeps its own reference; the userdata is
/// freed when the last user lets go). Records not yet sent stay in the spool, if there is one;
/// without a spool they are lost: flush first. NULL is ignored.
///
/// Thread safety: not concurrently with other calls on the same handle.
#[no_mangle]
pub unsafe extern "C" fn mle_telemetry_free(telemetry: *mut mle_telemetry) {
    let _ = guard(|| {
        if telemetry.is_null() {
            return Ok(());
        }
        // SAFETY: checked by magic, then the Box made by mle_telemetry_new is taken back.
        unsafe {
            telemetry_ref(telemetry)?;
            let mut handle = Box::from_raw(telemetry as *mut TelemetryHandle);
            handle.magic = 0;
            if let Err(e) = handle.telemetry.persist() {
                log::debug!("telemetry freed during a flush: {}", e.message());
            }
            drop(handle);
        }
        Ok(())
    });
}

/// Offers batches to the upload callback until it answers RETRY, a batch waits for its
/// backoff, or nothing is left. `report` may be NULL.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT`, `MLE_ERR_BUSY` (another flush runs, or called from the
/// upload callback).
///
/// Thread safety: safe from any thread (one flush at a time; others get `MLE_ERR_BUSY`).
#[no_mangle]
pub unsafe extern "C" fn mle_telemetry_flush(
    telemetry: *const mle_telemetry,
    report: *mut mle_flush_report,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let telemetry = unsafe { telemetry_ref(telemetry)? };
        let r: FlushReport = telemetry.flush()?;
        let c = mle_flush_report {
            batches_sent: r.batches_sent,
            batches_dropped: r.batches_dropped,
            retried: u32::from(r.retried),
            backing_off: u32::from(r.retry_after.is_some()),
            retry_after_ms: r.retry_after.map_or(0, |d| d.as_millis().min(u64::MAX as u128) as u64),
            pending: r.pending,
        };
        // SAFETY: C contract: NULL or writable.
        unsafe { write_optional(report, c) };
        Ok(())
    })
}

/// Moves queued records to the spool without uploading (e.g. when the app goes to the
/// background). Errors: `MLE_ERR_INVALID_ARGUMENT`, `MLE_ERR_BUSY` while a flush runs.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_telemetry_persist(telemetry: *const mle_telemetry) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        unsafe { telemetry_ref(telemetry)? }.persist()
    })
}

/// Writes the counters. Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_telemetry_get_stats(
    telemetry: *const mle_telemetry,
    out: *mut mle_telemetry_stats,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let (telemetry, out) = unsafe { (telemetry_ref(telemetry)?, output(out, "out")?) };
        let s: TelemetryStats = telemetry.stats();
        *out = mle_telemetry_stats {
            recorded: s.recorded,
            sampled_out: s.sampled_out,
            sent: s.sent,
            retried: s.retried,
            dropped_queue_full: s.dropped_queue_full,
            dropped_by_host: s.dropped_by_host,
            pending: s.pending,
            batches_sent: s.batches_sent,
            batches_retried: s.batches_retried,
            batches_dropped: s.batches_dropped,
            recovered: s.recovered,
            spool_torn_bytes: s.spool_torn_bytes,
            spool_bytes: s.spool_bytes,
            spool_skipped: s.spool_skipped,
            spool_errors: s.spool_errors,
            last_spool_error: [0; MLE_ERROR_BUFFER],
        };
        copy_text(s.last_spool_error.as_deref().unwrap_or(""), &mut out.last_spool_error);
        Ok(())
    })
}

/// Renders `metrics` in `format` into `(buffer, capacity)`, NUL-terminated; `*length` gets the
/// text's length (without the NUL) on success and the needed capacity (with it) when too small.
/// OTLP's resource gets the telemetry's device id, if any.
fn render_into(
    metrics: &Metrics,
    format: u32,
    telemetry: Option<&Telemetry>,
    buffer: *mut c_char,
    capacity: usize,
    length: *mut usize,
) -> Result<()> {
    let text = match format {
        MLE_METRICS_PROMETHEUS => prometheus::render(metrics, TextFormat::Prometheus),
        MLE_METRICS_OPENMETRICS => prometheus::render(metrics, TextFormat::OpenMetrics),
        MLE_METRICS_OTLP_JSON => {
            let device_id = telemetry.map_or("", |t| t.options().device_id.as_str());
            let resource: Vec<(&str, &str)> =
                if device_id.is_empty() { Vec::new() } else { vec![("device.id", device_id)] };
            otlp::render(metrics, &resource)
        }
        other => return fail(Status::InvalidArgument, format!("format {other} is not one of MLE_METRICS_*")),
    };
    // SAFETY: C contract: `length` is writable.
    let length = unsafe { output(length, "length")? };
    // SAFETY: C contract: NULL or `capacity` writable chars.
    let buffer = unsafe { optional_out_slice(buffer as *mut u8, capacity, "buffer")? };
    let needed = text.len() + 1;
    match buffer {
        Some(buffer) if buffer.len() >= needed => {
            buffer[..text.len()].copy_from_slice(text.as_bytes());
            buffer[text.len()] = 0;
            *length = text.len();
            Ok(())
        }
        _ => {
            *length = needed;
            fail(Status::BufferTooSmall, format!("the metrics text needs {needed} bytes, the buffer holds {capacity}"))
        }
    }
}

/// Exports the runtime's metrics (every loaded model's monitor analysed now, A/B, rollout,
/// shadow, and its telemetry's counters) as `format` (`MLE_METRICS_*`) into `buffer`
/// (NUL-terminated). Call with a NULL buffer to learn the size (`MLE_ERR_BUFFER_TOO_SMALL`,
/// `*length` = bytes needed, NUL included); the size can grow between calls: add headroom.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL runtime or length, unknown format),
/// `MLE_ERR_BUFFER_TOO_SMALL`.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_runtime_export_metrics(
    runtime: *const mle_runtime,
    format: u32,
    buffer: *mut c_char,
    capacity: usize,
    length: *mut usize,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let runtime = unsafe { runtime_ref(runtime)? };
        let metrics = runtime.metrics()?;
        render_into(&metrics, format, runtime.options().telemetry.as_ref(), buffer, capacity, length)
    })
}

/// Exports one monitor's metrics (analysed now) labelled with `model_version` (UTF-8, required),
/// plus the counters of `telemetry` when not NULL. Buffer, format and errors as
/// `mle_runtime_export_metrics`; also `MLE_ERR_INVALID_UTF8`.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_export_metrics(
    monitor: *const mle_monitor,
    model_version: *const c_char,
    telemetry: *const mle_telemetry,
    format: u32,
    buffer: *mut c_char,
    capacity: usize,
    length: *mut usize,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let monitor = unsafe { monitor_ref(monitor)? };
        // SAFETY: C contract.
        let version = utf8(unsafe { c_string(model_version, "model_version")? }, "model_version")?;
        let telemetry = if telemetry.is_null() { None } else { Some(unsafe { telemetry_ref(telemetry)? }) };
        let metrics = Metrics::from_monitor(monitor, version, telemetry.map(Telemetry::stats), unix_nanos_now())?;
        render_into(&metrics, format, telemetry, buffer, capacity, length)
    })
}

/// Writes the monitor's latency histogram since creation (seconds, every request) as an
/// OpenTelemetry exponential histogram, e.g. to merge devices' histograms on a gateway with
/// `mle_exp_histogram_merge`. Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL), `MLE_ERR_INVALID_STATE`
/// (called from the monitor's level callback).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_monitor_latency_histogram(
    monitor: *const mle_monitor,
    out: *mut mle_exp_histogram,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract.
        let (monitor, out) = unsafe { (monitor_ref(monitor)?, output(out, "out")?) };
        let snapshot = monitor.snapshot()?;
        *out = exp_histogram_to_c(&snapshot.totals.latency_exponential);
        Ok(())
    })
}

/// A runtime option's telemetry handle as the runtime's own reference (NULL: none).
///
/// # Safety
/// `ptr` is NULL or a live `mle_telemetry` handle.
pub(super) unsafe fn telemetry_option(ptr: *const mle_telemetry) -> Result<Option<Telemetry>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: per the caller contract.
    Ok(Some(unsafe { telemetry_ref(ptr)? }.clone()))
}
