//! The statistics against scipy and numpy (vectors from tests/data/make_vectors.py).

mod common;

use common::{load, sample};
use mlops_edge_monitor::stats::{
    chi2_contingency_2xk, histogram_upper_inclusive, ks_2samp, mean, percentile_floor_index, percentile_nearest_rank,
    CONFIDENCE_BUCKETS, INPUT_LENGTH_BUCKETS, LATENCY_BUCKETS_SECONDS,
};

fn close(actual: f64, expected: f64, abs: f64, rel: f64) -> bool {
    let diff = (actual - expected).abs();
    diff <= abs || diff <= rel * expected.abs()
}

#[test]
fn ks_matches_scipy_ks_2samp() {
    let data = load("ks_cases.json");
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() >= 80);
    let mut failures = Vec::new();
    let mut asymptotic = 0;
    for case in cases {
        let (a, b) = (sample(&case["a"]), sample(&case["b"]));
        let r = ks_2samp(&a, &b).unwrap();
        asymptotic += usize::from(r.method == mlops_edge_monitor::stats::KsMethod::Asymptotic);
        let (d, p) = (case["statistic"].as_f64().unwrap(), case["pvalue"].as_f64().unwrap());
        // The tolerances held: D within 1e-12; p within 1e-6 absolute and 1e-4 relative where p > 1e-12.
        let d_ok = (r.statistic - d).abs() <= 1e-12;
        let p_ok = if p > 1e-12 {
            (r.p_value - p).abs() <= 1e-6 && (r.p_value - p).abs() <= 1e-4 * p
        } else {
            r.p_value <= 1e-12
        };
        if !(d_ok && p_ok) {
            failures.push(format!(
                "{}: D {} vs scipy {}, p {:e} vs scipy {:e} ({:?})",
                case["name"], r.statistic, d, r.p_value, p, r.method
            ));
        }
    }
    assert_eq!(asymptotic, 12, "cases beyond 10000 values take scipy's asymptotic path");
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn percentiles_means_and_histograms_match_numpy() {
    let data = load("descriptive_cases.json");
    for case in data["cases"].as_array().unwrap() {
        let u = sample(&case["spec"]);
        let latency_us: Vec<f64> = u.iter().map(|u| (u * u * 60e6).floor() / 1000.0).collect();
        let confidence: Vec<f64> = u.iter().map(|u| *u as f32 as f64).collect();
        let length: Vec<f64> = u.iter().map(|u| (u * 7000.0).floor()).collect();
        let mut sorted = latency_us.clone();
        sorted.sort_by(f64::total_cmp);
        let n = case["spec"]["n"].as_u64().unwrap();
        let f = |k: &str| case[k].as_f64().unwrap();
        assert_eq!(percentile_floor_index(&sorted, 0.50), f("p50"), "p50 n={n}");
        assert_eq!(percentile_floor_index(&sorted, 0.95), f("p95"), "p95 n={n}");
        assert_eq!(percentile_floor_index(&sorted, 0.99), f("p99"), "p99 n={n}");
        assert_eq!(percentile_nearest_rank(&sorted, 0.95), f("nearest_rank_p95"), "nearest-rank p95 n={n}");
        assert_eq!(percentile_nearest_rank(&sorted, 0.50), f("nearest_rank_p50"), "nearest-rank p50 n={n}");
        assert!(close(mean(&latency_us), f("latency_mean"), 0.0, 1e-12), "latency mean n={n}");
        assert!(close(mean(&confidence), f("confidence_mean"), 0.0, 1e-12), "confidence mean n={n}");
        let histogram = |bounds: &[f64], values: &[f64]| {
            let mut counts = vec![0u64; bounds.len() + 1];
            values.iter().for_each(|v| histogram_upper_inclusive(bounds, *v, &mut counts));
            serde_json::Value::from(counts)
        };
        let seconds: Vec<f64> = latency_us.iter().map(|v| v / 1e6).collect();
        assert_eq!(histogram(&LATENCY_BUCKETS_SECONDS, &seconds), case["latency_histogram"], "n={n}");
        assert_eq!(histogram(&CONFIDENCE_BUCKETS, &confidence), case["confidence_histogram"], "n={n}");
        assert_eq!(histogram(&INPUT_LENGTH_BUCKETS, &length), case["input_length_histogram"], "n={n}");
    }
}

#[test]
fn chi_square_matches_scipy_chi2_contingency() {
    let data = load("chi2_cases.json");
    for case in data["cases"].as_array().unwrap() {
        let counts =
            |k: &str| -> Vec<u64> { case[k].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect() };
        let r = chi2_contingency_2xk(&counts("first"), &counts("second")).unwrap();
        let (stat, p) = (case["statistic"].as_f64().unwrap(), case["pvalue"].as_f64().unwrap());
        assert_eq!(r.dof as u64, case["dof"].as_u64().unwrap(), "{case}");
        assert!(close(r.statistic, stat, 1e-12, 1e-10), "{case}: statistic {}", r.statistic);
        assert!(close(r.p_value, p, 1e-300, 1e-9), "{case}: p {:e}", r.p_value);
    }
}
