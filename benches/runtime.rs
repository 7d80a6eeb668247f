//! The deployment runtime's cost on the headline model (texts of ≤32 tokens): a request through
//! the runtime against the same request on a bare session, and production latency with and
//! without a shadow model (the shadow runs on the supervisor thread, off the request path).
//! Per-request percentiles go to target/criterion/runtime_latency.json; `benches/run.sh` runs it.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::Criterion;

#[path = "common/latency.rs"]
mod latency;

use latency::percentiles;
use mlops_edge::alloc::PoolRouter;
use mlops_edge::{Model, ModelOptions, Runtime, RuntimeOptions, Session};

#[global_allocator]
static ALLOCATOR: PoolRouter = PoolRouter::system();

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn texts() -> Vec<String> {
    let inputs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root().join("benches/inputs.json")).expect("inputs")).expect("json");
    inputs["minilm-l3-promptinj"]["32"]
        .as_array()
        .expect("texts")
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

fn runtime(model: &Model, shadow: Option<(&Model, f64)>) -> Runtime {
    let options = RuntimeOptions { max_concurrency: 1, ..RuntimeOptions::default() };
    let rt = Runtime::new(model, options).expect("runtime");
    if let Some((shadow, fraction)) = shadow {
        rt.set_shadow(shadow, fraction).expect("shadow");
    }
    rt
}

/// Production latency (wall time of the call) without a shadow, with one at 10% and at 100%,
/// measured in alternating blocks so that host noise falls on all three alike.
fn latency_report(model: &Model, shadow_model: &Model, texts: &[String]) {
    let cases: Vec<(&str, Runtime)> = vec![
        ("no_shadow", runtime(model, None)),
        ("shadow_10pct", runtime(model, Some((shadow_model, 0.1)))),
        ("shadow_100pct", runtime(model, Some((shadow_model, 1.0)))),
    ];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    for round in 0..8 {
        for (i, (_, rt)) in cases.iter().enumerate() {
            for (k, text) in texts.iter().enumerate() {
                let start = Instant::now();
                black_box(rt.classify_text(&format!("user-{k}"), text, None).unwrap());
                if round > 0 {
                    samples[i].push(start.elapsed());
                }
            }
            // Let the shadow finish its queue before the next block.
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let mut report = serde_json::Map::new();
    for ((name, rt), s) in cases.iter().zip(samples) {
        let mut entry = percentiles(s);
        if let Some(r) = rt.shadow_report().unwrap() {
            entry["shadow_compared"] = r.compared.into();
            entry["shadow_skipped"] = (r.skipped_queue_full + r.skipped_too_large).into();
        }
        report.insert(name.to_string(), entry);
    }
    let out = root().join("target/criterion");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("runtime_latency.json"), serde_json::to_string_pretty(&report).unwrap()).unwrap();
    let p95 = |k: &str| report[k]["p95_us"].as_f64().unwrap();
    eprintln!(
        "production p95: {:.0} us without shadow, {:.0} us with 10% ({:.2}x), {:.0} us with 100% ({:.2}x)",
        p95("no_shadow"),
        p95("shadow_10pct"),
        p95("shadow_10pct") / p95("no_shadow"),
        p95("shadow_100pct"),
        p95("shadow_100pct") / p95("no_shadow")
    );
}

fn main() {
    let texts = texts();
    let model = Model::load(root().join("models/minilm-l3-promptinj"), &ModelOptions::default()).expect("model");
    let shadow = Model::load(root().join("models/minilm-l3-promptinj"), &ModelOptions::default()).expect("model");
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    {
        let mut group = c.benchmark_group("runtime/minilm-32");
        let mut session = Session::new(&model).unwrap();
        let rt = runtime(&model, None);
        let mut i = 0;
        group.bench_function("session", |b| {
            b.iter(|| {
                i = (i + 1) % texts.len();
                black_box(session.classify_text(&texts[i], None).unwrap())
            })
        });
        group.bench_function("runtime", |b| {
            b.iter(|| {
                i = (i + 1) % texts.len();
                black_box(rt.classify_text("user-1", &texts[i], None).unwrap())
            })
        });
        group.finish();
    }
    c.final_summary();
    if std::env::args().any(|a| a == "--bench") {
        latency_report(&model, &shadow, &texts);
    }
}
