#!/usr/bin/env python3
"""The fleet path end to end (full tier; docs/fleet.md): 20 simulated devices (processes of
examples/fleet/device.c with the reference uploader, built with the test hooks) serve the shipped
models and push to Debian's prometheus-pushgateway and upload to the reference receiver, with
Debian's prometheus scraping the Pushgateway and evaluating fleet/prometheus/alerts.yml. All on
loopback, started and stopped here, bounded in time.

  tests/fleet/fleet_test.py --lib target/capi --work target/fleet

Devices 0-13 serve profanity-tfidf, 14-19 digits-mlp, each its own mix of the golden inputs in a
fixed cycle, with injected latencies fixed per input (so a healthy device's monitor window always
holds its baseline's distribution: no drift, no alert). Device 3 gets three times slower after its
baseline; device 16 switches to a drifted input mix. The receiver answers 503 to half the batches
(half of those after storing them) and is killed and restarted once mid-run.

Checked against the devices' own truth (their --truth files):
  - the fleet's request and error totals in Prometheus equal the devices' sums, exactly; the error
    ratio likewise;
  - the fleet p95 latency per model from the summed histogram buckets (histogram_quantile) lies in
    the bucket holding the true p95 of every device's latencies (the buckets' relative error);
  - the slowed device's MleLatencyP95Critical and the drifting device's MleDriftDetected fire, and
    no alert ever fires for another device (ALERTS over the whole run);
  - every record of every device is in SQLite exactly once or counted as dropped on the device:
    rows = sent, seqs distinct and gap-free, sent + dropped = recorded, nothing pending.

The alert rules run with time scaled down 60x (minutes become seconds: `for: 5m` -> `for: 5s`,
`[15m]` -> `[15s]`): same expressions, a run of seconds instead of an hour. MleDeviceSilent's 30
minutes are not scaled: the devices stop pushing at the end of the run, which is what that rule
notices.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEVICES = 20
SLOW_DEVICE = 3
DRIFT_DEVICE = 16
CYCLE = 120            # inputs per device cycle = the monitor window
BASELINE_AFTER = 2 * CYCLE
ANOMALY_AFTER = 4 * CYCLE
REQUESTS = 12 * CYCLE
LATENCY_US = {"profanity": 300, "digits": 800}
DEADLINE_S = 300       # the whole test, processes included


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, deadline, what):
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not start ({url})")


def promql(port, expr, at=None):
    params = {"query": expr}
    if at is not None:
        params["time"] = str(at)
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=10) as r:
        answer = json.load(r)
    if answer.get("status") != "success":
        raise SystemExit(f"PromQL {expr}: {answer}")
    return answer["data"]["result"]


def scalar(port, expr):
    result = promql(port, expr)
    return float(result[0]["value"][1]) if result else None


def write_inputs(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def device_inputs(work):
    """Each device's input cycle (and the drifting device's second mix), from the golden inputs."""
    profanity = json.load(open(os.path.join(ROOT, "models/profanity-tfidf/golden.json")))["cases"]
    digits = json.load(open(os.path.join(ROOT, "models/digits-mlp/golden.json")))["cases"]
    texts = [c["text"].replace("\n", " ") for c in profanity if c["text"].strip()]
    images = [",".join(repr(v) for v in c["input"]) for c in digits]
    plan = []
    for d in range(DEVICES):
        rng = random.Random(1000 + d)
        if d < 14:
            model, name, pool = "models/profanity-tfidf", "profanity", texts
        else:
            model, name, pool = "models/digits-mlp", "digits", images
        cycle = [rng.choice(pool) for _ in range(CYCLE)]
        if name == "digits" and d % 2 == 0:
            # A few malformed inputs (3 numbers for a 64-feature model): errors, the same share in
            # every window.
            cycle[5] = cycle[70] = "1,2,3"
        path = os.path.join(work, f"inputs-{d}.txt")
        write_inputs(path, cycle)
        entry = {"device": d, "id": f"device-{d:02d}", "model": model, "name": name, "inputs": path}
        if d == DRIFT_DEVICE:
            # Only the images of the digits 0 and 1 (labels 0 and 1): the label mix drifts.
            drifted = [",".join(repr(v) for v in c["input"]) for c in digits if c.get("label_index") in (0, 1)]
            if len(drifted) < 2:
                raise SystemExit("digits golden cases lack labels 0 and 1")
            drift_path = os.path.join(work, "inputs-drift.txt")
            write_inputs(drift_path, [drifted[i % len(drifted)] for i in range(CYCLE)])
            entry["drift"] = drift_path
        plan.append(entry)
    return plan


def scaled_rules(src, dst):
    """alerts.yml with minutes as seconds (and hours as minutes): the same rules, 60x faster."""
    text = open(src).read()
    text = re.sub(r"for: (\d+)m\b", r"for: \1s", text)
    text = re.sub(r"\[(\d+)m\]", r"[\1s]", text)
    text = text.replace("[1h]", "[60s]").replace("offset 1h", "offset 60s")
    open(dst, "w").write(text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", required=True, help="prefix of the library built with the test hooks (lib/, include/)")
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    start = time.monotonic()
    deadline = start + DEADLINE_S
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    lib = os.path.abspath(os.path.join(args.lib, "lib"))
    include = os.path.abspath(os.path.join(args.lib, "include"))

    device_bin = os.path.join(work, "fleet_device")
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-DFLEET_TEST_HOOKS", f"-I{include}",
                    os.path.join(ROOT, "examples/fleet/device.c"), os.path.join(ROOT, "examples/fleet/uploader.c"),
                    "-o", device_bin, f"-L{lib}", "-lmlops_edge", "-lcurl", "-lpthread", f"-Wl,-rpath,{lib}"],
                   check=True)
    plan = device_inputs(work)

    processes = []

    def spawn(cmd, log, **kw):
        p = subprocess.Popen(cmd, stdout=open(os.path.join(work, log), "w"), stderr=subprocess.STDOUT,
                             start_new_session=True, **kw)
        processes.append(p)
        return p

    try:
        pg_port, prom_port, rx_port = free_port(), free_port(), free_port()
        spawn(["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{pg_port}"], "pushgateway.log")
        scaled_rules(os.path.join(ROOT, "fleet/prometheus/alerts.yml"), os.path.join(work, "alerts.yml"))
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [alerts.yml]
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:{pg_port}']
""")
        spawn(["prometheus", f"--config.file={work}/prometheus.yml", f"--storage.tsdb.path={work}/tsdb",
               f"--web.listen-address=127.0.0.1:{prom_port}"], "prometheus.log")
        receiver_cmd = [sys.executable, os.path.join(ROOT, "fleet/receiver/mle_receiver.py"), "serve",
                        "--listen", f"127.0.0.1:{rx_port}", "--db", f"sqlite:///{work}/fleet.db",
                        "--fail-ratio", "0.5"]
        receiver = spawn(receiver_cmd + ["--fail-seed", "1"], "receiver-1.log")
        wait_http(f"http://127.0.0.1:{pg_port}/-/ready", deadline, "the Pushgateway")
        wait_http(f"http://127.0.0.1:{prom_port}/-/ready", deadline, "Prometheus")
        wait_http(f"http://127.0.0.1:{rx_port}/healthz", deadline, "the receiver")
        print(f"[{time.monotonic() - start:5.1f}s] Pushgateway :{pg_port}, Prometheus :{prom_port}, receiver :{rx_port}")

        devices = []
        for entry in plan:
            cmd = [device_bin, "--model", os.path.join(ROOT, entry["model"]), "--inputs", entry["inputs"],
                   "--device-id", entry["id"], "--model-name", entry["name"],
                   "--receiver", f"http://127.0.0.1:{rx_port}/v1/batches",
                   "--pushgateway", f"http://127.0.0.1:{pg_port}",
                   "--requests", str(REQUESTS), "--interval-us", "5000", "--window", str(CYCLE),
                   "--baseline-after", str(BASELINE_AFTER), "--flush-ms", "200", "--push-ms", "500",
                   # Backoffs of 20-200 ms: with half the answers 503, 5 s without an accepted batch
                   # (MleUploadsFailing at 60x speed) would take ~25 failures in a row.
                   "--retry-initial-ms", "20", "--retry-max-ms", "200",
                   "--latency-us", str(LATENCY_US[entry["name"]]), "--truth", os.path.join(work, f"truth-{entry['device']}.json"),
                   "--spool", os.path.join(work, f"spool-{entry['device']}")]
            if entry["device"] == SLOW_DEVICE:
                cmd += ["--slow-after", str(ANOMALY_AFTER), "--slow-factor", "3"]
            if entry["device"] == DRIFT_DEVICE:
                cmd += ["--drift-inputs", entry["drift"], "--drift-after", str(ANOMALY_AFTER)]
            devices.append(spawn(cmd, f"device-{entry['device']}.log"))

        # The receiver killed and restarted once, while the devices upload.
        time.sleep(6)
        os.killpg(receiver.pid, signal.SIGKILL)
        receiver.wait()
        print(f"[{time.monotonic() - start:5.1f}s] receiver killed; restarting it")
        time.sleep(1)
        receiver = spawn(receiver_cmd + ["--fail-seed", "2"], "receiver-2.log")

        for d, p in enumerate(devices):
            code = p.wait(timeout=max(1, deadline - time.monotonic()))
            if code != 0:
                raise SystemExit(f"device {d} exited with {code}: {open(os.path.join(work, f'device-{d}.log')).read()}")
        print(f"[{time.monotonic() - start:5.1f}s] the 20 devices finished and drained their telemetry")
        truth = [json.load(open(os.path.join(work, f"truth-{d}.json"))) for d in range(DEVICES)]
        for t in truth:
            assert t["baseline_frozen"] == 1, f"{t['device_id']}: no baseline"
        failures = []

        # Prometheus has every device's last push once the totals agree (bounded wait).
        total_requests = sum(t["requests"] for t in truth)
        total_errors = sum(t["errors"] for t in truth)
        seen = None
        while time.monotonic() < deadline:
            seen = scalar(prom_port, 'sum(mlops_edge_runtime_requests_total{job="mlops_edge"})')
            if seen == total_requests:
                break
            time.sleep(0.5)
        print(f"[{time.monotonic() - start:5.1f}s] Prometheus holds the final pushes")
        if seen != total_requests:
            failures.append(f"fleet requests in Prometheus {seen}, the devices served {total_requests}")
        predictions = scalar(prom_port, 'sum(model_predictions_total{job="mlops_edge"})')
        errors = scalar(prom_port, 'sum(model_predictions_total{job="mlops_edge",status="error"})')
        ratio = scalar(prom_port, 'sum(model_predictions_total{job="mlops_edge",status="error"}) '
                                  '/ sum(model_predictions_total{job="mlops_edge"})')
        if (predictions, errors) != (total_requests, total_errors) or ratio != total_errors / total_requests:
            failures.append(f"predictions/errors/ratio in Prometheus {predictions}/{errors}/{ratio}, "
                            f"devices {total_requests}/{total_errors}/{total_errors / total_requests}")
        if total_errors == 0:
            failures.append("no device had errors: the error ratio check is vacuous")
        print(f"fleet: {total_requests} requests, {total_errors} errors (ratio {ratio}) in Prometheus and on the devices")

        for name in ("profanity", "digits"):
            latencies = sorted(x / 1e9 for t in truth if t["model"] == name for x in t["latencies_ns"])
            # Nearest rank, as histogram_quantile's bucket is chosen by rank.
            true_p95 = latencies[max(0, -(-95 * len(latencies) // 100) - 1)]
            estimate = scalar(prom_port, f'histogram_quantile(0.95, sum by (le) '
                                         f'(model_prediction_latency_seconds_bucket{{job="mlops_edge",model="{name}"}}))')
            # The bucket bounds as the devices export them (the library's, not a copy here).
            bounds = sorted({float(r["metric"]["le"]) for r in promql(
                prom_port, f'model_prediction_latency_seconds_bucket{{job="mlops_edge",model="{name}"}}')})
            upper = next(b for b in bounds if true_p95 <= b)
            lower = max([0.0] + [b for b in bounds if b < true_p95])
            ok = estimate is not None and lower <= estimate <= upper
            print(f"{name}: fleet p95 from the summed buckets {estimate}, true p95 {true_p95} "
                  f"(bucket ({lower}, {upper}]): {'ok' if ok else 'WRONG'}")
            if not ok:
                failures.append(f"{name}: p95 {estimate} outside the true p95's bucket ({lower}, {upper}] ({true_p95})")

        # Alerts: the slowed and the drifting device's fire; nothing else ever fires.
        wanted = {(f"device-{SLOW_DEVICE:02d}", "MleLatencyP95Critical"), (f"device-{DRIFT_DEVICE:02d}", "MleDriftDetected")}
        firing = set()
        while time.monotonic() < deadline:
            firing = {(r["metric"].get("device", ""), r["metric"]["alertname"])
                      for r in promql(prom_port, 'ALERTS{alertstate="firing"}')}
            if wanted <= firing:
                break
            time.sleep(1)
        ever = {(r["metric"].get("device", ""), r["metric"]["alertname"], r["metric"].get("quantity", ""))
                for r in promql(prom_port, 'max_over_time(ALERTS{alertstate="firing"}[10m])')}
        print(f"[{time.monotonic() - start:5.1f}s] alerts fired during the run: {sorted(ever)}")
        if not wanted <= firing:
            failures.append(f"expected alerts {sorted(wanted - firing)} not firing (firing: {sorted(firing)})")
        # What each anomaly may raise: the slowed device its latency alerts and latency drift; the
        # drifting one drift and the confidence alerts (its inputs are other digits). Nothing else,
        # for them or anyone (uploads failing, records dropped, error rates, the fleet's).
        allowed = {
            f"device-{SLOW_DEVICE:02d}": {("MleLatencyP95Critical", ""), ("MleLatencyP95Degraded", ""),
                                         ("MleDriftDetected", "latency")},
            f"device-{DRIFT_DEVICE:02d}": {("MleDriftDetected", "labels"), ("MleDriftDetected", "confidence"),
                                          ("MleDriftDetected", "input_length"), ("MleConfidenceDropped", ""),
                                          ("MleConfidenceCritical", "")},
        }
        others = {a for a in ever if (a[1], a[2]) not in allowed.get(a[0], set())}
        if others:
            failures.append(f"alerts fired that the anomalies do not explain: {sorted(others)}")

        # Exactly once: SQLite against the devices' telemetry counters.
        db = sqlite3.connect(os.path.join(work, "fleet.db"))
        with urllib.request.urlopen(f"http://127.0.0.1:{rx_port}/stats", timeout=10) as r:
            second = json.load(r)
        posts = sum(t["uploader"]["posts"] for t in truth)
        retries = sum(t["uploader"]["retry"] + t["uploader"]["transport_errors"] for t in truth)
        transport = sum(t["uploader"]["transport_errors"] for t in truth)
        for t in truth:
            tel, dev = t["telemetry"], t["device_id"]
            rows, distinct, low, high = db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT seq), MIN(seq), MAX(seq) FROM records WHERE device_id = ?", (dev,)).fetchone()
            requests_stored = db.execute(
                "SELECT COUNT(*) FROM records WHERE device_id = ? AND type = 'request'", (dev,)).fetchone()[0]
            problems = []
            if tel["pending"] != 0:
                problems.append(f"{tel['pending']} records still pending")
            if tel["sent"] + tel["dropped_queue_full"] + tel["dropped_by_host"] + tel["pending"] != tel["recorded"]:
                problems.append("the device's own accounting does not add up")
            if rows != tel["sent"] or distinct != rows:
                problems.append(f"{rows} rows ({distinct} distinct seqs) for {tel['sent']} records sent")
            if tel["dropped_queue_full"] + tel["dropped_by_host"] == 0 and (low, high) != (1, rows):
                problems.append(f"seqs {low}..{high} for {rows} rows: a gap")
            if tel["dropped_queue_full"] + tel["dropped_by_host"] == 0 and requests_stored != t["requests"]:
                problems.append(f"{requests_stored} request records stored for {t['requests']} requests served")
            if problems:
                failures.append(f"{dev}: " + "; ".join(problems))
        stored = db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
        sent = sum(t["telemetry"]["sent"] for t in truth)
        dropped = sum(t["telemetry"]["dropped_queue_full"] + t["telemetry"]["dropped_by_host"] for t in truth)
        recorded = sum(t["telemetry"]["recorded"] for t in truth)
        print(f"receiver: {stored} records in SQLite = {sent} sent by the devices; {dropped} dropped on the devices; "
              f"{recorded} recorded; {posts} POSTs, {retries} answered 503 or failed ({transport} while the "
              f"receiver was down); after the restart: {second}")
        if stored != sent:
            failures.append(f"SQLite holds {stored} records, the devices sent {sent}")
        if transport == 0 or second["failed_injected"] == 0 or second["records_duplicate"] == 0:
            failures.append("the run did not exercise a down receiver, injected failures and duplicates "
                            f"(transport errors {transport}, after the restart {second})")
        if failures:
            print("\nFAILED:\n  " + "\n  ".join(failures))
            return 1
        print(f"fleet test passed in {time.monotonic() - start:.0f}s")
        return 0
    finally:
        for p in processes:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()


if __name__ == "__main__":
    sys.exit(main())
