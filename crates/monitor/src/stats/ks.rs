//! Two-sample Kolmogorov–Smirnov test, two-sided, agreeing with `scipy.stats.ks_2samp`
//! (`method='auto'`): the same statistic (ties handled like `searchsorted(side='right')`) and the
//! same p-value (exact path counting when both samples have at most 10000 values, otherwise the
//! Kolmogorov distribution `kstwo.sf(D, round(n·m/(n+m)))`).

use crate::error::{MonitorError, Result};

use super::kolmogorov::kstwo_sf;

/// Largest sample size for which the exact p-value is computed (scipy's `MAX_AUTO_N`).
pub const KS_EXACT_MAX_N: usize = 10_000;

/// How the p-value was computed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum KsMethod {
    /// Exact distribution of the two-sample statistic.
    Exact,
    /// One-sample Kolmogorov distribution at the effective size (scipy's "asymp").
    Asymptotic,
}

/// The test's outcome.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct KsResult {
    /// D = sup |F₁ − F₂|.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// How `p_value` was computed.
    pub method: KsMethod,
}

/// Two-sample KS test on unsorted samples (copies and sorts them: allocates).
/// Errors: an empty sample, or a NaN anywhere (infinities are ordinary values).
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Result<KsResult> {
    for (name, sample) in [("first", a), ("second", b)] {
        if sample.is_empty() {
            return Err(MonitorError::invalid(format!("the {name} sample is empty")));
        }
        if let Some(i) = sample.iter().position(|v| v.is_nan()) {
            return Err(MonitorError::invalid(format!("the {name} sample has NaN at index {i}")));
        }
    }
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    sort_for_ks(&mut a);
    sort_for_ks(&mut b);
    Ok(ks_2samp_sorted(&a, &b, &mut Vec::new()))
}

/// Prepares a NaN-free sample for [`ks_2samp_sorted`]: −0.0 becomes +0.0 (so that it ties with
/// +0.0, as in scipy), then ascending sort.
pub fn sort_for_ks(values: &mut [f64]) {
    for v in values.iter_mut() {
        *v += 0.0;
    }
    values.sort_unstable_by(f64::total_cmp);
}

/// Two-sample KS test on samples already prepared by [`sort_for_ks`], both non-empty.
/// `scratch` is working memory for the exact p-value (up to min(n, m) + 1 values); pass the
/// same vector again to avoid allocating.
pub fn ks_2samp_sorted(a: &[f64], b: &[f64], scratch: &mut Vec<f64>) -> KsResult {
    let (n, m) = (a.len(), b.len());
    assert!(n > 0 && m > 0, "ks_2samp_sorted needs two non-empty samples");
    let d = statistic(a, b);
    if n.max(m) <= KS_EXACT_MAX_N {
        let g = gcd(n as u64, m as u64);
        let lcm = (n as u64 / g) as f64 * m as f64;
        let h = (d * lcm).round_ties_even();
        let d = h / lcm;
        if h == 0.0 {
            return KsResult { statistic: d, p_value: 1.0, method: KsMethod::Exact };
        }
        let h = h as i64;
        let p = if n == m {
            prob_outside_square(n as i64, h)
        } else {
            prob_outside_lines(n as i64, m as i64, g as i64, h, scratch)
        };
        if (0.0..=1.0).contains(&p) {
            return KsResult { statistic: d, p_value: p, method: KsMethod::Exact };
        }
        // Numerical failure: scipy falls back to the asymptotic p-value with the rounded D.
        return asymptotic(d, n, m);
    }
    asymptotic(d, n, m)
}

fn asymptotic(d: f64, n: usize, m: usize) -> KsResult {
    let (big, small) = if n >= m { (n as f64, m as f64) } else { (m as f64, n as f64) };
    let effective = (big * small / (big + small)).round_ties_even();
    let p = kstwo_sf(d, effective as u64).clamp(0.0, 1.0);
    KsResult { statistic: d, p_value: p, method: KsMethod::Asymptotic }
}

/// D: the largest gap between the two right-continuous ECDFs over the pooled sample, computed in
/// one merge pass with the same float operations as scipy (`i/n − j/m`).
fn statistic(a: &[f64], b: &[f64]) -> f64 {
    let (n, m) = (a.len(), b.len());
    let (nf, mf) = (n as f64, m as f64);
    let (mut i, mut j) = (0, 0);
    let (mut max_diff, mut min_diff) = (0.0f64, 0.0f64);
    while i < n || j < m {
        let x = if j >= m || (i < n && a[i] <= b[j]) { a[i] } else { b[j] };
        while i < n && a[i] <= x {
            i += 1;
        }
        while j < m && b[j] <= x {
            j += 1;
        }
        let diff = i as f64 / nf - j as f64 / mf;
        max_diff = max_diff.max(diff);
        min_diff = min_diff.min(diff);
    }
    let min_s = (-min_diff).clamp(0.0, 1.0);
    if min_s > max_diff {
        min_s
    } else {
        max_diff
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// P(D ≥ h/n) for two samples of equal size n: the alternating sum over reflections
/// 2·Σ(−1)^(k+1)·C(2n, n−kh)/C(2n, n), evaluated Horner-style from the innermost term so that
/// nothing cancels.
fn prob_outside_square(n: i64, h: i64) -> f64 {
    let mut p = 0.0;
    let mut k = n / h;
    while k >= 0 {
        let mut term = 1.0;
        for j in 0..h {
            term = (n - k * h - j) as f64 * term / (n + k * h + j + 1) as f64;
        }
        p = term * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// P(D ≥ h/lcm) for unequal sizes: the share of monotone lattice paths from (0,0) to (m,n) that
/// touch |x/m − y/n| ≥ h/lcm, computed column by column as the *complement* probability
/// (Hodges' inside method rewritten for 1 − p as in Viehmann 2021), over the band of rows that
/// can still be inside.
fn prob_outside_lines(m: i64, n: i64, g: i64, h: i64, column: &mut Vec<f64>) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let mg = m / g;
    let ng = n / g;
    let mut min_j: i64 = 0;
    let mut max_j: i64 = ceil_div(h, mg).min(n + 1);
    let mut cur_len = max_j - min_j;
    let len = (2 * max_j + 2).min(n + 1) as usize;
    column.clear();
    column.resize(len, 1.0);
    column[..max_j as usize].fill(0.0);
    for i in 1..=m {
        let (last_min_j, last_len) = (min_j, cur_len);
        min_j = (floor_div(ng * i - h, mg) + 1).max(0).min(n);
        max_j = ceil_div(ng * i + h, mg).min(n + 1);
        if max_j <= min_j {
            return 1.0;
        }
        let mut val = if min_j == 0 { 0.0 } else { 1.0 };
        for jj in 0..(max_j - min_j) {
            let j = jj + min_j;
            val = (column[(jj + min_j - last_min_j) as usize] * i as f64 + val * j as f64) / (i + j) as f64;
            column[jj as usize] = val;
        }
        cur_len = max_j - min_j;
        if last_len > cur_len {
            let start = (max_j - min_j) as usize;
            let end = (start + (last_len - cur_len) as usize).min(len);
            column[start..end].fill(1.0);
        }
    }
    column[(max_j - min_j - 1) as usize]
}

fn floor_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b)
}

fn ceil_div(a: i64, b: i64) -> i64 {
    -((-a).div_euclid(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_and_disjoint_samples() {
        let a = [1.0, 2.0, 3.0];
        let r = ks_2samp(&a, &a).unwrap();
        assert_eq!((r.statistic, r.p_value), (0.0, 1.0));
        // scipy: ks_2samp(range(10), range(10, 20)) -> (1.0, 1.0825088224469026e-05)
        let a: Vec<f64> = (0..10).map(f64::from).collect();
        let b: Vec<f64> = (10..20).map(f64::from).collect();
        let r = ks_2samp(&a, &b).unwrap();
        assert_eq!(r.statistic, 1.0);
        assert!((r.p_value - 1.0825088224469026e-05).abs() < 1e-15, "{}", r.p_value);
    }

    #[test]
    fn negative_zero_ties_with_zero() {
        let r = ks_2samp(&[-0.0, 1.0], &[0.0, 1.0]).unwrap();
        assert_eq!(r.statistic, 0.0);
    }

    #[test]
    fn rejects_empty_and_nan() {
        assert!(ks_2samp(&[], &[1.0]).is_err());
        assert!(ks_2samp(&[1.0], &[f64::NAN]).is_err());
    }
}
