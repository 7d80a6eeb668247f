//! Criterion benches of the monitor (BENCHMARKS.md, "Monitor"):
//! - `record`: one `Recorder::record_at` (the request path's whole monitor cost), against a
//!   plain push of the same 64-byte record into a preallocated `Vec` in the same process;
//! - `overhead`: a real request on the smallest model (breast-cancer-logreg) with and without a
//!   monitor attached;
//! - `snapshot`: an analysis of a 1024-record window against a 1024-record baseline, with KS
//!   p-values for latency, confidence, input length and 8 features plus the label chi-square,
//!   against comparison-sorting the same 11 samples (the snapshot radix-sorts them);
//! - `ks_2samp`: the stateless test at 1024 × 1024 and 5000 × 5000.
//!
//! Rings are drained outside the timed region (`iter_custom`).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::Criterion;
use mlops_edge::monitor::{stats, Record, MAX_FEATURES};
use mlops_edge::{Model, ModelOptions, Monitor, MonitorConfig, Session};

const CHUNK: u64 = 16_384;

/// Times `iters` calls of `step` in chunks of at most `CHUNK`, running `between` (draining the
/// monitor's rings) after each chunk outside the timed region.
fn timed_in_chunks(iters: u64, mut step: impl FnMut(), mut between: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        let start = Instant::now();
        for _ in 0..n {
            step();
        }
        total += start.elapsed();
        between();
        left -= n;
    }
    total
}

fn record(i: u64) -> Record {
    let mut r = Record::success(50_000 + (i * 7919) % 20_000, (i % 2) as u32, 0.5 + (i % 50) as f32 / 100.0, 30);
    for (k, f) in r.features.iter_mut().enumerate() {
        *f = ((i * (k as u64 + 3)) % 97) as f32;
    }
    r
}

fn record_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("monitor");
    let monitor = Monitor::new(MonitorConfig { ring_capacity: CHUNK as usize, ..MonitorConfig::default() }).unwrap();
    let mut recorder = monitor.recorder("bench").unwrap();
    let now = Instant::now();
    let r = record(1);
    group.bench_function("record", |b| {
        b.iter_custom(|iters| {
            timed_in_chunks(
                iters,
                || {
                    black_box(recorder.record_at(black_box(r), now));
                },
                || {
                    monitor.drain().unwrap();
                },
            )
        })
    });
    let mut plain: Vec<Record> = Vec::with_capacity(CHUNK as usize);
    group.bench_function("record_baseline_vec_push", |b| {
        b.iter_custom(|iters| {
            let plain = std::cell::RefCell::new(&mut plain);
            timed_in_chunks(
                iters,
                || plain.borrow_mut().push(black_box(r)),
                || {
                    black_box(&plain);
                    plain.borrow_mut().clear();
                },
            )
        })
    });
    group.finish();
}

fn overhead_benches(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/breast-cancer-logreg");
    let model = Model::load(dir, &ModelOptions::default()).unwrap();
    let input: Vec<f32> = (0..30).map(|i| 1.0 + i as f32 * 0.01).collect();
    let monitor = Monitor::new(MonitorConfig {
        ring_capacity: CHUNK as usize,
        label_count: 2,
        feature_indices: vec![0, 1, 2, 3, 4, 5, 6, 7],
        ..MonitorConfig::default()
    })
    .unwrap();
    let mut group = c.benchmark_group("monitor_overhead");
    for attached in [false, true] {
        let mut session = Session::new(&model).unwrap();
        if attached {
            session.attach_monitor(&monitor).unwrap();
        }
        let name = if attached { "breast-cancer-logreg/with_monitor" } else { "breast-cancer-logreg/without_monitor" };
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                timed_in_chunks(
                    iters,
                    || {
                        black_box(session.classify_f32(black_box(&input), None).unwrap());
                    },
                    || {
                        monitor.drain().unwrap();
                    },
                )
            })
        });
    }
    group.finish();
}

fn snapshot_benches(c: &mut Criterion) {
    let monitor = Monitor::new(MonitorConfig {
        window: 1024,
        ring_capacity: 4096,
        label_count: 2,
        feature_indices: (0..MAX_FEATURES as u32).collect(),
        ..MonitorConfig::default()
    })
    .unwrap();
    let mut recorder = monitor.recorder("bench").unwrap();
    let now = Instant::now();
    for i in 0..1024 {
        recorder.record_at(record(i), now);
    }
    monitor.freeze_baseline().unwrap();
    for i in 0..1024 {
        let mut r = record(i * 3 + 1);
        r.latency_ns += 5_000;
        recorder.record_at(r, now);
    }
    let s = monitor.snapshot().unwrap();
    assert!(s.drift.latency.tested && s.drift.features[7].tested && s.drift.labels.tested);
    let mut group = c.benchmark_group("monitor");
    group.bench_function("snapshot_1024_vs_1024", |b| b.iter(|| black_box(monitor.snapshot().unwrap())));
    // Baseline: comparison-sorting the 11 samples the snapshot sorts (it radix-sorts them).
    let samples: Vec<Vec<f64>> =
        (0..11).map(|k| (0..1024).map(|i| ((i * 7919 + k * 131) % 10_007) as f64).collect()).collect();
    group.bench_function("snapshot_baseline_sort_11x1024", |b| {
        b.iter(|| {
            for s in &samples {
                let mut v = s.clone();
                v.sort_unstable_by(f64::total_cmp);
                black_box(&v);
            }
        })
    });
    for n in [1024usize, 5000] {
        let a: Vec<f64> = (0..n).map(|i| ((i * 7919) % 10_007) as f64).collect();
        let b: Vec<f64> = (0..n).map(|i| ((i * 104_729) % 10_009) as f64 + 50.0).collect();
        group.bench_function(format!("ks_2samp_{n}x{n}"), |bench| {
            bench.iter(|| black_box(stats::ks_2samp(black_box(&a), black_box(&b)).unwrap()))
        });
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    record_benches(&mut c);
    overhead_benches(&mut c);
    snapshot_benches(&mut c);
    c.final_summary();
}
