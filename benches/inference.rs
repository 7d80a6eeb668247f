//! Criterion benches for every shipped model: end to end (preprocess + infer + postprocess) and
//! inference only, the pool allocator's cost at 1 and 2 threads, and per-request latency
//! percentiles. `benches/run.sh` runs this with the onnxruntime anchor and writes BENCHMARKS.md.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};

#[path = "common/latency.rs"]
mod latency;

use latency::percentiles;
use mlops_edge::alloc::PoolRouter;
use mlops_edge::{Model, ModelOptions, PoolMode, Session, SessionOptions};

#[global_allocator]
static ALLOCATOR: PoolRouter = PoolRouter::system();

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models")
}

fn load(name: &str, options: &ModelOptions) -> Model {
    Model::load(models().join(name), options).expect("load model")
}

/// Texts of the S-Labs test split whose token count falls in each bucket (the same texts the
/// onnxruntime anchor uses: benches/inputs.json).
fn bench_inputs() -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/inputs.json");
    serde_json::from_slice(&std::fs::read(path).expect("benches/inputs.json")).expect("json")
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array().expect("array").iter().map(|s| s.as_str().expect("string").to_string()).collect()
}

fn plan_for(model: &Model, tokens: usize) -> usize {
    model.plan_lengths().iter().position(|&l| l >= tokens.max(1)).unwrap_or(0)
}

fn text_benches(c: &mut Criterion, inputs: &serde_json::Value) {
    for (name, options) in [
        ("minilm-l3-promptinj", ModelOptions::default()),
        ("minilm-l3-promptinj/plan-per-bucket", ModelOptions { plan_per_bucket: true, ..ModelOptions::default() }),
        ("profanity-tfidf", ModelOptions::default()),
    ] {
        let dir = name.split('/').next().unwrap();
        let model = load(dir, &options);
        let mut session = Session::new(&model).unwrap();
        let mut group = c.benchmark_group(name);
        for bucket in ["16", "32", "64", "128"] {
            let texts = strings(&inputs[dir][bucket]);
            if texts.is_empty() {
                continue;
            }
            let mut probs = vec![0f32; model.labels().len()];
            let mut i = 0;
            group.bench_function(format!("end_to_end/{bucket}"), |b| {
                b.iter(|| {
                    i = (i + 1) % texts.len();
                    black_box(session.classify_text(&texts[i], Some(&mut probs)).unwrap());
                })
            });
            let p = session.classify_text(&texts[0], None).unwrap();
            let plan = plan_for(&model, p.input_length);
            group.bench_function(format!("inference/{bucket}"), |b| b.iter(|| session.rerun_plan(plan).unwrap()));
        }
        group.finish();
    }
}

fn file_and_tensor_benches(c: &mut Criterion) {
    let magika = load("magika", &ModelOptions::default());
    let mut session = Session::new(&magika).unwrap();
    let sample = std::fs::read(models().join("magika/samples/stats_long.py")).unwrap();
    let mut group = c.benchmark_group("magika");
    group.bench_function("end_to_end/2048", |b| b.iter(|| black_box(session.classify_bytes(&sample, None).unwrap())));
    group.bench_function("inference/2048", |b| b.iter(|| session.rerun_plan(0).unwrap()));
    group.finish();

    for (name, len) in [("digits-mlp", 64), ("breast-cancer-logreg", 30)] {
        let model = load(name, &ModelOptions::default());
        let mut session = Session::new(&model).unwrap();
        let input: Vec<f32> = (0..len).map(|i| (i % 16) as f32).collect();
        let mut group = c.benchmark_group(name);
        group.bench_function(format!("end_to_end/{len}"), |b| {
            b.iter(|| black_box(session.classify_f32(&input, None).unwrap()))
        });
        group.bench_function(format!("inference/{len}"), |b| b.iter(|| session.rerun_plan(0).unwrap()));
        let examples: Vec<&[f32]> = std::iter::repeat_n(input.as_slice(), 32).collect();
        group.throughput(Throughput::Elements(32));
        group.bench_function("batch_of_32", |b| {
            b.iter(|| black_box(session.classify_f32_batch(&examples, None).unwrap()))
        });
        group.finish();
    }
}

/// The pool's cost: the same requests with and without a pool, one thread.
fn pool_benches(c: &mut Criterion, inputs: &serde_json::Value) {
    let texts = strings(&inputs["minilm-l3-promptinj"]["32"]);
    let model = load("minilm-l3-promptinj", &ModelOptions::default());
    let digits = load("digits-mlp", &ModelOptions::default());
    let input = vec![3.0f32; 64];
    let mut group = c.benchmark_group("pool");
    for (label, mode) in [("pooled", PoolMode::Auto), ("system", PoolMode::Off)] {
        let mut session = Session::with_options(&model, &SessionOptions { pool: mode }).unwrap();
        let mut i = 0;
        group.bench_function(format!("minilm-32/{label}"), |b| {
            b.iter(|| {
                i = (i + 1) % texts.len();
                black_box(session.classify_text(&texts[i], None).unwrap());
            })
        });
        let mut session = Session::with_options(&digits, &SessionOptions { pool: mode }).unwrap();
        group.bench_function(format!("digits/{label}"), |b| {
            b.iter(|| black_box(session.classify_f32(&input, None).unwrap()))
        });
    }
    group.finish();
}

/// Per-request latencies: p50/p95/p99 over many requests, for 1 and 2 threads, pooled and not.
/// Written to target/criterion/latency.json for the report.
fn latency_report(inputs: &serde_json::Value) {
    let mut report = serde_json::Map::new();
    let model = load("minilm-l3-promptinj", &ModelOptions::default());
    for bucket in ["16", "32", "64", "128"] {
        let texts = strings(&inputs["minilm-l3-promptinj"][bucket]);
        let mut session = Session::new(&model).unwrap();
        let mut samples = Vec::new();
        for round in 0..6 {
            for text in &texts {
                let p = session.classify_text(text, None).unwrap();
                if round > 0 {
                    samples.push(p.latency);
                }
            }
        }
        report.insert(format!("minilm-l3-promptinj/{bucket}"), percentiles(samples));
    }
    // Threads: each thread its own session on the shared model.
    let digits = load("digits-mlp", &ModelOptions::default());
    let texts = strings(&inputs["minilm-l3-promptinj"]["32"]);
    for threads in [1usize, 2] {
        for (label, mode) in [("pooled", PoolMode::Auto), ("system", PoolMode::Off)] {
            let run = |f: &(dyn Fn(&mut Session) + Sync), model: &Model, requests: usize| -> Vec<Duration> {
                std::thread::scope(|scope| {
                    let handles: Vec<_> = (0..threads)
                        .map(|_| {
                            scope.spawn(|| {
                                let mut session = Session::with_options(model, &SessionOptions { pool: mode }).unwrap();
                                f(&mut session);
                                (0..requests)
                                    .map(|_| {
                                        let t = Instant::now();
                                        f(&mut session);
                                        t.elapsed()
                                    })
                                    .collect::<Vec<_>>()
                            })
                        })
                        .collect();
                    handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
                })
            };
            let input = vec![3.0f32; 64];
            let tiny = run(&|s| drop(black_box(s.classify_f32(&input, None).unwrap())), &digits, 20_000);
            report.insert(format!("threads{threads}/digits/{label}"), percentiles(tiny));
            let counter = std::sync::atomic::AtomicUsize::new(0);
            let text = run(
                &|s| {
                    let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % texts.len();
                    drop(black_box(s.classify_text(&texts[i], None).unwrap()))
                },
                &model,
                300,
            );
            report.insert(format!("threads{threads}/minilm-32/{label}"), percentiles(text));
        }
    }
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/criterion");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("latency.json"), serde_json::to_string_pretty(&report).unwrap()).unwrap();
    eprintln!("latency percentiles written to target/criterion/latency.json");
}

fn main() {
    let inputs = bench_inputs();
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    text_benches(&mut c, &inputs);
    file_and_tensor_benches(&mut c);
    pool_benches(&mut c, &inputs);
    // `cargo test --bench` runs each bench once; the latency report is for real runs only.
    if !std::env::args().any(|a| a == "--test") {
        latency_report(&inputs);
    }
    c.final_summary();
}
