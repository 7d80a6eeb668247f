//! OTLP metrics as JSON: an `ExportMetricsServiceRequest` in the protobuf JSON mapping
//! (lowerCamelCase keys, enums as integers, 64-bit integers as strings), ready to POST to an
//! OpenTelemetry collector's `/v1/metrics` with `Content-Type: application/json`.
//!
//! Counters become cumulative monotonic sums (named without `_total`), gauges gauges, and the
//! latency histogram an exponential histogram (mergeable across devices by the backend); the
//! other histograms keep their explicit bounds.

use serde_json::{json, Value};

use super::{families, HistogramPoint, Labels, Metrics, Points};
use crate::monitor::exphist::ExpHistogram;

/// `AGGREGATION_TEMPORALITY_CUMULATIVE`.
const CUMULATIVE: i32 = 2;

/// `m` as OTLP JSON; `resource` adds attributes to the resource (e.g. `("device.id", …)`).
pub fn render(m: &Metrics, resource: &[(&str, &str)]) -> String {
    let start = m.start_unix_nanos.to_string();
    let time = m.time_unix_nanos.to_string();
    let mut metrics = Vec::new();
    for family in families(m) {
        let mut metric = json!({
            "name": family.name.strip_suffix("_total").unwrap_or(family.name),
            "description": family.help,
            "unit": family.unit,
        });
        let body = match &family.points {
            Points::Counter(points) => json!({
                "sum": {
                    "aggregationTemporality": CUMULATIVE,
                    "isMonotonic": true,
                    "dataPoints": points.iter().map(|(labels, v)| json!({
                        "attributes": attributes(labels),
                        "startTimeUnixNano": start,
                        "timeUnixNano": time,
                        "asInt": v.to_string(),
                    })).collect::<Vec<_>>(),
                }
            }),
            Points::Gauge(points) => json!({
                "gauge": {
                    "dataPoints": points.iter().map(|(labels, v)| json!({
                        "attributes": attributes(labels),
                        "timeUnixNano": time,
                        "asDouble": double(*v),
                    })).collect::<Vec<_>>(),
                }
            }),
            Points::Histogram(points) if points.iter().all(|(_, _, e)| e.is_some()) => json!({
                "exponentialHistogram": {
                    "aggregationTemporality": CUMULATIVE,
                    "dataPoints": points.iter().map(|(labels, _, e)| {
                        exponential_point(labels, e.as_ref().expect("checked"), &start, &time)
                    }).collect::<Vec<_>>(),
                }
            }),
            Points::Histogram(points) => json!({
                "histogram": {
                    "aggregationTemporality": CUMULATIVE,
                    "dataPoints": points.iter().map(|(labels, h, _)| explicit_point(labels, h, &start, &time))
                        .collect::<Vec<_>>(),
                }
            }),
        };
        if let (Value::Object(metric), Value::Object(body)) = (&mut metric, body) {
            metric.extend(body);
        }
        metrics.push(metric);
    }
    let mut resource_attributes = vec![
        json!({"key": "service.name", "value": {"stringValue": "mlops_edge"}}),
        json!({"key": "service.version", "value": {"stringValue": crate::VERSION}}),
    ];
    for (key, value) in resource {
        resource_attributes.push(json!({"key": key, "value": {"stringValue": value}}));
    }
    json!({
        "resourceMetrics": [{
            "resource": {"attributes": resource_attributes},
            "scopeMetrics": [{
                "scope": {"name": "mlops_edge", "version": crate::VERSION},
                "metrics": metrics,
            }],
        }]
    })
    .to_string()
}

fn attributes(labels: &Labels) -> Vec<Value> {
    labels.iter().map(|(k, v)| json!({"key": k, "value": {"stringValue": v}})).collect()
}

/// A double in the protobuf JSON mapping: a number, or "NaN" / "Infinity" / "-Infinity".
fn double(v: f64) -> Value {
    if v.is_nan() {
        json!("NaN")
    } else if v.is_infinite() {
        json!(if v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        json!(v)
    }
}

fn explicit_point(labels: &Labels, h: &HistogramPoint, start: &str, time: &str) -> Value {
    json!({
        "attributes": attributes(labels),
        "startTimeUnixNano": start,
        "timeUnixNano": time,
        "count": h.count.to_string(),
        "sum": double(h.sum),
        "bucketCounts": h.counts.iter().map(u64::to_string).collect::<Vec<_>>(),
        "explicitBounds": h.bounds,
    })
}

fn exponential_point(labels: &Labels, e: &ExpHistogram, start: &str, time: &str) -> Value {
    let mut point = json!({
        "attributes": attributes(labels),
        "startTimeUnixNano": start,
        "timeUnixNano": time,
        "count": e.count.to_string(),
        "sum": double(e.sum),
        "scale": e.scale,
        "zeroCount": e.zero_count.to_string(),
        "positive": {
            "offset": e.offset,
            "bucketCounts": e.buckets().iter().map(u64::to_string).collect::<Vec<_>>(),
        },
    });
    if e.count > 0 {
        point["min"] = double(e.min);
        point["max"] = double(e.max);
    }
    point
}
