//! Forwarding the library's `log` records to the host (logcat, os_log, syslog on its side).
//!
//! Off by default. [`set_log_callback`] installs this crate's logger (once per process) and sets
//! the level filter; records are formatted into a fixed stack buffer (1 KiB, cut at a UTF-8
//! boundary), so forwarding never allocates. The request path logs at `trace` at most.

use std::cell::Cell;
use std::fmt::Write;
use std::sync::{Arc, RwLock};

use crate::error::{fail, Result, Status};

/// The host's log sink: (level, target, message).
pub type LogCallback = Box<dyn Fn(log::Level, &str, &str) + Send + Sync>;

/// Longest message forwarded, in bytes (longer ones are cut and end with "…").
pub const MAX_LOG_MESSAGE: usize = 1024;

struct HostLogger {
    sink: RwLock<Option<Arc<LogCallback>>>,
}

static LOGGER: HostLogger = HostLogger { sink: RwLock::new(None) };

thread_local! {
    /// Set while this thread runs the host's callback: a record logged from inside it is dropped
    /// instead of recursing.
    static FORWARDING: Cell<bool> = const { Cell::new(false) };
}

/// A fixed buffer that takes what fits.
struct Truncating {
    buf: [u8; MAX_LOG_MESSAGE],
    len: usize,
    cut: bool,
}

impl Write for Truncating {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let room = MAX_LOG_MESSAGE - 4 - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if take < s.len() {
            self.cut = true;
            return Err(std::fmt::Error);
        }
        Ok(())
    }
}

impl log::Log for HostLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        // `try_with`: a record logged while the thread's locals are being destroyed is dropped.
        if !self.enabled(record.metadata()) || FORWARDING.try_with(Cell::get).unwrap_or(true) {
            return;
        }
        let Some(sink) = self.sink.read().unwrap_or_else(|e| e.into_inner()).clone() else { return };
        let mut text = Truncating { buf: [0; MAX_LOG_MESSAGE], len: 0, cut: false };
        let _ = text.write_fmt(*record.args());
        if text.cut {
            let end = text.len;
            text.buf[end..end + 3].copy_from_slice("…".as_bytes());
            text.len += 3;
        }
        // The buffer only ever receives whole UTF-8 sequences.
        let message = std::str::from_utf8(&text.buf[..text.len]).unwrap_or("(unprintable)");
        let _ = FORWARDING.try_with(|f| f.set(true));
        sink(record.level(), record.target(), message);
        let _ = FORWARDING.try_with(|f| f.set(false));
    }

    fn flush(&self) {}
}

/// Forwards records at `max_level` and more severe to `callback`; `None` (or a `None` level)
/// turns forwarding off. The first call installs this crate's logger as the process's `log`
/// logger: `InvalidState` if the application installed another one (a Rust application then
/// keeps its own).
pub fn set_log_callback(max_level: Option<log::LevelFilter>, callback: Option<LogCallback>) -> Result<()> {
    // Fails harmlessly when a logger is already installed: ours (a later call) or the application's.
    let _ = log::set_logger(&LOGGER);
    if !std::ptr::eq(log::logger() as *const dyn log::Log as *const u8, &LOGGER as *const HostLogger as *const u8) {
        return fail(Status::InvalidState, "another `log` logger is installed in this process");
    }
    let level = match (&callback, max_level) {
        (Some(_), Some(level)) => level,
        _ => log::LevelFilter::Off,
    };
    // Set the filter first when turning off, last when turning on, so that no record reaches a
    // sink that is being replaced.
    if level == log::LevelFilter::Off {
        log::set_max_level(level);
    }
    *LOGGER.sink.write().unwrap_or_else(|e| e.into_inner()) = callback.map(Arc::new);
    log::set_max_level(level);
    Ok(())
}
