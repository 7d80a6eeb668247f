//! `mle_telemetry`: the record queue, batches and spool, with the host's upload callback.

use std::ffi::{c_char, c_void};
use std::time::Duration;

use super::abi::{init, read_in, read_known, write_out, Extensible};
use super::args::{c_string, copy_text, output, path_from_c, utf8};
use super::boundary::guard;
use super::handle::{self, Handle};
use super::status::mle_status;
use super::userdata::{mle_free_userdata, Userdata};
use crate::error::{fail, Result, Status};
use crate::telemetry::{Batch, FlushReport, Telemetry, TelemetryOptions, TelemetryStats, Verdict};

/// Bytes of the fixed error-message buffers in result structs (NUL included).
pub const MLE_ERROR_BUFFER: usize = 256;

/// Upload callback answer: delivered; the batch is done.
pub const MLE_UPLOAD_OK: i32 = 0;
/// Upload callback answer: not delivered; offer the same batch again after a backoff.
pub const MLE_UPLOAD_RETRY: i32 = 1;
/// Upload callback answer: give up on the batch (its records are counted as dropped).
pub const MLE_UPLOAD_DROP: i32 = 2;

/// Telemetry (opaque): the record queue, batches, spool and upload hooks. Every function on it is
/// safe from any thread.
pub struct mle_telemetry {
    _private: [u8; 0],
}

impl Handle for Telemetry {
    type C = mle_telemetry;
    const MAGIC: u64 = u64::from_le_bytes(*b"mle:tlmy");
    const NAME: &'static str = "mle_telemetry";
}

/// A batch handed to the upload callback. Valid only during the call: copy what you keep.
/// `struct_size` is the library's (check it before reading a field your header added).
#[repr(C)]
pub struct mle_batch {
    /// `sizeof(mle_batch)` of the library.
    pub struct_size: u32,
    /// 1 on the first offer, one more per RETRY.
    pub attempt: u32,
    /// Unique per device and rising; the same on every offer of this batch.
    pub id: u64,
    /// JSON Lines text (schema `mlops_edge.telemetry` v1, docs/telemetry.md), not NUL-terminated.
    pub data: *const u8,
    /// Bytes of `data`.
    pub len: usize,
    /// Records in the batch (lines after the header line).
    pub records: usize,
    /// Sequence number of the first record.
    pub first_seq: u64,
    /// Sequence number of the last record.
    pub last_seq: u64,
}

/// Uploads a batch: return `MLE_UPLOAD_OK`, `MLE_UPLOAD_RETRY` or `MLE_UPLOAD_DROP` (any other
/// value counts as RETRY: nothing is lost). Called on the thread calling `mle_telemetry_flush`,
/// inside that call.
pub type mle_upload_callback = Option<unsafe extern "C" fn(userdata: *mut c_void, batch: *const mle_batch) -> i32>;

/// A batch's worth of records is waiting (`waiting` = records since the last flush). Called on
/// a request thread, once until the next flush: only signal your scheduler from it.
pub type mle_ready_callback = Option<unsafe extern "C" fn(userdata: *mut c_void, waiting: u64)>;

/// Telemetry options. Fill with `mle_telemetry_options_init`, then change what you need.
#[repr(C)]
pub struct mle_telemetry_options {
    /// `sizeof(mle_telemetry_options)`.
    pub struct_size: u32,
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
    /// Spool file path (any bytes but NUL on POSIX, UTF-8 elsewhere), or NULL for no spool
    /// (default).
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
    /// Called exactly once with `userdata`, or NULL: when the telemetry's last user lets go
    /// (`mle_telemetry_free`, or the runtime holding it last, on the thread of that call), or at
    /// once on the calling thread when `mle_telemetry_new` fails (except when `struct_size` is
    /// below the struct's first layout: then the struct is not read, and `userdata` stays yours).
    pub free_userdata: mle_free_userdata,
}

/// Telemetry counters (set `struct_size` first). Exact:
/// `recorded = sent + dropped_queue_full + dropped_by_host + pending`.
#[repr(C)]
pub struct mle_telemetry_stats {
    /// `sizeof(mle_telemetry_stats)`, set by the caller.
    pub struct_size: u32,
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
    /// Bytes of damaged entries skipped inside the spool at creation (the intact entries after
    /// them were recovered). Since C ABI 1.1.
    pub spool_corrupt_bytes: u64,
    /// Stretches of damage skipped inside the spool at creation. Since C ABI 1.1.
    pub spool_corrupt_regions: u64,
    /// 1 when the spool file existed but was found shorter than its header at creation (emptied or
    /// cut by something else: its records are lost; `spool_torn_bytes` holds what was left).
    /// Since C ABI 1.1.
    pub spool_truncated: u32,
    /// Records found lost at creation: live in the last process's memory but not in its spool,
    /// which was full (raise `spool_max_bytes`). Counted, never a silent gap in the sequence
    /// numbers. Since C ABI 1.3.
    pub spool_lost_records: u64,
}

/// What one `mle_telemetry_flush` did (set `struct_size` first).
#[repr(C)]
pub struct mle_flush_report {
    /// `sizeof(mle_flush_report)`, set by the caller.
    pub struct_size: u32,
    /// 1 when the last batch was answered RETRY.
    pub retried: u32,
    /// 1 when a batch waits for its backoff (then see `retry_after_ms`).
    pub backing_off: u32,
    /// Batches answered OK.
    pub batches_sent: u64,
    /// Batches answered DROP.
    pub batches_dropped: u64,
    /// Milliseconds until the waiting batch may be offered again: flush again after that.
    pub retry_after_ms: u64,
    /// Records still waiting.
    pub pending: u64,
}

// SAFETY: repr(C), struct_size first, plain data (integers, raw pointers, function pointers).
unsafe impl Extensible for mle_telemetry_options {
    const NAME: &'static str = "mle_telemetry_options";
    const SIZES: &'static [usize] = &[std::mem::size_of::<mle_telemetry_options>()];
    fn defaults() -> Self {
        let d = TelemetryOptions::default();
        mle_telemetry_options {
            struct_size: std::mem::size_of::<Self>() as u32,
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
        }
    }
}

super::abi::extensible_out! {
    // ABI 1.0 ended before `spool_corrupt_bytes`; 1.1 added the three spool-damage fields (its
    // sizeof, tail padding included, is the offset of `spool_lost_records`, added in 1.3).
    mle_telemetry_stats: &[
        std::mem::offset_of!(mle_telemetry_stats, spool_corrupt_bytes),
        std::mem::offset_of!(mle_telemetry_stats, spool_lost_records),
        std::mem::size_of::<mle_telemetry_stats>(),
    ];
    mle_flush_report: &[std::mem::size_of::<mle_flush_report>()];
}

/// The telemetry behind a handle argument.
///
/// # Safety
/// `ptr` is NULL or a handle of this library (see `handle::get`).
pub(crate) unsafe fn telemetry_ref<'a>(ptr: *const mle_telemetry) -> Result<&'a Telemetry> {
    // SAFETY: per the caller's contract.
    unsafe { handle::get::<Telemetry>(ptr, "telemetry") }
}

/// Fill `*options` with the defaults (no callbacks, no spool); pass
/// `sizeof(mle_telemetry_options)`.
///
/// # Safety
/// `options` is NULL or points to `struct_size` writable bytes.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_telemetry_options_init(
    options: *mut mle_telemetry_options,
    struct_size: usize,
) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| unsafe { init(options, struct_size, "options") })
}

/// Create telemetry. With a spool path, recovers what the spool holds (see `recovered` and
/// `spool_torn_bytes` from `mle_telemetry_get_stats`). The options' `free_userdata` is called as
/// its field says (at once if this call fails).
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL options/out, no upload callback, values out of
/// range, spool_sync not 0/1), `MLE_ERR_INVALID_UTF8` (device id), `MLE_ERR_IO` (spool cannot be
/// opened or is not a spool file).
///
/// # Safety
/// `options` is NULL or a struct of `struct_size` bytes whose callbacks are NULL or safe to call
/// with its `userdata` from any thread; `out` is NULL or writable.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_telemetry_new(
    options: *const mle_telemetry_options,
    out: *mut *mut mle_telemetry,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let o = match unsafe { read_in(options, "options") } {
            Ok(o) => o,
            Err(e) => {
                // A struct refused for fields this library does not know still hands over its
                // userdata: free it, as documented. One whose size is not even the first
                // layout's is not read at all (its userdata stays the caller's).
                // SAFETY: per this function's contract.
                if let Some(o) = unsafe { read_known(options) } {
                    drop(Userdata::new(o.userdata, o.free_userdata));
                }
                return Err(e);
            }
        };
        // Owns the userdata from here: freed on every early return.
        let userdata = Userdata::new(o.userdata, o.free_userdata);
        // SAFETY: per this function's contract.
        let out = unsafe { output(out, "out")? };
        let Some(upload) = o.upload else {
            return fail(Status::InvalidArgument, "options.upload (the upload callback) is NULL");
        };
        if o.spool_sync > 1 {
            return fail(Status::InvalidArgument, "spool_sync must be 0 or 1");
        }
        let device_id = if o.device_id.is_null() {
            String::new()
        } else {
            // SAFETY: a non-NULL device id is NUL-terminated per the contract.
            utf8(unsafe { c_string(o.device_id, "options.device_id")? }, "options.device_id")?.to_string()
        };
        let spool_path = if o.spool_path.is_null() {
            None
        } else {
            // SAFETY: a non-NULL spool path is NUL-terminated per the contract.
            Some(unsafe { path_from_c(o.spool_path, "options.spool_path")? })
        };
        let options = TelemetryOptions {
            queue_capacity: o.queue_capacity as usize,
            request_sample_rate: o.request_sample_rate,
            batch_max_records: o.batch_max_records as usize,
            batch_max_bytes: o.batch_max_bytes as usize,
            retry_initial: Duration::from_millis(o.retry_initial_ms.into()),
            retry_max: Duration::from_millis(o.retry_max_ms.into()),
            spool_path,
            spool_max_bytes: o.spool_max_bytes,
            spool_sync: o.spool_sync == 1,
            device_id,
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
                struct_size: std::mem::size_of::<mle_batch>() as u32,
                attempt: batch.attempt,
                id: batch.id,
                data: batch.data.as_ptr(),
                len: batch.data.len(),
                records: batch.records,
                first_seq: batch.first_seq,
                last_seq: batch.last_seq,
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
        *out = handle::into_raw(Telemetry::new(options, upload, ready)?);
        Ok(())
    })
}

/// Free the handle (a runtime using this telemetry keeps its own reference; the userdata is
/// freed when the last user lets go). Queued records are moved to the spool first, if there is
/// one; without a spool, records not yet sent are lost: flush first. NULL is ignored.
///
/// # Safety
/// `telemetry` is NULL or a live handle; no call uses it after this one.
///
/// Thread safety: not concurrently with other calls on the same handle.
#[no_mangle]
pub unsafe extern "C" fn mle_telemetry_free(telemetry: *mut mle_telemetry) {
    let _ = guard(|| {
        // SAFETY: per this function's contract.
        if let Some(telemetry) = unsafe { handle::free::<Telemetry>(telemetry, "telemetry")? } {
            if let Err(e) = telemetry.persist() {
                log::debug!("telemetry freed during a flush: {}", e.message());
            }
        }
        Ok(())
    });
}

/// Offer batches to the upload callback until it answers RETRY, a batch waits for its backoff,
/// or nothing is left. `report` may be NULL (else set its `struct_size` first).
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT`, `MLE_ERR_BUSY` (another flush runs, or called from the
/// upload callback).
///
/// # Safety
/// `telemetry` is NULL or live; `report` is NULL or a writable struct of `struct_size` bytes.
///
/// Thread safety: safe from any thread (one flush at a time; others get `MLE_ERR_BUSY`).
#[no_mangle]
pub unsafe extern "C" fn mle_telemetry_flush(
    telemetry: *const mle_telemetry,
    report: *mut mle_flush_report,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let telemetry = unsafe { telemetry_ref(telemetry)? };
        if !report.is_null() {
            // Checked before flushing: a bad report struct must not cost the host its batches.
            // SAFETY: per this function's contract.
            unsafe { write_out(report, &<mle_flush_report as Extensible>::defaults(), "report")? };
        }
        let r: FlushReport = telemetry.flush()?;
        let c = mle_flush_report {
            struct_size: 0,
            batches_sent: r.batches_sent,
            batches_dropped: r.batches_dropped,
            retried: u32::from(r.retried),
            backing_off: u32::from(r.retry_after.is_some()),
            retry_after_ms: r.retry_after.map_or(0, |d| d.as_millis().min(u64::MAX as u128) as u64),
            pending: r.pending,
        };
        if report.is_null() {
            return Ok(());
        }
        // SAFETY: per this function's contract.
        unsafe { write_out(report, &c, "report") }
    })
}

/// Move queued records to the spool without uploading (e.g. when the app goes to the
/// background). Errors: `MLE_ERR_INVALID_ARGUMENT`, `MLE_ERR_BUSY` while a flush runs.
///
/// # Safety
/// `telemetry` is NULL or live.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_telemetry_persist(telemetry: *const mle_telemetry) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        unsafe { telemetry_ref(telemetry)? }.persist()
    })
}

/// The counters into `*out` (set `out->struct_size` first). Errors: `MLE_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `telemetry` is NULL or live; `out` is NULL or a writable struct of `struct_size` bytes.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_telemetry_get_stats(
    telemetry: *const mle_telemetry,
    out: *mut mle_telemetry_stats,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let telemetry = unsafe { telemetry_ref(telemetry)? };
        let s: TelemetryStats = telemetry.stats();
        let mut c = mle_telemetry_stats {
            struct_size: 0,
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
            spool_corrupt_bytes: s.spool_corrupt_bytes,
            spool_corrupt_regions: s.spool_corrupt_regions,
            spool_truncated: u32::from(s.spool_truncated),
            spool_lost_records: s.spool_lost_records,
        };
        copy_text(s.last_spool_error.as_deref().unwrap_or(""), &mut c.last_spool_error);
        // SAFETY: per this function's contract.
        unsafe { write_out(out, &c, "out") }
    })
}

/// A runtime option's telemetry handle as the runtime's own reference (NULL: none).
///
/// # Safety
/// `ptr` is NULL or a live `mle_telemetry` handle.
pub(crate) unsafe fn telemetry_option(ptr: *const mle_telemetry) -> Result<Option<Telemetry>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: per the caller contract.
    Ok(Some(unsafe { telemetry_ref(ptr)? }.clone()))
}
