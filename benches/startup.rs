//! Cold start and peak memory of the shipped models, side by side with onnxruntime's C API in this
//! bench's own process (common/onnxruntime_c.rs; `MLE_ORT_DYLIB` names the library, as
//! benches/exports.sh sets it; without it only this runtime is measured).
//!
//! - Cold start: `Model::load` + `Session::new` + the first answer, against onnxruntime's
//!   `CreateSession` + its first `Run` (for text models also the tokenizer's load and the
//!   encoding, which a program using onnxruntime does too), alternated `MLE_STARTUP_ROUNDS` times
//!   (default 7) in one process, file contents in the page cache for both; the median of each.
//! - Peak memory: one child process per runtime and model (this binary again, `--child`) loads
//!   the model, answers 1,000 requests (the bench texts, sample files or golden rows, in turn) and
//!   reports its VmHWM (the peak resident set, from /proc/self/status).
//!
//! Results go to target/criterion/startup.json and a Markdown table on stdout. `cargo test
//! --benches` runs it once with 2 rounds and 20 requests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "common/onnxruntime_c.rs"]
mod onnxruntime_c;

use mlops_edge::alloc::PoolRouter;
use mlops_edge::{ElementType, InputKind, Model, ModelOptions, Session};
use onnxruntime_c::OnnxRuntime;
use serde_json::{json, Value};

#[global_allocator]
static ALLOCATOR: PoolRouter = PoolRouter::system();

const MODELS: [&str; 6] = [
    "minilm-l3-promptinj",
    "minilm-l3-promptinj-int8",
    "profanity-tfidf",
    "magika",
    "digits-mlp",
    "breast-cancer-logreg",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model_dir(name: &str) -> PathBuf {
    root().join("models").join(name)
}

/// What a model's requests are: texts, files' bytes, or feature rows.
enum Requests {
    Texts(Vec<String>),
    Files(Vec<Vec<u8>>),
    Rows(Vec<Vec<f32>>),
}

/// The inputs the other benches use: benches/inputs.json's texts, magika's sample files, the
/// golden rows of the tensor models.
fn requests(name: &str) -> Requests {
    let read_json = |path: &Path| -> Value { serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap() };
    match name {
        "minilm-l3-promptinj" | "minilm-l3-promptinj-int8" | "profanity-tfidf" => {
            let inputs = read_json(&root().join("benches/inputs.json"));
            let texts = inputs[name.trim_end_matches("-int8")]
                .as_object()
                .unwrap()
                .values()
                .flat_map(|bucket| bucket.as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()))
                .collect();
            Requests::Texts(texts)
        }
        "magika" => {
            let mut paths: Vec<PathBuf> =
                std::fs::read_dir(model_dir(name).join("samples")).unwrap().map(|e| e.unwrap().path()).collect();
            paths.sort();
            Requests::Files(paths.iter().map(|p| std::fs::read(p).unwrap()).collect())
        }
        _ => {
            let golden = read_json(&model_dir(name).join("golden.json"));
            let rows = golden["cases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["input"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect())
                .collect();
            Requests::Rows(rows)
        }
    }
}

/// This runtime: load, a session, `count` requests (the first is the cold start's first answer).
fn ours(name: &str, requests: &Requests, count: usize) -> usize {
    let model = Model::load(model_dir(name), &ModelOptions::default()).expect("load");
    let mut session = Session::new(&model).expect("session");
    let mut answered = 0;
    for i in 0..count {
        let answer = match requests {
            Requests::Texts(t) => session.classify_text(&t[i % t.len()], None),
            Requests::Files(f) => session.classify_bytes(&f[i % f.len()], None),
            Requests::Rows(r) => session.classify_f32(&r[i % r.len()], None),
        };
        answered += usize::from(std::hint::black_box(answer).is_ok());
    }
    answered
}

/// What onnxruntime needs to know about a model's input, learnt from this runtime's load (outside
/// any measurement): its kind, values per example and element type.
struct OrtInput {
    kind: InputKind,
    /// Values per example; for a text model, its maximum token count.
    features: usize,
    dtype: String,
    width: usize,
}

fn ort_input(name: &str) -> OrtInput {
    let model = Model::load(model_dir(name), &ModelOptions::default()).expect("load");
    let dtype = match model.input_element_type() {
        ElementType::Float32 => "float32",
        ElementType::Float64 => "float64",
        ElementType::Int64 => "int64",
        ElementType::Int32 => "int32",
    }
    .to_string();
    let width = if model.postprocess() == mlops_edge::Postprocess::Sigmoid { 1 } else { model.labels().len() };
    // A text model's "features" are its maximum token count (what the tokenizer truncates to).
    let features = if model.input_kind() == InputKind::Text {
        model.max_input_length()
    } else {
        model.input_shape().iter().product()
    };
    OrtInput { kind: model.input_kind(), features, dtype, width }
}

/// onnxruntime: a session (and the tokenizer, for a text model), `count` requests. Byte models get
/// zero features (the network does the same work on any input); text models their real tokens.
fn onnxruntime(ort: &OnnxRuntime, name: &str, input: &OrtInput, requests: &Requests, count: usize) -> usize {
    let mut answered = 0;
    match (input.kind, requests) {
        (InputKind::Text, Requests::Texts(texts)) => {
            let mut session =
                ort.text_session(&model_dir(name), input.features, input.width).expect("onnxruntime session");
            for i in 0..count {
                answered += usize::from(std::hint::black_box(session.classify_text(&texts[i % texts.len()])).is_ok());
            }
        }
        (_, requests) => {
            let path = model_dir(name).join("model.onnx");
            let mut session = ort
                .session(path.to_str().unwrap(), input.features, &input.dtype, input.width)
                .expect("onnxruntime session");
            let zeros = vec![0f32; input.features];
            for i in 0..count {
                let row = match requests {
                    Requests::Rows(r) => &r[i % r.len()],
                    _ => &zeros,
                };
                answered += usize::from(std::hint::black_box(session.classify(row)).is_ok());
            }
        }
    }
    answered
}

/// The peak resident set of this process so far (VmHWM), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// `--child <ours|onnxruntime> <model> <requests>`: serve and print the peak memory as JSON.
fn child(args: &[String]) {
    let (runtime, name, count) = (&args[0], &args[1], args[2].parse::<usize>().unwrap());
    // What onnxruntime is told about the input comes from the parent (which learnt it from a load
    // of ours), so that this process holds onnxruntime's work only.
    let requests = requests(name);
    let answered = match runtime.as_str() {
        "ours" => ours(name, &requests, count),
        _ => {
            let input = OrtInput {
                kind: if args[3] == "text" { InputKind::Text } else { InputKind::Tensor },
                features: args[4].parse().unwrap(),
                dtype: args[5].clone(),
                width: args[6].parse().unwrap(),
            };
            let ort = OnnxRuntime::load(&std::env::var("MLE_ORT_DYLIB").unwrap()).expect("onnxruntime");
            onnxruntime(&ort, name, &input, &requests, count)
        }
    };
    println!("{}", json!({"peak_rss_kib": peak_rss_kib(), "answered": answered}));
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child(&args[1..]);
    }
    // `cargo bench` passes --bench; `cargo test --benches` does not: one quick pass then.
    let full = args.iter().any(|a| a == "--bench");
    let rounds =
        if full { std::env::var("MLE_STARTUP_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(7) } else { 2 };
    let count = if full { 1000 } else { 20 };
    let ort = std::env::var("MLE_ORT_DYLIB").ok().map(|p| OnnxRuntime::load(&p).expect("onnxruntime library"));
    let mut report = serde_json::Map::new();
    println!("| model | file | ours: load + session + first answer (ms) | onnxruntime (ms) | ratio | ours: peak RSS, {count} requests (MiB) | onnxruntime (MiB) | ratio |");
    println!("|---|---|---|---|---|---|---|---|");
    for name in MODELS {
        let requests = requests(name);
        let input = ort_input(name);
        let (mut mine, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let start = Instant::now();
            assert_eq!(ours(name, &requests, 1), 1, "{name}: no first answer");
            mine.push(start.elapsed());
            if let Some(ort) = &ort {
                let start = Instant::now();
                assert_eq!(onnxruntime(ort, name, &input, &requests, 1), 1, "{name}: onnxruntime gave no answer");
                theirs.push(start.elapsed());
            }
        }
        let peak = |runtime: &str| -> Option<f64> {
            if runtime == "onnxruntime" && ort.is_none() {
                return None;
            }
            let kind = if input.kind == InputKind::Text { "text" } else { "tensor" };
            let output = Command::new(std::env::current_exe().unwrap())
                .args(["--child", runtime, name, &count.to_string(), kind, &input.features.to_string(), &input.dtype])
                .arg(input.width.to_string())
                .output()
                .expect("child process");
            assert!(output.status.success(), "{runtime} {name}: {}", String::from_utf8_lossy(&output.stderr));
            let result: Value = serde_json::from_slice(&output.stdout).expect("child's JSON");
            assert_eq!(result["answered"].as_u64(), Some(count as u64), "{runtime} {name}: requests failed");
            Some(result["peak_rss_kib"].as_f64().unwrap() / 1024.0)
        };
        let (rss_ours, rss_ort) = (peak("ours").unwrap(), peak("onnxruntime"));
        let (cold_ours, cold_ort) = (median(mine), (!theirs.is_empty()).then(|| median(theirs)));
        let file_mib = std::fs::metadata(model_dir(name).join("model.onnx")).unwrap().len() as f64 / (1024.0 * 1024.0);
        let cell = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into());
        let ratio = |a: f64, b: Option<f64>| b.map(|b| format!("{:.2}×", a / b)).unwrap_or_else(|| "-".into());
        println!(
            "| {name} | {file_mib:.1} MiB | {cold_ours:.1} | {} | {} | {rss_ours:.1} | {} | {} |",
            cell(cold_ort),
            ratio(cold_ours, cold_ort),
            cell(rss_ort),
            ratio(rss_ours, rss_ort)
        );
        report.insert(
            name.to_string(),
            json!({"file_mib": file_mib, "cold_start_ms": {"ours": cold_ours, "onnxruntime": cold_ort},
                   "peak_rss_mib": {"ours": rss_ours, "onnxruntime": rss_ort}, "requests": count, "rounds": rounds}),
        );
    }
    let out = root().join("target/criterion");
    std::fs::create_dir_all(&out).unwrap();
    let report = json!({"models": report, "onnxruntime_version": ort.as_ref().map(|o| o.version().to_string())});
    std::fs::write(out.join("startup.json"), serde_json::to_string_pretty(&report).unwrap()).unwrap();
}
