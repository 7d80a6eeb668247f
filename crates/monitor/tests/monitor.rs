//! The monitor end to end on synthetic records: counts, window statistics against numpy,
//! baselines, alerts, the level callback, limits, and 8 producers racing concurrent snapshots.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{load, sample, Uniform};
use mlops_edge_monitor::*;

fn monitor(window: usize, labels: usize, features: &[u32]) -> Monitor {
    Monitor::new(MonitorConfig {
        window,
        ring_capacity: 8192,
        label_count: labels,
        feature_indices: features.to_vec(),
        ..MonitorConfig::default()
    })
    .unwrap()
}

/// A success with latency `us` µs, label and confidence.
fn ok(us: f64, label: u32, confidence: f32, length: u32) -> Record {
    Record::success((us * 1000.0) as u64, label, confidence, length)
}

#[test]
fn window_statistics_match_numpy() {
    let data = load("descriptive_cases.json");
    for case in data["cases"].as_array().unwrap() {
        let n = case["spec"]["n"].as_u64().unwrap() as usize;
        let m = monitor(n, 4, &[]);
        let mut rec = m.recorder("v1").unwrap();
        let now = Instant::now();
        for u in sample(&case["spec"]) {
            let latency_ns = (u * u * 60e6).floor() as u64;
            let r = Record::success(latency_ns, 0, u as f32, (u * 7000.0).floor() as u32);
            assert!(rec.record_at(r, now));
        }
        let s = m.snapshot().unwrap();
        let f = |k: &str| case[k].as_f64().unwrap();
        assert_eq!(s.window.count, n as u64);
        assert_eq!(s.window.latency_p50_us, f("p50"), "n={n}");
        assert_eq!(s.window.latency_p95_us, f("p95"), "n={n}");
        assert_eq!(s.window.latency_p99_us, f("p99"), "n={n}");
        assert!((s.window.confidence_mean - f("confidence_mean")).abs() <= 1e-12 * f("confidence_mean"));
        let as_json = |v: &[u64]| serde_json::Value::from(v.to_vec());
        assert_eq!(as_json(&s.window.latency_histogram), case["latency_histogram"], "n={n}");
        assert_eq!(as_json(&s.window.confidence_histogram), case["confidence_histogram"], "n={n}");
        assert_eq!(as_json(&s.window.input_length_histogram), case["input_length_histogram"], "n={n}");
    }
}

#[test]
fn counts_by_status_version_and_label() {
    let m = monitor(8, 3, &[]);
    let mut a = m.recorder("1.0").unwrap();
    let mut b = m.recorder("2.0").unwrap();
    let mut c = m.recorder("1.0").unwrap();
    let t = Instant::now();
    for i in 0..10u32 {
        a.record_at(ok(100.0, i % 3, 0.9, 5), t);
    }
    b.record_at(Record::error(50_000, 9), t);
    b.record_at(ok(100.0, 7, 0.5, 5), t); // label out of range: counted as "other"
    c.record_at(Record::error(50_000, 40), t); // status beyond the table: last slot
    let s = m.snapshot().unwrap();
    assert_eq!(s.processed, 13);
    assert_eq!(s.dropped, 0);
    assert_eq!(s.status_counts[0], 11);
    assert_eq!(s.status_counts[9], 1);
    assert_eq!(s.status_counts[STATUS_SLOTS - 1], 1);
    let v: Vec<(String, u64, u64)> = s.versions.iter().map(|v| (v.version.to_string(), v.ok, v.errors)).collect();
    assert_eq!(v, vec![("1.0".to_string(), 10, 1), ("2.0".to_string(), 1, 1)]);
    // The window keeps the last 8 of 13 records.
    assert_eq!(s.window.count, 8);
    assert_eq!(s.label_counts.len(), 4);
    assert_eq!(s.label_counts.iter().sum::<u64>() + s.window.errors, 8);
}

#[test]
fn full_rings_drop_and_count() {
    let m = Monitor::new(MonitorConfig { ring_capacity: 4, ..MonitorConfig::default() }).unwrap();
    let mut r = m.recorder("v").unwrap();
    let t = Instant::now();
    let accepted = (0..10).filter(|_| r.record_at(ok(10.0, 0, 0.9, 1), t)).count();
    assert_eq!(accepted, 4);
    let s = m.snapshot().unwrap();
    assert_eq!((s.processed, s.dropped, s.pending), (4, 6, 0));
}

#[test]
fn lanes_and_versions_are_bounded_and_reused() {
    let m = Monitor::new(MonitorConfig { max_recorders: 2, ..MonitorConfig::default() }).unwrap();
    let a = m.recorder("v").unwrap();
    let _b = m.recorder("v").unwrap();
    let err = m.recorder("v").unwrap_err();
    assert_eq!(err.kind, ErrorKind::LimitReached);
    assert_eq!(m.recorders_in_use(), 2);
    drop(a);
    let _c = m.recorder("v").unwrap();
    let long = "x".repeat(MAX_VERSION_LEN + 1);
    assert_eq!(m.recorder(&long).unwrap_err().kind, ErrorKind::InvalidArgument);
    let m = monitor(8, 0, &[]);
    let recorders: Vec<_> = (0..MAX_VERSIONS).map(|i| m.recorder(&format!("v{i}")).unwrap()).collect();
    assert_eq!(m.recorder("one more").unwrap_err().kind, ErrorKind::LimitReached);
    drop(recorders);
}

#[test]
fn config_and_thresholds_are_validated() {
    let bad = [
        MonitorConfig { window: 0, ..MonitorConfig::default() },
        MonitorConfig { window: MAX_WINDOW + 1, ..MonitorConfig::default() },
        MonitorConfig { ring_capacity: 0, ..MonitorConfig::default() },
        MonitorConfig { max_recorders: 0, ..MonitorConfig::default() },
        MonitorConfig { feature_indices: vec![0; MAX_FEATURES + 1], ..MonitorConfig::default() },
        MonitorConfig { label_count: MAX_LABELS + 1, ..MonitorConfig::default() },
    ];
    for config in bad {
        assert_eq!(Monitor::new(config.clone()).unwrap_err().kind, ErrorKind::InvalidArgument, "{config:?}");
    }
    let m = monitor(8, 0, &[]);
    let bad = [
        Thresholds { latency_p95_warning: 2.0, latency_p95_critical: 1.0, ..Thresholds::default() },
        Thresholds { confidence_drop_warning: f64::NAN, ..Thresholds::default() },
        Thresholds { error_rate_critical: -1.0, ..Thresholds::default() },
        Thresholds { drift_p_value: 0.0, ..Thresholds::default() },
        Thresholds { label_drift_p_value: 1.0, ..Thresholds::default() },
        Thresholds { drift_level: Level::Ok, ..Thresholds::default() },
        Thresholds { min_drift_samples: 1, ..Thresholds::default() },
        Thresholds { min_alert_samples: 0, ..Thresholds::default() },
    ];
    for t in bad {
        assert_eq!(m.set_thresholds(t).unwrap_err().kind, ErrorKind::InvalidArgument, "{t:?}");
    }
    assert_eq!(m.thresholds().unwrap(), Thresholds::default());
}

#[test]
fn baseline_needs_100_successes() {
    let m = monitor(1024, 2, &[]);
    let mut r = m.recorder("v").unwrap();
    let t = Instant::now();
    for _ in 0..99 {
        r.record_at(ok(100.0, 0, 0.9, 3), t);
    }
    for _ in 0..50 {
        r.record_at(Record::error(100, 3), t);
    }
    let err = m.freeze_baseline().unwrap_err();
    assert_eq!(err.kind, ErrorKind::InsufficientData);
    assert!(err.message.contains("99"), "{}", err.message);
    r.record_at(ok(100.0, 0, 0.9, 3), t);
    m.freeze_baseline().unwrap();
    let b = m.baseline().unwrap().unwrap();
    assert_eq!(b.confidence().len(), 100);
    assert!((b.error_rate() - 50.0 / 150.0).abs() < 1e-12);
    m.clear_baseline().unwrap();
    assert!(m.snapshot().unwrap().baseline.is_none());
    // Loaded baselines: the same rule, and finite values only.
    let short = [1.0; 99];
    let samples = BaselineSamples { latency_us: &short, confidence: &short, ..Default::default() };
    assert_eq!(m.load_baseline(&samples).unwrap_err().kind, ErrorKind::InsufficientData);
    let mut bad = [1.0; 100];
    bad[7] = f64::NAN;
    let samples = BaselineSamples { latency_us: &[1.0; 100], confidence: &bad, ..Default::default() };
    assert_eq!(m.load_baseline(&samples).unwrap_err().kind, ErrorKind::InvalidArgument);
    let samples = BaselineSamples {
        latency_us: &[1.0; 100],
        confidence: &[0.5; 100],
        label_counts: &[1, 2, 3, 4],
        ..Default::default()
    };
    assert_eq!(m.load_baseline(&samples).unwrap_err().kind, ErrorKind::InvalidArgument);
}

/// Feeds `n` records from `make(i)` and returns the snapshot.
fn feed(m: &Monitor, n: usize, mut make: impl FnMut(usize) -> Record) -> Snapshot {
    let mut r = m.recorder("v").unwrap();
    let t = Instant::now();
    for i in 0..n {
        assert!(r.record_at(make(i), t + Duration::from_micros(i as u64 * 100)));
    }
    m.snapshot().unwrap()
}

#[test]
fn latency_and_confidence_alerts() {
    let m = monitor(500, 2, &[]);
    let mut g = Uniform::new(7);
    feed(&m, 500, |_| ok(1000.0 + 100.0 * g.next(), 0, 0.9 + 0.05 * g.next() as f32, 10));
    m.freeze_baseline().unwrap();
    let s = feed(&m, 500, |_| ok(1000.0 + 100.0 * g.next(), 0, 0.9 + 0.05 * g.next() as f32, 10));
    assert_eq!(s.level, Level::Ok, "{:?}", s.alerts);
    assert!(s.drift.latency.tested && !s.drift.latency.drifted);
    // +60% latency: warning; drop of ~15% confidence: warning.
    let s = feed(&m, 500, |_| ok(1600.0 + 160.0 * g.next(), 0, 0.77 + 0.04 * g.next() as f32, 10));
    let find = |s: &Snapshot, metric| s.alerts.iter().find(|a| a.metric == metric).copied();
    let latency = find(&s, AlertMetric::LatencyP95).expect("latency alert");
    assert_eq!(latency.level, Level::Warning);
    assert!(latency.change_pct > 50.0 && latency.change_pct < 100.0, "{latency:?}");
    assert_eq!(latency.current, s.window.latency_p95_us);
    let confidence = find(&s, AlertMetric::ConfidenceMean).expect("confidence alert");
    assert_eq!(confidence.level, Level::Warning);
    // A drift alert reports the window's mean of the drifted quantity and the baseline's.
    let drift = find(&s, AlertMetric::LatencyDrift).expect("latency drift alert");
    assert_eq!(drift.current, s.window.latency_mean_us);
    assert_eq!(drift.baseline, stats::mean(m.baseline().unwrap().unwrap().latency_us()));
    assert_eq!(s.level, Level::Warning);
    // +150% latency and a 30% confidence drop: critical, listed first.
    let s = feed(&m, 500, |_| ok(2500.0 + 250.0 * g.next(), 0, 0.6 + 0.05 * g.next() as f32, 10));
    assert_eq!(s.level, Level::Critical);
    assert_eq!(s.alerts[0].level, Level::Critical);
    assert_eq!(find(&s, AlertMetric::LatencyP95).unwrap().level, Level::Critical);
    assert_eq!(find(&s, AlertMetric::ConfidenceMean).unwrap().level, Level::Critical);
    // Thresholds are the host's to change.
    m.set_thresholds(Thresholds { latency_p95_warning: 5.0, latency_p95_critical: 6.0, ..Thresholds::default() })
        .unwrap();
    let s = m.snapshot().unwrap();
    assert!(find(&s, AlertMetric::LatencyP95).is_none());
}

#[test]
fn degradation_alerts_wait_for_min_alert_samples() {
    let m = monitor(200, 2, &[]);
    feed(&m, 200, |_| ok(100.0, 0, 0.9, 4));
    m.freeze_baseline().unwrap();
    m.reset_window().unwrap();
    // One very slow, unsure request: a p95 and a mean over one request are noise.
    let s = feed(&m, 1, |_| ok(1000.0, 0, 0.2, 4));
    assert!(s.alerts.is_empty() && s.level == Level::Ok, "{:?}", s.alerts);
    assert!(!s.degradation_tested, "ok means not judged yet");
    // 29 requests, all of them slow, unsure, then failing: still below the default 30.
    let s = feed(&m, 28, |i| if i < 10 { Record::error(100_000, 12) } else { ok(1000.0, 0, 0.2, 4) });
    assert_eq!(s.window.count, 29);
    assert!(s.alerts.is_empty() && !s.error_rate_tested, "{:?}", s.alerts);
    // The 30th request: the error rate, which counts every request, speaks; latency and
    // confidence wait for 30 successes (19 so far).
    let s = feed(&m, 1, |_| Record::error(100_000, 12));
    let degradation = [AlertMetric::LatencyP95, AlertMetric::ConfidenceMean, AlertMetric::ErrorRate];
    let metrics: Vec<AlertMetric> = s.alerts.iter().map(|a| a.metric).filter(|m| degradation.contains(m)).collect();
    assert_eq!(metrics, vec![AlertMetric::ErrorRate], "{:?}", s.alerts);
    assert!(!s.degradation_tested, "19 successes");
    assert!(s.error_rate_tested, "30 requests");
    let s = feed(&m, 11, |_| ok(1000.0, 0, 0.2, 4));
    assert_eq!(s.window.count - s.window.errors, 30);
    assert!(s.degradation_tested);
    for metric in degradation {
        let alert = s.alerts.iter().find(|a| a.metric == metric);
        assert_eq!(alert.map(|a| a.level), Some(Level::Critical), "{metric:?}: {:?}", s.alerts);
    }
    // 1 judges from the first request (the thresholds alone, with no minimum sample).
    m.set_thresholds(Thresholds { min_alert_samples: 1, ..Thresholds::default() }).unwrap();
    m.reset_window().unwrap();
    let s = feed(&m, 1, |_| ok(1000.0, 0, 0.2, 4));
    assert_eq!(s.level, Level::Critical, "{:?}", s.alerts);
    // A window smaller than min_alert_samples is judged once it is full.
    let small = monitor(16, 2, &[]);
    small.set_baseline(m.baseline().unwrap().unwrap()).unwrap();
    let s = feed(&small, 15, |_| ok(1000.0, 0, 0.2, 4));
    assert!(s.alerts.is_empty() && !s.degradation_tested, "{:?}", s.alerts);
    let s = feed(&small, 1, |_| ok(1000.0, 0, 0.2, 4));
    assert_eq!(s.level, Level::Critical, "{:?}", s.alerts);
    assert!(s.degradation_tested);
    // Without a baseline nothing is judged, however full the window.
    let unjudged = monitor(16, 2, &[]);
    let s = feed(&unjudged, 16, |_| ok(1000.0, 0, 0.2, 4));
    assert!(s.baseline.is_none() && !s.degradation_tested && !s.error_rate_tested);
}

#[test]
fn error_rate_alert() {
    let m = monitor(200, 2, &[]);
    feed(&m, 200, |_| ok(100.0, 0, 0.9, 4));
    m.freeze_baseline().unwrap();
    let s = feed(&m, 200, |i| if i % 10 == 0 { Record::error(100_000, 12) } else { ok(100.0, 0, 0.9, 4) });
    let alert = s.alerts.iter().find(|a| a.metric == AlertMetric::ErrorRate).expect("error-rate alert");
    assert_eq!(alert.level, Level::Warning);
    assert!((alert.current - 0.1).abs() < 1e-12);
}

#[test]
fn feature_drift_is_bonferroni_corrected() {
    let m = monitor(400, 2, &[3, 5]);
    let mut g = Uniform::new(11);
    let with_features = |shift: f32, g: &mut Uniform| {
        let mut r = ok(100.0, 0, 0.9, 30);
        r.features[0] = g.next() as f32;
        r.features[1] = g.next() as f32 + shift;
        r
    };
    feed(&m, 400, |_| with_features(0.0, &mut g));
    m.freeze_baseline().unwrap();
    let s = feed(&m, 400, |_| with_features(0.3, &mut g));
    let d = &s.drift;
    assert_eq!(d.feature_count, 2);
    assert!(d.features[0].tested && !d.features[0].drifted);
    assert!(d.features[1].drifted);
    assert_eq!(d.features[1].threshold, 0.025);
    let alert = s.alerts.iter().find(|a| a.metric == AlertMetric::FeatureDrift).unwrap();
    assert_eq!(alert.feature, 1);
    assert!(alert.p_value < 0.025);
    // The p-value is the stateless KS of the window's values against the baseline's.
    let base = m.baseline().unwrap().unwrap();
    assert_eq!(base.features().len(), 2);
    assert_eq!(base.features()[1].len(), 400);
    assert_eq!(alert.current, s.window.feature_means[1]);
    assert_eq!(alert.baseline, stats::mean(&base.features()[1]));
}

#[test]
fn label_drift_by_chi_square() {
    let m = monitor(300, 2, &[]);
    feed(&m, 300, |i| ok(100.0, u32::from(i % 10 == 0), 0.9, 5)); // 10% label 1
    m.freeze_baseline().unwrap();
    let s = feed(&m, 300, |i| ok(100.0, u32::from(i % 10 == 0), 0.9, 5));
    assert!(s.drift.labels.tested && !s.drift.labels.drifted);
    assert_eq!(s.drift.labels.p_value, 1.0);
    let s = feed(&m, 300, |i| ok(100.0, u32::from(i % 2 == 0), 0.9, 5)); // 50% label 1
    let labels = s.drift.labels;
    assert!(labels.drifted && labels.p_value < 1e-10 && labels.dof == 1, "{labels:?}");
    let expected = stats::chi2_contingency_2xk(&[270, 30, 0], &[150, 150, 0]).unwrap();
    assert_eq!(labels.statistic, expected.statistic);
    assert!(labels.psi > 0.25);
    assert!(s.alerts.iter().any(|a| a.metric == AlertMetric::LabelDrift));
}

#[test]
fn level_callback_fires_on_change_only_and_rejects_reentry() {
    let m = monitor(200, 2, &[]);
    feed(&m, 200, |_| ok(100.0, 0, 0.9, 5));
    m.freeze_baseline().unwrap();
    let changes = Arc::new(Mutex::new(Vec::new()));
    let reentry = Arc::new(Mutex::new(None));
    let (c, r, inner) = (changes.clone(), reentry.clone(), m.clone());
    m.set_level_callback(Some(Box::new(move |change: &LevelChange<'_>| {
        c.lock().unwrap().push((change.previous, change.current, change.snapshot.level));
        *r.lock().unwrap() = Some(inner.snapshot().map(|_| ()).unwrap_err().kind);
    })))
    .unwrap();
    m.snapshot().unwrap();
    assert!(changes.lock().unwrap().is_empty(), "no change, no call");
    feed(&m, 200, |_| ok(300.0, 0, 0.9, 5));
    m.snapshot().unwrap(); // still critical: no second call
    feed(&m, 200, |_| ok(100.0, 0, 0.9, 5));
    assert_eq!(
        *changes.lock().unwrap(),
        vec![(Level::Ok, Level::Critical, Level::Critical), (Level::Critical, Level::Ok, Level::Ok)]
    );
    assert_eq!(*reentry.lock().unwrap(), Some(ErrorKind::InvalidState));
    // After the callback the monitor is usable from this thread again.
    m.set_level_callback(None).unwrap();
    m.snapshot().unwrap();
}

#[test]
fn eight_producers_and_concurrent_snapshots_account_for_every_record() {
    // Miri interprets every instruction: fewer records and a small window there.
    let (per_thread, window): (u64, usize) = if cfg!(miri) { (200, 16) } else { (100_000, 1024) };
    let m = Monitor::new(MonitorConfig { window, ring_capacity: 256, max_recorders: 8, ..MonitorConfig::default() })
        .unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let accepted_total = Arc::new(AtomicUsize::new(0));
    let producers: Vec<_> = (0..8)
        .map(|t| {
            let (m, done, accepted_total) = (m.clone(), done.clone(), accepted_total.clone());
            std::thread::spawn(move || {
                let mut r = m.recorder(&format!("v{}", t % 2)).unwrap();
                let start = Instant::now();
                let mut accepted = 0;
                for i in 0..per_thread {
                    accepted += usize::from(r.record_at(ok(10.0 + (i % 7) as f64, (i % 3) as u32, 0.8, 4), start));
                }
                accepted_total.fetch_add(accepted, Ordering::Relaxed);
                done.fetch_add(1, Ordering::Release);
            })
        })
        .collect();
    let mut snapshots = 0;
    let mut last_processed = 0;
    while done.load(Ordering::Acquire) < 8 {
        let s = m.snapshot().unwrap();
        assert!(s.processed >= last_processed);
        last_processed = s.processed;
        snapshots += 1;
    }
    producers.into_iter().for_each(|p| p.join().unwrap());
    let s = m.snapshot().unwrap();
    assert_eq!(s.processed + s.dropped, 8 * per_thread, "processed + dropped == sent");
    assert_eq!(s.processed as usize, accepted_total.load(Ordering::Relaxed));
    assert_eq!(s.pending, 0);
    assert_eq!(s.versions.iter().map(|v| v.ok).sum::<u64>(), s.processed);
    assert!(snapshots > 0);
}
