//! The panic boundary, the thread-local last error, and the version/status strings.

use std::cell::RefCell;
use std::ffi::{c_char, CStr};

use super::{code, mle_status, MLE_OK};
use crate::error::{internal_panics_as_errors, Error, Result, Status};

const LAST_ERROR_CAPACITY: usize = 1024;

thread_local! {
    /// NUL-terminated message of the last failing call on this thread (fixed size: setting it
    /// never allocates).
    static LAST_ERROR: RefCell<[u8; LAST_ERROR_CAPACITY]> = const { RefCell::new([0; LAST_ERROR_CAPACITY]) };
}

pub(crate) fn set_last_error(message: &str) {
    LAST_ERROR.with(|buf| {
        let mut buf = buf.borrow_mut();
        let mut len = message.len().min(LAST_ERROR_CAPACITY - 1);
        while !message.is_char_boundary(len) {
            len -= 1;
        }
        // Interior NULs would cut the C string short; show them as spaces.
        for (dst, &src) in buf.iter_mut().zip(&message.as_bytes()[..len]) {
            *dst = if src == 0 { b' ' } else { src };
        }
        buf[len] = 0;
    });
}

/// Run an entry point's body: `Ok` → `MLE_OK`; `Err` → its code and message; panic →
/// `MLE_ERR_PANIC` with the panic message.
pub(crate) fn guard(body: impl FnOnce() -> Result<()>) -> mle_status {
    match internal_panics_as_errors(body) {
        Ok(()) => MLE_OK,
        Err(error) => fail_with(&error),
    }
}

/// Record `error` as the thread's last error and return its code.
pub(crate) fn fail_with(error: &Error) -> mle_status {
    set_last_error(error.message());
    code(error.status())
}

/// The status string of a status (static).
fn status_cstr(status: Option<Status>) -> &'static CStr {
    status.map(Status::c_description).unwrap_or(c"unknown status")
}

/// The library version, e.g. `"0.1.0"` (static string; equals `MLE_VERSION_STRING` of the
/// header the program was compiled with when header and library match).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn mle_version() -> *const c_char {
    const VERSION: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("version has a NUL"),
    };
    VERSION.as_ptr()
}

/// A short static description of a status code (`"unknown status"` for codes that are not
/// one). Never NULL.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn mle_status_str(status: mle_status) -> *const c_char {
    status_cstr(Status::from_code(status)).as_ptr()
}

/// The message of the last call that failed on the calling thread (`""` if none did). Calls
/// that succeed leave it unchanged. The pointer is valid until the next failing call on this
/// thread; copy the text to keep it. Never NULL.
///
/// Thread safety: safe from any thread; each thread has its own message.
#[no_mangle]
pub extern "C" fn mle_last_error() -> *const c_char {
    LAST_ERROR.with(|buf| buf.as_ptr() as *const c_char)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::MLE_ERR_PANIC;

    #[test]
    fn last_error_is_truncated_at_a_char_boundary_and_nul_terminated() {
        let long = "é".repeat(LAST_ERROR_CAPACITY);
        set_last_error(&long);
        // SAFETY: mle_last_error returns a NUL-terminated thread-local buffer.
        let text = unsafe { CStr::from_ptr(mle_last_error()) }.to_str().unwrap();
        assert!(text.len() < LAST_ERROR_CAPACITY);
        assert!(text.chars().all(|c| c == 'é'));
        set_last_error("a\0b");
        // SAFETY: the library returns NUL-terminated static or thread-local strings.
        let text = unsafe { CStr::from_ptr(mle_last_error()) }.to_str().unwrap();
        assert_eq!(text, "a b");
    }

    #[test]
    fn guard_maps_results_and_panics() {
        assert_eq!(guard(|| Ok(())), MLE_OK);
        assert_eq!(guard(|| Err(Error::new(Status::Io, "nope"))), Status::Io.code());
        // SAFETY: the library returns NUL-terminated static or thread-local strings.
        let text = unsafe { CStr::from_ptr(mle_last_error()) }.to_str().unwrap();
        assert_eq!(text, "nope");
        assert_eq!(guard(|| panic!("boom")), MLE_ERR_PANIC);
        // SAFETY: the library returns NUL-terminated static or thread-local strings.
        let text = unsafe { CStr::from_ptr(mle_last_error()) }.to_str().unwrap();
        assert_eq!(text, "internal panic: boom");
    }
}
