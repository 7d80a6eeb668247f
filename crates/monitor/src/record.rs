//! The fixed-size record every request pushes.

/// How many input features one record carries for drift tests.
pub const MAX_FEATURES: usize = 8;

/// `Record::label` of a request that failed (no prediction).
pub const NO_LABEL: u32 = u32::MAX;

/// Status code of a successful request (the runtime's `MLE_OK`); anything else is an error.
pub const STATUS_OK: u16 = 0;

/// One request, as the monitor sees it: 64 bytes, `Copy`, one cache line.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Record {
    /// Monotonic time of the answer, in nanoseconds since the monitor was created
    /// (set by [`Recorder::record_at`](crate::Recorder::record_at)).
    pub timestamp_ns: u64,
    /// Time from the call to the answer, in nanoseconds.
    pub latency_ns: u64,
    /// Probability of the predicted label (0 for errors).
    pub confidence: f32,
    /// Predicted label index, [`NO_LABEL`] for errors.
    pub label: u32,
    /// Input length: tokens for text, bytes for bytes, values for tensors (0 for errors).
    pub input_length: u32,
    /// The runtime's status code ([`STATUS_OK`] for success).
    pub status: u16,
    /// Model version id (set by the recorder from the version it was created for).
    pub version: u16,
    /// The chosen input features (NaN when the input has none, e.g. text).
    pub features: [f32; MAX_FEATURES],
}

impl Default for Record {
    fn default() -> Self {
        Record {
            timestamp_ns: 0,
            latency_ns: 0,
            confidence: 0.0,
            label: NO_LABEL,
            input_length: 0,
            status: STATUS_OK,
            version: 0,
            features: [f32::NAN; MAX_FEATURES],
        }
    }
}

impl Record {
    /// A successful request.
    pub fn success(latency_ns: u64, label: u32, confidence: f32, input_length: u32) -> Record {
        Record { latency_ns, label, confidence, input_length, ..Record::default() }
    }

    /// A failed request with the runtime's status code (non-zero).
    pub fn error(latency_ns: u64, status: u16) -> Record {
        Record { latency_ns, status, ..Record::default() }
    }

    /// Whether the request succeeded.
    pub fn is_ok(&self) -> bool {
        self.status == STATUS_OK
    }
}

const _: () = assert!(std::mem::size_of::<Record>() == 64);
