//! The batch classify calls: several inputs through one plan run.

use std::ffi::c_char;

use super::abi::OutArray;
use super::args::{optional_out_slice, slice, write_optional};
use super::boundary::guard;
use super::session::{mle_prediction, mle_session, prediction_to_c, with_session};
use super::status::mle_status;
use crate::error::{fail, Error, Result, Status};
use crate::session::Input;

/// The shared body of the batch calls: `count` predictions into `out`, probabilities row by row.
/// Checking the arguments is part of the request (counted by the session).
///
/// # Safety
/// The pointers follow the contract of the `mle_session_classify_*_batch` functions.
unsafe fn classify_many<'a>(
    session: *mut mle_session,
    count: usize,
    out: *mut mle_prediction,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
    inputs: impl FnOnce() -> Result<Vec<Input<'a>>>,
) -> mle_status {
    guard(|| {
        // SAFETY: per the calling function's contract.
        unsafe {
            with_session(session, |s| {
                let labels = s.model.labels.len();
                let needed = count.checked_mul(labels);
                let result = s.session.classify_batch_checked(count, || {
                    if out.is_null() {
                        return fail(Status::InvalidArgument, "out is NULL");
                    }
                    OutArray::new(out, count, "out")?;
                    let needed = needed.ok_or_else(|| Error::new(Status::InvalidArgument, "count too large"))?;
                    let buffer = optional_out_slice(probabilities, capacity, "probabilities")?;
                    if buffer.is_some() && capacity < needed {
                        write_optional(probabilities_len, needed);
                        return fail(
                            Status::BufferTooSmall,
                            format!("probabilities holds {capacity} values, {needed} needed"),
                        );
                    }
                    Ok((inputs()?, buffer))
                });
                let predictions = result?;
                let mut array = OutArray::new(out, count, "out")?;
                for (i, p) in predictions.iter().enumerate() {
                    array.write(i, &prediction_to_c(&s.model, p))?;
                }
                write_optional(probabilities_len, predictions.len() * labels);
                Ok(())
            })
        }
    })
}

/// Classify `count` texts in one run (`texts[i]` has `lengths[i]` bytes of UTF-8). `out`
/// receives `count` predictions (set `out[0].struct_size`); `probabilities` (optional)
/// `count × labels` values, row by row. The batch path allocates; single calls are the
/// allocation-free path.
///
/// Errors: as `mle_session_classify_text`, plus `MLE_ERR_INVALID_ARGUMENT` for `count` 0 or
/// above the model's `max_batch`.
///
/// # Safety
/// `session` is NULL or live; `texts` and `lengths` NULL or `count` values, each text NULL (with
/// length 0) or `lengths[i]` readable bytes; `out` NULL or `count` writable predictions of
/// `out[0].struct_size` bytes; `probabilities` NULL or `capacity` writable floats;
/// `probabilities_len` NULL or writable.
///
/// Thread safety: one call at a time per session (`MLE_ERR_SESSION_BUSY`).
#[no_mangle]
pub unsafe extern "C" fn mle_session_classify_text_batch(
    session: *mut mle_session,
    texts: *const *const c_char,
    lengths: *const usize,
    count: usize,
    out: *mut mle_prediction,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
) -> mle_status {
    // SAFETY: per this function's contract.
    unsafe {
        classify_many(session, count, out, probabilities, capacity, probabilities_len, || {
            let (texts, lengths) = (slice(texts, count, "texts")?, slice(lengths, count, "lengths")?);
            texts.iter().zip(lengths).map(|(&t, &n)| Ok(Input::Utf8(slice(t as *const u8, n, "texts[i]")?))).collect()
        })
    }
}

/// Classify `count` examples of f32 features in one run; `values` holds `values_len` =
/// `count × input length` values, example after example. Outputs as
/// `mle_session_classify_text_batch`.
///
/// # Safety
/// As `mle_session_classify_text_batch`, with `values` NULL or `values_len` readable floats.
///
/// Thread safety: one call at a time per session.
#[no_mangle]
pub unsafe extern "C" fn mle_session_classify_f32_batch(
    session: *mut mle_session,
    values: *const f32,
    values_len: usize,
    count: usize,
    out: *mut mle_prediction,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
) -> mle_status {
    // SAFETY: per this function's contract.
    unsafe {
        classify_many(session, count, out, probabilities, capacity, probabilities_len, || {
            let values = slice(values, values_len, "values")?;
            if count == 0 {
                return fail(Status::InvalidArgument, "a batch needs at least one input");
            }
            if values.len() % count != 0 {
                return fail(Status::InputShape, format!("{values_len} values do not split into {count} examples"));
            }
            Ok(values.chunks(values.len() / count).map(Input::Tensor).collect())
        })
    }
}

/// Classify `count` byte strings in one run (`items[i]` has `lengths[i]` bytes). Outputs as
/// `mle_session_classify_text_batch`.
///
/// # Safety
/// As `mle_session_classify_text_batch`, with `items[i]` NULL (length 0) or `lengths[i]` bytes.
///
/// Thread safety: one call at a time per session.
#[no_mangle]
pub unsafe extern "C" fn mle_session_classify_bytes_batch(
    session: *mut mle_session,
    items: *const *const u8,
    lengths: *const usize,
    count: usize,
    out: *mut mle_prediction,
    probabilities: *mut f32,
    capacity: usize,
    probabilities_len: *mut usize,
) -> mle_status {
    // SAFETY: per this function's contract.
    unsafe {
        classify_many(session, count, out, probabilities, capacity, probabilities_len, || {
            let (items, lengths) = (slice(items, count, "items")?, slice(lengths, count, "lengths")?);
            items.iter().zip(lengths).map(|(&p, &n)| Ok(Input::Bytes(slice(p, n, "items[i]")?))).collect()
        })
    }
}
