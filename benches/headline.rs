//! The headline encoder end to end, side by side with onnxruntime's C API in this process
//! (common/onnxruntime_c.rs; `MLE_ORT_DYLIB` names the library, as benches/ort-env.sh sets it):
//! for each variant (fp32 products, models/minilm-l3-promptinj; int8 products,
//! models/minilm-l3-promptinj-int8) and each length class of benches/inputs.json (texts of ≤16,
//! ≤32, ≤64, ≤128 tokens), requests alternate one by one between this runtime
//! (`Session::classify_text`: tokenize, infer, postprocess) and onnxruntime (the same tokenizer
//! through the tokenizers crate, the text at its own length, one `Run`, the logits read), on the
//! same texts, so host noise falls on both alike. Medians and p95 per side, their ratios; written to
//! target/criterion/headline.json and printed as the BENCHMARKS.md table. `cargo test --benches`
//! runs each case a few times.

use std::path::PathBuf;
use std::time::{Duration, Instant};

#[path = "common/latency.rs"]
mod latency;
// Its feature-model sessions serve the other benches.
#[allow(dead_code)]
#[path = "common/onnxruntime_c.rs"]
mod onnxruntime_c;

use latency::percentiles;
use mlops_edge::alloc::PoolRouter;
use mlops_edge::{Model, ModelOptions, Session};
use onnxruntime_c::OnnxRuntime;
use serde_json::{json, Value};

#[global_allocator]
static ALLOCATOR: PoolRouter = PoolRouter::system();

const VARIANTS: [&str; 2] = ["minilm-l3-promptinj", "minilm-l3-promptinj-int8"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let rounds = if full { 8 } else { 1 };
    let inputs: Value = serde_json::from_slice(&std::fs::read(root().join("benches/inputs.json")).unwrap()).unwrap();
    let ort = std::env::var("MLE_ORT_DYLIB").ok().map(|p| OnnxRuntime::load(&p).expect("onnxruntime library"));
    let mut report = serde_json::Map::new();
    println!("| variant | texts of | n | ours p50 | ours p95 | ORT p50 | ORT p95 | p50 ours / ORT | p95 ours / ORT |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for variant in VARIANTS {
        let dir = root().join("models").join(variant);
        let model = Model::load(&dir, &ModelOptions::default()).expect("load");
        let mut session = Session::new(&model).unwrap();
        let max_length = model.max_input_length();
        let mut ort_model = ort.as_ref().map(|o| o.text_session(&dir, max_length, 2).unwrap());
        for bucket in ["16", "32", "64", "128"] {
            let texts: Vec<String> = inputs["minilm-l3-promptinj"][bucket]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
                .collect();
            let (mut ours, mut theirs): (Vec<Duration>, Vec<Duration>) = (Vec::new(), Vec::new());
            // Round 0 warms both (first runs at each length); rounds 1.. are measured.
            for round in 0..=rounds {
                for text in &texts {
                    let start = Instant::now();
                    std::hint::black_box(session.classify_text(text, None).unwrap());
                    let mine = start.elapsed();
                    if let Some(o) = ort_model.as_mut() {
                        let start = Instant::now();
                        std::hint::black_box(o.classify_text(text).unwrap());
                        if round > 0 {
                            theirs.push(start.elapsed());
                        }
                    }
                    if round > 0 {
                        ours.push(mine);
                    }
                }
            }
            let n = ours.len();
            let mine = percentiles(ours);
            let cell = |v: &Value, k: &str| v[k].as_f64().map(|x| format!("{x:.0}")).unwrap_or_else(|| "-".into());
            let ratio = |k: &str, other: &Value| {
                other[k]
                    .as_f64()
                    .map(|o| format!("{:.2}×", mine[k].as_f64().unwrap() / o))
                    .unwrap_or_else(|| "-".into())
            };
            let other = if theirs.is_empty() { Value::Null } else { percentiles(theirs) };
            println!(
                "| {variant} | ≤{bucket} tokens | {n} | {} | {} | {} | {} | {} | {} |",
                cell(&mine, "p50_us"),
                cell(&mine, "p95_us"),
                cell(&other, "p50_us"),
                cell(&other, "p95_us"),
                ratio("p50_us", &other),
                ratio("p95_us", &other)
            );
            report.insert(format!("{variant}/{bucket}"), json!({"ours": mine, "onnxruntime_c": other}));
        }
    }
    let out = root().join("target/criterion");
    std::fs::create_dir_all(&out).unwrap();
    let report = json!({"cases": report, "onnxruntime_version": ort.as_ref().map(|o| o.version().to_string())});
    std::fs::write(out.join("headline.json"), serde_json::to_string_pretty(&report).unwrap()).unwrap();
}
