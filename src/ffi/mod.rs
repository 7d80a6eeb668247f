//! The C ABI: thin wrappers that check arguments, convert them and forward to the Rust API.
//! The header, `include/mlops_edge.h`, is generated from this module by cbindgen; the rules
//! below are in its preamble and in docs/c-api.md.
//!
//! - Names: `mle_<object>_<verb>[_<what>]` (`mle_session_classify_text`, `mle_runtime_get_health`,
//!   `mle_model_options_init`); library-wide calls have no object (`mle_version`,
//!   `mle_abi_check`, `mle_last_error`, `mle_status_str`). Types are `mle_<noun>`, constants
//!   `MLE_<GROUP>_<NAME>`.
//! - Arguments: the object first, then what the call reads, then what it writes; the classify
//!   calls are `(object, [user_id,] input..., out, probabilities, capacity, probabilities_len)`.
//! - Enum-like constants (`MLE_INPUT_*`, `MLE_LEVEL_*`, ...) are `int32_t` like `mle_status`;
//!   bit flags (`MLE_FLAG_*`) and 0/1 fields are `uint32_t`.
//! - Every fallible call returns an `mle_status` (`MLE_OK` = 0), writes its outputs only on
//!   success, and on failure leaves a message for `mle_last_error()` on the calling thread.
//! - No Rust panic crosses the boundary: it becomes `MLE_ERR_PANIC`.
//! - Caller-owned output buffers come as `(pointer, capacity, *length)`; a buffer that is too
//!   small gives `MLE_ERR_BUFFER_TOO_SMALL` and the needed length in `*length`.
//! - Structs that grow: `abi` (a leading `struct_size`).
//! - Handles: `handle` (boxed, atomic magic); `*_free(NULL)` does nothing.
//! - Each function's comment states its safety contract, its thread safety and, for callbacks,
//!   when and on which thread `free_userdata` runs.

#![allow(non_camel_case_types)]

mod ab;
mod abi;
mod args;
mod boundary;
mod export;
mod handle;
mod histogram;
mod log;
mod model;
mod monitor;
mod monitor_types;
mod runtime;
mod session;
mod session_batch;
mod stats;
mod status;
mod telemetry;
#[cfg(feature = "test-hooks")]
mod test_hooks;
mod userdata;

pub use ab::*;
pub use abi::{mle_abi_check, mle_abi_version, MLE_ABI_VERSION, MLE_ABI_VERSION_MAJOR, MLE_ABI_VERSION_MINOR};
pub use boundary::{mle_last_error, mle_status_str, mle_version};
pub use export::*;
pub use histogram::*;
pub use log::*;
pub use model::*;
pub use monitor::*;
pub use monitor_types::*;
pub use runtime::*;
pub use session::*;
pub use session_batch::*;
pub use stats::*;
pub use status::*;
pub use telemetry::*;
#[cfg(feature = "test-hooks")]
pub use test_hooks::*;
pub use userdata::mle_free_userdata;

pub(crate) use status::code;

/// Input kind of a model: UTF-8 text.
pub const MLE_INPUT_TEXT: i32 = 1;
/// Input kind of a model: f32 feature vectors.
pub const MLE_INPUT_TENSOR: i32 = 2;
/// Input kind of a model: raw bytes.
pub const MLE_INPUT_BYTES: i32 = 3;

/// Element type of a model's input (`mle_model_details.input_element_type`): 32-bit float.
pub const MLE_ELEMENT_FLOAT32: i32 = 1;
/// Element type of a model's input: 64-bit float (a tensor model converts the caller's f32
/// features exactly).
pub const MLE_ELEMENT_FLOAT64: i32 = 2;
/// Element type of a model's input: 64-bit integer (a tensor model takes f32 features that are
/// whole numbers; text models' token ids).
pub const MLE_ELEMENT_INT64: i32 = 3;
/// Element type of a model's input: 32-bit integer (a tensor model takes f32 features that are
/// whole numbers in range; byte models' values).
pub const MLE_ELEMENT_INT32: i32 = 4;

/// Prediction flag: the input was cut to fit (longest sequence, text window, byte features).
pub const MLE_FLAG_TRUNCATED: u32 = 1;
/// Prediction flag: the input was empty.
pub const MLE_FLAG_EMPTY_INPUT: u32 = 2;
/// Prediction flag: the request ran outside the session's memory pool (its first request on
/// this thread, or no pool), so it called the system allocator.
pub const MLE_FLAG_UNPOOLED: u32 = 4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_constants_match_the_rust_ones() {
        assert_eq!(MLE_FLAG_TRUNCATED, crate::FLAG_TRUNCATED);
        assert_eq!(MLE_FLAG_EMPTY_INPUT, crate::FLAG_EMPTY_INPUT);
        assert_eq!(MLE_FLAG_UNPOOLED, crate::FLAG_UNPOOLED);
        assert_eq!(MLE_INPUT_TEXT, crate::InputKind::Text as i32);
        assert_eq!(MLE_INPUT_TENSOR, crate::InputKind::Tensor as i32);
        assert_eq!(MLE_INPUT_BYTES, crate::InputKind::Bytes as i32);
        assert_eq!(MLE_ELEMENT_FLOAT32, crate::ElementType::Float32 as i32);
        assert_eq!(MLE_ELEMENT_FLOAT64, crate::ElementType::Float64 as i32);
        assert_eq!(MLE_ELEMENT_INT64, crate::ElementType::Int64 as i32);
        assert_eq!(MLE_ELEMENT_INT32, crate::ElementType::Int32 as i32);
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
