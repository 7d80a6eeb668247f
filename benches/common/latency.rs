//! Per-request latency percentiles, as the benches write them for benches/report.py.

use std::time::Duration;

/// `{"n", "p50_us", "p95_us", "p99_us"}` of the samples (sorted here).
pub fn percentiles(mut v: Vec<Duration>) -> serde_json::Value {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)].as_secs_f64() * 1e6;
    serde_json::json!({"n": v.len(), "p50_us": at(0.50), "p95_us": at(0.95), "p99_us": at(0.99)})
}
