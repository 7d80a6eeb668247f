//! Status codes and the library's error type.
//!
//! Every fallible operation returns [`Result<T>`]; the error carries a [`Status`] (the code the C
//! ABI returns, stable across versions) and a human-readable message (what `mle_last_error()`
//! gives C callers).

use std::fmt;

/// What went wrong, as a stable numeric code (the C `mle_status`).
///
/// Values are part of the ABI: never renumber, only append.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// An argument is invalid: a NULL pointer where one is required, an out-of-range option,
    /// a length that does not match, an unknown enum value.
    InvalidArgument = 1,
    /// Text input is not valid UTF-8.
    InvalidUtf8 = 2,
    /// A caller-provided buffer is too small; the needed size is reported through the call's
    /// length out-parameter and in the message.
    BufferTooSmall = 3,
    /// A file could not be read (missing, unreadable).
    Io = 4,
    /// The ONNX bytes could not be parsed or analysed (empty, truncated, corrupt).
    ModelInvalid = 5,
    /// The model parses but is not something this runtime can serve: not a classifier, an
    /// unsupported input layout, an operator tract lacks.
    ModelUnsupported = 6,
    /// The model card (ONNX metadata_props and/or sidecar JSON) is missing a field or has a bad one.
    ModelCard = 7,
    /// The tokenizer (tokenizer.json) is missing or invalid, or tokenization failed.
    Tokenizer = 8,
    /// The call does not match the model's input kind (e.g. text given to a tensor model).
    WrongInputKind = 9,
    /// A tensor input has the wrong number of values.
    InputShape = 10,
    /// A tensor input contains an infinity, or NaN for a model without a rule for missing values
    /// (tree ensembles and NaN imputers take NaN as missing).
    InputNotFinite = 11,
    /// tract failed while running the model.
    Inference = 12,
    /// The session's memory pool ran out during this request; the request's result is
    /// discarded. Create the session with a larger pool.
    PoolExhausted = 13,
    /// A Rust panic was caught at the C boundary (a bug in this library; please report it).
    /// The object involved stays usable.
    Panic = 14,
    /// The output of the model is not finite (NaN/Inf scores).
    OutputNotFinite = 15,
    /// Too few samples for the operation (a monitor baseline needs at least 100).
    InsufficientData = 16,
    /// The call is not allowed in the object's current state (e.g. a monitor's analysis called
    /// from that monitor's own level callback).
    InvalidState = 17,
    /// A fixed capacity is used up (all of a monitor's session lanes, its version table).
    LimitReached = 18,
    /// Every session of the runtime's pool stayed busy for the configured wait; try again.
    Busy = 19,
    /// The runtime is shutting down (or has shut down) and takes no new requests.
    ShuttingDown = 20,
    /// A model was refused: it failed its self-test (golden inputs gave other labels or failed
    /// to run) or does not fit the deployment (another input kind). The old model keeps serving.
    SelfTestFailed = 21,
    /// The session is in use by another call (a session serves one call at a time: give each
    /// thread its own session, or serialise the calls).
    SessionBusy = 22,
    /// The program was built against a C header this library does not implement (another major
    /// ABI version, a newer minor one, or a struct with fields this library does not know).
    AbiMismatch = 23,
    /// The model exceeds a configured resource limit (file size, `max_model_bytes`); the message
    /// names the limit and the option that raises it.
    ModelLimit = 24,
    /// A telemetry spool file is in use by another telemetry handle (of this process or
    /// another): one handle per spool file.
    SpoolLocked = 25,
    /// A model package is not well formed: not a package, a manifest or signature document that does
    /// not parse, a newer format version, an entry that is not a plain file (since ABI 1.3).
    PackageInvalid = 26,
    /// Trusted keys are configured and the model is not a signed package (an unsigned package or a
    /// plain ONNX model) (since ABI 1.3).
    PackageUnsigned = 27,
    /// The package is signed by a key that is not among the trusted keys; the message names it
    /// (since ABI 1.3).
    PackageUntrustedKey = 28,
    /// The package's signature does not verify over its manifest: the manifest changed after
    /// signing (since ABI 1.3).
    PackageBadSignature = 29,
    /// A file of the package does not have the size or SHA-256 its manifest lists; the message
    /// names the file (since ABI 1.3).
    PackageTampered = 30,
    /// A file the manifest lists is missing from the package, or the package holds one the manifest
    /// does not list; the message names it (since ABI 1.3).
    PackageFilesMismatch = 31,
    /// The package's version is below the configured minimum (`min_package_version`), or a plain
    /// ONNX model has none while a minimum is set (since ABI 1.3).
    PackageOutdated = 32,
}

impl Status {
    /// Every status, in code order.
    pub const ALL: [Status; 33] = [
        Status::Ok,
        Status::InvalidArgument,
        Status::InvalidUtf8,
        Status::BufferTooSmall,
        Status::Io,
        Status::ModelInvalid,
        Status::ModelUnsupported,
        Status::ModelCard,
        Status::Tokenizer,
        Status::WrongInputKind,
        Status::InputShape,
        Status::InputNotFinite,
        Status::Inference,
        Status::PoolExhausted,
        Status::Panic,
        Status::OutputNotFinite,
        Status::InsufficientData,
        Status::InvalidState,
        Status::LimitReached,
        Status::Busy,
        Status::ShuttingDown,
        Status::SelfTestFailed,
        Status::SessionBusy,
        Status::AbiMismatch,
        Status::ModelLimit,
        Status::SpoolLocked,
        Status::PackageInvalid,
        Status::PackageUnsigned,
        Status::PackageUntrustedKey,
        Status::PackageBadSignature,
        Status::PackageTampered,
        Status::PackageFilesMismatch,
        Status::PackageOutdated,
    ];

    /// The numeric code.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The status with this code, if any.
    pub fn from_code(code: i32) -> Option<Status> {
        Status::ALL.iter().copied().find(|s| s.code() == code)
    }

    /// A stable snake_case name (telemetry records and metric labels use it).
    pub const fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::InvalidArgument => "invalid_argument",
            Status::InvalidUtf8 => "invalid_utf8",
            Status::BufferTooSmall => "buffer_too_small",
            Status::Io => "io",
            Status::ModelInvalid => "model_invalid",
            Status::ModelUnsupported => "model_unsupported",
            Status::ModelCard => "model_card",
            Status::Tokenizer => "tokenizer",
            Status::WrongInputKind => "wrong_input_kind",
            Status::InputShape => "input_shape",
            Status::InputNotFinite => "input_not_finite",
            Status::Inference => "inference",
            Status::PoolExhausted => "pool_exhausted",
            Status::Panic => "panic",
            Status::OutputNotFinite => "output_not_finite",
            Status::InsufficientData => "insufficient_data",
            Status::InvalidState => "invalid_state",
            Status::LimitReached => "limit_reached",
            Status::Busy => "busy",
            Status::ShuttingDown => "shutting_down",
            Status::SelfTestFailed => "self_test_failed",
            Status::SessionBusy => "session_busy",
            Status::AbiMismatch => "abi_mismatch",
            Status::ModelLimit => "model_limit",
            Status::SpoolLocked => "spool_locked",
            Status::PackageInvalid => "package_invalid",
            Status::PackageUnsigned => "package_unsigned",
            Status::PackageUntrustedKey => "package_untrusted_key",
            Status::PackageBadSignature => "package_bad_signature",
            Status::PackageTampered => "package_tampered",
            Status::PackageFilesMismatch => "package_files_mismatch",
            Status::PackageOutdated => "package_outdated",
        }
    }

    /// A short, static description (what `mle_status_str` returns).
    pub fn description(self) -> &'static str {
        self.c_description().to_str().unwrap_or("unknown status")
    }

    /// [`Status::description`] as a C string.
    pub const fn c_description(self) -> &'static std::ffi::CStr {
        match self {
            Status::Ok => c"ok",
            Status::InvalidArgument => c"invalid argument",
            Status::InvalidUtf8 => c"text is not valid UTF-8",
            Status::BufferTooSmall => c"buffer too small",
            Status::Io => c"i/o error",
            Status::ModelInvalid => c"invalid model file",
            Status::ModelUnsupported => c"unsupported model",
            Status::ModelCard => c"invalid or missing model card",
            Status::Tokenizer => c"tokenizer error",
            Status::WrongInputKind => c"input kind does not match the model",
            Status::InputShape => c"tensor input has the wrong length",
            Status::InputNotFinite => c"tensor input contains NaN or infinity",
            Status::Inference => c"inference failed",
            Status::PoolExhausted => c"session memory pool exhausted",
            Status::Panic => c"internal panic caught",
            Status::OutputNotFinite => c"model produced non-finite scores",
            Status::InsufficientData => c"not enough samples",
            Status::InvalidState => c"call not allowed in the current state",
            Status::LimitReached => c"capacity limit reached",
            Status::Busy => c"all sessions busy",
            Status::ShuttingDown => c"runtime shutting down",
            Status::SelfTestFailed => c"model refused: self-test failed",
            Status::SessionBusy => c"session in use by another call",
            Status::AbiMismatch => c"C ABI version mismatch",
            Status::ModelLimit => c"model exceeds a configured limit",
            Status::SpoolLocked => c"telemetry spool in use by another handle",
            Status::PackageInvalid => c"not a well-formed model package",
            Status::PackageUnsigned => c"model package is not signed",
            Status::PackageUntrustedKey => c"model package signed by an untrusted key",
            Status::PackageBadSignature => c"model package signature does not verify",
            Status::PackageTampered => c"model package file changed after packing",
            Status::PackageFilesMismatch => c"model package files do not match its manifest",
            Status::PackageOutdated => c"model package older than the minimum version",
        }
    }
}

/// An error: a [`Status`] and a message saying what exactly went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    status: Status,
    message: String,
}

impl Error {
    /// A new error.
    pub fn new(status: Status, message: impl Into<String>) -> Error {
        Error { status, message: message.into() }
    }

    /// The status code.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Wrap a tract error, keeping its whole cause chain in the message.
    pub(crate) fn tract(status: Status, context: &str, err: tract_onnx::prelude::TractError) -> Error {
        Error::new(status, format!("{context}: {err:#}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.status.description(), self.status.code(), self.message)
    }
}

impl std::error::Error for Error {}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand for `Err(Error::new(status, message))`.
pub(crate) fn fail<T>(status: Status, message: impl Into<String>) -> Result<T> {
    Err(Error::new(status, message))
}

impl From<mlops_edge_monitor::MonitorError> for Error {
    fn from(e: mlops_edge_monitor::MonitorError) -> Self {
        use mlops_edge_monitor::ErrorKind;
        let status = match e.kind {
            ErrorKind::InvalidArgument => Status::InvalidArgument,
            ErrorKind::InsufficientData => Status::InsufficientData,
            ErrorKind::InvalidState => Status::InvalidState,
            ErrorKind::LimitReached => Status::LimitReached,
        };
        Error::new(status, e.message)
    }
}

/// Runs `step` with a panic inside it answered as an error of `status`, its message made by
/// `describe` from the panic's: bad data, or a bug here or in a dependency, gets a status, never
/// an unwinding. The one place the library turns panics into errors (loads, requests, C calls).
pub(crate) fn without_panics<T>(
    status: Status,
    describe: impl FnOnce(&str) -> String,
    step: impl FnOnce() -> Result<T>,
) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step))
        .unwrap_or_else(|payload| Err(Error::new(status, describe(panic_message(&*payload)))))
}

/// [`without_panics`] for a panic that is a bug (in this library or a dependency):
/// `Status::Panic`, "internal panic: …".
pub(crate) fn internal_panics_as_errors<T>(step: impl FnOnce() -> Result<T>) -> Result<T> {
    without_panics(Status::Panic, |message| format!("internal panic: {message}"), step)
}

/// The message a panic carried (`panic!` with a literal or a formatted string), for the error
/// that reports it.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
