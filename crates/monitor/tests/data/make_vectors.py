"""Generates the reference vectors the monitor's tests compare against.

Run once by a maintainer (not by CI), with the build venv of models/build (scipy, numpy):
    python crates/monitor/tests/data/make_vectors.py
Samples are not stored: both this script and tests/common/mod.rs derive them from the same
splitmix64 stream and the same float operations, so only specs and expected values are committed.
"""
import json
import math
import os

import numpy as np
import scipy
from scipy import stats

MASK = (1 << 64) - 1


def splitmix64(state):
    """Yields uniform floats in [0, 1) (53 bits) from a splitmix64 stream."""
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z = z ^ (z >> 31)
        yield (z >> 11) * (1.0 / (1 << 53))


def sample(spec):
    """spec: {seed, n, kind, scale, shift, levels}; mirrors tests/common/mod.rs::sample."""
    g = splitmix64(spec["seed"])
    out = []
    for _ in range(spec["n"]):
        kind = spec["kind"]
        if kind == "uniform":
            v = next(g)
        elif kind == "bell":  # sum of four uniforms, centred: a smooth bell shape
            a, b, c, d = next(g), next(g), next(g), next(g)
            v = ((a + b) + (c + d)) - 2.0
        elif kind == "const":
            v = 0.0
        elif kind == "signed_zero":  # -1, -0.0 / 0.0, 1 with many ties at zero
            k = math.floor(next(g) * 3.0) - 1.0
            v = -0.0 if (k == 0.0 and spec.get("negative_zero")) else k
        else:
            raise ValueError(kind)
        v = v * spec.get("scale", 1.0) + spec.get("shift", 0.0)
        levels = spec.get("levels")
        if levels:
            v = math.floor(v * levels) / levels
        out.append(v)
    return out


def ks_cases():
    cases = []

    def add(name, a, b):
        xa, xb = sample(a), sample(b)
        r = stats.ks_2samp(xa, xb)  # method='auto', two-sided
        cases.append({"name": name, "a": a, "b": b, "statistic": float(r.statistic), "pvalue": float(r.pvalue)})

    seed = 1
    def spec(n, kind="bell", **kw):
        nonlocal seed
        seed += 1
        return {"seed": seed, "n": n, "kind": kind, **kw}

    sizes = [(1, 1), (1, 2), (2, 3), (3, 7), (5, 5), (8, 12), (10, 10), (10, 20), (17, 31), (50, 50),
             (64, 100), (100, 73), (200, 300), (257, 1031), (1000, 1000), (1000, 999), (1024, 1024),
             (2000, 3000), (4999, 5000), (5000, 5000), (5000, 37), (1, 5000), (3, 4999)]
    for n, m in sizes:
        add(f"same {n}x{m}", spec(n), spec(m))
        add(f"shift0.25 {n}x{m}", spec(n), spec(m, shift=0.25))
    for n, m in [(10, 10), (30, 45), (300, 500), (1024, 1024)]:
        add(f"shift1.5 {n}x{m}", spec(n), spec(m, shift=1.5))
        add(f"scale2 {n}x{m}", spec(n), spec(m, scale=2.0))
    for n, m in [(10, 10), (10, 7), (50, 80), (1000, 1500), (4000, 5000)]:
        add(f"ties {n}x{m}", spec(n, levels=4), spec(m, levels=4))
        add(f"ties shifted {n}x{m}", spec(n, levels=3), spec(m, levels=3, shift=0.34))
    for n, m in [(1, 1), (5, 9), (100, 100), (1000, 3)]:
        add(f"constant identical {n}x{m}", spec(n, "const", shift=3.0), spec(m, "const", shift=3.0))
        add(f"constant different {n}x{m}", spec(n, "const", shift=3.0), spec(m, "const", shift=4.0))
    same = spec(500)
    add("identical 500", same, same)
    for n, m in [(20, 20), (100, 150), (2000, 2000)]:
        add(f"signed zero {n}x{m}", spec(n, "signed_zero", negative_zero=True), spec(m, "signed_zero"))
    # Beyond 10000: scipy's asymptotic path (kstwo.sf at the effective size).
    for n, m in [(10001, 10001), (20000, 15000), (12000, 100), (30000, 7), (10001, 140), (50000, 40000)]:
        add(f"asymp same {n}x{m}", spec(n), spec(m))
        add(f"asymp shift0.05 {n}x{m}", spec(n), spec(m, shift=0.05))
    return cases


def descriptive_cases():
    out = []
    for i, n in enumerate([1, 2, 7, 99, 100, 101, 1000, 1024, 5000]):
        s = {"seed": 1000 + i, "n": n, "kind": "uniform"}
        u = np.array(sample(s))
        latency_ns = np.floor(u * u * 60e6)          # up to 60 ms, skewed
        latency_us = latency_ns / 1000.0
        confidence = (u.astype(np.float32)).astype(np.float64)
        length = np.floor(u * 7000.0)
        srt = np.sort(latency_us)
        def bucket_counts(bounds, x):
            idx = np.searchsorted(np.array(bounds), x, side="left")
            return np.bincount(idx, minlength=len(bounds) + 1).tolist()
        out.append({
            "spec": s,
            "p50": float(srt[int(n * 0.50)]), "p95": float(srt[int(n * 0.95)]), "p99": float(srt[int(n * 0.99)]),
            "nearest_rank_p95": float(np.percentile(latency_us, 95, method="inverted_cdf")),
            "nearest_rank_p50": float(np.percentile(latency_us, 50, method="inverted_cdf")),
            "latency_mean": float(np.mean(latency_us)),
            "confidence_mean": float(np.mean(confidence)),
            "latency_histogram": bucket_counts([0.01, 0.05, 0.1, 0.5, 1.0, 5.0], latency_us / 1e6),
            "confidence_histogram": bucket_counts([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], confidence),
            "input_length_histogram": bucket_counts([10, 50, 100, 500, 1000, 5000], length),
        })
    return out


def chi2_cases():
    tables = [
        ([120, 80], [60, 140]), ([500, 500], [510, 490]), ([50, 50], [50, 50]),
        ([10, 20, 30, 40, 0], [40, 30, 20, 10, 0]), ([100, 0, 3], [90, 5, 1]),
        ([1000, 1], [1, 1000]), ([5, 7, 9, 11, 13, 15], [15, 13, 11, 9, 7, 5]),
        ([300, 0], [200, 100]), ([0, 100], [0, 40]),
    ]
    out = []
    for a, b in tables:
        # scipy refuses categories empty in both rows; the monitor leaves them out, so do the same.
        table = np.array([a, b])
        r = stats.chi2_contingency(table[:, table.sum(axis=0) > 0])
        out.append({"first": a, "second": b, "statistic": float(r.statistic), "pvalue": float(r.pvalue), "dof": int(r.dof)})
    return out


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    meta = {"generator": "make_vectors.py", "scipy": scipy.__version__, "numpy": np.__version__}
    for name, cases in [("ks_cases.json", ks_cases()), ("descriptive_cases.json", descriptive_cases()),
                        ("chi2_cases.json", chi2_cases())]:
        with open(os.path.join(here, name), "w") as f:
            json.dump({**meta, "cases": cases}, f, indent=1)
            f.write("\n")
        print(name, len(cases))
