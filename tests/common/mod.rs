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

/// A small deterministic generator (xorshift64*): the same sequence on every run.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        // Zero is xorshift's fixed point: a zero seed would give zeros forever.
        if self.0 == 0 {
            self.0 = 0x9E37_79B9_7F4A_7C15;
        }
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// A runtime event to record in telemetry (a rollout step; `id` in the message).
pub fn telemetry_event(id: u64) -> mlops_edge::runtime::Event {
    mlops_edge::runtime::Event {
        kind: mlops_edge::runtime::EventKind::RolloutAdvanced,
        variant: 0,
        from_version: "1.0".into(),
        to_version: "2.0".into(),
        stage_percent: 25,
        level: mlops_edge::Level::Warning,
        message: format!("record {id}"),
    }
}

/// The events a runtime emits, as its callback receives them.
pub type Events = std::sync::Arc<std::sync::Mutex<Vec<mlops_edge::runtime::Event>>>;

/// Sets `runtime`'s event callback to one that keeps every event.
pub fn record_events(runtime: &mlops_edge::Runtime) -> Events {
    let events: Events = std::sync::Arc::default();
    let sink = std::sync::Arc::clone(&events);
    runtime.set_event_callback(Some(Box::new(move |e| sink.lock().unwrap().push(e.clone()))));
    events
}

/// Asserts that loading failed with `status` and a message naming each of `names`.
pub fn refused(result: mlops_edge::Result<mlops_edge::Model>, status: mlops_edge::Status, names: &[&str]) {
    let err = match result {
        Ok(_) => panic!("loads; expected {status:?}"),
        Err(e) => e,
    };
    assert_eq!(err.status(), status, "{}", err.message());
    for name in names {
        assert!(err.message().contains(name), "the message names {name}: {}", err.message());
    }
}
