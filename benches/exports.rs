//! The classifiers people export (tests/data/exports: scikit-learn through skl2onnx, LightGBM and
//! XGBoost through onnxmltools, default exports): one request = `Session::classify_f32` on one
//! held-out row (the rows of golden.json, in turn), which is what `mle_session_classify_f32` runs.
//! A criterion bench per model, then per-request percentiles written to
//! target/criterion/exports_latency.json.
//!
//! With `MLE_ORT_DYLIB` pointing to a `libonnxruntime.so` (benches/exports.sh sets it to the
//! onnxruntime wheel's), onnxruntime's C API runs in this same process on the same rows
//! (common/onnxruntime_c.rs): a criterion bench per model too, and the percentiles measured
//! interleaved with ours, request by request (ours, then onnxruntime, on the same row). A default export's ZipMap is
//! served by neither: onnxruntime runs its `-nozipmap` twin (the converter's `zipmap=False`: the
//! same graph without the ZipMap), as the runtime serves the tensor the ZipMap wraps.
//! benches/onnxruntime_anchor.py --exports measures onnxruntime's Python API on the same rows.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::Criterion;

#[path = "common/latency.rs"]
mod latency;
// Its text-model sessions serve benches/startup.rs and benches/headline.rs.
#[allow(dead_code)]
#[path = "common/onnxruntime_c.rs"]
mod onnxruntime_c;

use latency::percentiles;
use mlops_edge::alloc::PoolRouter;
use mlops_edge::{Model, ModelOptions, Session};
use serde_json::Value;

#[global_allocator]
static ALLOCATOR: PoolRouter = PoolRouter::system();

fn exports_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/exports")
}

/// One export: its name, the model, its held-out rows as a caller passes them (f32), and what
/// onnxruntime runs for it (the file without ZipMap, its input type).
struct Export {
    name: String,
    model: Model,
    rows: Vec<Vec<f32>>,
    ort_file: PathBuf,
    input_dtype: String,
}

/// Each export the runtime serves.
fn served_exports() -> Vec<Export> {
    let golden: Value = serde_json::from_slice(&std::fs::read(exports_dir().join("golden.json")).unwrap()).unwrap();
    let mut out = Vec::new();
    let models = golden["models"].as_object().unwrap();
    for (name, entry) in models {
        let Ok(model) = Model::load(exports_dir().join(entry["file"].as_str().unwrap()), &ModelOptions::default())
        else {
            continue; // refused at load (tests/exports.rs checks which and why)
        };
        let twin = models.get(&format!("{name}-nozipmap")).unwrap_or(entry);
        let ort_file = exports_dir().join(twin["file"].as_str().unwrap());
        let input_dtype = entry["input_dtype"].as_str().unwrap().to_string();
        let rows = entry["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect())
            .collect();
        out.push(Export { name: name.clone(), model, rows, ort_file, input_dtype });
    }
    out
}

fn main() {
    let exports = served_exports();
    let onnxruntime = std::env::var("MLE_ORT_DYLIB")
        .ok()
        .map(|path| onnxruntime_c::OnnxRuntime::load(&path).unwrap_or_else(|e| panic!("MLE_ORT_DYLIB: {e}")));
    if onnxruntime.is_none() {
        eprintln!("MLE_ORT_DYLIB is not set: onnxruntime's side is left out (benches/exports.sh sets it)");
    }
    let ort_session = |export: &Export, runtime: &'static onnxruntime_c::OnnxRuntime| {
        let path = export.ort_file.to_str().unwrap();
        let features = export.rows[0].len();
        runtime
            .session(path, features, &export.input_dtype, export.model.labels().len())
            .unwrap_or_else(|e| panic!("onnxruntime cannot run {}: {e}", export.name))
    };
    // The runtime lives for the whole run; sessions borrow it.
    let onnxruntime: Option<&'static onnxruntime_c::OnnxRuntime> = onnxruntime.map(|r| &*Box::leak(Box::new(r)));
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    let mut group = c.benchmark_group("exports");
    for export in &exports {
        let mut session = Session::new(&export.model).unwrap();
        let mut probs = vec![0f32; export.model.labels().len()];
        let rows = &export.rows;
        let mut i = 0;
        group.bench_function(export.name.as_str(), |b| {
            b.iter(|| {
                i = (i + 1) % rows.len();
                black_box(session.classify_f32(&rows[i], Some(&mut probs)).unwrap());
            })
        });
        if let Some(runtime) = onnxruntime {
            let mut ort = ort_session(export, runtime);
            group.bench_function(format!("{}/onnxruntime_c", export.name), |b| {
                b.iter(|| {
                    i = (i + 1) % rows.len();
                    black_box(ort.classify(&rows[i]).unwrap());
                })
            });
        }
    }
    group.finish();
    // `cargo test --bench` runs each bench once; the percentiles are for real runs only.
    if !std::env::args().any(|a| a == "--test") {
        let mut ours_report = serde_json::Map::new();
        let mut ort_report = serde_json::Map::new();
        for export in &exports {
            let mut session = Session::new(&export.model).unwrap();
            let mut probs = vec![0f32; export.model.labels().len()];
            let mut ort = onnxruntime.map(|runtime| ort_session(export, runtime));
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for block in 0..21 {
                // 21 blocks of 250 rows in turn; the first only warms both up.
                for i in 0..250 {
                    let row = &export.rows[i % export.rows.len()];
                    let t = Instant::now();
                    black_box(session.classify_f32(row, Some(&mut probs)).unwrap());
                    let ours_took = t.elapsed();
                    if let Some(ort) = ort.as_mut() {
                        let t = Instant::now();
                        black_box(ort.classify(row).unwrap());
                        if block > 0 {
                            theirs.push(t.elapsed());
                        }
                    }
                    if block > 0 {
                        ours.push(ours_took);
                    }
                }
            }
            ours_report.insert(export.name.clone(), percentiles(ours));
            if !theirs.is_empty() {
                ort_report.insert(export.name.clone(), percentiles(theirs));
            }
        }
        let report = serde_json::json!({
            "ours": ours_report,
            "onnxruntime_c": ort_report,
            "onnxruntime_version": onnxruntime.map(|r| r.version().to_string()),
        });
        let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/criterion");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("exports_latency.json"), serde_json::to_string_pretty(&report).unwrap()).unwrap();
        eprintln!("per-request percentiles written to target/criterion/exports_latency.json");
    }
    c.final_summary();
}
