//! `mle_log_set_callback`: the library's log records to the host.

use std::ffi::{c_char, c_void};

use super::args::copy_text;
use super::boundary::guard;
use super::status::mle_status;
use super::userdata::{mle_free_userdata, Userdata};
use crate::error::{fail, Status};
use crate::logging::{set_log_callback, LogCallback};

/// Log level: forwarding off.
pub const MLE_LOG_OFF: i32 = 0;
/// Log level: errors.
pub const MLE_LOG_ERROR: i32 = 1;
/// Log level: warnings.
pub const MLE_LOG_WARN: i32 = 2;
/// Log level: information (runtime events, model loads).
pub const MLE_LOG_INFO: i32 = 3;
/// Log level: debugging detail.
pub const MLE_LOG_DEBUG: i32 = 4;
/// Log level: tracing (the only level the request path uses).
pub const MLE_LOG_TRACE: i32 = 5;

/// Receives one log record: its level (`MLE_LOG_ERROR`..`MLE_LOG_TRACE`), the module it comes
/// from and the message (NUL-terminated, valid only during the call, at most 1 KiB). Called on
/// the thread that logged; must not block for long.
pub type mle_log_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, level: i32, target: *const c_char, message: *const c_char)>;

/// Bytes of the target and message copies, NUL included.
const TARGET_BUFFER: usize = 128;
const MESSAGE_BUFFER: usize = crate::logging::MAX_LOG_MESSAGE + 1;

/// Forward the library's log records at `max_level` (`MLE_LOG_*`) and more severe to
/// `callback`; `MLE_LOG_OFF` or a NULL callback turns forwarding off. Off by default.
///
/// `free_userdata` (may be NULL) is called exactly once with `userdata`: when a later call
/// replaces or removes this callback (on that call's thread; or, when another thread is
/// forwarding a record to it at that moment, on that thread once the record is delivered), or at
/// once on the calling thread if this call fails or `callback` is NULL. A callback still
/// installed at process exit is never freed.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (level out of range), `MLE_ERR_INVALID_STATE` (the process
/// has another Rust `log` logger).
///
/// # Safety
/// `callback` and `free_userdata` are NULL or functions safe to call with `userdata` from any
/// thread.
///
/// Thread safety: safe from any thread; records logged concurrently reach the old or the new callback.
#[no_mangle]
pub unsafe extern "C" fn mle_log_set_callback(
    max_level: i32,
    callback: mle_log_callback,
    userdata: *mut c_void,
    free_userdata: mle_free_userdata,
) -> mle_status {
    let userdata = Userdata::new(userdata, free_userdata);
    guard(move || {
        let level = match max_level {
            MLE_LOG_OFF => None,
            MLE_LOG_ERROR => Some(log::LevelFilter::Error),
            MLE_LOG_WARN => Some(log::LevelFilter::Warn),
            MLE_LOG_INFO => Some(log::LevelFilter::Info),
            MLE_LOG_DEBUG => Some(log::LevelFilter::Debug),
            MLE_LOG_TRACE => Some(log::LevelFilter::Trace),
            other => return fail(Status::InvalidArgument, format!("max_level {other} is not one of MLE_LOG_*")),
        };
        let sink = callback.map(|callback| {
            Box::new(move |level: log::Level, target: &str, message: &str| {
                let code = match level {
                    log::Level::Error => MLE_LOG_ERROR,
                    log::Level::Warn => MLE_LOG_WARN,
                    log::Level::Info => MLE_LOG_INFO,
                    log::Level::Debug => MLE_LOG_DEBUG,
                    log::Level::Trace => MLE_LOG_TRACE,
                };
                let (mut target_c, mut message_c) = ([0 as c_char; TARGET_BUFFER], [0 as c_char; MESSAGE_BUFFER]);
                copy_text(target, &mut target_c);
                copy_text(message, &mut message_c);
                // SAFETY: the host's function with its userdata; both strings are NUL-terminated
                // and live through the call.
                unsafe { callback(userdata.get(), code, target_c.as_ptr(), message_c.as_ptr()) }
            }) as LogCallback
        });
        set_log_callback(level, sink)
    })
}
