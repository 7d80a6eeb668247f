//! `mle_exp_histogram`: OpenTelemetry exponential histograms a gateway can merge.

use super::abi::{init, read_in, write_out};
use super::boundary::guard;
use super::status::mle_status;
use crate::error::{fail, Result, Status};
use crate::monitor::exphist::{ExpHistogram, ExpHistogramError, EXP_MAX_BUCKETS};

/// Buckets an `mle_exp_histogram` holds.
pub const MLE_EXP_MAX_BUCKETS: usize = 160;
const _: () = assert!(MLE_EXP_MAX_BUCKETS == EXP_MAX_BUCKETS);

/// An OpenTelemetry exponential histogram of non-negative values (plain data: copy it freely).
/// Bucket `offset + k` at `scale` covers `(base^(offset+k), base^(offset+k+1)]`, `base =
/// 2^(2^-scale)`; `counts[k]` for `k < bucket_count`. Initialise with `mle_exp_histogram_init`.
/// Every call checks the fields first (scale, bucket count, offset, counts adding up, no NaN):
/// a corrupted histogram is `MLE_ERR_INVALID_ARGUMENT`, never a crash or a wrapped count.
#[repr(C)]
#[derive(Copy, Clone)]
pub struct mle_exp_histogram {
    /// `sizeof(mle_exp_histogram)`.
    pub struct_size: u32,
    /// Scale (-10..=20; starts at 20 and drops as the range grows).
    pub scale: i32,
    /// Buckets in use (0..=`MLE_EXP_MAX_BUCKETS`).
    pub bucket_count: u32,
    /// Index of `counts[0]`.
    pub offset: i64,
    /// Values recorded, zeros included (= zero_count + the bucket counts).
    pub count: u64,
    /// Zeros recorded.
    pub zero_count: u64,
    /// Sum of the values.
    pub sum: f64,
    /// Smallest value (+Inf when empty).
    pub min: f64,
    /// Largest value (-Inf when empty).
    pub max: f64,
    /// Counts per bucket.
    pub counts: [u64; MLE_EXP_MAX_BUCKETS],
}

// SAFETY: repr(C), struct_size first, plain data.
unsafe impl super::abi::Extensible for mle_exp_histogram {
    const NAME: &'static str = "mle_exp_histogram";
    const SIZES: &'static [usize] = &[std::mem::size_of::<mle_exp_histogram>()];
    fn defaults() -> Self {
        exp_histogram_to_c(&ExpHistogram::new())
    }
}

/// A histogram as its C struct.
pub(crate) fn exp_histogram_to_c(h: &ExpHistogram) -> mle_exp_histogram {
    mle_exp_histogram {
        struct_size: std::mem::size_of::<mle_exp_histogram>() as u32,
        scale: h.scale,
        bucket_count: h.len as u32,
        offset: h.offset,
        count: h.count,
        zero_count: h.zero_count,
        sum: h.sum,
        min: h.min,
        max: h.max,
        counts: h.counts,
    }
}

fn from_c(c: &mle_exp_histogram, name: &str) -> Result<ExpHistogram> {
    let h = ExpHistogram {
        scale: c.scale,
        count: c.count,
        zero_count: c.zero_count,
        sum: c.sum,
        min: c.min,
        max: c.max,
        offset: c.offset,
        len: c.bucket_count as usize,
        counts: c.counts,
    };
    h.validate().or_else(|_| {
        fail(
            Status::InvalidArgument,
            format!(
                "{name} is not a valid histogram (scale in -10..=20, bucket_count <= {EXP_MAX_BUCKETS}, an offset \
                 some value maps to, unused buckets 0, count = zero_count + bucket counts below 2^64 - 1, no NaN): \
                 initialise it with mle_exp_histogram_init and change it only through these calls"
            ),
        )
    })?;
    Ok(h)
}

/// Make `*histogram` empty (scale 20); pass `sizeof(mle_exp_histogram)`.
///
/// # Safety
/// `histogram` is NULL or points to `struct_size` writable bytes.
///
/// Thread safety: safe from any thread (touches only `*histogram`).
#[no_mangle]
pub unsafe extern "C" fn mle_exp_histogram_init(histogram: *mut mle_exp_histogram, struct_size: usize) -> mle_status {
    // SAFETY: per this function's contract.
    guard(|| unsafe { init(histogram, struct_size, "histogram") })
}

/// Record `value` (finite, >= 0), lowering the scale when the range needs it.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL, NaN/infinite/negative value, an invalid histogram,
/// a histogram holding 2^64 - 2 values).
///
/// # Safety
/// `histogram` is NULL or a readable and writable struct of `struct_size` bytes.
///
/// Thread safety: not concurrently with other calls on the same histogram.
#[no_mangle]
pub unsafe extern "C" fn mle_exp_histogram_record(histogram: *mut mle_exp_histogram, value: f64) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let mut h = from_c(&unsafe { read_in(histogram, "histogram")? }, "histogram")?;
        if !value.is_finite() || value < 0.0 {
            return fail(Status::InvalidArgument, format!("value {value} is not finite and >= 0"));
        }
        if h.record(value) == Err(ExpHistogramError::BadHistogram) {
            return fail(Status::InvalidArgument, "the histogram is full (2^64 - 2 values)");
        }
        // SAFETY: per this function's contract.
        unsafe { write_out(histogram, &exp_histogram_to_c(&h), "histogram") }
    })
}

/// `*out` = the merge of `*a` and `*b` (what recording both value streams into one histogram
/// gives: the finer scale lowered until both ranges fit). `out` may be `a` or `b`.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL, an invalid input histogram, counts whose sum would
/// overflow).
///
/// # Safety
/// `a` and `b` are NULL or readable structs of their `struct_size`; `out` NULL or writable.
///
/// Thread safety: safe from any thread (no shared state).
#[no_mangle]
pub unsafe extern "C" fn mle_exp_histogram_merge(
    a: *const mle_exp_histogram,
    b: *const mle_exp_histogram,
    out: *mut mle_exp_histogram,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract; both are copied before `out` is written, so
        // `out` may alias either.
        let (a, b) = unsafe { (read_in(a, "a")?, read_in(b, "b")?) };
        let (a, b) = (from_c(&a, "a")?, from_c(&b, "b")?);
        let merged = a.merge(&b).or_else(|_| fail(Status::InvalidArgument, "the histograms' counts would overflow"))?;
        // SAFETY: per this function's contract.
        unsafe { write_out(out, &exp_histogram_to_c(&merged), "out") }
    })
}
