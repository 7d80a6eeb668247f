//! Stateless statistics for hosts: the two-sample Kolmogorov–Smirnov test.

use super::args::{output, slice};
use super::boundary::guard;
use super::status::mle_status;
use crate::error::{fail, Status};

/// Two-sample Kolmogorov–Smirnov test, two-sided, as `scipy.stats.ks_2samp(a, b)` (method
/// 'auto': the exact p-value when both samples have at most 10000 values, otherwise the
/// Kolmogorov distribution at the effective size). The inputs are copied and not modified.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL pointer, `n` or `m` of 0, NaN in either sample,
/// NULL outputs). Infinities are ordinary values.
///
/// # Safety
/// `a` and `b` are NULL or point to `n` and `m` readable doubles; `statistic` and `p_value` are
/// NULL or writable.
///
/// Thread safety: safe from any thread (stateless; allocates n + m doubles).
#[no_mangle]
pub unsafe extern "C" fn mle_stats_ks_two_sample(
    a: *const f64,
    n: usize,
    b: *const f64,
    m: usize,
    statistic: *mut f64,
    p_value: *mut f64,
) -> mle_status {
    guard(|| {
        if a.is_null() || b.is_null() {
            return fail(Status::InvalidArgument, "a sample pointer is NULL");
        }
        // SAFETY: per this function's contract.
        let (a, b, statistic, p_value) = unsafe {
            (slice(a, n, "a")?, slice(b, m, "b")?, output(statistic, "statistic")?, output(p_value, "p_value")?)
        };
        let r = crate::monitor::stats::ks_2samp(a, b)?;
        *statistic = r.statistic;
        *p_value = r.p_value;
        Ok(())
    })
}
