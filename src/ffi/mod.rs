//! The C ABI: thin wrappers that check arguments, convert them and forward to the Rust API.
//!
//! Conventions (the header, `include/mlops_edge.h`, is generated from this module by cbindgen):
//! - Names are `mle_<object>_<verb>`; the object comes first. Handles are opaque.
//! - Every fallible call returns an `mle_status` (`MLE_OK` = 0), writes its outputs only on
//!   success, and on failure leaves a message for `mle_last_error()` on the calling thread.
//! - No Rust panic crosses the boundary: it becomes `MLE_ERR_PANIC`.
//! - Caller-owned output buffers come as `(pointer, capacity, *length)`; a buffer that is too
//!   small gives `MLE_ERR_BUFFER_TOO_SMALL` and the needed length in `*length`.
//! - `*_free(NULL)` does nothing.
//! - Each function's comment states its thread safety.

#![allow(non_camel_case_types)]

mod args;
mod boundary;
mod histogram;
mod log;
mod model;
mod monitor;
mod runtime;
mod session;
mod telemetry;
mod userdata;

pub use boundary::{mle_last_error, mle_status_str, mle_version};
pub use histogram::*;
pub use log::*;
pub use model::*;
pub use monitor::*;
pub use runtime::*;
pub use session::*;
pub use telemetry::*;

use crate::error::Status;

/// A status code: `MLE_OK` (0) or one of the `MLE_ERR_*` values.
pub type mle_status = i32;

/// Success.
pub const MLE_OK: mle_status = 0;
/// An argument is invalid: a NULL pointer where one is required, an out-of-range option, a
/// handle of the wrong kind, a length that does not match.
pub const MLE_ERR_INVALID_ARGUMENT: mle_status = 1;
/// Text input is not valid UTF-8.
pub const MLE_ERR_INVALID_UTF8: mle_status = 2;
/// A caller buffer is too small; the needed length was written to the call's length pointer.
pub const MLE_ERR_BUFFER_TOO_SMALL: mle_status = 3;
/// A file could not be read.
pub const MLE_ERR_IO: mle_status = 4;
/// The ONNX data could not be parsed (empty, truncated, corrupt).
pub const MLE_ERR_MODEL_INVALID: mle_status = 5;
/// The model is not something this runtime serves (not a classifier, unsupported inputs or ops).
pub const MLE_ERR_MODEL_UNSUPPORTED: mle_status = 6;
/// The model card is missing a needed field or has an invalid one.
pub const MLE_ERR_MODEL_CARD: mle_status = 7;
/// The tokenizer is missing or invalid, or tokenization failed.
pub const MLE_ERR_TOKENIZER: mle_status = 8;
/// The call does not match the model's input kind.
pub const MLE_ERR_WRONG_INPUT_KIND: mle_status = 9;
/// A tensor input has the wrong number of values.
pub const MLE_ERR_INPUT_SHAPE: mle_status = 10;
/// A tensor input contains NaN or infinity.
pub const MLE_ERR_INPUT_NOT_FINITE: mle_status = 11;
/// The model failed while running.
pub const MLE_ERR_INFERENCE: mle_status = 12;
/// The session's memory pool ran out during the request (its result is discarded).
pub const MLE_ERR_POOL_EXHAUSTED: mle_status = 13;
/// An internal panic was caught (a bug in the library); the objects involved stay usable.
pub const MLE_ERR_PANIC: mle_status = 14;
/// The model produced NaN or infinite scores.
pub const MLE_ERR_OUTPUT_NOT_FINITE: mle_status = 15;
/// Too few samples (a monitor baseline needs at least 100 successful requests).
pub const MLE_ERR_INSUFFICIENT_DATA: mle_status = 16;
/// Not allowed now (e.g. a monitor function called from that monitor's level callback).
pub const MLE_ERR_INVALID_STATE: mle_status = 17;
/// A fixed capacity is used up (all of a monitor's session lanes, its version table).
pub const MLE_ERR_LIMIT_REACHED: mle_status = 18;
/// Every session of the runtime's pool stayed busy for the configured wait; try again.
pub const MLE_ERR_BUSY: mle_status = 19;
/// The runtime is shutting down (or has shut down) and takes no new requests.
pub const MLE_ERR_SHUTTING_DOWN: mle_status = 20;
/// A model was refused (failed its self-test, or another input kind than the one it would
/// replace); the old model keeps serving.
pub const MLE_ERR_SELF_TEST_FAILED: mle_status = 21;

/// Input kind of a model: UTF-8 text.
pub const MLE_INPUT_TEXT: u32 = 1;
/// Input kind of a model: f32 feature vectors.
pub const MLE_INPUT_TENSOR: u32 = 2;
/// Input kind of a model: raw bytes.
pub const MLE_INPUT_BYTES: u32 = 3;

/// Prediction flag: the input was cut to fit (longest sequence, text window, byte features).
pub const MLE_FLAG_TRUNCATED: u32 = 1;
/// Prediction flag: the input was empty.
pub const MLE_FLAG_EMPTY_INPUT: u32 = 2;
/// Prediction flag: the request ran outside the session's memory pool (its first request on
/// this thread, or no pool), so it called the system allocator.
pub const MLE_FLAG_UNPOOLED: u32 = 4;

/// Session pool mode: a pool sized automatically from warm-up runs (the default).
pub const MLE_POOL_AUTO: u32 = 0;
/// Session pool mode: no pool (tract allocates from the system on every request).
pub const MLE_POOL_OFF: u32 = 1;
/// Session pool mode: a pool of exactly `pool_bytes` bytes.
pub const MLE_POOL_FIXED: u32 = 2;

/// The C code of a status.
pub(crate) fn code(status: Status) -> mle_status {
    status.code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_codes_match_the_rust_statuses() {
        let c = [
            MLE_OK,
            MLE_ERR_INVALID_ARGUMENT,
            MLE_ERR_INVALID_UTF8,
            MLE_ERR_BUFFER_TOO_SMALL,
            MLE_ERR_IO,
            MLE_ERR_MODEL_INVALID,
            MLE_ERR_MODEL_UNSUPPORTED,
            MLE_ERR_MODEL_CARD,
            MLE_ERR_TOKENIZER,
            MLE_ERR_WRONG_INPUT_KIND,
            MLE_ERR_INPUT_SHAPE,
            MLE_ERR_INPUT_NOT_FINITE,
            MLE_ERR_INFERENCE,
            MLE_ERR_POOL_EXHAUSTED,
            MLE_ERR_PANIC,
            MLE_ERR_OUTPUT_NOT_FINITE,
            MLE_ERR_INSUFFICIENT_DATA,
            MLE_ERR_INVALID_STATE,
            MLE_ERR_LIMIT_REACHED,
            MLE_ERR_BUSY,
            MLE_ERR_SHUTTING_DOWN,
            MLE_ERR_SELF_TEST_FAILED,
        ];
        assert_eq!(c.len(), Status::ALL.len());
        for (code, status) in c.iter().zip(Status::ALL) {
            assert_eq!(*code, status.code());
            assert_eq!(
                // SAFETY: the library returns NUL-terminated static or thread-local strings.
                unsafe { std::ffi::CStr::from_ptr(mle_status_str(*code)) }.to_str().unwrap(),
                status.description()
            );
        }
        assert_eq!(MLE_FLAG_TRUNCATED, crate::FLAG_TRUNCATED);
        assert_eq!(MLE_FLAG_EMPTY_INPUT, crate::FLAG_EMPTY_INPUT);
        assert_eq!(MLE_FLAG_UNPOOLED, crate::FLAG_UNPOOLED);
        assert_eq!(MLE_INPUT_TEXT, crate::InputKind::Text as u32);
        assert_eq!(MLE_INPUT_TENSOR, crate::InputKind::Tensor as u32);
        assert_eq!(MLE_INPUT_BYTES, crate::InputKind::Bytes as u32);
    }
}

#[cfg(test)]
mod header_tests {
    /// The committed header is what cbindgen generates from this source.
    #[test]
    fn committed_header_is_fresh() {
        let generated = include_str!(env!("MLE_GENERATED_HEADER"));
        let committed = include_str!("../../include/mlops_edge.h");
        assert!(
            generated == committed,
            "include/mlops_edge.h is stale: run `MLE_UPDATE_HEADER=1 cargo build` and commit it"
        );
    }
}
