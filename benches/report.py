"""Turns the outputs of benches/run.sh into the markdown tables of BENCHMARKS.md.

Usage: report.py <results dir> (criterion's own files are read from target/criterion).
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def criterion_medians():
    medians = {}
    for bench in (ROOT / "target/criterion").rglob("new/benchmark.json"):
        meta = json.loads(bench.read_text())
        estimates = json.loads((bench.parent / "estimates.json").read_text())
        medians[meta["full_id"]] = estimates["median"]["point_estimate"] / 1e3  # µs
    return medians


def us(v):
    return "–" if v is None else (f"{v:,.0f}" if v >= 100 else f"{v:.1f}")


def main():
    out = pathlib.Path(sys.argv[1])
    ours = criterion_medians()
    latency = json.loads((ROOT / "target/criterion/latency.json").read_text())
    anchor = json.loads((out / "onnxruntime.json").read_text())
    ort = anchor["results"]
    print(f"### Latency: this runtime vs onnxruntime {anchor['onnxruntime']} (one thread, batch 1, µs)\n")
    print("| model | input | ours end-to-end median | onnxruntime end-to-end median | ratio | ours inference median | onnxruntime inference median | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    rows = [("minilm-l3-promptinj", b) for b in ("16", "32", "64", "128")]
    rows += [("minilm-l3-promptinj/plan-per-bucket", b) for b in ("16", "32", "64", "128")]
    rows += [("profanity-tfidf", b) for b in ("16", "32", "64", "128")]
    rows += [("magika", "2048"), ("digits-mlp", "64"), ("breast-cancer-logreg", "30")]
    for model, size in rows:
        base = model.split("/")[0]
        e2e, inf = ours.get(f"{model}/end_to_end/{size}"), ours.get(f"{model}/inference/{size}")
        oe = ort.get(f"{base}/end_to_end/{size}", {}).get("median_us")
        oi = ort.get(f"{base}/inference/{size}", {}).get("median_us")
        ratio = lambda a, b: "–" if a is None or b is None else f"{a / b:.2f}×"
        unit = "tokens" if base in ("minilm-l3-promptinj", "profanity-tfidf") else ("bytes" if base == "magika" else "floats")
        print(f"| {model} | {size} {unit} | {us(e2e)} | {us(oe)} | {ratio(e2e, oe)} | {us(inf)} | {us(oi)} | {ratio(inf, oi)} |")

    print("\n### Headline model, per-request percentiles (µs, `Prediction::latency`, end to end)\n")
    print("| bucket | n | p50 | p95 | p99 | onnxruntime p95 (end to end) |")
    print("|---|---|---|---|---|---|")
    for b in ("16", "32", "64", "128"):
        r = latency[f"minilm-l3-promptinj/{b}"]
        o = ort.get(f"minilm-l3-promptinj/end_to_end/{b}", {}).get("p95_us")
        print(f"| {b} | {r['n']} | {us(r['p50_us'])} | {us(r['p95_us'])} | {us(r['p99_us'])} | {us(o)} |")

    print("\n### The pool allocator's cost (criterion medians, µs; percentiles per request)\n")
    print("| case | pooled median | system median | ratio |")
    print("|---|---|---|---|")
    for case in ("minilm-32", "digits"):
        a, b = ours.get(f"pool/{case}/pooled"), ours.get(f"pool/{case}/system")
        print(f"| {case}, 1 thread | {us(a)} | {us(b)} | {a / b:.2f}× |" if a and b else f"| {case} | – | – | – |")
    print("\n| threads | case | pooled p50 | pooled p95 | system p50 | system p95 |")
    print("|---|---|---|---|---|---|")
    for t in ("1", "2"):
        for case in ("digits", "minilm-32"):
            p, s = latency[f"threads{t}/{case}/pooled"], latency[f"threads{t}/{case}/system"]
            print(f"| {t} | {case} | {us(p['p50_us'])} | {us(p['p95_us'])} | {us(s['p50_us'])} | {us(s['p95_us'])} |")

    rss = json.loads((out / "rss.json").read_text())
    print("\n### Peak RSS per model (classify CLI, release: load + session + requests)\n")
    print("| model | requests | peak RSS |")
    print("|---|---|---|")
    for name, r in rss.items():
        print(f"| {name} | {r['answered']} | {r['peak_rss_kib'] / 1024:.1f} MiB |")

    print("\n### Library size (libmlops_edge.so with the pool allocator, stripped)\n")
    print("| profile | bytes | MiB |")
    print("|---|---|---|")
    for profile in ("release", "dist"):
        path = out / f"libmlops_edge.{profile}.so"
        if path.exists():
            size = path.stat().st_size
            print(f"| {profile} | {size:,} | {size / 2**20:.2f} |")


if __name__ == "__main__":
    main()
