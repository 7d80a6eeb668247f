//! The stateless A/B helpers: variant assignment (`mle_ab_assign*`) and the significance test
//! (`mle_ab_test_significance`), with the result struct the runtime's test shares.

use std::ffi::c_char;

use super::abi::write_out;
use super::args::{c_string, output, slice, utf8};
use super::boundary::guard;
use super::status::mle_status;
use crate::deploy::ab;
use crate::deploy::significance::{calculate_significance, Significance};
use crate::error::{fail, Result, Status};

/// Assignment scheme: md5 of `"experiment:user_id"` as a 128-bit number, modulo 1000, divided by
/// 1000, against the cumulative weights in order (the default; reproducible in any language with
/// an md5).
pub const MLE_ASSIGN_MD5: i32 = 0;
/// Assignment scheme: GrowthBook's hash version 1 (what a GrowthBook SDK picks for the same
/// experiment key and weights at full coverage).
pub const MLE_ASSIGN_GROWTHBOOK_V1: i32 = 1;
/// Assignment scheme: GrowthBook's hash version 2.
pub const MLE_ASSIGN_GROWTHBOOK_V2: i32 = 2;

/// The result of a pooled two-proportion z-test of treatment against control.
#[repr(C)]
pub struct mle_significance_result {
    /// `sizeof(mle_significance_result)`, set by the caller.
    pub struct_size: u32,
    /// 1 when `p_value < 1 - confidence_level`.
    pub significant: u32,
    /// Control conversion rate.
    pub control_rate: f64,
    /// Treatment conversion rate.
    pub treatment_rate: f64,
    /// Treatment minus control.
    pub lift: f64,
    /// Lift relative to control, in percent (0 when control's rate is 0).
    pub lift_percent: f64,
    /// Two-tailed p-value.
    pub p_value: f64,
    /// The z score.
    pub z_score: f64,
    /// Confidence interval of the lift: lower end.
    pub ci_lower: f64,
    /// Upper end.
    pub ci_upper: f64,
}

super::abi::extensible_out! {
    mle_significance_result: &[std::mem::size_of::<mle_significance_result>()];
}

/// Writes a test result into the caller's struct.
///
/// # Safety
/// `out` is NULL or a writable struct of its `struct_size` bytes.
pub(crate) unsafe fn write_significance(s: &Significance, out: *mut mle_significance_result) -> Result<()> {
    let c = mle_significance_result {
        struct_size: 0,
        significant: s.significant as u32,
        control_rate: s.control_rate,
        treatment_rate: s.treatment_rate,
        lift: s.lift,
        lift_percent: s.lift_percent,
        p_value: s.p_value,
        z_score: s.z_score,
        ci_lower: s.ci_lower,
        ci_upper: s.ci_upper,
    };
    // SAFETY: per this function's contract.
    unsafe { write_out(out, &c, "out") }
}

/// The scheme a C constant names.
pub(crate) fn scheme_from_c(scheme: i32) -> Result<ab::Assignment> {
    match scheme {
        MLE_ASSIGN_MD5 => Ok(ab::Assignment::Md5),
        MLE_ASSIGN_GROWTHBOOK_V1 => Ok(ab::Assignment::GrowthBook { hash_version: 1 }),
        MLE_ASSIGN_GROWTHBOOK_V2 => Ok(ab::Assignment::GrowthBook { hash_version: 2 }),
        other => fail(Status::InvalidArgument, format!("scheme {other} is not an MLE_ASSIGN_* value")),
    }
}

/// A pooled two-proportion z-test on given counts: the control's and the treatment's
/// conversions and totals.
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (a total of 0, conversions above their total, confidence
/// level outside (0, 1), NULL out).
///
/// # Safety
/// `out` is NULL or a writable struct of its `struct_size` bytes.
///
/// Thread safety: safe from any thread (stateless).
#[no_mangle]
pub unsafe extern "C" fn mle_ab_test_significance(
    control_conversions: u64,
    control_total: u64,
    treatment_conversions: u64,
    treatment_total: u64,
    confidence_level: f64,
    out: *mut mle_significance_result,
) -> mle_status {
    guard(|| {
        let s = calculate_significance(
            control_conversions,
            control_total,
            treatment_conversions,
            treatment_total,
            confidence_level,
        )?;
        // SAFETY: per this function's contract.
        unsafe { write_significance(&s, out) }
    })
}

/// The variant `scheme` (`MLE_ASSIGN_*`) gives `user_id` in `experiment` with these `n` weights:
/// for `MLE_ASSIGN_MD5` bit-identical to the md5 rule above, for the GrowthBook schemes what a
/// GrowthBook SDK picks (experiment key = `experiment`, full coverage).
///
/// Errors: `MLE_ERR_INVALID_ARGUMENT` (NULL strings or weights, `n` of 0 or above 16, NaN or
/// negative weights, weights not summing to 1 within 0.001, an unknown scheme, NULL variant),
/// `MLE_ERR_INVALID_UTF8`.
///
/// # Safety
/// `experiment` and `user_id` are NULL or NUL-terminated; `weights` is NULL or `n` readable
/// doubles; `variant` is NULL or writable.
///
/// Thread safety: safe from any thread (stateless, no allocation).
#[no_mangle]
pub unsafe extern "C" fn mle_ab_assign(
    experiment: *const c_char,
    user_id: *const c_char,
    weights: *const f64,
    n: usize,
    scheme: i32,
    variant: *mut usize,
) -> mle_status {
    guard(|| {
        // SAFETY: per this function's contract.
        let (experiment, user, variant) = unsafe {
            (c_string(experiment, "experiment")?, c_string(user_id, "user_id")?, output(variant, "variant")?)
        };
        if weights.is_null() {
            return fail(Status::InvalidArgument, "weights is NULL");
        }
        // SAFETY: per this function's contract.
        let weights = unsafe { slice(weights, n, "weights")? };
        let scheme = scheme_from_c(scheme)?;
        ab::validate_weights(weights)?;
        *variant = ab::assign(scheme, utf8(experiment, "experiment")?, utf8(user, "user_id")?, weights)?;
        Ok(())
    })
}
