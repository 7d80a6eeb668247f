//! A/B assignment and significance against their references: vectors made by a reference Python
//! implementation of the md5 assignment and the pooled two-proportion z-test, with scipy
//! (tests/data/make_deploy_vectors.py), and GrowthBook's conformance suite
//! (tests/data/conformance/growthbook/cases.json).

use mlops_edge::deploy::ab;
use mlops_edge::deploy::significance::calculate_significance;
use serde_json::Value;

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn md5_assignment_is_bit_identical_to_the_reference() {
    let data = load("ab_seed_cases.json");
    let mut checked = 0;
    for section in ["cases", "traps"] {
        for case in data[section].as_array().unwrap() {
            let experiment = case["experiment"].as_str().unwrap();
            let user = case["user_id"].as_str().unwrap();
            let weights = f64s(&case["weights"]);
            let bucket = ab::md5_bucket(experiment, user);
            assert_eq!(bucket.to_bits(), case["bucket"].as_f64().unwrap().to_bits(), "bucket of {experiment}:{user}");
            let variant = ab::assign_md5(experiment, user, &weights).unwrap();
            assert_eq!(variant as u64, case["variant"].as_u64().unwrap(), "{experiment}:{user} with {weights:?}");
            checked += 1;
        }
    }
    assert!(checked >= 2400, "only {checked} cases");
}

#[test]
fn float_traps_at_cumulative_boundaries() {
    // The trap the vectors pin: 0.1 + 0.2 = 0.30000000000000004, so bucket 0.300 is variant 1.
    assert_eq!(ab::choose_cumulative(0.3, &[0.1, 0.2, 0.7]), 1);
    assert_eq!(ab::choose_cumulative(0.333, &[1.0 / 3.0; 3]), 0);
    assert_eq!(ab::choose_cumulative(0.334, &[1.0 / 3.0; 3]), 1);
    assert_eq!(ab::choose_cumulative(0.666, &[1.0 / 3.0; 3]), 1);
    assert_eq!(ab::choose_cumulative(0.667, &[1.0 / 3.0; 3]), 2);
    let traps = load("ab_seed_cases.json")["traps"].as_array().unwrap().len();
    assert_eq!(traps, 18);
}

#[test]
fn growthbook_conformance() {
    let cases = load("conformance/growthbook/cases.json");
    let mut checked = 0;
    for c in cases["hash"].as_array().unwrap() {
        let (seed, value, version) = (c[0].as_str().unwrap(), c[1].as_str().unwrap(), c[2].as_u64().unwrap());
        let got = ab::growthbook_hash(seed, value, version as u8);
        match c[3].as_f64() {
            Some(expected) => assert_eq!(got, Some(expected), "hash({seed:?}, {value:?}, {version})"),
            None => assert_eq!(got, None, "hash version {version} must be refused"),
        }
        checked += 1;
    }
    for c in cases["getBucketRange"].as_array().unwrap() {
        let args = &c[1];
        let n = args[0].as_u64().unwrap() as usize;
        let coverage = args[1].as_f64().unwrap();
        let weights = args[2].as_array().map(|_| f64s(&args[2]));
        let got = ab::growthbook_bucket_ranges(n, coverage, weights.as_deref());
        let expected: Vec<Vec<f64>> = c[2].as_array().unwrap().iter().map(f64s).collect();
        assert_eq!(got.len(), expected.len(), "{}", c[0]);
        for ((start, end), e) in got.iter().zip(&expected) {
            assert!((start - e[0]).abs() < 1e-9 && (end - e[1]).abs() < 1e-9, "{}: {got:?} vs {expected:?}", c[0]);
        }
        checked += 1;
    }
    for c in cases["chooseVariation"].as_array().unwrap() {
        let n = c[1].as_f64().unwrap();
        let ranges: Vec<(f64, f64)> =
            c[2].as_array().unwrap().iter().map(|r| (r[0].as_f64().unwrap(), r[1].as_f64().unwrap())).collect();
        let expected = c[3].as_i64().unwrap();
        let got = ab::growthbook_choose(n, &ranges).map(|i| i as i64).unwrap_or(-1);
        assert_eq!(got, expected, "{}", c[0]);
        checked += 1;
    }
    for c in cases["inNamespace"].as_array().unwrap() {
        let user = c[1].as_str().unwrap();
        let ns = &c[2];
        let got = ab::growthbook_in_namespace(
            user,
            ns[0].as_str().unwrap(),
            ns[1].as_f64().unwrap(),
            ns[2].as_f64().unwrap(),
        );
        assert_eq!(got, c[3].as_bool().unwrap(), "{}", c[0]);
        checked += 1;
    }
    for c in cases["getEqualWeights"].as_array().unwrap() {
        let got = ab::growthbook_equal_weights(c[0].as_i64().unwrap());
        let expected = f64s(&c[1]);
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            assert!((g - e).abs() < 1e-8, "getEqualWeights({}): {got:?}", c[0]);
        }
        checked += 1;
    }
    assert_eq!(checked, 15 + 13 + 13 + 16 + 6);
}

#[test]
fn growthbook_assignment_agrees_with_the_suite_functions() {
    // The allocation-free path used when serving picks what chooseVariation over
    // getBucketRanges(n, 1, weights) picks.
    for weights in [vec![0.5, 0.5], vec![0.2, 0.3, 0.5], vec![0.1, 0.2, 0.7], vec![0.25; 4]] {
        let ranges = ab::growthbook_bucket_ranges(weights.len(), 1.0, Some(&weights));
        for version in [1u8, 2] {
            for u in 0..2000 {
                let user = format!("user-{u}");
                let n = ab::growthbook_hash("exp-key", &user, version).unwrap();
                let expected = ab::growthbook_choose(n, &ranges).unwrap();
                assert_eq!(ab::choose_growthbook("exp-key", &user, &weights, version).unwrap(), expected);
            }
        }
    }
}

#[test]
fn significance_matches_the_reference_z_test_with_scipy() {
    let data = load("significance_cases.json");
    let cases = data["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 70);
    for c in cases {
        let a = &c["args"];
        let (cc, ct, tc, tt, level) = (
            a[0].as_u64().unwrap(),
            a[1].as_u64().unwrap(),
            a[2].as_u64().unwrap(),
            a[3].as_u64().unwrap(),
            a[4].as_f64().unwrap(),
        );
        let r = calculate_significance(cc, ct, tc, tt, level).unwrap();
        let close = |got: f64, key: &str, tol: f64| {
            let want = c[key].as_f64().unwrap();
            assert!((got - want).abs() <= tol * want.abs().max(1.0), "{key} for {a}: {got} vs {want}");
        };
        close(r.control_rate, "control_rate", 1e-15);
        close(r.treatment_rate, "treatment_rate", 1e-15);
        close(r.lift, "lift", 1e-15);
        close(r.lift_percent, "lift_percent", 1e-13);
        close(r.p_value, "p_value", 1e-13);
        close(r.ci_lower, "ci_lower", 1e-12);
        close(r.ci_upper, "ci_upper", 1e-12);
        assert_eq!(r.significant, c["significant"].as_bool().unwrap(), "significant for {a}");
    }
}
