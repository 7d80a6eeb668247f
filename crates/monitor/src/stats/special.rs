//! Gamma-function tools for the chi-square test, and the chi-square homogeneity test scipy's
//! `chi2_contingency` runs on a 2×k table.

/// ln Γ(x) for x > 0 (Lanczos approximation, g = 7, 9 terms; relative error ~1e-15).
#[allow(clippy::excessive_precision)] // the published coefficients, kept as printed
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEFFS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEFFS[0];
    for (i, c) in COEFFS.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Regularised upper incomplete gamma Q(a, x) = Γ(a, x)/Γ(a), for a > 0, x ≥ 0
/// (series below a + 1, Lentz's continued fraction above). NaN outside the domain.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    // Written so that NaN arguments fail the test too.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    if !(a > 0.0) || !(x >= 0.0) {
        return f64::NAN;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    let log_prefactor = -x + a * x.ln() - ln_gamma(a);
    if x < a + 1.0 {
        // P(a, x) = e^{-x} x^a / Γ(a+1) · Σ x^k / ((a+1)…(a+k))
        let mut term = 1.0 / a;
        let mut sum = term;
        let mut denominator = a;
        for _ in 0..10_000 {
            denominator += 1.0;
            term *= x / denominator;
            sum += term;
            if term.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        1.0 - sum * log_prefactor.exp()
    } else {
        const TINY: f64 = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < TINY {
                d = TINY;
            }
            c = b + an / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        log_prefactor.exp() * h
    }
}

/// Survival function of the chi-square distribution with `dof` degrees of freedom.
pub fn chi2_sf(x: f64, dof: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    gamma_q(dof / 2.0, x / 2.0)
}

/// A chi-square test's outcome.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ChiSquareResult {
    /// The statistic (with Yates' correction when `dof == 1`).
    pub statistic: f64,
    /// P(χ²_dof ≥ statistic).
    pub p_value: f64,
    /// Degrees of freedom: non-empty categories − 1.
    pub dof: usize,
}

/// Chi-square test of homogeneity of two count vectors over the same categories, as
/// `scipy.stats.chi2_contingency([first, second])` with its defaults (categories empty in both
/// are left out; Yates' continuity correction when one degree of freedom remains).
/// `None` when either vector sums to zero.
pub fn chi2_contingency_2xk(first: &[u64], second: &[u64]) -> Option<ChiSquareResult> {
    let total_first: u64 = first.iter().sum();
    let total_second: u64 = second.iter().sum();
    if total_first == 0 || total_second == 0 {
        return None;
    }
    let columns = first.iter().zip(second).filter(|(a, b)| **a + **b > 0).count();
    let dof = columns - 1;
    if dof == 0 {
        return Some(ChiSquareResult { statistic: 0.0, p_value: 1.0, dof });
    }
    let total = (total_first + total_second) as f64;
    let mut statistic = 0.0;
    for (row, row_total) in [(first, total_first), (second, total_second)] {
        for (k, (a, b)) in first.iter().zip(second).enumerate() {
            if a + b == 0 {
                continue;
            }
            let expected = row_total as f64 * (a + b) as f64 / total;
            let mut observed = row[k] as f64;
            if dof == 1 {
                let diff = expected - observed;
                observed += diff.abs().min(0.5) * diff.signum();
            }
            statistic += (observed - expected) * (observed - expected) / expected;
        }
    }
    Some(ChiSquareResult { statistic, p_value: chi2_sf(statistic, dof as f64), dof })
}

/// Population stability index Σ (c − b)·ln(c / b) of the category shares of `current` against
/// `baseline`, each share floored at 1e-4 so that empty categories stay finite. `None` when
/// either sums to zero. (Rule of thumb: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 large.)
pub fn psi(baseline: &[u64], current: &[u64]) -> Option<f64> {
    let total_b: u64 = baseline.iter().sum();
    let total_c: u64 = current.iter().sum();
    if total_b == 0 || total_c == 0 {
        return None;
    }
    let mut sum = 0.0;
    for (b, c) in baseline.iter().zip(current) {
        let pb = (*b as f64 / total_b as f64).max(1e-4);
        let pc = (*c as f64 / total_c as f64).max(1e-4);
        sum += (pc - pb) * (pc / pb).ln();
    }
    Some(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_function_values() {
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
    }

    #[test]
    fn chi2_sf_known_values() {
        // scipy.stats.chi2.sf(3.841458820694124, 1) == 0.05
        assert!((chi2_sf(3.841458820694124, 1.0) - 0.05).abs() < 1e-12);
        // chi2.sf(2, 2) == exp(-1)
        assert!((chi2_sf(2.0, 2.0) - (-1f64).exp()).abs() < 1e-14);
    }
}
