//! `mle_exp_histogram`: OpenTelemetry exponential histograms a gateway can merge.

use super::args::{output, required};
use super::boundary::guard;
use super::mle_status;
use crate::error::{fail, Result, Status};
use crate::monitor::exphist::{ExpHistogram, ExpHistogramError, EXP_MAX_BUCKETS};

/// Buckets an `mle_exp_histogram` holds.
pub const MLE_EXP_MAX_BUCKETS: usize = 160;
const _: () = assert!(MLE_EXP_MAX_BUCKETS == EXP_MAX_BUCKETS);

/// An OpenTelemetry exponential histogram of non-negative values (plain data: copy it freely).
/// Bucket `offset + k` at `scale` covers `(base^(offset+k), base^(offset+k+1)]`, `base =
/// 2^(2^-scale)`; `counts[k]` for `k < bucket_count`. Initialise with `mle_exp_histogram_init`.
#[repr(C)]
#[derive(Copy, Clone)]
pub struct mle_exp_histogram {
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

pub(super) fn exp_histogram_to_c(h: &ExpHistogram) -> mle_exp_histogram {
    mle_exp_histogram {
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
                "{name} is not a valid histogram (scale in -10..=20, bucket_count <= {EXP_MAX_BUCKETS}, unused \
                 buckets 0, count = zero_count + bucket counts)"
            ),
        )
    })?;
    Ok(h)
}

/// Makes `*histogram` empty (scale 20). NULL is ignored.
///
/// Thread safety: safe from any thread (touches only `*histogram`).
#[no_mangle]
pub unsafe extern "C" fn mle_exp_histogram_init(histogram: *mut mle_exp_histogram) {
    // SAFETY: C contract: NULL or writable.
    if let Some(h) = unsafe { histogram.as_mut() } {
        *h = exp_histogram_to_c(&ExpHistogram::new());
    }
}

/// Records `value` (finite, >= 0), lowering the scale when the range needs it.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL, NaN/infinite/negative value, an invalid histogram).
///
/// Thread safety: not concurrently with other calls on the same histogram.
#[no_mangle]
pub unsafe extern "C" fn mle_exp_histogram_record(histogram: *mut mle_exp_histogram, value: f64) -> mle_status {
    guard(|| {
        // SAFETY: C contract: NULL or a valid, writable histogram.
        let c = unsafe { output(histogram, "histogram")? };
        let mut h = from_c(c, "histogram")?;
        if h.record(value) == Err(ExpHistogramError::BadValue) {
            return fail(Status::InvalidArgument, format!("value {value} is not finite and >= 0"));
        }
        *c = exp_histogram_to_c(&h);
        Ok(())
    })
}

/// `*out` = the merge of `*a` and `*b` (what recording both value streams into one histogram
/// gives: the finer scale lowered until both ranges fit). `out` may be `a` or `b`.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL, an invalid input histogram).
///
/// Thread safety: safe from any thread (no shared state).
#[no_mangle]
pub unsafe extern "C" fn mle_exp_histogram_merge(
    a: *const mle_exp_histogram,
    b: *const mle_exp_histogram,
    out: *mut mle_exp_histogram,
) -> mle_status {
    guard(|| {
        // SAFETY: C contract: valid histograms; copied before `out` is written, so aliasing is fine.
        let (a, b) = unsafe { (from_c(required(a, "a")?, "a")?, from_c(required(b, "b")?, "b")?) };
        let merged = a.merge(&b).or_else(|_| fail(Status::InvalidArgument, "histograms cannot be merged"))?;
        // SAFETY: C contract: NULL or writable.
        *unsafe { output(out, "out")? } = exp_histogram_to_c(&merged);
        Ok(())
    })
}
