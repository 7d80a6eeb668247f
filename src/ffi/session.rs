//! `mle_session` and the classify calls.

use std::ffi::c_char;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::args::{optional_out_slice, output, required, slice, utf8, write_optional};
use super::boundary::guard;
use super::model::{mle_model, model_arc, model_ref, ModelHandle};
use super::{mle_status, MLE_POOL_AUTO, MLE_POOL_FIXED, MLE_POOL_OFF};
use crate::error::{fail, Error, Result, Status};
use crate::session::{PoolMode, Prediction, Session, SessionOptions};

const SESSION_MAGIC: u64 = u64::from_le_bytes(*b"mle:sess");

/// One thread's scratch for one model (opaque). Use a session from one thread at a time; a
/// call that finds it busy on another thread fails with `MLE_ERR_INVALID_ARGUMENT`.
pub struct mle_session {
    _private: [u8; 0],
}

/// What an `mle_session` pointer points to (a `Box`), magic first.
#[repr(C)]
pub(super) struct SessionHandle {
    magic: u64,
    busy: AtomicBool,
    model: Arc<ModelHandle>,
    pub(super) session: Session,
}

/// Session options. All-zero means defaults (`MLE_POOL_AUTO`).
#[repr(C)]
pub struct mle_session_options {
    /// `MLE_POOL_AUTO` (0), `MLE_POOL_OFF` or `MLE_POOL_FIXED`.
    pub pool_mode: u32,
    /// Pool size in bytes for `MLE_POOL_FIXED` (ignored otherwise).
    pub pool_bytes: usize,
}

/// Counters of a session (see `mle_session_get_stats`).
#[repr(C)]
pub struct mle_session_stats {
    /// Requests served (successes and errors; a batch counts each item).
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

/// The answer to one request.
#[repr(C)]
pub struct mle_prediction {
    /// Index of the most probable label.
    pub label_index: u32,
    /// Its probability.
    pub score: f32,
    /// Its name (owned by the model; valid while the session or the model lives).
    pub label: *const c_char,
    /// Time spent in the call, in nanoseconds.
    pub latency_ns: u64,
    /// `MLE_FLAG_*` bits.
    pub flags: u32,
    /// Tokens (text), bytes (bytes) or values (tensor) of the input.
    pub input_length: u32,
}

/// A session handle from C, checked for NULL, kind and concurrent use; `body` runs with the
/// session marked busy.
///
/// # Safety
/// `ptr` is NULL or a live handle returned by this library.
pub(super) unsafe fn with_session<R>(
    ptr: *mut mle_session,
    body: impl FnOnce(&mut SessionHandle) -> Result<R>,
) -> Result<R> {
    let ptr = ptr as *mut SessionHandle;
    // SAFETY: every handle type starts with a u64 magic.
    let magic = unsafe { required(ptr as *const u64, "session")? };
    if *magic != SESSION_MAGIC {
        return fail(Status::InvalidArgument, "session is not an mle_session handle (wrong handle kind or freed)");
    }
    // SAFETY: the magic says it is a live session; `busy` is atomic, so checking it through a
    // shared reference is sound even if another thread misuses the handle.
    let busy = unsafe { &(*ptr).busy };
    if busy.swap(true, Ordering::Acquire) {
        return fail(Status::InvalidArgument, "session is in use by another call (one thread at a time)");
    }
    struct Release<'a>(&'a AtomicBool);
    impl Drop for Release<'_> {
        fn drop(&mut self) {
            self.0.store(false, Ordering::Release);
        }
    }
    let _release = Release(busy);
    // SAFETY: we hold the busy flag, so no other call touches the session.
    body(unsafe { &mut *ptr })
}

/// Create a session for `model` (`options` may be NULL). Creating one runs each plan once
/// (warm-up and pool sizing): create sessions up front, one per thread that classifies.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL/invalid model, bad pool mode or size, pool asked
/// without the pool allocator).
///
/// Thread safety: safe from any thread, concurrently with other calls on the model.
#[no_mangle]
pub unsafe extern "C" fn mle_session_new(
    model: *const mle_model,
    options: *const mle_session_options,
    out: *mut *mut mle_session,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract of this function.
        let (m, options, out) = unsafe { (model_ref(model)?, options.as_ref(), output(out, "out")?) };
        let pool = match options.map(|o| (o.pool_mode, o.pool_bytes)) {
            None | Some((MLE_POOL_AUTO, _)) => PoolMode::Auto,
            Some((MLE_POOL_OFF, _)) => PoolMode::Off,
            Some((MLE_POOL_FIXED, bytes)) => PoolMode::Bytes(bytes),
            Some((other, _)) => {
                return fail(
                    Status::InvalidArgument,
                    format!("pool_mode {other} is not one of MLE_POOL_AUTO/OFF/FIXED"),
                )
            }
        };
        let session = Session::with_options(&m.model, &SessionOptions { pool })?;
        // SAFETY: model was checked by model_ref.
        let model = unsafe { model_arc(model) };
        let handle = Box::new(SessionHandle { magic: SESSION_MAGIC, busy: AtomicBool::new(false), model, session });
        *out = Box::into_raw(handle) as *mut mle_session;
        Ok(())
    })
}

/// Release a session. NULL is ignored. Its scratch goes back to the model for the next session.
///
/// Thread safety: not concurrently with other calls on the same session.
#[no_mangle]
pub unsafe extern "C" fn mle_session_free(session: *mut mle_session) {
    let _ = guard(|| {
        if session.is_null() {
            return Ok(());
        }
        // SAFETY: checks the handle, then takes back the Box made by mle_session_new.
        unsafe {
            with_session(session, |s| {
                s.magic = 0;
                Ok(())
            })?;
            drop(Box::from_raw(session as *mut SessionHandle));
        }
        Ok(())
    });
}

/// Counters of a session into `*out`.
///
/// Thread safety: not concurrently with other calls on the same session.
#[no_mangle]
pub unsafe extern "C" fn mle_session_get_stats(session: *mut mle_session, out: *mut mle_session_stats) -> mle_status {
    guard(|| {
        // SAFETY: C contract of this function.
        let out = unsafe { output(out, "out")? };
        let stats = unsafe { with_session(session, |s| Ok(s.session.stats()))? };
        let pool = stats.pool.unwrap_or_default();
        *out = mle_session_stats {
            requests: stats.requests,
            errors: stats.errors,
            last_request_system_calls: stats.last_request_system_calls,
            pool_capacity: pool.capacity as u64,
            pool_used: pool.used as u64,
            pool_peak: pool.peak as u64,
            pool_overflows: pool.overflows,
        };
        Ok(())
    })
}

fn to_c(model: &ModelHandle, p: &Prediction) -> mle_prediction {
    mle_prediction {
        label_index: p.label_index as u32,
        score: p.score,
        label: model.labels[p.label_index].as_ptr(),
        latency_ns: p.latency.as_nanos().min(u128::from(u64::MAX)) as u64,
        flags: p.flags,
        input_length: p.input_length.min(u32::MAX as usize) as u32,
    }
}

/// The shared body of the single-input classify calls.
///
/// # Safety
/// The pointers follow the contract of the `mle_classify_*` functions.
unsafe fn classify_one(
    session: *mut mle_session,
    out: *mut mle_prediction,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
    call: impl FnOnce(&mut Session, Option<&mut [f32]>) -> Result<Prediction>,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract of the calling function.
        unsafe {
            let out = output(out, "out")?;
            with_session(session, |s| {
                let labels = s.model.labels.len();
                let buffer = optional_out_slice(probabilities, capacity, "probabilities")?;
                if buffer.is_some() && capacity < labels {
                    write_optional(probabilities_len, labels);
                    return fail(
                        Status::BufferTooSmall,
                        format!("probabilities holds {capacity} values, the model has {labels} labels"),
                    );
                }
                let prediction = call(&mut s.session, buffer)?;
                *out = to_c(&s.model, &prediction);
                write_optional(probabilities_len, labels);
                Ok(())
            })
        }
    })
}

/// Classify `text_len` bytes of UTF-8 text (need not be NUL-terminated; `text` may be NULL
/// when `text_len` is 0, meaning empty text). On success `*out` gets the prediction and, when
/// `probabilities` is not NULL, it gets one probability per label (`capacity` must be at least
/// the label count) and `*probabilities_len` (may be NULL) the count.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL session/out, text NULL with a length),
/// `MLE_ERR_INVALID_UTF8`, `MLE_ERR_WRONG_INPUT_KIND`, `MLE_ERR_BUFFER_TOO_SMALL` (with
/// `*probabilities_len` set to the label count), `MLE_ERR_POOL_EXHAUSTED`, `MLE_ERR_INFERENCE`.
/// Long text is truncated (flag `MLE_FLAG_TRUNCATED`), never an error.
///
/// Thread safety: one call at a time per session; sessions of the same model run in parallel.
#[no_mangle]
pub unsafe extern "C" fn mle_classify_text(
    session: *mut mle_session,
    text: *const c_char,
    text_len: usize,
    out: *mut mle_prediction,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
) -> mle_status {
    // SAFETY: C contract of this function.
    unsafe {
        classify_one(session, out, probabilities, capacity, probabilities_len, |s, buffer| {
            let text = utf8(slice(text as *const u8, text_len, "text")?, "text")?;
            s.classify_text(text, buffer)
        })
    }
}

/// Classify one example of `count` f32 values (exactly the model's input length, all finite).
/// Outputs as `mle_classify_text`.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT`, `MLE_ERR_WRONG_INPUT_KIND`, `MLE_ERR_INPUT_SHAPE` (wrong
/// count, including 0), `MLE_ERR_INPUT_NOT_FINITE`, `MLE_ERR_BUFFER_TOO_SMALL`,
/// `MLE_ERR_POOL_EXHAUSTED`, `MLE_ERR_INFERENCE`.
///
/// Thread safety: one call at a time per session.
#[no_mangle]
pub unsafe extern "C" fn mle_classify_f32(
    session: *mut mle_session,
    values: *const f32,
    count: usize,
    out: *mut mle_prediction,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
) -> mle_status {
    // SAFETY: C contract of this function.
    unsafe {
        classify_one(session, out, probabilities, capacity, probabilities_len, |s, buffer| {
            s.classify_f32(slice(values, count, "values")?, buffer)
        })
    }
}

/// Classify `len` raw bytes (e.g. a file's content; `data` may be NULL when `len` is 0).
/// Outputs as `mle_classify_text`.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT`, `MLE_ERR_WRONG_INPUT_KIND`, `MLE_ERR_BUFFER_TOO_SMALL`,
/// `MLE_ERR_POOL_EXHAUSTED`, `MLE_ERR_INFERENCE`.
///
/// Thread safety: one call at a time per session.
#[no_mangle]
pub unsafe extern "C" fn mle_classify_bytes(
    session: *mut mle_session,
    data: *const u8,
    len: usize,
    out: *mut mle_prediction,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
) -> mle_status {
    // SAFETY: C contract of this function.
    unsafe {
        classify_one(session, out, probabilities, capacity, probabilities_len, |s, buffer| {
            s.classify_bytes(slice(data, len, "data")?, buffer)
        })
    }
}

/// The shared body of the batch calls: `count` predictions into `out`, probabilities row by row.
///
/// # Safety
/// The pointers follow the contract of the `mle_classify_*_batch` functions.
unsafe fn classify_many(
    session: *mut mle_session,
    count: usize,
    out: *mut mle_prediction,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
    call: impl FnOnce(&mut Session, Option<&mut [f32]>) -> Result<Vec<Prediction>>,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract of the calling function.
        unsafe {
            if out.is_null() {
                return fail(Status::InvalidArgument, "out (output) is NULL");
            }
            let out = optional_out_slice(out, count, "out")?.unwrap_or_default();
            with_session(session, |s| {
                let needed = count
                    .checked_mul(s.model.labels.len())
                    .ok_or_else(|| Error::new(Status::InvalidArgument, "count too large"))?;
                let buffer = optional_out_slice(probabilities, capacity, "probabilities")?;
                if buffer.is_some() && capacity < needed {
                    write_optional(probabilities_len, needed);
                    return fail(
                        Status::BufferTooSmall,
                        format!("probabilities holds {capacity} values, {needed} needed"),
                    );
                }
                let predictions = call(&mut s.session, buffer)?;
                for (dst, p) in out.iter_mut().zip(&predictions) {
                    *dst = to_c(&s.model, p);
                }
                write_optional(probabilities_len, needed);
                Ok(())
            })
        }
    })
}

/// Classify `count` texts in one run (`texts[i]` has `lengths[i]` bytes). `out` receives
/// `count` predictions; `probabilities` (optional) `count × labels` values, row by row. The
/// batch path allocates; single calls are the allocation-free path.
///
/// Errors: as `mle_classify_text`, plus `MLE_ERR_INVALID_ARGUMENT` for `count` 0 or above the
/// model's `max_batch`.
///
/// Thread safety: one call at a time per session.
#[no_mangle]
pub unsafe extern "C" fn mle_classify_text_batch(
    session: *mut mle_session,
    texts: *const *const c_char,
    lengths: *const usize,
    count: usize,
    out: *mut mle_prediction,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
) -> mle_status {
    // SAFETY: C contract of this function.
    unsafe {
        classify_many(session, count, out, probabilities, capacity, probabilities_len, |s, buffer| {
            let (texts, lengths) = (slice(texts, count, "texts")?, slice(lengths, count, "lengths")?);
            let items = texts
                .iter()
                .zip(lengths)
                .enumerate()
                .map(|(i, (&t, &n))| utf8(slice(t as *const u8, n, "texts[i]")?, &format!("texts[{i}]")))
                .collect::<Result<Vec<&str>>>()?;
            s.classify_text_batch(&items, buffer)
        })
    }
}

/// Classify `count` examples of f32 features in one run; `values` holds `values_len` =
/// `count × input length` values, example after example. Outputs as `mle_classify_text_batch`.
///
/// Thread safety: one call at a time per session.
#[no_mangle]
pub unsafe extern "C" fn mle_classify_f32_batch(
    session: *mut mle_session,
    values: *const f32,
    values_len: usize,
    count: usize,
    out: *mut mle_prediction,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
) -> mle_status {
    // SAFETY: C contract of this function.
    unsafe {
        classify_many(session, count, out, probabilities, capacity, probabilities_len, |s, buffer| {
            let values = slice(values, values_len, "values")?;
            if count == 0 {
                return fail(Status::InvalidArgument, "a batch needs at least one input");
            }
            if values.len() % count != 0 {
                return fail(Status::InputShape, format!("{values_len} values do not split into {count} examples"));
            }
            let examples: Vec<&[f32]> = values.chunks(values.len() / count).collect();
            s.classify_f32_batch(&examples, buffer)
        })
    }
}

/// Classify `count` byte strings in one run (`items[i]` has `lengths[i]` bytes). Outputs as
/// `mle_classify_text_batch`.
///
/// Thread safety: one call at a time per session.
#[no_mangle]
pub unsafe extern "C" fn mle_classify_bytes_batch(
    session: *mut mle_session,
    items: *const *const u8,
    lengths: *const usize,
    count: usize,
    out: *mut mle_prediction,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
) -> mle_status {
    // SAFETY: C contract of this function.
    unsafe {
        classify_many(session, count, out, probabilities, capacity, probabilities_len, |s, buffer| {
            let (items, lengths) = (slice(items, count, "items")?, slice(lengths, count, "lengths")?);
            let data =
                items.iter().zip(lengths).map(|(&p, &n)| slice(p, n, "items[i]")).collect::<Result<Vec<&[u8]>>>()?;
            s.classify_bytes_batch(&data, buffer)
        })
    }
}

/// Make the next classify call on the calling thread panic inside the library, to let a host's
/// test suite check that panics come back as `MLE_ERR_PANIC` and that the session recovers.
///
/// Thread safety: affects only the calling thread.
#[no_mangle]
pub extern "C" fn mle_debug_panic_next_request() {
    crate::session::testing::panic_in_next_request();
}
