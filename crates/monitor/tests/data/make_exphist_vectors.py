"""Reference vectors for the OpenTelemetry exponential histogram (crates/monitor/src/exphist.rs).

Made with the OpenTelemetry Python SDK (opentelemetry-sdk): its index mapping at several scales,
and whole histograms aggregated by its ExponentialBucketHistogramAggregation (max_size 160,
max_scale 20) through the public metrics API. Run from the repository root with a Python that
has opentelemetry-sdk:

    python crates/monitor/tests/data/make_exphist_vectors.py

Writes crates/monitor/tests/data/exphist_cases.json.
"""

import json
import math
import random
from importlib.metadata import version
from pathlib import Path

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics._internal.exponential_histogram.mapping.exponent_mapping import ExponentMapping
from opentelemetry.sdk.metrics._internal.exponential_histogram.mapping.logarithm_mapping import LogarithmMapping
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View

OUT = Path(__file__).with_name("exphist_cases.json")
SCALES = [-10, -4, -2, -1, 0, 1, 2, 3, 5, 8, 12, 16, 20]


def mapping(scale):
    return LogarithmMapping(scale) if scale > 0 else ExponentMapping(scale)


def values(rng):
    vs = [1.0, 2.0, 0.5, 1024.0, 3.0, 1.5, 1e-3, 1e-6, 1e-9, 1e9, 123.456, 0.1, 0.25, 7.0]
    vs += [2.0 ** e for e in range(-40, 41, 3)]
    vs += [10 ** rng.uniform(-9, 9) for _ in range(300)]
    vs += [2.2250738585072014e-308, 1e-310, 1.7976931348623157e308]
    return vs


def index_cases(rng):
    cases = []
    for scale in SCALES:
        m = mapping(scale)
        vs = values(rng)
        # Values at and next to bucket boundaries of this scale.
        for index in [-5, -1, 0, 1, 7, 100, -100]:
            try:
                b = m.get_lower_boundary(index)
            except Exception:
                continue
            vs += [b, math.nextafter(b, 0), math.nextafter(b, math.inf)]
        cases.append({"scale": scale, "values": vs, "indexes": [m.map_to_index(v) for v in vs]})
    return cases


def histogram(values_list):
    reader = InMemoryMetricReader()
    view = View(instrument_name="h", aggregation=ExponentialBucketHistogramAggregation(max_size=160, max_scale=20))
    provider = MeterProvider(metric_readers=[reader], views=[view])
    h = provider.get_meter("vectors").create_histogram("h")
    for v in values_list:
        h.record(v)
    data = reader.get_metrics_data()
    point = data.resource_metrics[0].scope_metrics[0].metrics[0].data.data_points[0]
    provider.shutdown()
    return {
        "scale": point.scale,
        "count": point.count,
        "zero_count": point.zero_count,
        "sum": point.sum,
        "min": point.min,
        "max": point.max,
        "offset": point.positive.offset,
        "bucket_counts": list(point.positive.bucket_counts),
    }


def histogram_cases(rng):
    sets = {
        "latencies_ms_range": [rng.lognormvariate(math.log(5e-3), 0.6) for _ in range(2000)],
        "narrow": [1.0 + rng.random() * 1e-4 for _ in range(500)],
        "wide": [10 ** rng.uniform(-9, 6) for _ in range(1000)],
        "with_zeros": [0.0] * 7 + [rng.uniform(0.001, 0.002) for _ in range(100)],
        "one_value": [0.0042],
        "powers_of_two": [2.0 ** e for e in range(-20, 20)],
    }
    return [{"name": name, "values": vs, "expected": histogram(vs)} for name, vs in sets.items()]


def main():
    rng = random.Random(20261126)
    OUT.write_text(json.dumps({
        "generator": "crates/monitor/tests/data/make_exphist_vectors.py",
        "reference": f"opentelemetry-sdk {version('opentelemetry-sdk')}",
        "index_cases": index_cases(rng),
        "histogram_cases": histogram_cases(rng),
    }) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
