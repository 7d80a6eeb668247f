//! The soak (issue 19; not a CI test: `scripts/soak.sh`, figures in BENCHMARKS.md): 8 threads
//! classify through a runtime with its monitor and telemetry whose upload answers RETRY half the
//! time, while a control thread takes snapshots, renders every export format, hot-swaps the model
//! and runs a rollout, over and over. At the end: every count exact (requests, errors; records
//! sent + dropped + pending = recorded) and the peak resident set after warm-up flat. Warm-up
//! ends once thread 0 made a tenth of its requests and 20 deployment changes happened
//! (`MLE_SOAK_WARM_DEPLOYS`); the JSON lists every later rise of the peak with the step of the
//! control cycle it came with.
//!
//! Usage: soak [requests, default 10,000,000] [threads, default 8]. Prints one JSON line.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mlops_edge::alloc::PoolRouter;
use mlops_edge::deploy::rollout::RolloutConfig;
use mlops_edge::export::prometheus::{self, TextFormat};
use mlops_edge::export::{otlp, Metrics};
use mlops_edge::runtime::Target;
use mlops_edge::{Model, ModelOptions, Runtime, RuntimeOptions, Telemetry, TelemetryOptions, Verdict};

#[global_allocator]
static ALLOCATOR: PoolRouter = PoolRouter::system();

/// Resident set now and its peak so far (VmRSS, VmHWM), KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Bytes the C allocator has handed out and not had back (glibc's mallinfo2), KiB: separates a
/// leak (this grows) from fragmentation (the resident set grows, this does not).
fn heap_in_use_kib() -> u64 {
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    let info = unsafe { libc::mallinfo2() };
    (info.uordblks / 1024) as u64
}

/// What the control thread watches of the resident set: the largest VmRSS sampled at the start and
/// the end of each cycle, during warm-up and after it (VmHWM alone can miss or lag a transient
/// peak: the kernel folds the current resident set into it only at some points), and after
/// warm-up each rise of VmHWM with the step of the cycle it came with.
#[derive(Default)]
struct PeakWatch {
    warm: bool,
    sampled_warm: u64,
    sampled_after: u64,
    hwm_last: u64,
    rises: Vec<serde_json::Value>,
}

impl PeakWatch {
    /// Samples the resident set after `step` of control cycle `cycle`.
    fn observe(&mut self, cycle: u64, step: &str, runtime: &Runtime) {
        let (rss, hwm) = memory_kib();
        if self.warm {
            self.sampled_after = self.sampled_after.max(rss);
            if hwm > self.hwm_last {
                let rollout = runtime.health().rollout.is_some();
                self.rises.push(serde_json::json!([cycle, step, rollout, hwm - self.hwm_last]));
            }
        } else {
            self.sampled_warm = self.sampled_warm.max(rss);
        }
        self.hwm_last = hwm;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let total: u64 = args.first().map(|a| a.replace('_', "").parse().unwrap()).unwrap_or(10_000_000);
    let threads: usize = args.get(1).map(|a| a.parse().unwrap()).unwrap_or(8);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("models/breast-cancer-logreg");
    let model_dir = dir.clone();
    let load = move || Model::load(&model_dir, &ModelOptions::default()).unwrap();
    if let Some(n) = std::env::var("MLE_SOAK_LOADS").ok().and_then(|v| v.parse::<usize>().ok()) {
        // Diagnostic: load and drop the model n times, and a session on it.
        let mut heap = Vec::new();
        for i in 0..n {
            let m = load();
            let s = mlops_edge::Session::new(&m).unwrap();
            drop(s);
            drop(m);
            if i % (n / 10).max(1) == 0 {
                heap.push(heap_in_use_kib());
            }
        }
        println!("loads {n}: heap in use {heap:?} KiB, rss {:?}", memory_kib());
        let opts = RuntimeOptions { supervisor_thread: false, max_concurrency: 8, ..RuntimeOptions::default() };
        let rt = Runtime::new(&load(), opts).unwrap();
        let mut heap = Vec::new();
        for i in 0..n {
            rt.swap(0, &load(), None).unwrap();
            if i % (n / 10).max(1) == 0 {
                heap.push(heap_in_use_kib());
            }
        }
        println!("swaps {n}: heap in use {heap:?} KiB, rss {:?}", memory_kib());
        let mut heap = Vec::new();
        for i in 0..n {
            rt.start_rollout(0, &load(), RolloutConfig::default(), None).unwrap();
            rt.promote().unwrap();
            if i % (n / 10).max(1) == 0 {
                heap.push(heap_in_use_kib());
            }
        }
        println!("rollouts {n}: heap in use {heap:?} KiB, rss {:?}", memory_kib());
        return;
    }
    let rows: Vec<Vec<f32>> = csv::Reader::from_path(dir.join("heldout.csv"))
        .unwrap()
        .records()
        .map(|r| r.unwrap().iter().take(30).map(|v| v.parse().unwrap()).collect())
        .collect();

    let spool = std::env::temp_dir().join(format!("mle-soak-{}.spool", std::process::id()));
    let _ = std::fs::remove_file(&spool);
    let answers = Arc::new(AtomicU64::new(0));
    let answered = Arc::clone(&answers);
    let telemetry = Telemetry::new(
        TelemetryOptions {
            spool_path: Some(spool.clone()),
            request_sample_rate: 0.01,
            retry_initial: Duration::from_millis(1),
            retry_max: Duration::from_millis(4),
            device_id: "soak".into(),
            ..TelemetryOptions::default()
        },
        // RETRY 50%: the same batch comes back after a backoff.
        Box::new(move |_| if answered.fetch_add(1, Ordering::Relaxed) % 2 == 0 { Verdict::Retry } else { Verdict::Ok }),
        None,
    )
    .unwrap();
    let mut options = RuntimeOptions {
        max_concurrency: threads,
        telemetry: Some(telemetry.clone()),
        evaluation_interval: Duration::from_millis(50),
        // Diagnostic: MLE_SOAK_KEEP_FREED=1 turns off giving retired models' memory back.
        release_memory: std::env::var_os("MLE_SOAK_KEEP_FREED").is_none(),
        ..RuntimeOptions::default()
    };
    // Latency alerts would roll the rollout back at random on a shared host; errors still count.
    options.monitor.thresholds.latency_p95_warning = 1000.0;
    options.monitor.thresholds.latency_p95_critical = 2000.0;
    let runtime = Arc::new(Runtime::new(&load(), options).unwrap());

    // The control cycle (20 ms) at which a swap, and at which a rollout, happens in each period of
    // `every` cycles (the diagnostics of scripts/soak.sh turn either or both off).
    let every: u64 = std::env::var("MLE_SOAK_DEPLOY_EVERY").ok().and_then(|v| v.parse().ok()).unwrap_or(20).max(2);
    let deploys = std::env::var_os("MLE_SOAK_NO_DEPLOYS").is_none();
    let only = std::env::var("MLE_SOAK_ONLY").ok();
    let swap_at = (deploys && only.as_deref() != Some("rollout")).then_some(0);
    let rollout_at = (deploys && only.as_deref() != Some("swap")).then_some(every / 2);

    let served = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let warm_rss = Arc::new(Mutex::new(None::<(u64, u64)>));
    // The resident set at each tenth of thread 0's requests.
    let series = Arc::new(Mutex::new(Vec::<u64>::new()));
    // The peak resident set at each tenth.
    let peak_series = Arc::new(Mutex::new(Vec::<u64>::new()));
    // Set when thread 0 has made a tenth of its requests.
    let tenth_done = Arc::new(AtomicBool::new(false));
    let heap_series = Arc::new(Mutex::new(Vec::<u64>::new()));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (runtime, served, failed, rows) =
                (Arc::clone(&runtime), Arc::clone(&served), Arc::clone(&failed), rows.clone());
            let (series, peak_series, heap_series, tenth_done) =
                (Arc::clone(&series), Arc::clone(&peak_series), Arc::clone(&heap_series), Arc::clone(&tenth_done));
            std::thread::spawn(move || {
                let per_thread = total / threads as u64 + u64::from((t as u64) < total % threads as u64);
                let mut probabilities = [0f32; 2];
                for i in 0..per_thread {
                    let user = format!("user-{}", (i * 7919 + t as u64) % 100_000);
                    match runtime.classify_f32(&user, &rows[(i as usize + t) % rows.len()], Some(&mut probabilities)) {
                        Ok(_) => served.fetch_add(1, Ordering::Relaxed),
                        Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                    };
                    if t == 0 && i % (per_thread / 10).max(1) == 0 {
                        let (rss, peak) = memory_kib();
                        series.lock().unwrap().push(rss);
                        peak_series.lock().unwrap().push(peak);
                        heap_series.lock().unwrap().push(heap_in_use_kib());
                        if i == per_thread / 10 {
                            tenth_done.store(true, Ordering::Release);
                        }
                    }
                }
            })
        })
        .collect();

    // The control thread: snapshots, exports, swaps, rollouts, flushes, while requests run.
    let control = {
        let (runtime, telemetry, done) = (Arc::clone(&runtime), telemetry.clone(), Arc::clone(&done));
        let (warm_rss, tenth_done) = (Arc::clone(&warm_rss), Arc::clone(&tenth_done));
        // Warm-up ends once thread 0 made a tenth of its requests and this many deployment
        // changes (swaps and rollouts started) have happened: the C allocator's arenas settle over
        // model generations, not over requests (BENCHMARKS.md, the soak).
        let warm_deploys: u64 = if deploys {
            std::env::var("MLE_SOAK_WARM_DEPLOYS").ok().and_then(|v| v.parse().ok()).unwrap_or(20)
        } else {
            0
        };
        std::thread::spawn(move || {
            let mut cycles = 0u64;
            let (mut swaps, mut rollouts, mut exports_bytes) = (0u64, 0u64, 0usize);
            let mut watch = PeakWatch::default();
            let mut warm_at = None;
            while !done.load(Ordering::Relaxed) {
                if warm_at.is_none() && tenth_done.load(Ordering::Acquire) && swaps + rollouts >= warm_deploys {
                    *warm_rss.lock().unwrap() = Some(memory_kib());
                    warm_at = Some((cycles, swaps + rollouts));
                    watch.warm = true;
                }
                watch.observe(cycles, "between cycles", &runtime);
                let mut action = "exports";
                let _ = runtime.snapshot(Target::Variant(0));
                if let Ok(metrics) = Metrics::from_runtime(&runtime) {
                    exports_bytes += prometheus::render(&metrics, TextFormat::Prometheus).len();
                    exports_bytes += prometheus::render(&metrics, TextFormat::OpenMetrics).len();
                    exports_bytes += otlp::render(&metrics, &[("service.name", "soak")]).len();
                }
                let phase = Some(cycles % every);
                if phase == swap_at {
                    action = "swap";
                    swaps += u64::from(runtime.swap(0, &load(), None).is_ok());
                } else if phase == rollout_at {
                    action = "rollout";
                    let config = RolloutConfig { requests_per_stage: 20_000, ..RolloutConfig::default() };
                    rollouts += u64::from(runtime.start_rollout(0, &load(), config, None).is_ok());
                }
                let _ = telemetry.flush();
                watch.observe(cycles, action, &runtime);
                cycles += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            (cycles, swaps, rollouts, exports_bytes, watch, warm_at)
        })
    };
    for w in workers {
        w.join().unwrap();
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let (cycles, swaps, rollouts, exports_bytes, watch, warm_at) = control.join().unwrap();
    let PeakWatch { sampled_warm, sampled_after, rises, .. } = watch;
    let sampled_growth = (sampled_after as f64 - sampled_warm as f64) / sampled_warm.max(1) as f64;
    let (rss_end, hwm_end) = memory_kib();
    let (rss_warm, hwm_warm) = warm_rss
        .lock()
        .unwrap()
        .expect("the run ended before warm-up did: more requests, or a lower MLE_SOAK_WARM_DEPLOYS");

    // Deliver what is left (the host's upload keeps answering RETRY every other time).
    runtime.evaluate().unwrap();
    let mut now = Instant::now();
    for _ in 0..1_000_000 {
        let report = telemetry.flush_at(now).unwrap();
        if report.pending == 0 && report.retry_after.is_none() {
            break;
        }
        now += report.retry_after.unwrap_or(Duration::from_millis(1));
    }
    let health = runtime.health();
    let stats = telemetry.stats();
    let (ok, err) = (served.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    let requests_exact = health.counters.requests == ok + err && ok + err == total;
    let errors_exact = health.counters.errors == err;
    let records_exact = stats.recorded == stats.sent + stats.dropped_queue_full + stats.dropped_by_host + stats.pending;
    let hwm_growth = (hwm_end as f64 - hwm_warm as f64) / hwm_warm as f64;
    println!(
        "{}",
        serde_json::json!({
            "requests": total, "threads": threads, "seconds": elapsed.as_secs_f64(),
            "requests_per_second": total as f64 / elapsed.as_secs_f64(),
            "served": ok, "errors": err,
            "runtime_requests": health.counters.requests, "runtime_errors": health.counters.errors,
            "swaps": swaps, "rollouts_started": rollouts, "rollouts_completed": health.counters.rollouts_completed,
            "rollbacks": health.counters.rollbacks, "control_cycles": cycles, "export_bytes": exports_bytes,
            "memory_releases": health.counters.memory_releases,
            "warm_up_ended": {"control_cycle": warm_at.map(|w| w.0), "deployment_changes": warm_at.map(|w| w.1)},
            "peak_rises_after_warmup": {"cycle, action, rollout running, KiB": rises},
            "telemetry": {"recorded": stats.recorded, "sent": stats.sent, "dropped_queue_full": stats.dropped_queue_full,
                          "dropped_by_host": stats.dropped_by_host, "pending": stats.pending,
                          "batches_sent": stats.batches_sent, "batches_retried": stats.batches_retried,
                          "spool_errors": stats.spool_errors},
            "rss_kib": {"after_warmup": rss_warm, "end": rss_end, "peak_after_warmup": hwm_warm, "peak_end": hwm_end,
                        "peak_growth": hwm_growth, "series": *series.lock().unwrap(),
                        "peak_series": *peak_series.lock().unwrap(),
                        "sampled_peak_during_warmup": sampled_warm, "sampled_peak_after_warmup": sampled_after,
                        "sampled_peak_growth": sampled_growth,
                        "heap_in_use_series": *heap_series.lock().unwrap()},
            "exact": {"requests": requests_exact, "errors": errors_exact, "records": records_exact},
        })
    );
    let _ = std::fs::remove_file(&spool);
    let _ = std::fs::remove_file(spool.with_extension("spool.lock"));
    assert!(requests_exact && errors_exact && records_exact, "a count is off");
    assert!(hwm_growth <= 0.01, "peak RSS (VmHWM) grew {:.2}% after warm-up", hwm_growth * 100.0);
    assert!(
        sampled_growth <= 0.01,
        "the largest sampled resident set grew {:.2}% after warm-up",
        sampled_growth * 100.0
    );
}
