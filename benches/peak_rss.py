"""Peak resident memory of the classify CLI per shipped model (load + session + 200 requests).

Usage: peak_rss.py <classify binary>; prints JSON {model: {"peak_rss_kib": n, "inputs": n}}.
Each model runs in its own process; the ru_maxrss that wait4 reports for it is its peak.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent


def inputs(name):
    if name in ("minilm-l3-promptinj", "profanity-tfidf"):
        data = json.loads((ROOT / "benches/inputs.json").read_text())[name]
        texts = [t for bucket in data.values() for t in bucket]
        return [t.replace("\n", " ") for t in texts][:200], None
    if name == "magika":
        files = sorted(str(p) for p in (ROOT / "models/magika/samples").iterdir())
        return (files * 4)[:200], None
    cases = json.loads((ROOT / "models" / name / "golden.json").read_text())["cases"]
    return ([",".join(str(v) for v in c["input"]) for c in cases] * 4)[:200], "f32"


def main():
    binary = sys.argv[1]
    report = {}
    for name in ["minilm-l3-promptinj", "profanity-tfidf", "magika", "digits-mlp", "breast-cancer-logreg"]:
        lines, kind = inputs(name)
        args = [binary, "--model", str(ROOT / "models" / name)] + (["--kind", kind] if kind else [])
        with tempfile.TemporaryFile("w+") as stdin:
            stdin.write("\n".join(lines) + "\n")
            stdin.seek(0)
            child = subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE, text=True)
            output = child.stdout.read()
            _, status, usage = os.wait4(child.pid, 0)
        assert status == 0, f"{name}: classify failed"
        answered = sum(1 for line in output.splitlines() if '"label"' in line)
        report[name] = {"peak_rss_kib": usage.ru_maxrss, "inputs": len(lines), "answered": answered}
    json.dump(report, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
