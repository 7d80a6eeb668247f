//! `mle_status` and its codes (the numeric values of [`Status`], which never change).

use crate::error::Status;

/// A status code: `MLE_OK` (0) or one of the `MLE_ERR_*` values. `mle_status_str` describes
/// one, `mle_last_error` says what exactly went wrong in the calling thread's last failed call.
pub type mle_status = i32;

/// Success.
pub const MLE_OK: mle_status = 0;
/// An argument is invalid: a NULL pointer where one is required, an option outside its
/// documented range, a handle of the wrong kind or already freed, a length that does not match,
/// an unknown constant, a struct whose `struct_size` was not set.
pub const MLE_ERR_INVALID_ARGUMENT: mle_status = 1;
/// Text input is not valid UTF-8 (the message gives the offset of the first bad byte).
pub const MLE_ERR_INVALID_UTF8: mle_status = 2;
/// A caller buffer is too small; the needed length was written to the call's length pointer.
pub const MLE_ERR_BUFFER_TOO_SMALL: mle_status = 3;
/// A file could not be read (missing, unreadable, not a regular file or directory).
pub const MLE_ERR_IO: mle_status = 4;
/// The ONNX data could not be parsed (empty, truncated, corrupt, impossible shapes).
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
/// A tensor input contains an infinity, or NaN for a model without a rule for missing values
/// (tree ensembles and NaN imputers take NaN as a missing value).
pub const MLE_ERR_INPUT_NOT_FINITE: mle_status = 11;
/// The model failed while running.
pub const MLE_ERR_INFERENCE: mle_status = 12;
/// The session's memory pool ran out during the request (its result is discarded): create the
/// session with a larger `pool_bytes`, or `MLE_POOL_AUTO`.
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
/// Every session of the runtime's pool stayed busy for the configured wait
/// (`mle_runtime_options.busy_wait_ms`); try again, or raise `max_concurrency`.
pub const MLE_ERR_BUSY: mle_status = 19;
/// The runtime is shutting down (or has shut down) and takes no new requests.
pub const MLE_ERR_SHUTTING_DOWN: mle_status = 20;
/// A model was refused (failed its self-test, or cannot serve the deployment's inputs); the old
/// model keeps serving.
pub const MLE_ERR_SELF_TEST_FAILED: mle_status = 21;
/// The session is in use by another call: a session serves one call at a time. Give each thread
/// its own session (or use an `mle_runtime`, which pools them).
pub const MLE_ERR_SESSION_BUSY: mle_status = 22;
/// The program was built against a header this library does not implement: another major ABI
/// version, a newer minor one (`mle_abi_check`), or a struct with a field set that this library
/// does not know.
pub const MLE_ERR_ABI_MISMATCH: mle_status = 23;
/// The model exceeds a configured resource limit (its file size above
/// `mle_model_options.max_model_bytes`); the message names the limit and how to raise it.
pub const MLE_ERR_MODEL_LIMIT: mle_status = 24;
/// The telemetry spool file is in use by another telemetry handle (of this process or another):
/// one handle per spool file (free the other, or give this one its own `spool_path`). Since C ABI
/// 1.1.
pub const MLE_ERR_SPOOL_LOCKED: mle_status = 25;
/// A model package is not well formed (not a package, a manifest or signature that does not parse,
/// a newer format version, an entry that is not a plain file). Since C ABI 1.3.
pub const MLE_ERR_PACKAGE_INVALID: mle_status = 26;
/// Trusted keys are configured (`mle_model_options.trusted_keys`, `mle_runtime_options.trusted_keys`)
/// and the model is not a signed package (an unsigned package, or a plain ONNX file or directory).
/// Since C ABI 1.3.
pub const MLE_ERR_PACKAGE_UNSIGNED: mle_status = 27;
/// The package is signed by a key that is not among the trusted keys; the message names the key.
/// Since C ABI 1.3.
pub const MLE_ERR_PACKAGE_UNTRUSTED_KEY: mle_status = 28;
/// The package's signature does not verify over its manifest (the manifest changed after
/// signing). Since C ABI 1.3.
pub const MLE_ERR_PACKAGE_BAD_SIGNATURE: mle_status = 29;
/// A file of the package does not have the size or SHA-256 its manifest lists (it changed after
/// packing); the message names the file. Since C ABI 1.3.
pub const MLE_ERR_PACKAGE_TAMPERED: mle_status = 30;
/// A file the package's manifest lists is missing, or the package holds a file its manifest does
/// not list; the message names it. Since C ABI 1.3.
pub const MLE_ERR_PACKAGE_FILES_MISMATCH: mle_status = 31;
/// The package's version is below `min_package_version` (or a plain ONNX model, which has no
/// version, while a minimum is set): an older release is not taken back. Since C ABI 1.3.
pub const MLE_ERR_PACKAGE_OUTDATED: mle_status = 32;

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
            MLE_ERR_SESSION_BUSY,
            MLE_ERR_ABI_MISMATCH,
            MLE_ERR_MODEL_LIMIT,
            MLE_ERR_SPOOL_LOCKED,
            MLE_ERR_PACKAGE_INVALID,
            MLE_ERR_PACKAGE_UNSIGNED,
            MLE_ERR_PACKAGE_UNTRUSTED_KEY,
            MLE_ERR_PACKAGE_BAD_SIGNATURE,
            MLE_ERR_PACKAGE_TAMPERED,
            MLE_ERR_PACKAGE_FILES_MISMATCH,
            MLE_ERR_PACKAGE_OUTDATED,
        ];
        assert_eq!(c.len(), Status::ALL.len());
        for (code, status) in c.iter().zip(Status::ALL) {
            assert_eq!(*code, status.code());
            assert_eq!(
                // SAFETY: the library returns NUL-terminated static strings.
                unsafe { std::ffi::CStr::from_ptr(super::super::boundary::mle_status_str(*code)) }.to_str().unwrap(),
                status.description()
            );
        }
    }
}
