//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;

/// The repository's models/ directory.
pub fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models")
}

/// tests/data.
pub fn test_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// A model directory under models/.
pub fn model_dir(name: &str) -> PathBuf {
    models().join(name)
}

/// The golden file of a shipped model.
pub fn golden(name: &str) -> Value {
    let text = std::fs::read_to_string(model_dir(name).join("golden.json")).expect("golden.json");
    serde_json::from_str(&text).expect("golden.json is JSON")
}

/// The golden inputs of `name` known to miss the golden checks' 1e-4 bound, each with the bound
/// it is held to instead (`models/<name>/tolerances.json`; none when the file is absent).
pub fn known_deviations(name: &str) -> std::collections::HashMap<String, f32> {
    let Some(table) = tolerances(name) else {
        return Default::default();
    };
    let cases = table["cases"].as_object().expect("tolerances.json has cases");
    cases.iter().map(|(input, c)| (input.clone(), c["max_abs_diff"].as_f64().expect("max_abs_diff") as f32)).collect()
}

/// The bound every golden input of `name` is held to: `default`, or the model-wide `max_abs_diff`
/// of its tolerances.json (a model quantized at run time).
pub fn model_tolerance(name: &str, default: f32) -> f32 {
    tolerances(name).and_then(|table| table["max_abs_diff"].as_f64()).map_or(default, |b| b as f32)
}

/// `models/<name>/tolerances.json`, when the model has one.
fn tolerances(name: &str) -> Option<Value> {
    let text = std::fs::read_to_string(model_dir(name).join("tolerances.json")).ok()?;
    Some(serde_json::from_str(&text).expect("tolerances.json is JSON"))
}

/// A JSON array of numbers as f32.
pub fn floats(v: &Value) -> Vec<f32> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number") as f32).collect()
}

/// True when the tests run under an emulator (scripts/cross.sh sets `MLE_TEST_EMULATED=1` for
/// qemu-user, which runs tract ~100x slower): a test that honours it runs fewer requests through
/// the same assertions.
pub fn under_emulation() -> bool {
    std::env::var_os("MLE_TEST_EMULATED").is_some_and(|v| v == "1")
}

/// The S-Labs test split shipped with the headline model: (text, label).
pub fn slabs_test() -> Vec<(String, usize)> {
    let mut reader =
        csv::Reader::from_path(model_dir("minilm-l3-promptinj").join("data/s-labs-test.csv")).expect("csv");
    reader
        .records()
        .map(|r| {
            let r = r.expect("csv record");
            (r[0].to_string(), r[1].parse().expect("label"))
        })
        .collect()
}

/// Largest absolute difference of two vectors of equal length.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "vector lengths differ");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Index of the largest value (first on ties).
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// breast-cancer-logreg, with the card's version replaced (a distinct model version per load).
pub fn breast(version: &str) -> mlops_edge::Model {
    let onnx = std::fs::read(model_dir("breast-cancer-logreg").join("model.onnx")).unwrap();
    let card = format!(r#"{{"version": "{version}"}}"#);
    mlops_edge::Model::from_bytes(&onnx, None, Some(&card), &mlops_edge::ModelOptions::default()).unwrap()
}

/// breast-cancer-logreg's held-out rows (30 features each).
pub fn breast_rows() -> Vec<Vec<f32>> {
    let mut reader = csv::Reader::from_path(model_dir("breast-cancer-logreg").join("heldout.csv")).unwrap();
    reader.records().map(|r| r.unwrap().iter().take(30).map(|v| v.parse::<f32>().unwrap()).collect()).collect()
}
