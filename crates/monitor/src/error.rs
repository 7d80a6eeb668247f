//! Errors of the monitor (the runtime maps each kind to its `mle_status`).

/// What kind of error.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// An argument is out of range, non-finite, or inconsistent with the monitor's configuration.
    InvalidArgument,
    /// Too few samples for the operation (e.g. a baseline needs at least 100).
    InsufficientData,
    /// The call is not allowed now (e.g. from inside the monitor's own level callback).
    InvalidState,
    /// A fixed capacity is used up (all recorder lanes taken, too many model versions).
    LimitReached,
}

/// An error: its kind and a message saying exactly what went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorError {
    /// The kind.
    pub kind: ErrorKind,
    /// The message.
    pub message: String,
}

impl MonitorError {
    /// A new error.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        MonitorError { kind, message: message.into() }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        MonitorError::new(ErrorKind::InvalidArgument, message)
    }
}

impl std::fmt::Display for MonitorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MonitorError {}

/// Result with [`MonitorError`].
pub type Result<T> = std::result::Result<T, MonitorError>;
