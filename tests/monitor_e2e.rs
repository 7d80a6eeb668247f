//! The monitor on the shipped models: real requests through sessions, drift and alerts in three
//! scenarios (feature drift on breast-cancer data, label and confidence drift when injection
//! traffic follows a benign baseline on the headline model minilm-l3-promptinj, a 4× latency
//! slowdown on digits-mlp), and the session/monitor wiring.

mod common;

use std::time::Duration;

use common::{model_dir, slabs_test};
use mlops_edge::monitor::{AlertMetric, Level, MonitorConfig, STATUS_OK};
use mlops_edge::{Model, ModelOptions, Monitor, Session, Status};

/// Tests here measure real latencies: run them one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn load(name: &str) -> Model {
    Model::load(model_dir(name), &ModelOptions::default()).unwrap()
}

fn breast_cancer_rows() -> Vec<Vec<f32>> {
    let mut reader = csv::Reader::from_path(model_dir("breast-cancer-logreg").join("heldout.csv")).unwrap();
    let width = reader.headers().unwrap().len();
    reader
        .records()
        .map(|r| r.unwrap().iter().take(30.min(width)).map(|v| v.parse::<f32>().unwrap()).collect())
        .collect()
}

fn has(snapshot: &mlops_edge::Snapshot, metric: AlertMetric) -> bool {
    snapshot.alerts.iter().any(|a| a.metric == metric)
}

#[test]
fn breast_cancer_feature_shift_raises_a_feature_drift_alert() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let model = load("breast-cancer-logreg");
    let rows = breast_cancer_rows();
    assert!(rows.len() >= 140 && rows[0].len() == 30, "{} rows of {}", rows.len(), rows[0].len());
    // Watch mean radius (0), mean texture (1), mean smoothness (4), worst area (23).
    let monitor = Monitor::new(MonitorConfig {
        window: rows.len(),
        label_count: model.labels().len(),
        feature_indices: vec![0, 1, 4, 23],
        ..MonitorConfig::default()
    })
    .unwrap();
    let mut session = Session::new(&model).unwrap();
    session.attach_monitor(&monitor).unwrap();
    for row in &rows {
        session.classify_f32(row, None).unwrap();
    }
    monitor.freeze_baseline().unwrap();
    // The same patients again: no drift.
    for row in &rows {
        session.classify_f32(row, None).unwrap();
    }
    let s = monitor.snapshot().unwrap();
    assert_eq!(s.processed, 2 * rows.len() as u64);
    assert!(s.drift.features[..4].iter().all(|d| d.tested && !d.drifted), "{:?}", s.drift.features);
    assert!(!has(&s, AlertMetric::FeatureDrift));
    // Texture read 25% high (a miscalibrated scanner): only that feature drifts.
    for row in &rows {
        let mut shifted = row.clone();
        shifted[1] *= 1.25;
        session.classify_f32(&shifted, None).unwrap();
    }
    let s = monitor.snapshot().unwrap();
    let texture = s.drift.features[1];
    assert!(texture.drifted && texture.p_value < 0.05 / 4.0, "{texture:?}");
    assert!(!s.drift.features[0].drifted && !s.drift.features[2].drifted && !s.drift.features[3].drifted);
    let alert = s.alerts.iter().find(|a| a.metric == AlertMetric::FeatureDrift).expect("feature drift alert");
    assert_eq!(alert.feature, 1);
    assert!((alert.change_pct - 25.0).abs() < 1.0, "mean moved by {}%", alert.change_pct);
    assert!(s.level >= Level::Warning);
}

#[test]
#[cfg_attr(mle_emulated, ignore = "heavy under emulation: 600 MiniLM requests")]
fn injection_traffic_raises_label_and_confidence_drift_on_the_headline_model() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let model = load("minilm-l3-promptinj");
    let rows = slabs_test();
    let benign: Vec<&str> = rows.iter().filter(|(_, l)| *l == 0).map(|(t, _)| t.as_str()).take(300).collect();
    let attacks: Vec<&str> = rows.iter().filter(|(_, l)| *l == 1).map(|(t, _)| t.as_str()).take(300).collect();
    assert_eq!((benign.len(), attacks.len()), (300, 300));
    let monitor =
        Monitor::new(MonitorConfig { window: 300, label_count: model.labels().len(), ..MonitorConfig::default() })
            .unwrap();
    let mut session = Session::new(&model).unwrap();
    session.attach_monitor(&monitor).unwrap();
    for text in &benign {
        session.classify_text(text, None).unwrap();
    }
    monitor.freeze_baseline().unwrap();
    let s = monitor.snapshot().unwrap();
    assert_eq!(s.level, Level::Ok, "{:?}", s.alerts);
    for text in &attacks {
        session.classify_text(text, None).unwrap();
    }
    let s = monitor.snapshot().unwrap();
    let labels = s.drift.labels;
    assert!(labels.tested && labels.drifted && labels.p_value < 1e-6, "{labels:?}");
    assert!(has(&s, AlertMetric::LabelDrift));
    assert!(s.drift.confidence.drifted, "{:?}", s.drift.confidence);
    // Most of the window is now predicted as injection.
    let injection = model.labels().iter().position(|l| l.to_lowercase().contains("inject")).unwrap_or(1);
    assert!(s.label_counts[injection] > 200, "{:?}", s.label_counts);
    assert_eq!(s.versions[0].version.as_str(), model.card().version);
}

#[test]
fn a_slowdown_raises_the_p95_latency_alert() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let model = load("digits-mlp");
    let golden = common::golden("digits-mlp");
    let inputs: Vec<Vec<f32>> =
        golden["cases"].as_array().unwrap().iter().map(|c| common::floats(&c["input"])).collect();
    let monitor = Monitor::new(MonitorConfig { window: 200, ..MonitorConfig::default() }).unwrap();
    let mut session = Session::new(&model).unwrap();
    session.attach_monitor(&monitor).unwrap();
    // Injected latencies (no request waits): a steady 1 ms baseline, then the device slows down 4×.
    let base = Duration::from_millis(1);
    mlops_edge::testing::set_thread_latency(Some(base));
    for i in 0..200 {
        session.classify_f32(&inputs[i % inputs.len()], None).unwrap();
    }
    monitor.freeze_baseline().unwrap();
    mlops_edge::testing::set_thread_latency(Some(base * 4));
    for i in 0..200 {
        session.classify_f32(&inputs[i % inputs.len()], None).unwrap();
    }
    mlops_edge::testing::set_thread_latency(None);
    let s = monitor.snapshot().unwrap();
    let alert = s
        .alerts
        .iter()
        .find(|a| a.metric == AlertMetric::LatencyP95)
        .unwrap_or_else(|| panic!("p95 alert: {:?} window {:?} baseline {:?}", s.alerts, s.window, s.baseline));
    assert_eq!(alert.level, Level::Critical, "{alert:?}");
    assert_eq!((alert.current, alert.baseline), (4000.0, 1000.0), "{alert:?}");
    assert_eq!(alert.change_pct, 300.0);
    assert!(s.drift.latency.drifted);
    assert_eq!(s.level, Level::Critical);
}

#[test]
fn errors_are_recorded_with_their_status() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let model = load("digits-mlp");
    let monitor = Monitor::new(MonitorConfig::default()).unwrap();
    let mut session = Session::new(&model).unwrap();
    session.attach_monitor(&monitor).unwrap();
    assert!(session.classify_f32(&[1.0; 3], None).is_err());
    assert!(session.classify_text("x", None).is_err());
    session.classify_f32(&[0.0; 64], None).unwrap();
    let s = monitor.snapshot().unwrap();
    assert_eq!(s.status_counts[Status::InputShape.code() as usize], 1);
    assert_eq!(s.status_counts[Status::WrongInputKind.code() as usize], 1);
    assert_eq!(s.status_counts[STATUS_OK as usize], 1);
    assert_eq!((s.versions[0].ok, s.versions[0].errors), (1, 2));
    assert_eq!(s.window.errors, 2);
    // Detaching stops recording; the lane is reusable.
    session.detach_monitor();
    session.classify_f32(&[0.0; 64], None).unwrap();
    assert_eq!(monitor.snapshot().unwrap().processed, 3);
    assert_eq!(monitor.recorders_in_use(), 0);
}

#[test]
fn attach_checks_feature_indices_and_lanes() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let model = load("digits-mlp");
    let monitor = Monitor::new(MonitorConfig { feature_indices: vec![64], ..MonitorConfig::default() }).unwrap();
    let mut session = Session::new(&model).unwrap();
    assert_eq!(session.attach_monitor(&monitor).unwrap_err().status(), Status::InvalidArgument);
    let monitor = Monitor::new(MonitorConfig { max_recorders: 1, ..MonitorConfig::default() }).unwrap();
    session.attach_monitor(&monitor).unwrap();
    let mut other = Session::new(&model).unwrap();
    assert_eq!(other.attach_monitor(&monitor).unwrap_err().status(), Status::LimitReached);
    // Re-attaching the same session frees its old lane first.
    session.attach_monitor(&monitor).unwrap();
    drop(session);
    other.attach_monitor(&monitor).unwrap();
}
