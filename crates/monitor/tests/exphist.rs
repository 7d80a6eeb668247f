//! The exponential histogram against the OpenTelemetry Python SDK
//! (tests/data/exphist_cases.json, made by tests/data/make_exphist_vectors.py): the index mapping
//! at 13 scales, whole histograms as the SDK aggregates them, and merges equal to recording the
//! union.

use mlops_edge_monitor::exphist::{lower_boundary, map_to_index, ExpHistogram, ExpHistogramError, EXP_MAX_BUCKETS};
use serde_json::Value;

fn cases() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/exphist_cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn index_mapping_matches_opentelemetry_at_every_scale() {
    let data = cases();
    let mut checked = 0;
    for case in data["index_cases"].as_array().unwrap() {
        let scale = case["scale"].as_i64().unwrap() as i32;
        for (v, want) in floats(&case["values"]).iter().zip(case["indexes"].as_array().unwrap()) {
            assert_eq!(map_to_index(*v, scale), want.as_i64().unwrap(), "value {v:e} at scale {scale}");
            checked += 1;
        }
    }
    assert!(checked > 4000, "{checked}");
}

fn record_all(values: &[f64]) -> ExpHistogram {
    let mut h = ExpHistogram::new();
    for v in values {
        h.record(*v).unwrap();
    }
    h
}

#[test]
fn histograms_match_the_sdk_aggregation() {
    for case in cases()["histogram_cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let h = record_all(&floats(&case["values"]));
        let e = &case["expected"];
        assert_eq!(h.scale as i64, e["scale"].as_i64().unwrap(), "{name}: scale");
        assert_eq!(h.count, e["count"].as_u64().unwrap(), "{name}");
        assert_eq!(h.zero_count, e["zero_count"].as_u64().unwrap(), "{name}");
        assert_eq!(h.offset, e["offset"].as_i64().unwrap(), "{name}: offset");
        // The SDK exports its whole backing array: trailing buckets past the largest index are 0.
        let mut counts: Vec<u64> = e["bucket_counts"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).collect();
        while counts.last() == Some(&0) {
            counts.pop();
        }
        assert_eq!(h.buckets(), &counts[..], "{name}: counts");
        assert!((h.sum - e["sum"].as_f64().unwrap()).abs() <= 1e-9 * h.sum.abs().max(1.0), "{name}: sum");
        assert_eq!(h.min, e["min"].as_f64().unwrap());
        assert_eq!(h.max, e["max"].as_f64().unwrap());
    }
}

#[test]
fn merging_equals_recording_the_union() {
    let data = cases();
    let sets: Vec<Vec<f64>> =
        data["histogram_cases"].as_array().unwrap().iter().map(|c| floats(&c["values"])).collect();
    for a in &sets {
        for b in &sets {
            let merged = record_all(a).merge(&record_all(b)).unwrap();
            let union: Vec<f64> = a.iter().chain(b).copied().collect();
            let direct = record_all(&union);
            assert_eq!(merged.scale, direct.scale);
            assert_eq!((merged.offset, merged.buckets()), (direct.offset, direct.buckets()));
            assert_eq!(
                (merged.count, merged.zero_count, merged.min, merged.max),
                (direct.count, direct.zero_count, direct.min, direct.max)
            );
        }
    }
    // Merging with an empty histogram changes nothing.
    let h = record_all(&sets[0]);
    assert_eq!(h.merge(&ExpHistogram::new()).unwrap(), h);
}

#[test]
fn bad_values_and_histograms_are_refused() {
    let mut h = ExpHistogram::new();
    for v in [f64::NAN, f64::INFINITY, -1.0, f64::NEG_INFINITY] {
        assert_eq!(h.record(v), Err(ExpHistogramError::BadValue));
    }
    assert_eq!(h.count, 0);
    let mut bad = record_all(&[1.0, 2.0]);
    bad.count = 5;
    assert_eq!(bad.merge(&h), Err(ExpHistogramError::BadHistogram));
    let mut bad = record_all(&[1.0]);
    bad.scale = 21;
    assert_eq!(h.merge(&bad), Err(ExpHistogramError::BadHistogram));
    let mut bad = record_all(&[1.0]);
    bad.len = EXP_MAX_BUCKETS + 1;
    assert_eq!(h.merge(&bad), Err(ExpHistogramError::BadHistogram));
}

#[test]
fn boundaries_bracket_their_values() {
    for scale in [-3, 0, 3, 8, 20] {
        for v in [1e-6, 0.003, 1.0, 1.5, 42.0, 1e6] {
            let i = map_to_index(v, scale);
            let (lo, hi) = (lower_boundary(i, scale), lower_boundary(i + 1, scale));
            assert!(lo <= v * (1.0 + 1e-12) && v <= hi * (1.0 + 1e-12), "{v} at scale {scale}: ({lo}, {hi}]");
        }
    }
}

#[test]
fn corrupted_histograms_are_refused_not_overflowed() {
    let mut h = ExpHistogram::new();
    h.record(1.0).unwrap();
    let mut huge = h;
    huge.counts[0] = u64::MAX;
    huge.count = u64::MAX;
    assert!(huge.validate().is_err(), "counts that reach u64::MAX");
    let mut overflowing = h;
    overflowing.counts[0] = u64::MAX;
    overflowing.zero_count = 2;
    assert!(overflowing.validate().is_err(), "bucket counts + zeros overflow");
    let mut far = h;
    far.offset = i64::MAX - 1;
    assert!(far.validate().is_err(), "an offset no value maps to");
    let mut nan = h;
    nan.min = f64::NAN;
    assert!(nan.validate().is_err());
    let mut big = h;
    big.counts[0] = 1 << 63;
    big.count = 1 << 63;
    assert!(big.validate().is_ok());
    assert!(big.merge(&big).is_err(), "a merge whose count would overflow");
    assert!(big.merge(&h).is_ok());
}
