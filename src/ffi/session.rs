//! `mle_session`: creating sessions and the single-request classify calls.

use std::cell::UnsafeCell;
use std::ffi::c_char;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::abi::{check_out, init, read_in, write_out, Extensible};
use super::args::{optional_out_slice, output, slice, write_optional};
use super::boundary::guard;
use super::handle::{self, Handle};
use super::model::{mle_model, model_ref, ModelShared};
use super::status::mle_status;
use crate::error::{fail, Result, Status};
use crate::session::{Input, PoolMode, Prediction, Session, SessionOptions};

/// One thread's scratch for one model (opaque). A session serves one call at a time: a call made
/// while another call on the same session runs fails with `MLE_ERR_SESSION_BUSY` (nothing
/// else happens). Sessions of the same model run in parallel; a session may move between
/// threads between calls.
pub struct mle_session {
    _private: [u8; 0],
}

/// What a session handle holds. `busy` is the only field another thread may touch while a call
/// runs; the session itself is reached only by the call that set `busy`.
pub(crate) struct SessionCell {
    busy: AtomicBool,
    inner: UnsafeCell<SessionInner>,
}

/// The session and the model reference its label strings come from.
pub(crate) struct SessionInner {
    pub(crate) model: Arc<ModelShared>,
    pub(crate) session: Session,
}

// SAFETY: `inner` is only reached through `with_session`, which holds `busy` (acquired with an
// atomic swap) for as long as the reference lives: one thread at a time. Session is Send.
unsafe impl Sync for SessionCell {}

impl Handle for SessionCell {
    type C = mle_session;
    const MAGIC: u64 = u64::from_le_bytes(*b"mle:sess");
    const NAME: &'static str = "mle_session";
}

/// Session pool mode: a pool sized automatically from warm-up runs (the default).
pub const MLE_POOL_AUTO: i32 = 0;
/// Session pool mode: no pool (tract allocates from the system on every request).
pub const MLE_POOL_OFF: i32 = 1;
/// Session pool mode: a pool of exactly `pool_bytes` bytes.
pub const MLE_POOL_FIXED: i32 = 2;
/// Smallest `pool_bytes` of `MLE_POOL_FIXED` (64 KiB).
pub const MLE_POOL_MIN_BYTES: usize = 64 * 1024;
/// Largest `pool_bytes` of `MLE_POOL_FIXED` (256 MiB).
pub const MLE_POOL_MAX_BYTES: usize = 256 * 1024 * 1024;
const _: () =
    assert!(MLE_POOL_MIN_BYTES == crate::alloc::MIN_POOL_BYTES && MLE_POOL_MAX_BYTES == crate::alloc::MAX_POOL_BYTES);

/// Session options: `mle_session_options_init`, or set `struct_size` and leave the other fields
/// 0 for the defaults (`MLE_POOL_AUTO`).
#[repr(C)]
pub struct mle_session_options {
    /// `sizeof(mle_session_options)`.
    pub struct_size: u32,
    /// `MLE_POOL_AUTO` (0), `MLE_POOL_OFF` or `MLE_POOL_FIXED`.
    pub pool_mode: i32,
    /// Pool size in bytes for `MLE_POOL_FIXED`, `MLE_POOL_MIN_BYTES..=MLE_POOL_MAX_BYTES`
    /// (ignored otherwise).
    pub pool_bytes: usize,
}

/// Counters of a session (see `mle_session_get_stats`). Every classify call is counted once,
/// under the status it returned: `requests = successes + errors`, whatever the error (a bad
/// argument, invalid UTF-8, a short buffer included; a call refused with
/// `MLE_ERR_SESSION_BUSY` or on a handle that is not a session is not the session's).
#[repr(C)]
pub struct mle_session_stats {
    /// `sizeof(mle_session_stats)`, set by the caller.
    pub struct_size: u32,
    /// Requests made (successes and errors; a batch counts each item).
    pub requests: u64,
    /// Requests that returned an error.
    pub errors: u64,
    /// Calls to the system allocator made by the last single request (0 in steady state).
    pub last_request_system_calls: u64,
    /// Pool size in bytes (0 without a pool).
    pub pool_capacity: u64,
    /// Bytes currently allocated from the pool.
    pub pool_used: u64,
    /// Highest `pool_used` so far.
    pub pool_peak: u64,
    /// Allocations the pool could not serve (each made its request fail with
    /// `MLE_ERR_POOL_EXHAUSTED`).
    pub pool_overflows: u64,
}

/// The answer to one request (set `struct_size` before the call; in a batch, set it in
/// element 0).
#[repr(C)]
pub struct mle_prediction {
    /// `sizeof(mle_prediction)`, set by the caller.
    pub struct_size: u32,
    /// Index of the most probable label.
    pub label_index: u32,
    /// Its probability.
    pub score: f32,
    /// `MLE_FLAG_*` bits.
    pub flags: u32,
    /// Its name (owned by the model; valid while the session or the model lives).
    pub label: *const c_char,
    /// Time spent in the call, in nanoseconds.
    pub latency_ns: u64,
    /// Tokens (text), bytes (bytes) or values (tensor) of the input.
    pub input_length: u32,
}

// SAFETY: repr(C), struct_size first, plain data.
unsafe impl Extensible for mle_session_options {
    const NAME: &'static str = "mle_session_options";
    const SIZES: &'static [usize] = &[std::mem::size_of::<mle_session_options>()];
    fn defaults() -> Self {
        mle_session_options {
            struct_size: std::mem::size_of::<mle_session_options>() as u32,
            pool_mode: MLE_POOL_AUTO,
            pool_bytes: 0,
        }
    }
}

super::abi::extensible_out! {
    mle_session_stats: &[std::mem::size_of::<mle_session_stats>()];
    mle_prediction: &[std::mem::size_of::<mle_prediction>()];
}

/// The pool mode of C options (shared with the runtime's options).
pub(crate) fn pool_mode(mode: i32, bytes: usize) -> Result<PoolMode> {
    match mode {
        MLE_POOL_AUTO => Ok(PoolMode::Auto),
        MLE_POOL_OFF => Ok(PoolMode::Off),
        MLE_POOL_FIXED if (MLE_POOL_MIN_BYTES..=MLE_POOL_MAX_BYTES).contains(&bytes) => Ok(PoolMode::Bytes(bytes)),
        MLE_POOL_FIXED => fail(
            Status::InvalidArgument,
            format!("pool_bytes {bytes} is outside {MLE_POOL_MIN_BYTES}..={MLE_POOL_MAX_BYTES} (MLE_POOL_MIN_BYTES..=MLE_POOL_MAX_BYTES)"),
        ),
        other => fail(Status::InvalidArgument, format!("pool_mode {other} is not one of MLE_POOL_AUTO/OFF/FIXED")),
    }
}

/// Runs `body` with exclusive access to the session behind `ptr`.
///
/// # Safety
/// `ptr` is NULL or a handle of this library (see `handle::get`).
pub(crate) unsafe fn with_session<R>(
    ptr: *mut mle_session,
    body: impl FnOnce(&mut SessionInner) -> Result<R>,
) -> Result<R> {
    // SAFETY: per the caller's contract.
    let cell = unsafe { handle::get::<SessionCell>(ptr, "session")? };
    if cell.busy.swap(true, Ordering::Acquire) {
        return fail(
            Status::SessionBusy,
            "the session is in use by another call: a session serves one call at a time (one session per thread)",
        );
    }
    struct Release<'a>(&'a AtomicBool);
    impl Drop for Release<'_> {
        fn drop(&mut self) {
            self.0.store(false, Ordering::Release);
        }
    }
    let _release = Release(&cell.busy);
    // SAFETY: this call set `busy`, so no other call reaches `inner` until `_release` drops
    // (after `body` returns or unwinds); the reference does not escape `body`.
    body(unsafe { &mut *cell.inner.get() })
}

/// Fill `*options` with the defaults (`MLE_POOL_AUTO`); pass `sizeof(mle_session_options)`.
///
/// # Safety
/// `options` is NULL or points to `struct_size` writable bytes.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub unsafe extern "C" fn mle_session_options_init(options: *mut mle_session_options, struct_size: usize) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| unsafe { init(options, struct_size, "options") })
}

/// Create a session for `model` (`options` may be NULL). The first session of a model takes the
/// state its load made ready (warmed on the loading thread, pool sized); a session made while
/// others are alive runs each plan once (warm-up and pool sizing): create sessions up front, one
/// per thread that classifies.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL/invalid model, bad pool mode or size, a fixed pool
/// asked of a library built without the pool allocator).
///
/// # Safety
/// `model` is NULL or a live handle; `options` is NULL or a struct of `struct_size` bytes;
/// `out` is NULL or writable.
///
/// Thread safety: safe from any thread, concurrently with other calls on the model.
#[no_mangle]
pub unsafe extern "C" fn mle_session_new(
    model: *const mle_model,
    options: *const mle_session_options,
    out: *mut *mut mle_session,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let (m, out) = unsafe { (model_ref(model, "model")?, output(out, "out")?) };
        let pool = if options.is_null() {
            PoolMode::Auto
        } else {
            // SAFETY: per this function's contract.
            let o = unsafe { read_in(options, "options")? };
            pool_mode(o.pool_mode, o.pool_bytes)?
        };
        let session = Session::with_options(&m.model, &SessionOptions { pool })?;
        let inner = SessionInner { model: Arc::clone(m), session };
        *out = handle::into_raw(SessionCell { busy: AtomicBool::new(false), inner: UnsafeCell::new(inner) });
        Ok(())
    })
}

/// Release a session. NULL is ignored. Its scratch goes back to the model for the next session.
/// A session in use by another call is not freed (the error is left for `mle_last_error`).
///
/// # Safety
/// `session` is NULL or a live handle; no call uses it after this one.
///
/// Thread safety: not concurrently with other calls on the same session.
#[no_mangle]
pub unsafe extern "C" fn mle_session_free(session: *mut mle_session) {
    let _ = guard(|| {
        if session.is_null() {
            return Ok(());
        }
        // SAFETY: per this function's contract; holding the session proves no call runs on it.
        unsafe { with_session(session, |_| Ok(()))? };
        // SAFETY: as above.
        unsafe { handle::free::<SessionCell>(session, "session") }.map(drop)
    });
}

/// Counters of a session into `*out` (set `out->struct_size` first).
///
/// # Safety
/// `session` is NULL or a live handle; `out` is NULL or a writable struct of `struct_size` bytes.
///
/// Thread safety: not concurrently with other calls on the same session (`MLE_ERR_SESSION_BUSY`).
#[no_mangle]
pub unsafe extern "C" fn mle_session_get_stats(session: *mut mle_session, out: *mut mle_session_stats) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let stats = unsafe { with_session(session, |s| Ok(s.session.stats()))? };
        let pool = stats.pool.unwrap_or_default();
        let c = mle_session_stats {
            struct_size: 0,
            requests: stats.requests,
            errors: stats.errors,
            last_request_system_calls: stats.last_request_system_calls,
            pool_capacity: pool.capacity as u64,
            pool_used: pool.used as u64,
            pool_peak: pool.peak as u64,
            pool_overflows: pool.overflows,
        };
        // SAFETY: per this function's contract.
        unsafe { write_out(out, &c, "out") }
    })
}

/// A prediction as its C struct; the label points into the model's strings.
pub(crate) fn prediction_to_c(model: &ModelShared, p: &Prediction) -> mle_prediction {
    mle_prediction {
        struct_size: 0,
        label_index: p.label_index as u32,
        score: p.score,
        flags: p.flags,
        label: model.labels[p.label_index].as_ptr(),
        latency_ns: p.latency.as_nanos().min(u128::from(u64::MAX)) as u64,
        input_length: p.input_length.min(u32::MAX as usize) as u32,
    }
}

/// The shared body of the single-input classify calls. Everything after the handle check is
/// the session's request, counted once whatever it returns.
///
/// # Safety
/// The pointers follow the contract of the `mle_session_classify_*` functions.
unsafe fn classify_one<'a>(
    session: *mut mle_session,
    out: *mut mle_prediction,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
    input: impl FnOnce() -> Result<Input<'a>>,
) -> mle_status {
    guard(|| {
        // SAFETY: per the calling function's contract.
        unsafe {
            with_session(session, |s| {
                let labels = s.model.labels.len();
                let result = s.session.classify_checked(|| {
                    check_out(out, "out")?;
                    let buffer = optional_out_slice(probabilities, capacity, "probabilities")?;
                    Ok((input()?, buffer))
                });
                if result.is_ok() || result.as_ref().is_err_and(|e| e.status() == Status::BufferTooSmall) {
                    write_optional(probabilities_len, labels);
                }
                let prediction = result?;
                write_out(out, &prediction_to_c(&s.model, &prediction), "out")
            })
        }
    })
}

/// Classify `text_len` bytes of UTF-8 text (need not be NUL-terminated; `text` may be NULL when
/// `text_len` is 0, meaning empty text). On success `*out` gets the prediction and, when
/// `probabilities` is not NULL, it gets one probability per label (`capacity` must be at least
/// the label count) and `*probabilities_len` (may be NULL) the count.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL session/out, text NULL with a length),
/// `MLE_ERR_SESSION_BUSY`, `MLE_ERR_INVALID_UTF8`, `MLE_ERR_WRONG_INPUT_KIND`,
/// `MLE_ERR_BUFFER_TOO_SMALL` (with `*probabilities_len` set to the label count),
/// `MLE_ERR_POOL_EXHAUSTED`, `MLE_ERR_INFERENCE`. Long text is truncated (flag
/// `MLE_FLAG_TRUNCATED`), never an error.
///
/// # Safety
/// `session` is NULL or a live handle; `text` is NULL or `text_len` readable bytes; `out` is
/// NULL or a writable `mle_prediction` of `struct_size` bytes; `probabilities` is NULL or
/// `capacity` writable floats; `probabilities_len` is NULL or writable.
///
/// Thread safety: one call at a time per session; sessions of the same model run in parallel.
#[no_mangle]
pub unsafe extern "C" fn mle_session_classify_text(
    session: *mut mle_session,
    text: *const c_char,
    text_len: usize,
    out: *mut mle_prediction,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
) -> mle_status {
    // SAFETY: per this function's contract; the text outlives the call.
    unsafe {
        classify_one(session, out, probabilities, capacity, probabilities_len, || {
            Ok(Input::Utf8(slice(text as *const u8, text_len, "text")?))
        })
    }
}

/// Classify one example of `count` f32 values (exactly the model's input length, all finite).
/// Outputs as `mle_session_classify_text`.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT`, `MLE_ERR_SESSION_BUSY`, `MLE_ERR_WRONG_INPUT_KIND`,
/// `MLE_ERR_INPUT_SHAPE` (wrong count, including 0), `MLE_ERR_INPUT_NOT_FINITE`,
/// `MLE_ERR_BUFFER_TOO_SMALL`, `MLE_ERR_POOL_EXHAUSTED`, `MLE_ERR_INFERENCE`.
///
/// # Safety
/// As `mle_session_classify_text`, with `values` NULL or `count` readable floats.
///
/// Thread safety: one call at a time per session.
#[no_mangle]
pub unsafe extern "C" fn mle_session_classify_f32(
    session: *mut mle_session,
    values: *const f32,
    count: usize,
    out: *mut mle_prediction,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
) -> mle_status {
    // SAFETY: per this function's contract; the values outlive the call.
    unsafe {
        classify_one(session, out, probabilities, capacity, probabilities_len, || {
            Ok(Input::Tensor(slice(values, count, "values")?))
        })
    }
}

/// Classify `len` raw bytes (e.g. a file's content; `data` may be NULL when `len` is 0).
/// Outputs as `mle_session_classify_text`.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT`, `MLE_ERR_SESSION_BUSY`, `MLE_ERR_WRONG_INPUT_KIND`,
/// `MLE_ERR_BUFFER_TOO_SMALL`, `MLE_ERR_POOL_EXHAUSTED`, `MLE_ERR_INFERENCE`.
///
/// # Safety
/// As `mle_session_classify_text`, with `data` NULL or `len` readable bytes.
///
/// Thread safety: one call at a time per session.
#[no_mangle]
pub unsafe extern "C" fn mle_session_classify_bytes(
    session: *mut mle_session,
    data: *const u8,
    len: usize,
    out: *mut mle_prediction,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
) -> mle_status {
    // SAFETY: per this function's contract; the bytes outlive the call.
    unsafe {
        classify_one(session, out, probabilities, capacity, probabilities_len, || {
            Ok(Input::Bytes(slice(data, len, "data")?))
        })
    }
}
