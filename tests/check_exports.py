#!/usr/bin/env python3
"""Validates the telemetry batch and the metric exports that `cargo test --test telemetry_runtime`
wrote to target/tmp/exports, with the real tools of each ecosystem:

- metrics.prom (Prometheus text 0.0.4): `promtool check metrics` (Debian package prometheus;
  parse + lint) and prometheus_client's text parser;
- metrics.openmetrics: prometheus_client's strict OpenMetrics parser;
- metrics.otlp.json: parsed into opentelemetry-proto's ExportMetricsServiceRequest with
  google.protobuf.json_format (unknown fields are errors);
- batch.jsonl: the telemetry batch schema (mlops_edge.telemetry v1) as the README documents it.

The values are cross-checked between formats: the same counters, the same histogram counts, and
the exponential histogram's buckets hold its min and max at its scale (OTel's boundary formula).
"""
import json
import math
import subprocess
import sys
from pathlib import Path

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus

ROOT = Path(__file__).resolve().parent.parent
DIR = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "target" / "tmp" / "exports"
SEED_NAMES = {
    "model_prediction_latency_seconds": "histogram",
    "model_predictions": "counter",
    "model_confidence_score": "histogram",
    "model_input_length": "histogram",
}
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def samples_by_key(families):
    out = {}
    for family in families:
        for s in family.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            check(key not in out, f"duplicate sample {key}")
            out[key] = s.value
    return out


# --- Prometheus 0.0.4 ---
prom_text = (DIR / "metrics.prom").read_text()
result = subprocess.run(["promtool", "check", "metrics"], input=prom_text, text=True, capture_output=True)
check(result.returncode == 0, f"promtool check metrics failed ({result.returncode}): {result.stdout}{result.stderr}")
prom_families = list(parse_prometheus(prom_text))
prom = samples_by_key(prom_families)
prom_types = {f.name: f.type for f in prom_families}
for name, kind in SEED_NAMES.items():
    check(prom_types.get(name) == kind, f"prometheus: {name} should be a {kind}, is {prom_types.get(name)}")

# --- OpenMetrics, strict parser ---
om_text = (DIR / "metrics.openmetrics").read_text()
om_families = list(parse_openmetrics(om_text))
om = samples_by_key(om_families)
om_types = {f.name: f.type for f in om_families}
for name, kind in SEED_NAMES.items():
    check(om_types.get(name) == kind, f"openmetrics: {name} should be a {kind}, is {om_types.get(name)}")
check(set(prom) == set(om), f"prometheus and openmetrics samples differ: {set(prom) ^ set(om)}")
for key, value in prom.items():
    if key in om:
        same = (math.isnan(value) and math.isnan(om[key])) or value == om[key]
        check(same, f"{key}: prometheus {value}, openmetrics {om[key]}")

# Histograms: cumulative buckets, +Inf bucket = count.
for family in om_families:
    if family.type != "histogram":
        continue
    series = {}
    for s in family.samples:
        labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        series.setdefault(labels, {"buckets": []})
        if s.name.endswith("_bucket"):
            series[labels]["buckets"].append((float(s.labels["le"]), s.value))
        elif s.name.endswith("_count"):
            series[labels]["count"] = s.value
    for labels, h in series.items():
        counts = [c for _, c in sorted(h["buckets"])]
        check(counts == sorted(counts), f"{family.name}{labels}: buckets not cumulative")
        check(counts[-1] == h.get("count"), f"{family.name}{labels}: +Inf bucket {counts[-1]} != count {h.get('count')}")

# --- OTLP JSON ---
otlp_text = (DIR / "metrics.otlp.json").read_text()
request = json_format.Parse(otlp_text, ExportMetricsServiceRequest())
check(len(request.resource_metrics) == 1, "one resource")
resource = {a.key: a.value.string_value for a in request.resource_metrics[0].resource.attributes}
check(resource.get("service.name") == "mlops_edge", f"resource attributes: {resource}")
metrics = {m.name: m for m in request.resource_metrics[0].scope_metrics[0].metrics}
check(set(SEED_NAMES) <= set(metrics), f"OTLP lacks seed metrics: {set(SEED_NAMES) - set(metrics)}")
for name in om_types:
    check(name in metrics, f"OTLP lacks {name}")


def attributes(point):
    return tuple(sorted((a.key, a.value.string_value) for a in point.attributes))


latency = metrics["model_prediction_latency_seconds"]
check(latency.WhichOneof("data") == "exponential_histogram", "latency is an exponential histogram in OTLP")
for point in latency.exponential_histogram.data_points:
    buckets = list(point.positive.bucket_counts)
    check(sum(buckets) + point.zero_count == point.count, f"exp histogram counts do not add up: {point}")
    prom_count = prom[("model_prediction_latency_seconds_count", attributes(point))]
    check(point.count == prom_count, f"OTLP latency count {point.count} != Prometheus {prom_count}")
    if point.count and buckets:
        base = 2.0 ** (2.0 ** -point.scale)
        first = next(i for i, c in enumerate(buckets) if c)
        last = max(i for i, c in enumerate(buckets) if c)
        lo = base ** (point.positive.offset + first)
        hi = base ** (point.positive.offset + last + 1)
        # Buckets are (base^i, base^(i+1)]; allow one ulp-ish of float slack.
        check(lo * (1 - 1e-12) <= point.min <= base ** (point.positive.offset + first + 1) * (1 + 1e-12),
              f"min {point.min} outside its bucket at scale {point.scale}")
        check(base ** (point.positive.offset + last) * (1 - 1e-12) <= point.max <= hi * (1 + 1e-12),
              f"max {point.max} outside its bucket at scale {point.scale}")
        check(len(buckets) <= 160, "at most 160 buckets")
predictions = metrics["model_predictions"]
check(predictions.sum.is_monotonic and predictions.sum.aggregation_temporality == 2, "predictions: cumulative monotonic sum")
for point in predictions.sum.data_points:
    key = ("model_predictions_total", attributes(point))
    check(prom.get(key) == point.as_int, f"{key}: OTLP {point.as_int}, Prometheus {prom.get(key)}")

# --- the telemetry batch ---
REQUEST_FIELDS = {
    "seq": int, "time_unix_ms": int, "type": str, "model_version": str, "variant": int,
    "candidate": bool, "status": str, "status_code": int, "label": (int, type(None)),
    "confidence": (float, int, type(None)), "latency_ns": int, "input_length": int,
}
EVENT_FIELDS = {
    "seq": int, "time_unix_ms": int, "type": str, "event": str, "variant": int, "from_version": str,
    "to_version": str, "stage_percent": int, "level": str, "message": str,
}
HEADER_FIELDS = {
    "schema": str, "schema_version": int, "batch_id": int, "device_id": str, "library_version": str,
    "created_unix_ms": int, "records": int, "first_seq": int, "last_seq": int,
}


def check_fields(obj, fields, what):
    check(set(obj) == set(fields), f"{what}: fields {sorted(obj)} != {sorted(fields)}")
    for key, kind in fields.items():
        value = obj.get(key)
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        check(ok, f"{what}: {key}={value!r} is not {kind}")


lines = (DIR / "batch.jsonl").read_text().splitlines()
header = json.loads(lines[0])
check_fields(header, HEADER_FIELDS, "header")
check(header["schema"] == "mlops_edge.telemetry" and header["schema_version"] == 1, "schema name/version")
records = [json.loads(line) for line in lines[1:]]
check(header["records"] == len(records), "header record count")
check([r["seq"] for r in records] == list(range(header["first_seq"], header["last_seq"] + 1)), "seq run")
for r in records:
    check_fields(r, REQUEST_FIELDS if r["type"] == "request" else EVENT_FIELDS, f"record {r['seq']}")

if failures:
    print("\n".join(f"FAIL: {f}" for f in failures))
    sys.exit(1)
print(f"exports ok: promtool clean, {len(om_families)} OpenMetrics families (strict parser), "
      f"{len(metrics)} OTLP metrics, {len(records)} batch records")
