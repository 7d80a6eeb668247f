#!/usr/bin/env python3
"""Writes tests/fleet/ks_vectors.json: two-sample KS cases for the receiver's `ks` command,
answered by scipy (the statistic of scipy.stats.ks_2samp, and the asymptotic p-value
scipy.stats.kstwobign.sf(D * sqrt(n*m/(n+m))) the receiver computes; scipy's own
method="asymp" p-value, kstwo.sf(D, round(n*m/(n+m))), is recorded beside it for reference).

Run with scipy installed (here: scipy 1.17.1, numpy's default_rng seed 20261202):
  python3 tests/fleet/make_ks_vectors.py > tests/fleet/ks_vectors.json
"""
import json

import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(20261202)
cases = []
for n, m, shift, scale in [(50, 60, 0.0, 1.0), (200, 150, 0.1, 1.0), (500, 800, 0.3, 1.0), (300, 300, 0.0, 1.5),
                           (1000, 40, 0.0, 1.0), (120, 120, 1.0, 1.0)]:
    a = rng.normal(0.0, 1.0, n).round(4)
    b = rng.normal(shift, scale, m).round(4)
    r = stats.ks_2samp(a, b, method="asymp")
    en = n * m / (n + m)
    cases.append({
        "a": a.tolist(), "b": b.tolist(), "statistic": float(r.statistic),
        "p_kstwobign": float(stats.kstwobign.sf(r.statistic * np.sqrt(en))),
        "p_scipy_asymp": float(r.pvalue),
    })
# Ties across the samples (confidences repeat on a device fleet).
a = np.repeat([0.5, 0.7, 0.9], [40, 30, 30]).astype(float)
b = np.repeat([0.5, 0.7, 0.9], [20, 50, 30]).astype(float)
r = stats.ks_2samp(a, b, method="asymp")
cases.append({"a": a.tolist(), "b": b.tolist(), "statistic": float(r.statistic),
              "p_kstwobign": float(stats.kstwobign.sf(r.statistic * np.sqrt(100 * 100 / 200))),
              "p_scipy_asymp": float(r.pvalue)})
print(json.dumps({"generator": "tests/fleet/make_ks_vectors.py", "scipy": scipy.__version__, "numpy": np.__version__,
                  "cases": cases}))
