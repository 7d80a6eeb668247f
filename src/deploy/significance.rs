//! A pooled two-proportion z-test of treatment against control, two-tailed, with a normal
//! confidence interval for the lift (`calculate_significance`).
//!
//! The normal distribution functions follow scipy.stats.norm: `cdf` through `erfc` (libm, a port
//! of FreeBSD's msun, correctly rounded to about 1 ulp) and `ppf` by Acklam's rational
//! approximation polished with one Halley step against that `cdf` (full double precision).

use crate::error::{fail, Result, Status};

/// The result of [`calculate_significance`].
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Significance {
    /// Control conversions / control total.
    pub control_rate: f64,
    /// Treatment conversions / treatment total.
    pub treatment_rate: f64,
    /// `treatment_rate - control_rate`.
    pub lift: f64,
    /// `lift / control_rate * 100`, or 0 when the control rate is 0.
    pub lift_percent: f64,
    /// Two-tailed p-value of the pooled z-test, `2 * (1 - cdf(|z|))` (1 when the pooled standard
    /// error is 0, since z is then 0).
    pub p_value: f64,
    /// The z score (0 when the standard error is 0).
    pub z_score: f64,
    /// `p_value < 1 - confidence_level`.
    pub significant: bool,
    /// Lower end of the confidence interval for the lift: `lift - z_critical * se`, with the
    /// z-test's pooled standard error `se` and `z_critical = ppf((1 + confidence_level) / 2)`.
    pub ci_lower: f64,
    /// Upper end.
    pub ci_upper: f64,
}

/// Standard normal CDF, as `scipy.stats.norm.cdf`.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal quantile, as `scipy.stats.norm.ppf`, for `p` in (0, 1); ±∞ at 0 and 1, NaN
/// outside.
pub fn normal_ppf(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    // Acklam's approximation (relative error < 1.15e-9).
    const A: [f64; 6] = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.383_577_518_672_69e+02,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    const D: [f64; 4] = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
    const LOW: f64 = 0.02425;
    let x = if p < LOW {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // One Halley step on e = cdf(x) - p. In the upper tail e is computed from the complements,
    // (1 - p) - sf(x), which keeps its precision (1 - p is exact for p > 0.5).
    let e = if p > 0.5 { (1.0 - p) - 0.5 * libm::erfc(x / std::f64::consts::SQRT_2) } else { normal_cdf(x) - p };
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// A pooled two-proportion z-test, two-tailed, of the treatment's conversion rate against the
/// control's: pooled rate `p = (cc + tc) / (ct + tt)`, `se = sqrt(p * (1 - p) * (1/ct + 1/tt))`,
/// `z = (treatment_rate - control_rate) / se` (0 when `se` is 0), `p_value = 2 * (1 - cdf(|z|))`,
/// significant when `p_value < 1 - confidence_level`.
///
/// Errors (`InvalidArgument`): a total of 0 (the rates divide by it), conversions above their
/// total, a confidence level outside (0, 1).
pub fn calculate_significance(
    control_conversions: u64,
    control_total: u64,
    treatment_conversions: u64,
    treatment_total: u64,
    confidence_level: f64,
) -> Result<Significance> {
    if control_total == 0 || treatment_total == 0 {
        return fail(Status::InvalidArgument, "both groups need at least one observation (a total is 0)");
    }
    if control_conversions > control_total || treatment_conversions > treatment_total {
        return fail(Status::InvalidArgument, "conversions exceed their group's total");
    }
    if !(confidence_level > 0.0 && confidence_level < 1.0) {
        return fail(Status::InvalidArgument, format!("confidence level {confidence_level} is not in (0, 1)"));
    }
    let (cc, ct, tc, tt) =
        (control_conversions as f64, control_total as f64, treatment_conversions as f64, treatment_total as f64);
    let control_rate = cc / ct;
    let treatment_rate = tc / tt;
    let pooled = (cc + tc) / (ct + tt);
    let se = (pooled * (1.0 - pooled) * (1.0 / ct + 1.0 / tt)).sqrt();
    let z_score = if se > 0.0 { (treatment_rate - control_rate) / se } else { 0.0 };
    let p_value = 2.0 * (1.0 - normal_cdf(z_score.abs()));
    let z_critical = normal_ppf((1.0 + confidence_level) / 2.0);
    let lift = treatment_rate - control_rate;
    Ok(Significance {
        control_rate,
        treatment_rate,
        lift,
        lift_percent: if control_rate > 0.0 { lift / control_rate * 100.0 } else { 0.0 },
        p_value,
        z_score,
        significant: p_value < 1.0 - confidence_level,
        ci_lower: lift - z_critical * se,
        ci_upper: lift + z_critical * se,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppf_inverts_cdf() {
        for p in [1e-300, 1e-10, 0.001, 0.02425, 0.3, 0.5, 0.7, 0.975, 0.999, 1.0 - 1e-12] {
            let x = normal_ppf(p);
            let back = if p > 0.5 { 1.0 - 0.5 * libm::erfc(x / std::f64::consts::SQRT_2) } else { normal_cdf(x) };
            assert!(((back - p) / p).abs() < 1e-12, "p {p}: ppf {x}, cdf back {back}");
        }
        assert!(normal_ppf(1.5).is_nan());
        assert_eq!(normal_ppf(0.0), f64::NEG_INFINITY);
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert!(calculate_significance(1, 0, 1, 10, 0.95).is_err());
        assert!(calculate_significance(11, 10, 1, 10, 0.95).is_err());
        assert!(calculate_significance(1, 10, 1, 10, 1.0).is_err());
        assert!(calculate_significance(1, 10, 1, 10, f64::NAN).is_err());
    }
}
