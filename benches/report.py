"""Collects criterion results and turns the outputs of benches/run.sh into BENCHMARKS.md tables.

  report.py collect <file.json>   snapshot target/criterion medians + latency.json into a file
  report.py report <results dir>  print the tables (each bench's best round)
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def criterion_medians(prefix="", scale=1e3):
    """The medians criterion left under target/criterion for bench ids starting with `prefix`,
    in ns divided by `scale` (µs by default)."""
    medians = {}
    for bench in (ROOT / "target/criterion").rglob("new/benchmark.json"):
        meta = json.loads(bench.read_text())
        if meta["full_id"].startswith(prefix):
            estimates = json.loads((bench.parent / "estimates.json").read_text())
            medians[meta["full_id"]] = estimates["median"]["point_estimate"] / scale
    return medians


def collect(path):
    medians = criterion_medians()
    latency = json.loads((ROOT / "target/criterion/latency.json").read_text())
    pathlib.Path(path).write_text(json.dumps({"criterion_median_us": medians, "latency": latency}, indent=1))


def collect_monitor(path):
    """Snapshot the medians of benches/monitor.rs (ids starting with 'monitor'), in ns."""
    medians = criterion_medians("monitor", scale=1)
    pathlib.Path(path).write_text(json.dumps(medians, indent=1))


def monitor_report(out):
    runs = [json.loads(f.read_text()) for f in sorted(pathlib.Path(out).glob("monitor.*.json"))]
    if not runs:
        return
    b = lambda key: min(r[key] for r in runs if key in r)  # noqa: E731
    print(f"\n### Monitor (release build, best of {len(runs)} runs, medians)\n")
    print("| bench | median | baseline in the same process | difference | target |")
    print("|---|---|---|---|---|")
    rec, push = b("monitor/record"), b("monitor/record_baseline_vec_push")
    print(f"| one record into the session's ring (`Recorder::record_at`) | {rec:.1f} ns | plain `Vec::push` of the same record: {push:.1f} ns | {rec - push:+.1f} ns | ≤ 50 ns |")
    on = b("monitor_overhead/breast-cancer-logreg/with_monitor")
    off = b("monitor_overhead/breast-cancer-logreg/without_monitor")
    print(f"| breast-cancer-logreg request with a monitor attached (8 features watched) | {on / 1e3:.3f} µs | without: {off / 1e3:.3f} µs | {on - off:+.0f} ns ({on / off:.2f}×) | ≤ 1 µs overhead |")
    snap, sort = b("monitor/snapshot_1024_vs_1024"), b("monitor/snapshot_baseline_sort_11x1024")
    print(f"| snapshot: window 1024 vs baseline 1024, KS for latency, confidence, length and 8 features + label chi-square | {snap / 1e3:.1f} µs | comparison-sorting the same 11 samples (clone + pdqsort): {sort / 1e3:.1f} µs | {snap / sort:.2f}× | ≤ 200 µs |")
    for n in (1024, 5000):
        key = f"monitor/ks_2samp_{n}x{n}"
        print(f"| stateless `ks_2samp` {n} × {n} (exact p-value, copies + sorts) | {b(key) / 1e3:.1f} µs | | | |")


def collect_exports(path):
    """Snapshot benches/exports.rs: criterion medians (µs) and the per-request percentiles."""
    medians = criterion_medians("exports/")
    latency = json.loads((ROOT / "target/criterion/exports_latency.json").read_text())
    pathlib.Path(path).write_text(json.dumps({"criterion_median_us": medians, "latency": latency}, indent=1))


# The speed target: 100-tree ensembles on 30 features, each ≤ 1.0× onnxruntime.
TREE_TARGETS = ("forest-breast", "gboost-breast", "lightgbm-breast", "xgboost-breast")


def exports_report(out):
    out = pathlib.Path(out)
    ours = {p: [json.loads(f.read_text()) for f in sorted(out.glob(f"ours.{p}.*.json"))] for p in ("dist", "release")}
    anchors = [json.loads(f.read_text()) for f in sorted(out.glob("onnxruntime.*.json"))]
    python = [a["results"] for a in anchors]
    golden = json.loads((ROOT / "tests/data/exports/golden.json").read_text())["models"]
    machine = (out / "machine.txt").read_text().strip().replace("\n", "; ") if (out / "machine.txt").exists() else ""
    floor = best(python, "exports/python_floor", "median_us")
    lat = {p: [r["latency"] for r in runs] for p, runs in ours.items()}
    version = next((r["onnxruntime_version"] for r in lat["dist"] if r.get("onnxruntime_version")), "?")
    print(f"Best of {len(lat['dist'])} rounds per bench ({machine}). Per-request latency, µs. Ours: "
          "`Session::classify_f32` (what `mle_session_classify_f32` runs) on one held-out row. onnxruntime "
          f"{version} through its C API in the same process, one thread, sequential, all optimizations, "
          "interleaved with ours request by request on the same rows (input buffer reused, output allocated and "
          "released per run, the probability tensor read: the default export's `-nozipmap` twin, the same graph "
          "without the ZipMap, whose probability tensor is what the runtime serves). The last column is "
          f"onnxruntime's Python API (`session.run`, measured in its own process; a Python call alone costs "
          f"{us(floor)} µs).\n")
    print("| model | estimator | ours p50 (dist) | ours p95 (dist) | ours p50 (release) | ORT C p50 | ORT C p95 | p50 ours / ORT | p95 ours / ORT | ORT Python p50 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, entry in golden.items():
        pick = lambda runs, side, field: best([r[side] for r in runs], name, field)  # noqa: E731
        d50, d95 = pick(lat["dist"], "ours", "p50_us"), pick(lat["dist"], "ours", "p95_us")
        r50 = pick(lat["release"], "ours", "p50_us")
        o50, o95 = pick(lat["dist"], "onnxruntime_c", "p50_us"), pick(lat["dist"], "onnxruntime_c", "p95_us")
        py50 = best(python, f"exports/{name}", "median_us")
        mark = " **(target)**" if name in TREE_TARGETS else ""
        print(f"| {name}{mark} | {entry['estimator']} | {us(d50)} | {us(d95)} | {us(r50)} | {us(o50)} | {us(o95)} | "
              f"{ratio(d50, o50)} | {ratio(d95, o95)} | {us(py50)} |")


def best(runs, key, field=None):
    """Smallest value of `key` over the rounds (noise only adds time)."""
    values = []
    for run in runs:
        v = run.get(key)
        if v is not None and field is not None:
            v = v.get(field)
        if v is not None:
            values.append(v)
    return min(values) if values else None


def us(v):
    return "–" if v is None else (f"{v:,.0f}" if v >= 100 else f"{v:.1f}")


def ratio(a, b):
    return "–" if a is None or b is None else f"{a / b:.2f}×"


def report(out):
    out = pathlib.Path(out)
    ours = {p: [json.loads(f.read_text()) for f in sorted(out.glob(f"ours.{p}.*.json"))] for p in ("release", "dist")}
    crit = {p: [r["criterion_median_us"] for r in runs] for p, runs in ours.items()}
    lat = {p: [r["latency"] for r in runs] for p, runs in ours.items()}
    anchors = [json.loads(f.read_text()) for f in sorted(out.glob("onnxruntime.*.json"))]
    ort = [a["results"] for a in anchors]
    print(f"Best of {len(anchors)} alternating rounds per bench. onnxruntime {anchors[0]['onnxruntime']}, "
          "one thread (intra/inter-op 1, sequential), Python API.\n")

    print("### Latency per request, this runtime (dist build) vs onnxruntime (medians, µs)\n")
    print("| model | input | ours end to end | ORT end to end | ratio | ours inference | ORT inference (same padded input) | ratio | ours release build, end to end |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = [("minilm-l3-promptinj", b) for b in ("16", "32", "64", "128")]
    rows += [("minilm-l3-promptinj/plan-per-bucket", b) for b in ("16", "32", "64", "128")]
    rows += [("profanity-tfidf", b) for b in ("16", "32", "64", "128")]
    rows += [("magika", "2048"), ("digits-mlp", "64"), ("breast-cancer-logreg", "30")]
    for model, size in rows:
        base = model.split("/")[0]
        e2e = best(crit["dist"], f"{model}/end_to_end/{size}")
        inf = best(crit["dist"], f"{model}/inference/{size}")
        rel = best(crit["release"], f"{model}/end_to_end/{size}")
        oe = best(ort, f"{base}/end_to_end/{size}", "median_us")
        oi = best(ort, f"{base}/inference/{size}", "median_us")
        unit = {"minilm-l3-promptinj": "tokens", "profanity-tfidf": "tokens", "magika": "bytes"}.get(base, "floats")
        label = f"≤{size} {unit}" if unit == "tokens" else f"{size} {unit}"
        print(f"| {model} | {label} | {us(e2e)} | {us(oe)} | {ratio(e2e, oe)} | {us(inf)} | {us(oi)} | {ratio(inf, oi)} | {us(rel)} |")
    for group in ("digits-mlp", "breast-cancer-logreg"):
        b = best(crit["dist"], f"{group}/batch_of_32")
        if b:
            print(f"\n{group}: a batch of 32 in one plan run takes {us(b)} µs ({b / 32:.2f} µs per example).")

    print("\n### Headline model, per-request percentiles (µs, end to end, dist build; best round)\n")
    print("| texts of | n | p50 | p95 | p99 | ORT end to end p95 |")
    print("|---|---|---|---|---|---|")
    for b in ("16", "32", "64", "128"):
        key = f"minilm-l3-promptinj/{b}"
        n = lat["dist"][0][key]["n"]
        print(f"| ≤{b} tokens | {n} | {us(best(lat['dist'], key, 'p50_us'))} | {us(best(lat['dist'], key, 'p95_us'))} | "
              f"{us(best(lat['dist'], key, 'p99_us'))} | {us(best(ort, f'minilm-l3-promptinj/end_to_end/{b}', 'p95_us'))} |")

    print("\n### The pool allocator's cost (dist build)\n")
    print("| case | pooled median | system median | pooled / system |")
    print("|---|---|---|---|")
    for case in ("minilm-32", "digits"):
        a, s = best(crit["dist"], f"pool/{case}/pooled"), best(crit["dist"], f"pool/{case}/system")
        print(f"| {case}, 1 thread (criterion) | {us(a)} | {us(s)} | {ratio(a, s)} |")
    print("\n| threads | case | pooled p50 | pooled p95 | system p50 | system p95 | p95 pooled / system |")
    print("|---|---|---|---|---|---|---|")
    for t in ("1", "2"):
        for case in ("digits", "minilm-32"):
            p = {f: best(lat["dist"], f"threads{t}/{case}/pooled", f) for f in ("p50_us", "p95_us")}
            s = {f: best(lat["dist"], f"threads{t}/{case}/system", f) for f in ("p50_us", "p95_us")}
            print(f"| {t} | {case} | {us(p['p50_us'])} | {us(p['p95_us'])} | {us(s['p50_us'])} | {us(s['p95_us'])} | {ratio(p['p95_us'], s['p95_us'])} |")

    rss = json.loads((out / "rss.json").read_text())
    print("\n### Peak RSS per model (classify CLI, release build: load + session + requests)\n")
    print("| model | requests | peak RSS |")
    print("|---|---|---|")
    for name, r in rss.items():
        print(f"| {name} | {r['answered']} | {r['peak_rss_kib'] / 1024:.1f} MiB |")

    print("\n### Library size (libmlops_edge.so with the pool allocator, stripped, x86_64)\n")
    print("| profile | bytes | MiB |")
    print("|---|---|---|")
    for profile in ("release", "dist"):
        path = out / f"libmlops_edge.{profile}.so"
        if path.exists():
            size = path.stat().st_size
            print(f"| {profile} | {size:,} | {size / 2**20:.2f} |")
    monitor_report(out)


if __name__ == "__main__":
    {"collect": collect, "collect-monitor": collect_monitor, "collect-exports": collect_exports, "report": report,
     "monitor": monitor_report, "exports": exports_report}[sys.argv[1]](
        sys.argv[2]
    )
