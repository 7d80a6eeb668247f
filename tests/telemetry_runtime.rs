//! Telemetry and metric exports on a real runtime (breast-cancer-logreg): every request and
//! event reaches the upload callback, the Prometheus / OpenMetrics / OTLP exports carry the common
//! model-serving metric names (`model_prediction_latency_seconds`, `model_predictions_total`,
//! `model_confidence_score`, `model_input_length`) and the `mlops_edge_` ones, with values equal
//! to the runtime's own counts, and the files written here are validated by
//! `tests/check_exports.py` (promtool, prometheus_client's strict OpenMetrics parser,
//! opentelemetry-proto) in the test command.

mod common;

use std::sync::{Arc, Mutex};

use common::{breast, breast_rows};
use mlops_edge::deploy::ab::Assignment;
use mlops_edge::export::prometheus::TextFormat;
use mlops_edge::export::{otlp, prometheus};
use mlops_edge::monitor::exphist::ExpHistogram;
use mlops_edge::runtime::Target;
use mlops_edge::telemetry::{Batch, Telemetry, TelemetryOptions, Verdict};
use mlops_edge::{Runtime, RuntimeOptions, Variant};
use serde_json::Value;

/// Where the exports go for the Python checks (`target/tmp/exports`).
fn export_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("exports");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The value of the Prometheus sample `name{labels}` (labels in the order written).
fn sample(text: &str, series: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"));
    line[series.len() + 1..].parse().unwrap()
}

#[test]
fn requests_and_events_reach_the_host_and_the_exports_agree_with_the_runtime() {
    let batches = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
    let sink = Arc::clone(&batches);
    let telemetry = Telemetry::new(
        TelemetryOptions { device_id: "test-device-1".into(), batch_max_records: 1000, ..TelemetryOptions::default() },
        Box::new(move |batch: &Batch<'_>| {
            sink.lock().unwrap().push(batch.data.to_vec());
            Verdict::Ok
        }),
        None,
    )
    .unwrap();
    let options =
        RuntimeOptions { supervisor_thread: false, telemetry: Some(telemetry.clone()), ..RuntimeOptions::default() };
    let runtime = Runtime::new(&breast("1.0"), options).unwrap();
    runtime
        .set_experiment(
            "threshold-test",
            &[
                Variant { name: "control".into(), model: breast("1.0"), weight: 0.5 },
                Variant { name: "treatment".into(), model: breast("1.1"), weight: 0.5 },
            ],
            Assignment::Md5,
        )
        .unwrap();
    let rows = breast_rows();
    let mut served = [0u64; 2];
    for (i, row) in rows.iter().cycle().take(300).enumerate() {
        let s = runtime.classify_f32(&format!("user-{i}"), row, None).unwrap();
        served[s.variant] += 1;
        runtime.record_outcome(s.variant, i % 4 == 0).unwrap();
    }
    // A bad request: recorded (errors are never sampled out), and counted as an error.
    assert!(runtime.classify_f32("user-x", &[1.0; 3], None).is_err());
    runtime.with_monitor(Target::Variant(0), |m| Ok(m.freeze_baseline()?)).unwrap();
    for (i, row) in rows.iter().cycle().take(100).enumerate() {
        runtime.classify_f32(&format!("user-{i}"), row, None).unwrap();
    }
    runtime.set_shadow(&breast("1.2-shadow"), 1.0).unwrap();
    runtime.evaluate().unwrap();

    let report = telemetry.flush().unwrap();
    assert_eq!(report.pending, 0);
    let stats = telemetry.stats();
    let batches = batches.lock().unwrap();
    let lines: Vec<Value> = batches
        .iter()
        .flat_map(|b| {
            std::str::from_utf8(b)
                .unwrap()
                .lines()
                .skip(1)
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect();
    let requests: Vec<&Value> = lines.iter().filter(|l| l["type"] == "request").collect();
    let events: Vec<&str> =
        lines.iter().filter(|l| l["type"] == "event").map(|l| l["event"].as_str().unwrap()).collect();
    assert_eq!(requests.len(), 401);
    // Alert level changes depend on the machine's timing (the latency alert; under qemu-user the
    // 100 requests after the baseline can be slower than the 300 before): counted, not expected.
    let alert_changes = events.iter().filter(|e| **e == "alert_level_changed").count();
    let other_events: Vec<&str> = events.iter().copied().filter(|e| *e != "alert_level_changed").collect();
    assert_eq!(other_events, ["experiment_changed", "shadow_changed"]);
    let expected_records = 401 + 2 + alert_changes as u64;
    assert_eq!(stats.recorded, expected_records, "400 requests, 1 error, the experiment and shadow events, alerts");
    assert_eq!(requests.iter().filter(|r| r["status"] == "input_shape").count(), 1);
    for r in &requests {
        let variant = r["variant"].as_u64().unwrap();
        assert_eq!(r["model_version"], ["1.0", "1.1"][variant as usize]);
    }
    std::fs::write(export_dir().join("batch.jsonl"), &batches[0]).unwrap();

    // Exports.
    let metrics = mlops_edge::export::Metrics::from_runtime(&runtime).unwrap();
    let text = prometheus::render(&metrics, TextFormat::Prometheus);
    let labels = r#"model_version="1.0",variant="control",role="variant""#;
    let control = runtime.variant_stats(0).unwrap();
    let snapshot = runtime.snapshot(Target::Variant(0)).unwrap();
    assert_eq!(
        sample(&text, &format!("model_predictions_total{{{labels},status=\"success\"}}")),
        snapshot.versions[0].ok as f64
    );
    assert_eq!(
        sample(&text, &format!("model_prediction_latency_seconds_count{{{labels}}}")),
        snapshot.totals.latency_seconds.count as f64
    );
    assert_eq!(
        sample(&text, &format!("model_prediction_latency_seconds_bucket{{{labels},le=\"+Inf\"}}")),
        snapshot.totals.latency_seconds.count as f64
    );
    // The fine buckets: cumulative, ending at the count, every bound of the window's coarse set
    // among them; an on-device request lands below 10 ms, so some bucket under 0.01 s counts it.
    let bounds = mlops_edge::monitor::stats::LATENCY_EXPORT_BUCKETS_SECONDS;
    let prefix = format!("model_prediction_latency_seconds_bucket{{{labels},le=\"");
    let exported: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .filter_map(|rest| rest.split_once("\"} "))
        .filter(|(le, _)| *le != "+Inf")
        .map(|(le, count)| (le.parse().unwrap(), count.parse().unwrap()))
        .collect();
    assert_eq!(exported.iter().map(|(le, _)| *le).collect::<Vec<f64>>(), bounds, "the exported bounds");
    let cumulative: Vec<f64> = exported.iter().map(|(_, count)| *count).collect();
    assert!(cumulative.windows(2).all(|w| w[0] <= w[1]), "{cumulative:?}");
    assert!(cumulative[..9].iter().any(|c| *c > 0.0), "nothing below 10 ms: {cumulative:?}");
    for coarse in mlops_edge::monitor::stats::LATENCY_BUCKETS_SECONDS {
        assert!(bounds.contains(&coarse), "{coarse} is an exported bound");
    }
    // The baseline frozen above is exported beside the window.
    let baseline = snapshot.baseline.expect("a baseline was frozen");
    assert_eq!(
        sample(&text, &format!("mlops_edge_baseline_latency_seconds{{{labels},percentile=\"95\"}}")),
        baseline.latency_p95_us / 1e6
    );
    assert_eq!(sample(&text, &format!("mlops_edge_baseline_confidence_mean{{{labels}}}")), baseline.confidence_mean);
    assert_eq!(sample(&text, &format!("mlops_edge_baseline_error_ratio{{{labels}}}")), baseline.error_rate);
    for (check, judged) in [
        ("latency", snapshot.degradation_tested),
        ("confidence", snapshot.degradation_tested),
        ("error_rate", snapshot.error_rate_tested),
    ] {
        let series = format!("mlops_edge_degradation_judged{{{labels},check=\"{check}\"}}");
        assert_eq!(sample(&text, &series), if judged { 1.0 } else { 0.0 }, "{series}");
    }
    assert!(!text.contains(r#"mlops_edge_baseline_confidence_mean{model_version="1.1""#), "no baseline, no gauge");
    assert_eq!(sample(&text, r#"mlops_edge_ab_requests_total{variant="control"}"#), control.requests as f64);
    assert_eq!(sample(&text, r#"mlops_edge_ab_conversions_total{variant="control"}"#), control.conversions as f64);
    assert_eq!(served[0] + served[1], 300);
    assert_eq!(sample(&text, "mlops_edge_runtime_errors_total"), 1.0);
    assert_eq!(sample(&text, "mlops_edge_telemetry_sent_total"), expected_records as f64);
    assert_eq!(
        sample(
            &text,
            r#"mlops_edge_drift_p_value{model_version="1.0",variant="control",role="variant",quantity="latency"}"#
        ),
        snapshot.drift.latency.p_value
    );
    assert!(text.contains(r#"mlops_edge_shadow_compared_total{model_version="1.2-shadow"}"#));
    let open_metrics = prometheus::render(&metrics, TextFormat::OpenMetrics);
    assert!(open_metrics.ends_with("# EOF\n"));
    assert!(open_metrics.contains("# TYPE model_predictions counter\n"));
    let otlp_json = otlp::render(&metrics, &[("device.id", "test-device-1")]);
    let parsed: Value = serde_json::from_str(&otlp_json).unwrap();
    let all = parsed["resourceMetrics"][0]["scopeMetrics"][0]["metrics"].as_array().unwrap();
    let latency = all.iter().find(|m| m["name"] == "model_prediction_latency_seconds").unwrap();
    let point = &latency["exponentialHistogram"]["dataPoints"][0];
    let e: &ExpHistogram = &snapshot.totals.latency_exponential;
    assert_eq!(point["count"], e.count.to_string());
    assert_eq!(point["scale"], e.scale);
    let buckets: u64 = point["positive"]["bucketCounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(buckets + point["zeroCount"].as_str().unwrap().parse::<u64>().unwrap(), e.count);

    let dir = export_dir();
    std::fs::write(dir.join("metrics.prom"), &text).unwrap();
    std::fs::write(dir.join("metrics.openmetrics"), &open_metrics).unwrap();
    std::fs::write(dir.join("metrics.otlp.json"), &otlp_json).unwrap();
    let final_report = runtime.shutdown(std::time::Duration::from_secs(5)).unwrap();
    assert_eq!(final_report.telemetry.unwrap().pending, 1, "the shutdown_started event waits for the next flush");
}
