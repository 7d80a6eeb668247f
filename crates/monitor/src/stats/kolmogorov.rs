//! The distribution of the one-sample two-sided Kolmogorov statistic D_n (scipy's `kstwo`), for
//! the asymptotic two-sample p-value. Same regime split as scipy (Simard & L'Ecuyer 2011):
//! Ruben–Gambino closed forms at the ends, 2·P(D⁺ ≥ x) (Smirnov's exact one-sided sum) where the
//! two tails do not overlap, the Durbin matrix (Marsaglia–Tsang–Wang) for small n·x², and the
//! Pelz–Good expansion for large n. (Where scipy uses Pomeranz's recursion, n ≤ 140 and
//! 0.754693 < n·x² ≤ 4, this uses the Durbin matrix, which is exact there too.)

use std::f64::consts::PI;

use super::special::ln_gamma;

/// P(D_n ≥ x): survival function of the Kolmogorov distribution with `n` observations.
pub fn kstwo_sf(x: f64, n: u64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    let sf = if t <= 1.0 {
        if t <= 0.5 {
            1.0
        } else {
            // CDF = n!/n^n · (2t − 1)^n
            let cdf = if n <= 140 {
                (1..=n).fold(1.0, |p, i| p * (i as f64 / nf) * (2.0 * t - 1.0))
            } else {
                (ln_factorial_over_power(nf) + nf * (2.0 * t - 1.0).ln()).exp()
            };
            1.0 - cdf
        }
    } else if t >= nf - 1.0 {
        2.0 * (1.0 - x).powf(nf)
    } else if x >= 0.5 {
        2.0 * smirnov_sf(n, x)
    } else {
        let nx2 = t * x;
        if n <= 140 {
            if nx2 <= 4.0 {
                1.0 - durbin_cdf(n, x)
            } else {
                2.0 * smirnov_sf(n, x)
            }
        } else if nx2 >= 370.0 {
            0.0
        } else if nx2 >= 2.2 {
            2.0 * smirnov_sf(n, x)
        } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
            1.0 - durbin_cdf(n, x)
        } else {
            1.0 - pelz_good_cdf(nf, x)
        }
    };
    sf.clamp(0.0, 1.0)
}

/// ln(n!/nⁿ) by Stirling's series with n·ln n removed up front (no cancellation).
#[allow(clippy::excessive_precision)] // exact rationals B_2j/(2j(2j-1)), kept as printed
fn ln_factorial_over_power(n: f64) -> f64 {
    // B_{2j} / (2j(2j−1)) for j = 8 … 1, highest first (Horner in 1/n²).
    const COEFFS: [f64; 8] = [
        -2.955065359477124183e-2,
        6.4102564102564102564e-3,
        -1.9175269175269175269e-3,
        8.4175084175084175084e-4,
        -5.952380952380952381e-4,
        7.9365079365079365079e-4,
        -2.7777777777777777778e-3,
        8.3333333333333333333e-2,
    ];
    let r = 1.0 / n;
    let series = COEFFS.iter().fold(0.0, |acc, c| acc * (r * r) + c);
    n.ln() / 2.0 - n + (2.0 * PI).ln() / 2.0 + r * series
}

/// Smirnov's one-sided P(D⁺_n ≥ x) = x·Σ_{j=0}^{⌊n(1−x)⌋} C(n,j)(1−x−j/n)^{n−j}(x+j/n)^{j−1},
/// summed in log space.
fn smirnov_sf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let last = (nf * (1.0 - x)).floor() as u64;
    let ln_n_fact = ln_gamma(nf + 1.0);
    let log_term = |j: u64| -> Option<f64> {
        let jf = j as f64;
        let low = 1.0 - x - jf / nf;
        if low <= 0.0 {
            return None;
        }
        let ln_binom = ln_n_fact - ln_gamma(jf + 1.0) - ln_gamma(nf - jf + 1.0);
        Some(ln_binom + (nf - jf) * low.ln() + (jf - 1.0) * (x + jf / nf).ln())
    };
    let max = (0..=last).filter_map(log_term).fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return 0.0;
    }
    let sum: f64 = (0..=last).filter_map(log_term).map(|l| (l - max).exp()).sum();
    (x * sum.ln().exp() * max.exp()).min(1.0)
}

/// P(D_n < x) by Durbin's matrix method in Marsaglia, Tsang & Wang's form: with x = (k − h)/n,
/// the (k, k) entry of Hⁿ (an m×m matrix, m = 2k − 1) times n!/nⁿ, with exponent tracking so
/// nothing over- or underflows.
fn durbin_cdf(n: u64, x: f64) -> f64 {
    const SCALE_EXP: i32 = 128;
    let scale = 2f64.powi(SCALE_EXP);
    let nf = n as f64;
    let nd = nf * x;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;

    // inverse_factorial[j] = 1/j!
    let mut inverse_factorial = vec![1.0; m + 1];
    for j in 1..=m {
        inverse_factorial[j] = inverse_factorial[j - 1] / j as f64;
    }
    let mut first_column: Vec<f64> = (0..m).map(|i| (1.0 - h.powi(i as i32 + 1)) * inverse_factorial[i + 1]).collect();
    let corner = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    first_column[m - 1] = (1.0 + corner) * inverse_factorial[m];

    let mut matrix = vec![0.0; m * m];
    for row in 0..m {
        for col in 1..m {
            if row + 1 >= col {
                matrix[row * m + col] = inverse_factorial[row + 1 - col];
            }
        }
        matrix[row * m] = first_column[row];
    }
    for col in 0..m {
        matrix[(m - 1) * m + col] = first_column[m - 1 - col];
    }

    let multiply = |a: &[f64], b: &[f64]| -> Vec<f64> {
        let mut out = vec![0.0; m * m];
        for i in 0..m {
            for l in 0..m {
                let ail = a[i * m + l];
                if ail == 0.0 {
                    continue;
                }
                for j in 0..m {
                    out[i * m + j] += ail * b[l * m + j];
                }
            }
        }
        out
    };
    let mut power: Vec<f64> = (0..m * m).map(|i| if i / m == i % m { 1.0 } else { 0.0 }).collect();
    let (mut power_exp, mut matrix_exp) = (0i32, 0i32);
    let mut remaining = n;
    while remaining > 0 {
        if remaining % 2 == 1 {
            power = multiply(&power, &matrix);
            power_exp += matrix_exp;
        }
        matrix = multiply(&matrix, &matrix);
        matrix_exp *= 2;
        if matrix[(k - 1) * m + k - 1].abs() > scale {
            matrix.iter_mut().for_each(|v| *v /= scale);
            matrix_exp += SCALE_EXP;
        }
        remaining /= 2;
    }
    let mut p = power[(k - 1) * m + k - 1];
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < 1.0 / scale {
            p *= scale;
            power_exp -= SCALE_EXP;
        }
    }
    let p = p * 2f64.powi(power_exp);
    p.clamp(0.0, 1.0)
}

/// P(D_n ≤ x) by the Pelz–Good expansion K₀ + K₁/√n + K₂/n + K₃/n^{3/2} in z = x√n.
fn pelz_good_cdf(n: f64, x: f64) -> f64 {
    let z = n.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let q_log = -PI * PI / 8.0 / z2;
    if q_log < -708.0 {
        return 0.0;
    }
    let q = q_log.exp();
    let (pi2, pi4, pi6) = (PI * PI, PI.powi(4), PI.powi(6));
    let (k1a, k1b) = (-z2, pi2 / 4.0);
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);

    // Σ over odd m = 2k − 1 of c_m·q^{m²}, Horner-style from the largest k.
    let mut terms = [0.0f64; 4];
    let max_k = (16.0 * z / PI).ceil() as i64;
    for k in (1..=max_k).rev() {
        let m2 = ((2 * k - 1) * (2 * k - 1)) as f64;
        let q_power = q.powf(8.0 * k as f64);
        let coeffs =
            [1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m2 * m2, k3a + k3b * m2 + k3c * m2 * m2 + k3d * m2 * m2 * m2];
        for (t, c) in terms.iter_mut().zip(coeffs) {
            *t = *t * q_power + c;
        }
    }
    let sqrt_2pi = (2.0 * PI).sqrt();
    let divisors = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (t, d) in terms.iter_mut().zip(divisors) {
        *t = *t * q * sqrt_2pi / d;
    }
    // The sums over all integers k in K₂ and K₃.
    let q_all = (-pi2 / 2.0 / z2).exp();
    let (mut k2_extra, mut k3_extra) = (0.0, 0.0);
    for k in (1..=max_k).rev() {
        let kf = k as f64;
        let weight = kf * kf * q_all.powf(kf * kf);
        k2_extra += weight;
        k3_extra += (3f64.sqrt() * z + PI * kf) * (3f64.sqrt() * z - PI * kf) * weight;
    }
    terms[2] += k2_extra * pi2 * sqrt_2pi / (-36.0 * z3);
    terms[3] += k3_extra * pi2 * sqrt_2pi / (216.0 * z6);
    terms.iter().enumerate().map(|(i, t)| t / n.powf(i as f64 / 2.0)).sum()
}
