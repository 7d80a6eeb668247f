//! Telemetry's cost: a request through the runtime on the tabular model (µs requests, where any
//! overhead shows most) without telemetry, with telemetry sampling every request, and at 10%;
//! recording alone; and a flush (numbering, JSON Lines serialization, the host callback) per
//! record. `benches/run.sh` runs it.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput};
use mlops_edge::alloc::PoolRouter;
use mlops_edge::export::prometheus::{self, TextFormat};
use mlops_edge::runtime::{Event, EventKind};
use mlops_edge::telemetry::{Batch, Telemetry, TelemetryOptions, Verdict};
use mlops_edge::{Level, Model, ModelOptions, Runtime, RuntimeOptions};

#[global_allocator]
static ALLOCATOR: PoolRouter = PoolRouter::system();

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rows() -> Vec<Vec<f32>> {
    let text = std::fs::read_to_string(root().join("models/breast-cancer-logreg/heldout.csv")).expect("rows");
    text.lines().skip(1).map(|l| l.split(',').take(30).map(|v| v.parse().unwrap_or(0.0)).collect()).collect()
}

fn telemetry(rate: f64) -> Telemetry {
    let options = TelemetryOptions { request_sample_rate: rate, ..TelemetryOptions::default() };
    Telemetry::new(options, Box::new(|_: &Batch<'_>| Verdict::Ok), None).expect("telemetry")
}

fn runtime(model: &Model, telemetry: Option<Telemetry>) -> Runtime {
    let options =
        RuntimeOptions { max_concurrency: 1, supervisor_thread: false, telemetry, ..RuntimeOptions::default() };
    Runtime::new(model, options).expect("runtime")
}

fn main() {
    let model = Model::load(root().join("models/breast-cancer-logreg"), &ModelOptions::default()).expect("model");
    let rows = rows();
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    {
        // The queue stays full here (nothing flushes): every record pushes the oldest out, the
        // dearer path of the two.
        let mut group = c.benchmark_group("telemetry/breast-cancer");
        for (name, telemetry) in [
            ("runtime", None),
            ("runtime+telemetry_100pct", Some(telemetry(1.0))),
            ("runtime+telemetry_10pct", Some(telemetry(0.1))),
        ] {
            let rt = runtime(&model, telemetry);
            let mut i = 0;
            group.bench_function(name, |b| {
                b.iter(|| {
                    i = (i + 1) % rows.len();
                    black_box(rt.classify_f32("user-1", &rows[i], None).unwrap())
                })
            });
        }
        group.finish();
    }
    {
        let mut group = c.benchmark_group("telemetry/record");
        let t = telemetry(1.0);
        let event = Event {
            kind: EventKind::RolloutAdvanced,
            variant: 0,
            from_version: "1.0".into(),
            to_version: "2.0".into(),
            stage_percent: 25,
            level: Level::Ok,
            message: "stage 1 passed with 50 requests, alerts ok".into(),
        };
        group.bench_function("event", |b| b.iter(|| t.record_event(black_box(&event))));
        group.finish();
    }
    {
        let mut group = c.benchmark_group("telemetry/flush");
        group.throughput(Throughput::Elements(500));
        let rt_telemetry = telemetry(1.0);
        let rt = runtime(&model, Some(rt_telemetry.clone()));
        group.bench_function("500_records", |b| {
            b.iter_batched(
                || {
                    for (i, row) in rows.iter().cycle().take(500).enumerate() {
                        rt.classify_f32(&format!("user-{i}"), row, None).unwrap();
                    }
                },
                |()| black_box(rt_telemetry.flush().unwrap()),
                BatchSize::PerIteration,
            )
        });
        let metrics = mlops_edge::export::Metrics::from_runtime(&rt).unwrap();
        group.throughput(Throughput::Elements(1));
        group.bench_function("prometheus_render", |b| {
            b.iter(|| black_box(prometheus::render(&metrics, TextFormat::Prometheus)))
        });
        group.finish();
    }
    c.final_summary();
}
