//! The classifiers people export (tests/data/exports: scikit-learn through skl2onnx, LightGBM and
//! XGBoost through onnxmltools, default exports): one request = `Session::classify_f32` on one
//! held-out row (the rows of golden.json, in turn), which is what `mle_session_classify_f32` runs.
//! A criterion bench per model, then per-request percentiles written to
//! target/criterion/exports_latency.json. benches/onnxruntime_anchor.py measures onnxruntime on
//! the same files and rows; benches/run.sh alternates the two and report.py puts them side by side.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::Criterion;
use mlops_edge::alloc::PoolRouter;
use mlops_edge::{Model, ModelOptions, Session};
use serde_json::Value;

#[global_allocator]
static ALLOCATOR: PoolRouter = PoolRouter::system();

fn exports_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/exports")
}

/// Each export the runtime serves, with its held-out rows as a caller passes them (f32).
fn served_exports() -> Vec<(String, Model, Vec<Vec<f32>>)> {
    let golden: Value = serde_json::from_slice(&std::fs::read(exports_dir().join("golden.json")).unwrap()).unwrap();
    let mut out = Vec::new();
    for (name, entry) in golden["models"].as_object().unwrap() {
        let Ok(model) = Model::load(exports_dir().join(entry["file"].as_str().unwrap()), &ModelOptions::default())
        else {
            continue; // refused at load (tests/exports.rs checks which and why)
        };
        let rows = entry["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect())
            .collect();
        out.push((name.clone(), model, rows));
    }
    out
}

fn percentiles(mut v: Vec<Duration>) -> Value {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)].as_secs_f64() * 1e6;
    serde_json::json!({"n": v.len(), "p50_us": at(0.50), "p95_us": at(0.95), "p99_us": at(0.99)})
}

fn main() {
    let exports = served_exports();
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    let mut group = c.benchmark_group("exports");
    for (name, model, rows) in &exports {
        let mut session = Session::new(model).unwrap();
        let mut probs = vec![0f32; model.labels().len()];
        let mut i = 0;
        group.bench_function(name.as_str(), |b| {
            b.iter(|| {
                i = (i + 1) % rows.len();
                black_box(session.classify_f32(&rows[i], Some(&mut probs)).unwrap());
            })
        });
    }
    group.finish();
    // `cargo test --bench` runs each bench once; the percentiles are for real runs only.
    if !std::env::args().any(|a| a == "--test") {
        let mut report = serde_json::Map::new();
        for (name, model, rows) in &exports {
            let mut session = Session::new(model).unwrap();
            let mut probs = vec![0f32; model.labels().len()];
            let samples = (0..5000)
                .map(|i| {
                    let t = Instant::now();
                    black_box(session.classify_f32(&rows[i % rows.len()], Some(&mut probs)).unwrap());
                    t.elapsed()
                })
                .skip(100)
                .collect();
            report.insert(name.clone(), percentiles(samples));
        }
        let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/criterion");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("exports_latency.json"), serde_json::to_string_pretty(&report).unwrap()).unwrap();
        eprintln!("per-request percentiles written to target/criterion/exports_latency.json");
    }
    c.final_summary();
}
