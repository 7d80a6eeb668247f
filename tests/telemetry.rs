//! Telemetry on its own: delivery through an upload callback that fails at random or for a long
//! stretch (every record delivered exactly once under OK or counted as dropped, totals exact),
//! the batch format, backoff, the ready signal, and the spool (recovery after a kill, a torn
//! tail, a corrupt entry).

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{telemetry_event, Rng};
use mlops_edge::telemetry::{Batch, Telemetry, TelemetryOptions, TelemetryStats, Verdict};
use mlops_edge::Status;
use serde_json::Value;

/// What the fake backend saw.
#[derive(Default)]
struct Backend {
    /// Sequence numbers delivered under OK, in order.
    delivered: Vec<u64>,
    /// Sequence numbers of batches answered DROP.
    dropped: Vec<u64>,
    /// Payload of each batch id when first offered (a retry must offer the same records).
    offered: HashMap<u64, (u64, u64, usize)>,
    /// Producer-assigned ids of delivered records (in the event message).
    delivered_ids: Vec<String>,
    answers: u64,
}

fn parse(batch: &Batch<'_>) -> (Value, Vec<Value>) {
    let text = std::str::from_utf8(batch.data).expect("batches are UTF-8");
    assert!(text.ends_with('\n'));
    let mut lines = text.lines().map(|l| serde_json::from_str::<Value>(l).expect("each line is JSON"));
    let header = lines.next().expect("a header line");
    (header, lines.collect())
}

/// A callback answering with `decide`, checking every batch and recording what it delivered.
fn backend(
    backend: Arc<Mutex<Backend>>,
    mut decide: impl FnMut(&Batch<'_>) -> Verdict + Send + 'static,
) -> Box<dyn FnMut(&Batch<'_>) -> Verdict + Send> {
    Box::new(move |batch| {
        let (header, records) = parse(batch);
        assert_eq!(header["schema"], "mlops_edge.telemetry");
        assert_eq!(header["schema_version"], 1);
        assert_eq!(header["batch_id"].as_u64(), Some(batch.id));
        assert_eq!(header["records"].as_u64(), Some(batch.records as u64));
        assert_eq!(records.len(), batch.records);
        let seqs: Vec<u64> = records.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
        // Consecutive, except where a damaged spool lost records (the recovery tests count those).
        assert!(seqs.windows(2).all(|w| w[1] > w[0]), "a batch's sequence numbers increase");
        assert_eq!((seqs[0], *seqs.last().unwrap()), (batch.first_seq, batch.last_seq));
        let mut b = backend.lock().unwrap();
        let shape = (batch.first_seq, batch.last_seq, batch.records);
        if let Some(first) = b.offered.insert(batch.id, shape) {
            // (`attempt` counts offers in this process: a batch recovered from the spool starts at 1.)
            assert_eq!(first, shape, "batch {} offered again with other records", batch.id);
        } else {
            assert_eq!(batch.attempt, 1);
        }
        let verdict = decide(batch);
        b.answers += 1;
        match verdict {
            Verdict::Ok => {
                b.delivered.extend(&seqs);
                for r in &records {
                    if r["type"] == "event" {
                        b.delivered_ids.push(r["message"].as_str().unwrap().to_string());
                    }
                }
            }
            Verdict::Drop => b.dropped.extend(&seqs),
            Verdict::Retry => {}
        }
        verdict
    })
}

fn assert_exact(stats: &TelemetryStats) {
    assert_eq!(
        stats.recorded,
        stats.sent + stats.dropped_queue_full + stats.dropped_by_host + stats.pending,
        "accounting: {stats:?}"
    );
}

/// Flushes with a clock that jumps past every backoff until nothing is pending.
fn drain(telemetry: &Telemetry, mut now: Instant) -> Instant {
    for _ in 0..100_000 {
        let report = telemetry.flush_at(now).unwrap();
        if report.pending == 0 && report.retry_after.is_none() {
            return now;
        }
        now += report.retry_after.unwrap_or(Duration::from_millis(1));
    }
    panic!("telemetry never drained: {:?}", telemetry.stats());
}

#[test]
fn random_failures_deliver_every_record_once_or_count_it() {
    let seen = Arc::new(Mutex::new(Backend::default()));
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let upload = backend(Arc::clone(&seen), move |_| {
        if rng.chance(0.5) {
            Verdict::Retry
        } else if rng.chance(0.15) {
            Verdict::Drop
        } else {
            Verdict::Ok
        }
    });
    let options = TelemetryOptions {
        queue_capacity: 1024,
        batch_max_records: 20,
        retry_initial: Duration::from_millis(2),
        retry_max: Duration::from_millis(50),
        ..TelemetryOptions::default()
    };
    let telemetry = Telemetry::new(options, upload, None).unwrap();
    const THREADS: u64 = 4;
    const PER_THREAD: u64 = 5_000;
    let start = Instant::now();
    let clock = Arc::new(AtomicU64::new(0));
    let producing = AtomicU64::new(THREADS);
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let telemetry = telemetry.clone();
            let producing = &producing;
            scope.spawn(move || {
                for i in 0..PER_THREAD {
                    telemetry.record_event(&telemetry_event(t * PER_THREAD + i));
                    // Bursts with pauses: the queue overflows in some bursts, not in all.
                    if i % 50 == 49 {
                        std::thread::sleep(Duration::from_micros(if t == 0 && i % 1000 == 999 { 2000 } else { 200 }));
                    }
                }
                producing.fetch_sub(1, Ordering::Relaxed);
            });
        }
        // Two flushers running while the producers push (the clock moves 5 ms per flush); one
        // of them meets the other's flush now and then and gets Busy.
        for _ in 0..2 {
            let telemetry = telemetry.clone();
            let clock = Arc::clone(&clock);
            let producing = &producing;
            scope.spawn(move || {
                while producing.load(Ordering::Relaxed) > 0 {
                    let ms = clock.fetch_add(5, Ordering::Relaxed);
                    match telemetry.flush_at(start + Duration::from_millis(ms)) {
                        Ok(_) => {}
                        Err(e) => assert_eq!(e.status(), Status::Busy),
                    }
                    std::thread::sleep(Duration::from_micros(100));
                }
            });
        }
    });
    drain(&telemetry, start + Duration::from_millis(clock.load(Ordering::Relaxed)));
    let stats = telemetry.stats();
    let seen = seen.lock().unwrap();
    assert_exact(&stats);
    assert_eq!(stats.recorded, THREADS * PER_THREAD);
    assert_eq!(stats.pending, 0);
    assert_eq!(stats.sent, seen.delivered.len() as u64);
    assert_eq!(stats.dropped_by_host, seen.dropped.len() as u64);
    let delivered: HashSet<u64> = seen.delivered.iter().copied().collect();
    assert_eq!(delivered.len(), seen.delivered.len(), "a record was delivered twice under OK");
    assert!(seen.dropped.iter().all(|s| !delivered.contains(s)), "a record was both delivered and dropped");
    let ids: HashSet<&String> = seen.delivered_ids.iter().collect();
    assert_eq!(ids.len(), seen.delivered_ids.len(), "a producer's record arrived twice");
    assert_eq!(stats.sent + stats.dropped_by_host + stats.dropped_queue_full, THREADS * PER_THREAD);
    assert!(stats.batches_retried > 0 && stats.batches_dropped > 0 && stats.batches_sent > 0, "{stats:?}");
    assert_eq!(seen.answers, stats.batches_sent + stats.batches_retried + stats.batches_dropped);
}

#[test]
fn a_full_queue_drops_the_oldest_records_and_counts_them() {
    let seen = Arc::new(Mutex::new(Backend::default()));
    let options = TelemetryOptions { queue_capacity: 16, ..TelemetryOptions::default() };
    let telemetry = Telemetry::new(options, backend(Arc::clone(&seen), |_| Verdict::Ok), None).unwrap();
    for i in 0..100 {
        telemetry.record_event(&telemetry_event(i));
    }
    let stats = telemetry.stats();
    assert_exact(&stats);
    assert_eq!((stats.dropped_queue_full, stats.pending), (84, 16));
    telemetry.flush().unwrap();
    let expected: Vec<String> = (84..100).map(|i| format!("record {i}")).collect();
    assert_eq!(seen.lock().unwrap().delivered_ids, expected, "the newest records survive");
    // The buffer behind the queue is bounded too: records taken from the queue while a batch is
    // stuck in RETRY push the buffer's oldest out, counted the same way.
    let stuck = Telemetry::new(
        TelemetryOptions { queue_capacity: 16, batch_max_records: 4, ..TelemetryOptions::default() },
        Box::new(|_: &Batch<'_>| Verdict::Retry),
        None,
    )
    .unwrap();
    for round in 0..10 {
        for i in 0..10 {
            stuck.record_event(&telemetry_event(round * 10 + i));
        }
        stuck.persist().unwrap();
        let _ = stuck.flush().unwrap();
    }
    let stats = stuck.stats();
    assert_exact(&stats);
    assert_eq!(stats.pending, 4 + 16, "the batch being retried and a full buffer");
    assert_eq!(stats.dropped_queue_full, 100 - 20);
}

#[test]
fn a_long_outage_loses_nothing_and_backs_off_exponentially() {
    let seen = Arc::new(Mutex::new(Backend::default()));
    let outage = Arc::new(AtomicU64::new(30));
    let remaining = Arc::clone(&outage);
    let upload = backend(Arc::clone(&seen), move |_| {
        if remaining.load(Ordering::Relaxed) > 0 {
            remaining.fetch_sub(1, Ordering::Relaxed);
            Verdict::Retry
        } else {
            Verdict::Ok
        }
    });
    let options = TelemetryOptions {
        queue_capacity: 2048,
        batch_max_records: 100,
        retry_initial: Duration::from_secs(1),
        retry_max: Duration::from_secs(60),
        ..TelemetryOptions::default()
    };
    let telemetry = Telemetry::new(options, upload, None).unwrap();
    for i in 0..1_000 {
        telemetry.record_event(&telemetry_event(i));
    }
    let mut now = Instant::now();
    let mut waits = Vec::new();
    while outage.load(Ordering::Relaxed) > 0 {
        let report = telemetry.flush_at(now).unwrap();
        assert!(report.retried);
        let wait = report.retry_after.unwrap();
        waits.push(wait);
        // Flushing before the wait is over offers nothing.
        let early = telemetry.flush_at(now + wait / 2).unwrap();
        assert!(!early.retried && early.retry_after.is_some());
        now += wait;
    }
    // Backoff: the n-th wait lies in [d/2, d) with d = min(1 s · 2^(n−1), 60 s).
    for (n, wait) in waits.iter().enumerate() {
        let d = (2f64.powi(n as i32)).min(60.0);
        let w = wait.as_secs_f64();
        assert!(w >= d / 2.0 - 1e-9 && w < d, "wait {n}: {w} s for a delay of {d} s");
    }
    drain(&telemetry, now);
    let stats = telemetry.stats();
    assert_exact(&stats);
    assert_eq!((stats.sent, stats.dropped_queue_full, stats.dropped_by_host), (1_000, 0, 0));
    assert_eq!(stats.retried, 30 * 100, "the first batch was retried 30 times");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.delivered, (1..=1_000).collect::<Vec<u64>>());
}

#[test]
fn batches_are_cut_by_bytes_and_follow_the_schema() {
    let lines = Arc::new(Mutex::new(Vec::<(usize, Value, Vec<Value>)>::new()));
    let sink = Arc::clone(&lines);
    let upload = Box::new(move |batch: &Batch<'_>| {
        let (header, records) = parse(batch);
        sink.lock().unwrap().push((batch.data.len(), header, records));
        Verdict::Ok
    });
    let options = TelemetryOptions {
        batch_max_bytes: 2048,
        device_id: "device-\"7\"".into(),
        request_sample_rate: 0.5,
        ..TelemetryOptions::default()
    };
    let telemetry = Telemetry::new(options, upload, None).unwrap();
    let prediction = mlops_edge::Prediction {
        label_index: 1,
        label: Arc::from("malignant"),
        score: 0.875,
        latency: Duration::from_micros(1234),
        flags: 0,
        input_length: 30,
    };
    for i in 0..100 {
        telemetry.record_request("1.0-\u{e9}", 1, i % 3 == 0, Ok(&prediction));
    }
    telemetry.record_request("1.0", 0, false, Err(Status::InputShape));
    telemetry.record_event(&telemetry_event(7));
    telemetry.flush().unwrap();
    let stats = telemetry.stats();
    assert_eq!((stats.recorded, stats.sampled_out), (52, 50), "half the successes, every error and event");
    let lines = lines.lock().unwrap();
    assert!(lines.len() > 1);
    let mut requests = 0;
    for (len, header, records) in lines.iter() {
        assert!(*len <= 2048, "a batch of {len} bytes");
        assert_eq!(header["device_id"], "device-\"7\"");
        assert_eq!(header["library_version"], mlops_edge::VERSION);
        assert!(header["created_unix_ms"].as_u64().unwrap() > 1_700_000_000_000);
        for r in records {
            assert!(r["time_unix_ms"].as_u64().unwrap() > 1_700_000_000_000);
            match r["type"].as_str().unwrap() {
                "request" if r["status"] == "ok" => {
                    requests += 1;
                    assert_eq!(r["model_version"], "1.0-\u{e9}");
                    assert_eq!((r["variant"].as_u64(), r["status_code"].as_u64()), (Some(1), Some(0)));
                    assert_eq!((r["label"].as_u64(), r["confidence"].as_f64()), (Some(1), Some(0.875)));
                    assert_eq!((r["latency_ns"].as_u64(), r["input_length"].as_u64()), (Some(1_234_000), Some(30)));
                    assert!(r["candidate"].is_boolean());
                }
                "request" => {
                    assert_eq!((r["status"].as_str(), r["status_code"].as_u64()), (Some("input_shape"), Some(10)));
                    assert!(r["label"].is_null() && r["confidence"].is_null());
                }
                "event" => {
                    assert_eq!(r["event"], "rollout_advanced");
                    assert_eq!((r["from_version"].as_str(), r["to_version"].as_str()), (Some("1.0"), Some("2.0")));
                    assert_eq!((r["stage_percent"].as_u64(), r["level"].as_str()), (Some(25), Some("warning")));
                    assert_eq!(r["message"], "record 7");
                }
                other => panic!("unknown record type {other}"),
            }
        }
    }
    assert_eq!(requests, 50);
}

#[test]
fn the_ready_signal_fires_once_per_batch_worth_until_a_flush() {
    let signals = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&signals);
    let options = TelemetryOptions { batch_max_records: 10, ..TelemetryOptions::default() };
    let telemetry = Telemetry::new(
        options,
        Box::new(|_: &Batch<'_>| Verdict::Ok),
        Some(Box::new(move |waiting| {
            assert!(waiting >= 10);
            counted.fetch_add(1, Ordering::Relaxed);
        })),
    )
    .unwrap();
    for i in 0..9 {
        telemetry.record_event(&telemetry_event(i));
    }
    assert_eq!(signals.load(Ordering::Relaxed), 0);
    for i in 0..30 {
        telemetry.record_event(&telemetry_event(i));
    }
    assert_eq!(signals.load(Ordering::Relaxed), 1, "signalled once until the next flush");
    telemetry.flush().unwrap();
    for i in 0..10 {
        telemetry.record_event(&telemetry_event(i));
    }
    assert_eq!(signals.load(Ordering::Relaxed), 2);
}

#[test]
fn a_flush_from_the_upload_callback_is_refused_not_deadlocked() {
    let slot: Arc<Mutex<Option<Telemetry>>> = Arc::new(Mutex::new(None));
    let inner = Arc::clone(&slot);
    let nested = Arc::new(Mutex::new(None));
    let nested_result = Arc::clone(&nested);
    let telemetry = Telemetry::new(
        TelemetryOptions::default(),
        Box::new(move |_: &Batch<'_>| {
            let t = inner.lock().unwrap().clone().unwrap();
            *nested_result.lock().unwrap() = Some(t.flush().unwrap_err().status());
            Verdict::Ok
        }),
        None,
    )
    .unwrap();
    *slot.lock().unwrap() = Some(telemetry.clone());
    telemetry.record_event(&telemetry_event(1));
    telemetry.flush().unwrap();
    assert_eq!(*nested.lock().unwrap(), Some(Status::Busy));
    assert_eq!(telemetry.stats().sent, 1);
    slot.lock().unwrap().take();
}

#[test]
fn bad_options_are_refused() {
    let ok = || Box::new(|_: &Batch<'_>| Verdict::Ok) as mlops_edge::telemetry::UploadCallback;
    for options in [
        TelemetryOptions { queue_capacity: 8, ..Default::default() },
        TelemetryOptions { request_sample_rate: 1.5, ..Default::default() },
        TelemetryOptions { request_sample_rate: f64::NAN, ..Default::default() },
        TelemetryOptions { batch_max_records: 0, ..Default::default() },
        TelemetryOptions { batch_max_bytes: 100, ..Default::default() },
        TelemetryOptions { retry_initial: Duration::ZERO, ..Default::default() },
        TelemetryOptions { retry_max: Duration::from_millis(10), ..Default::default() },
        TelemetryOptions { spool_max_bytes: 10, ..Default::default() },
        TelemetryOptions { device_id: "x".repeat(65), ..Default::default() },
    ] {
        let error = Telemetry::new(options.clone(), ok(), None).unwrap_err();
        assert_eq!(error.status(), Status::InvalidArgument, "{options:?}: {}", error.message());
    }
}

// ---- spool ----

fn spool_options(path: &std::path::Path) -> TelemetryOptions {
    TelemetryOptions {
        spool_path: Some(path.to_path_buf()),
        batch_max_records: 50,
        retry_initial: Duration::from_millis(1),
        ..TelemetryOptions::default()
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mle-telemetry-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_spool_survives_a_kill_and_offers_the_interrupted_batch_again() {
    let dir = temp_dir("kill");
    let path = dir.join("telemetry.spool");
    let seen = Arc::new(Mutex::new(Backend::default()));
    let first_offer = Arc::new(Mutex::new(None));
    {
        let remember = Arc::clone(&first_offer);
        let upload = backend(Arc::clone(&seen), move |batch| {
            // The first batch goes through; the second is interrupted by the "kill".
            if batch.id == 1 {
                Verdict::Ok
            } else {
                *remember.lock().unwrap() = Some((batch.id, batch.first_seq, batch.last_seq));
                Verdict::Retry
            }
        });
        let telemetry = Telemetry::new(spool_options(&path), upload, None).unwrap();
        for i in 0..300 {
            telemetry.record_event(&telemetry_event(i));
        }
        telemetry.flush().unwrap();
        for i in 300..320 {
            telemetry.record_event(&telemetry_event(i));
        }
        telemetry.persist().unwrap();
        // Records still in the lock-free queue at a kill are lost: these 5 never reach the spool.
        for i in 320..325 {
            telemetry.record_event(&telemetry_event(i));
        }
        let stats = telemetry.stats();
        assert_eq!((stats.sent, stats.pending), (50, 275));
        assert!(stats.spool_bytes > 0);
        // The kill: no flush, no persist, nothing more written.
    }
    let interrupted = first_offer.lock().unwrap().expect("batch 2 was offered");
    assert_eq!(interrupted, (2, 51, 100));

    let upload = backend(Arc::clone(&seen), |_| Verdict::Ok);
    let telemetry = Telemetry::new(spool_options(&path), upload, None).unwrap();
    let backend_view = Arc::clone(&seen);
    let stats = telemetry.stats();
    assert_eq!((stats.recovered, stats.spool_torn_bytes), (270, 0), "320 spooled − 50 sent");
    let offers_before = seen.lock().unwrap().offered.len();
    drain(&telemetry, Instant::now());
    let seen = seen.lock().unwrap();
    assert_eq!(seen.offered.len() - offers_before, 270usize.div_ceil(50) - 1, "batch 2 is not a new batch");
    assert_eq!(seen.delivered, (1..=320).collect::<Vec<u64>>(), "every spooled record once, in order");
    let stats = telemetry.stats();
    assert_exact(&stats);
    assert_eq!((stats.sent, stats.pending), (270, 0));
    // New records continue the numbering.
    drop(seen);
    telemetry.record_event(&telemetry_event(999));
    drain(&telemetry, Instant::now());
    assert_eq!(backend_view.lock().unwrap().delivered.last(), Some(&321));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_spool_cut_mid_record_is_recovered_and_the_tail_reported() {
    let dir = temp_dir("torn");
    let path = dir.join("telemetry.spool");
    {
        let telemetry = Telemetry::new(spool_options(&path), Box::new(|_: &Batch<'_>| Verdict::Retry), None).unwrap();
        for i in 0..100 {
            telemetry.record_event(&telemetry_event(i));
        }
        telemetry.persist().unwrap();
    }
    let full = std::fs::metadata(&path).unwrap().len();
    // Cut 7 bytes off: the last record's entry is torn.
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(full - 7).unwrap();
    let seen = Arc::new(Mutex::new(Backend::default()));
    {
        let telemetry =
            Telemetry::new(spool_options(&path), backend(Arc::clone(&seen), |_| Verdict::Retry), None).unwrap();
        let stats = telemetry.stats();
        assert_eq!(stats.recovered, 99);
        assert!(stats.spool_torn_bytes > 7 && stats.spool_torn_bytes < 300, "{}", stats.spool_torn_bytes);
        assert_eq!(stats.spool_bytes, full - 7 - stats.spool_torn_bytes, "the file was cut to its valid part");
        // Appending after the cut keeps the file readable.
        telemetry.record_event(&telemetry_event(1000));
        telemetry.persist().unwrap();
    }
    // Flip one byte at 10% of the file, inside one record's entry: recovery skips that entry,
    // keeps every intact record after it, counts what it skipped, and rewrites a clean file.
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 10;
    bytes[at] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let recovered = {
        let telemetry =
            Telemetry::new(spool_options(&path), backend(Arc::clone(&seen), |_| Verdict::Retry), None).unwrap();
        let stats = telemetry.stats();
        assert_eq!(stats.recovered, 99, "one damaged record of 100 lost, not everything after it: {stats:?}");
        assert_eq!(stats.spool_corrupt_regions, 1, "{stats:?}");
        assert!(stats.spool_corrupt_bytes > 0 && stats.spool_corrupt_bytes < 300, "{stats:?}");
        assert_eq!(stats.spool_torn_bytes, 0, "damage inside the file is not a torn tail");
        assert!(!stats.spool_truncated);
        let message = stats.last_spool_error.clone().expect("the damage is reported");
        assert!(message.contains("damaged bytes") && message.contains("1 place"), "{message}");
        assert!(stats.spool_bytes < bytes.len() as u64, "the file was rewritten without the damage");
        stats.recovered
    };
    // The rewritten file holds no damage: a second recovery finds the same 99, nothing skipped.
    let telemetry = Telemetry::new(spool_options(&path), backend(Arc::clone(&seen), |_| Verdict::Ok), None).unwrap();
    let stats = telemetry.stats();
    assert_eq!((stats.recovered, stats.spool_corrupt_regions, stats.spool_corrupt_bytes), (recovered, 0, 0));
    drain(&telemetry, Instant::now());
    let seen = seen.lock().unwrap();
    assert_eq!(seen.delivered.len() as u64, recovered);
    let lost: Vec<u64> = (1..=100).filter(|seq| !seen.delivered.contains(seq)).collect();
    assert_eq!(lost.len(), 1, "exactly the damaged record is missing: {lost:?}");
    assert!((5..=15).contains(&lost[0]), "the record at 10% of the file: {lost:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damage_in_several_places_keeps_every_intact_record() {
    let dir = temp_dir("damage");
    let path = dir.join("telemetry.spool");
    {
        let telemetry = Telemetry::new(spool_options(&path), Box::new(|_: &Batch<'_>| Verdict::Retry), None).unwrap();
        for i in 0..200 {
            telemetry.record_event(&telemetry_event(i));
        }
        telemetry.persist().unwrap();
    }
    let mut bytes = std::fs::read(&path).unwrap();
    // A run of zeros at 30% (a bad sector) and a flipped byte at 70%.
    let len = bytes.len();
    bytes[len * 3 / 10..len * 3 / 10 + 40].fill(0);
    bytes[len * 7 / 10] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let telemetry = Telemetry::new(spool_options(&path), Box::new(|_: &Batch<'_>| Verdict::Ok), None).unwrap();
    let stats = telemetry.stats();
    assert_eq!(stats.spool_corrupt_regions, 2, "{stats:?}");
    assert!(stats.recovered >= 196 && stats.recovered <= 198, "at most two records per damaged place: {stats:?}");
    assert_eq!(stats.spool_torn_bytes, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_spool_emptied_by_something_else_is_reported() {
    let dir = temp_dir("emptied");
    let path = dir.join("telemetry.spool");
    {
        let telemetry = Telemetry::new(spool_options(&path), Box::new(|_: &Batch<'_>| Verdict::Retry), None).unwrap();
        for i in 0..10 {
            telemetry.record_event(&telemetry_event(i));
        }
        telemetry.persist().unwrap();
    }
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(0).unwrap();
    let telemetry = Telemetry::new(spool_options(&path), Box::new(|_: &Batch<'_>| Verdict::Ok), None).unwrap();
    let stats = telemetry.stats();
    assert!(stats.spool_truncated, "{stats:?}");
    assert_eq!(stats.recovered, 0);
    let message = stats.last_spool_error.clone().expect("reported");
    assert!(message.contains("emptied"), "{message}");
    drop(telemetry);
    // A brand-new spool is not reported as emptied.
    let fresh = dir.join("fresh.spool");
    let telemetry = Telemetry::new(spool_options(&fresh), Box::new(|_: &Batch<'_>| Verdict::Ok), None).unwrap();
    assert!(!telemetry.stats().spool_truncated);
    assert!(telemetry.stats().last_spool_error.is_none());
    drop(telemetry);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_spool_is_owned_by_one_handle_at_a_time() {
    let dir = temp_dir("owned");
    let path = dir.join("telemetry.spool");
    let first = Telemetry::new(spool_options(&path), Box::new(|_: &Batch<'_>| Verdict::Retry), None).unwrap();
    for i in 0..50 {
        first.record_event(&telemetry_event(i));
    }
    first.persist().unwrap();
    let err = Telemetry::new(spool_options(&path), Box::new(|_: &Batch<'_>| Verdict::Ok), None).unwrap_err();
    assert_eq!(err.status(), Status::SpoolLocked);
    assert!(err.message().contains(&path.display().to_string()), "the message names the path: {}", err.message());
    // The first handle's records are untouched; once it is gone, the spool can be opened again.
    drop(first);
    let second = Telemetry::new(spool_options(&path), Box::new(|_: &Batch<'_>| Verdict::Ok), None).unwrap();
    assert_eq!(second.stats().recovered, 50);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_that_is_not_a_spool_is_left_alone() {
    let dir = temp_dir("foreign");
    let path = dir.join("notes.txt");
    std::fs::write(&path, b"my own notes, not a spool").unwrap();
    let error = Telemetry::new(spool_options(&path), Box::new(|_: &Batch<'_>| Verdict::Ok), None).unwrap_err();
    assert_eq!(error.status(), Status::Io);
    assert_eq!(std::fs::read(&path).unwrap(), b"my own notes, not a spool");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A full disk, a failing device and a read-only file system under the spool: the records stay
/// in memory and are counted, the library keeps serving, and once the fault passes the next
/// persist rewrites the file with every live record, so a kill after it loses nothing.
#[test]
fn spool_faults_keep_records_in_memory_and_the_file_catches_up_after_them() {
    use mlops_edge::testing::{fail_spool_io, SpoolFault};
    let cases = [
        ("enospc", SpoolFault::NoSpace, "No space left on device"),
        ("eio", SpoolFault::Io, "Input/output error"),
        ("erofs", SpoolFault::ReadOnly, "Read-only file system"),
    ];
    for (name, fault, says) in cases {
        let dir = temp_dir(name);
        let path = dir.join(format!("{name}.spool"));
        let seen = Arc::new(Mutex::new(Backend::default()));
        {
            let upload = backend(Arc::clone(&seen), |_| Verdict::Retry);
            let telemetry = Telemetry::new(spool_options(&path), upload, None).unwrap();
            for i in 0..10 {
                telemetry.record_event(&telemetry_event(i));
            }
            telemetry.persist().unwrap();
            fail_spool_io(name, fault, None);
            for i in 10..110 {
                telemetry.record_event(&telemetry_event(i));
            }
            telemetry.persist().unwrap();
            // A batch is formed and offered (its "batch" entry cannot be written either).
            telemetry.flush().unwrap();
            let stats = telemetry.stats();
            assert!(stats.spool_errors >= 2, "{name}: {stats:?}");
            assert!(stats.last_spool_error.as_deref().unwrap_or("").contains(says), "{name}: {stats:?}");
            assert_exact(&stats);
            assert_eq!((stats.recorded, stats.sent), (110, 0), "{name}: every record kept in memory");
            // The fault passes: the next persist rewrites the file whole.
            fail_spool_io(name, fault, Some(0));
            for i in 110..120 {
                telemetry.record_event(&telemetry_event(i));
            }
            telemetry.persist().unwrap();
            assert_eq!(telemetry.stats().spool_errors, stats.spool_errors, "{name}: no new error");
            // The kill: nothing more is written.
        }
        let upload = backend(Arc::clone(&seen), |_| Verdict::Ok);
        let telemetry = Telemetry::new(spool_options(&path), upload, None).unwrap();
        assert_eq!(
            telemetry.stats().recovered,
            120,
            "{name}: every record recorded during the fault survived the kill"
        );
        drain(&telemetry, Instant::now());
        assert_eq!(seen.lock().unwrap().delivered, (1..=120).collect::<Vec<u64>>(), "{name}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    // Opening a spool on a read-only file system: an I/O error naming the path, not a panic.
    let dir = temp_dir("ro-open");
    let path = dir.join("ro-open.spool");
    fail_spool_io("ro-open", SpoolFault::ReadOnly, Some(1));
    let error = Telemetry::new(spool_options(&path), backend(Arc::default(), |_| Verdict::Ok), None).unwrap_err();
    assert_eq!(error.status(), Status::Io, "{}", error.message());
    assert!(error.message().contains("ro-open.spool") && error.message().contains("Read-only"), "{}", error.message());
    // The fault was for one call: the next open works.
    assert!(Telemetry::new(spool_options(&path), backend(Arc::default(), |_| Verdict::Ok), None).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A write that fails once, then a batch formed and answered in the same flush, then a kill: the
/// batch's numbers are not given out again after the restart (answered OK), and its records are
/// not lost (answered RETRY).
#[test]
fn a_batch_after_a_failed_write_keeps_its_records_and_its_numbers_across_a_kill() {
    use mlops_edge::testing::{fail_spool_io, SpoolFault};
    for (name, verdict) in [("behind-ok", Verdict::Ok), ("behind-retry", Verdict::Retry)] {
        let dir = temp_dir(name);
        let path = dir.join(format!("{name}.spool"));
        let seen = Arc::new(Mutex::new(Backend::default()));
        {
            let upload = backend(Arc::clone(&seen), move |_| verdict);
            let telemetry = Telemetry::new(spool_options(&path), upload, None).unwrap();
            fail_spool_io(name, SpoolFault::Io, Some(1));
            for i in 0..11 {
                telemetry.record_event(&telemetry_event(i));
            }
            telemetry.flush().unwrap();
            assert_eq!(telemetry.stats().spool_errors, 1, "{name}");
            // The kill.
        }
        let delivered_before = seen.lock().unwrap().delivered.len();
        let upload = backend(Arc::clone(&seen), |_| Verdict::Ok);
        let telemetry = Telemetry::new(spool_options(&path), upload, None).unwrap();
        let recovered = telemetry.stats().recovered;
        telemetry.record_event(&telemetry_event(99));
        drain(&telemetry, Instant::now());
        let delivered = seen.lock().unwrap().delivered.clone();
        if verdict == Verdict::Ok {
            assert_eq!((delivered_before, recovered), (11, 0), "{name}");
            assert_eq!(delivered, (1..=12).collect::<Vec<u64>>(), "{name}: the new record is 12, no number reused");
        } else {
            assert_eq!((delivered_before, recovered), (0, 11), "{name}: nothing lost");
            assert_eq!(delivered, (1..=12).collect::<Vec<u64>>(), "{name}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_record_left_out_of_a_full_spool_is_counted_once_however_often_it_is_rewritten() {
    let dir = temp_dir("skipped-once");
    let path = dir.join("telemetry.spool");
    // The backend is down: every record stays live, and the 8 KiB spool fills.
    let upload = backend(Arc::new(Mutex::new(Backend::default())), |_| Verdict::Retry);
    let options = TelemetryOptions { spool_max_bytes: 8 * 1024, ..spool_options(&path) };
    let telemetry = Telemetry::new(options, upload, None).unwrap();
    for i in 0..300 {
        telemetry.record_event(&telemetry_event(i));
    }
    telemetry.persist().unwrap();
    let first = telemetry.stats();
    assert!(first.spool_skipped > 0 && first.spool_skipped < 300, "{first:?}");
    // Each round appends 10 more to the full file, which rewrites it: the 10 are left out, and the
    // ones left out before are not counted again.
    for round in 1..=5u64 {
        for i in 0..10 {
            telemetry.record_event(&telemetry_event(1000 * round + i));
        }
        telemetry.persist().unwrap();
        let stats = telemetry.stats();
        assert_eq!(stats.spool_skipped, first.spool_skipped + 10 * round, "round {round}: {stats:?}");
        assert_eq!(stats.pending, 300 + 10 * round);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
