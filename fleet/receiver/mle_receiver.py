#!/usr/bin/env python3
"""Reference batch receiver for libmlops_edge telemetry (docs/fleet.md).

Devices POST the batches their upload callback is handed (JSON Lines, schema
`mlops_edge.telemetry` v1, docs/telemetry.md). The receiver stores every record once, keyed by
(device, batch id, seq), in SQLite by default or PostgreSQL with a `postgresql://` URL (psycopg 3
installed), and answers so that the device's uploader can map the answer to OK / RETRY / DROP:

  200  stored (or already stored: a batch offered again after a lost answer)     -> OK
  400  not a batch this receiver can ever store (bad JSON, unknown schema, a
       record count or seq range that contradicts the header, a field of the
       wrong type)                                                             -> DROP
  413  larger than --max-batch-bytes                                           -> DROP
  503  the database failed, or an injected failure (--fail-ratio)              -> RETRY
  404, 411 (a wrong URL, no Content-Length): the host's bug; its uploader retries

A record is stored once per (device, batch id, seq, time_unix_ms): a batch offered again carries
the same records with the same times. A device restarted without a spool numbers from 1 again;
its new records have other times, so they are kept (and counted as renumbered in /stats).

A 200 is sent only after the transaction that stores the batch has committed, so a receiver
killed at any point loses nothing it acknowledged; a batch stored but not acknowledged (killed
between the commit and the answer, or a failure injected after storing) comes back and is
deduplicated.

Commands:
  serve   --listen 127.0.0.1:8088 --db sqlite:///var/lib/mle/fleet.db [--fail-ratio 0.5]
  report  --db URL               counts, error ratio, labels and confidence per model version
                                 and variant
  ks      --db URL --quantity confidence|latency --a device=d1,d2 --b model_version=2.0
                                 two-sample KS between two cohorts of request records

Standard library only (plus psycopg for PostgreSQL).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sqlite3
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCHEMA = "mlops_edge.telemetry"
SCHEMA_VERSION = 1

# Written in the SQL common to SQLite (>= 3.24) and PostgreSQL; `?` placeholders are rewritten for
# psycopg.
DDL = [
    """CREATE TABLE IF NOT EXISTS batches (
        device_id TEXT NOT NULL,
        batch_id BIGINT NOT NULL,
        first_seq BIGINT NOT NULL,
        last_seq BIGINT NOT NULL,
        records BIGINT NOT NULL,
        library_version TEXT NOT NULL,
        created_unix_ms BIGINT NOT NULL,
        PRIMARY KEY (device_id, batch_id))""",
    """CREATE TABLE IF NOT EXISTS records (
        device_id TEXT NOT NULL,
        batch_id BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        time_unix_ms BIGINT NOT NULL,
        type TEXT NOT NULL,
        model_version TEXT,
        variant BIGINT,
        candidate INTEGER,
        status TEXT,
        status_code INTEGER,
        label INTEGER,
        confidence DOUBLE PRECISION,
        latency_ns BIGINT,
        input_length BIGINT,
        event TEXT,
        level TEXT,
        message TEXT,
        from_version TEXT,
        to_version TEXT,
        stage_percent DOUBLE PRECISION,
        line TEXT NOT NULL,
        PRIMARY KEY (device_id, batch_id, seq, time_unix_ms))""",
    "CREATE INDEX IF NOT EXISTS records_by_version ON records (model_version, variant)",
]

RECORD_COLUMNS = (
    "device_id", "batch_id", "seq", "time_unix_ms", "type", "model_version", "variant", "candidate", "status",
    "status_code", "label", "confidence", "latency_ns", "input_length", "event", "level", "message",
    "from_version", "to_version", "stage_percent", "line",
)

# The JSON types of the fields stored (null allowed except for seq, time_unix_ms and type). A
# field of another type is a batch this receiver can never store: 400, so the device drops it
# rather than retrying it forever (a flush stops at a RETRY: one such batch would block the rest).
RECORD_TYPES = {
    "seq": int, "time_unix_ms": int, "type": str, "model_version": str, "variant": int, "candidate": bool,
    "status": str, "status_code": int, "label": int, "confidence": float, "latency_ns": int, "input_length": int,
    "event": str, "level": str, "message": str, "from_version": str, "to_version": str, "stage_percent": float,
}
HEADER_TYPES = {"batch_id": int, "device_id": str, "records": int, "first_seq": int, "last_seq": int,
                "library_version": str, "created_unix_ms": int}
REQUIRED = ("seq", "time_unix_ms", "type")


def check_type(where: str, name: str, value, kind) -> None:
    """Raises BadBatch unless `value` is JSON of `kind` (ints within 64 bits; a float may be an int)."""
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and -(1 << 63) <= value < (1 << 63)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise BadBatch(f"{where}: {name} is {json.dumps(value)[:40]}, not {kind.__name__}")


class BadBatch(ValueError):
    """A batch that can never be stored: the device should drop it (HTTP 400)."""


class Store:
    """One database connection, used under a lock (SQLite allows one writer at a time anyway)."""

    def __init__(self, url: str):
        self.lock = threading.Lock()
        if url.startswith("sqlite:///"):
            path = url[len("sqlite:///"):]
            self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.placeholder = "?"
            self.same = "IS"
            self.reconnect = None
        elif url.startswith(("postgresql://", "postgres://")):
            try:
                import psycopg  # type: ignore[import-not-found]
            except ImportError as e:
                raise SystemExit(f"{url.split(':')[0]} URLs need psycopg 3: pip install 'psycopg[binary]' ({e})")
            self.conn = psycopg.connect(url, autocommit=True)
            self.placeholder = "%s"
            self.same = "IS NOT DISTINCT FROM"
            # A database restart breaks the connection: the next store reconnects.
            self.reconnect = lambda: psycopg.connect(url, autocommit=True)
        else:
            raise SystemExit(f"unsupported database URL {url!r}: use sqlite:///<path> or postgresql://...")
        for statement in DDL:
            self.conn.execute(statement)

    def sql(self, statement: str) -> str:
        return statement.replace("?", self.placeholder)

    def store(self, header: dict, records: list[dict]) -> tuple[int, int, int]:
        """Stores a batch in one transaction; returns (records new, records already stored, of the
        new ones those whose (device, batch id, seq) was stored before with another time)."""
        with self.lock:
            try:
                return self._store(header, records)
            except Exception:
                if self.reconnect is None:
                    raise
                try:
                    self.conn.close()
                finally:
                    self.conn = self.reconnect()
                raise

    def _store(self, header: dict, records: list[dict]) -> tuple[int, int, int]:
        rows = [tuple(record.get(c) for c in RECORD_COLUMNS) for record in records]
        insert = self.sql(
            f"INSERT INTO records ({', '.join(RECORD_COLUMNS)}) VALUES ({', '.join('?' * len(RECORD_COLUMNS))}) "
            "ON CONFLICT DO NOTHING"
        )
        renumbered_query = self.sql("SELECT COUNT(*) FROM records WHERE device_id = ? AND batch_id = ? AND seq = ?")
        cur = self.conn.cursor()
        cur.execute("BEGIN")
        try:
            cur.execute(
                self.sql(
                    "INSERT INTO batches (device_id, batch_id, first_seq, last_seq, records, library_version, "
                    "created_unix_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                (header["device_id"], header["batch_id"], header["first_seq"], header["last_seq"],
                 header["records"], header["library_version"], header["created_unix_ms"]),
            )
            new = renumbered = 0
            for record, row in zip(records, rows):
                cur.execute(insert, row)
                if cur.rowcount > 0:
                    new += 1
                    cur.execute(renumbered_query, (record["device_id"], record["batch_id"], record["seq"]))
                    renumbered += cur.fetchone()[0] > 1
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return new, len(rows) - new, renumbered

    def query(self, statement: str, params=()) -> list[tuple]:
        with self.lock:
            cur = self.conn.cursor()
            cur.execute(self.sql(statement), params)
            return cur.fetchall()


def parse_batch(body: bytes) -> tuple[dict, list[dict]]:
    """Parses and checks a batch (docs/telemetry.md, "Batch format"); raises BadBatch."""
    try:
        # Lines end at "\n" only: a JSON string may hold U+2028 and the like unescaped, which
        # str.splitlines() would take for line ends.
        lines = [line.decode("utf-8") for line in body.split(b"\n") if line.strip()]
        header = json.loads(lines[0]) if lines else None
        parsed = [(json.loads(line), line) for line in lines[1:]]
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadBatch(f"not JSON Lines: {e}") from e
    if not isinstance(header, dict) or header.get("schema") != SCHEMA:
        raise BadBatch(f"the first line is not a {SCHEMA} header")
    if header.get("schema_version") != SCHEMA_VERSION:
        raise BadBatch(f"schema_version {header.get('schema_version')!r}: this receiver stores version {SCHEMA_VERSION}")
    for field, kind in HEADER_TYPES.items():
        if field not in header:
            raise BadBatch(f"the header has no {field}")
        check_type("the header", field, header[field], kind)
    if not header["device_id"]:
        raise BadBatch("device_id is empty: set mle_telemetry_options.device_id on the device")
    if header["records"] != len(parsed):
        raise BadBatch(f"the header says {header['records']} records, the batch holds {len(parsed)}")
    records = []
    for record, line in parsed:
        if not isinstance(record, dict):
            raise BadBatch("a record line that is not a JSON object")
        for field in REQUIRED:
            if record.get(field) is None:
                raise BadBatch(f"a record without {field}")
        for field, kind in RECORD_TYPES.items():
            if record.get(field) is not None:
                check_type(f"record {record.get('seq')}", field, record[field], kind)
        if not header["first_seq"] <= record["seq"] <= header["last_seq"]:
            raise BadBatch(f"seq {record['seq']} outside the header's {header['first_seq']}..{header['last_seq']}")
        if record["type"] not in ("request", "event"):
            raise BadBatch(f"record type {record['type']!r}")
        row = {field: record.get(field) for field in RECORD_TYPES}
        row["device_id"] = header["device_id"]
        row["batch_id"] = header["batch_id"]
        if row["candidate"] is not None:
            row["candidate"] = int(row["candidate"])
        # Fields added later within schema v1 are kept in the line as it came.
        row["line"] = line
        records.append(row)
    return header, records


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, store: Store, max_batch_bytes: int, fail_ratio: float, fail_seed: int):
        super().__init__(address, Handler)
        self.store = store
        self.max_batch_bytes = max_batch_bytes
        self.fail_ratio = fail_ratio
        self.rng = random.Random(fail_seed)
        self.lock = threading.Lock()  # the failure generator and the counts
        # Since this process started: what GET /stats answers.
        self.counts = {"batches_stored": 0, "records_stored": 0, "records_duplicate": 0, "records_renumbered": 0,
                       "refused": 0, "failed_injected": 0, "failed_storage": 0}

    def count(self, **increments: int) -> None:
        with self.lock:
            for key, value in increments.items():
                self.counts[key] += value

    def injected_failure(self) -> str | None:
        """None, or when to fail this request: "before" storing or "after" storing it."""
        if self.fail_ratio <= 0:
            return None
        with self.lock:
            if self.rng.random() >= self.fail_ratio:
                return None
            return "before" if self.rng.random() < 0.5 else "after"


class Handler(BaseHTTPRequestHandler):
    server: Receiver
    protocol_version = "HTTP/1.1"
    # A stalled or idle keep-alive client gives its thread back after this many seconds.
    timeout = 30

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass

    def answer(self, code: int, body: dict) -> None:
        data = (json.dumps(body) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path == "/healthz":
            self.answer(200, {"ok": True})
        elif self.path == "/stats":
            with self.server.lock:
                counts = dict(self.server.counts)
            self.answer(200, counts)
        else:
            self.answer(404, {"error": "POST batches to /v1/batches"})

    def do_POST(self):  # noqa: N802
        if self.path != "/v1/batches":
            # The body is not read: the connection cannot carry another request after it.
            self.close_connection = True
            self.answer(404, {"error": "POST batches to /v1/batches"})
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            self.answer(411, {"error": "a Content-Length (not negative) is required"})
            return
        if length > self.server.max_batch_bytes:
            # Not read into memory: answered, and the connection closed.
            self.close_connection = True
            self.answer(413, {"error": f"{length} bytes: more than --max-batch-bytes {self.server.max_batch_bytes} "
                                        "(lower the device's batch_max_bytes)"})
            return
        body = self.rfile.read(length)
        if len(body) != length:
            # The client went away mid-body: nothing to answer, nothing to count.
            self.close_connection = True
            return
        try:
            header, records = parse_batch(body)
        except BadBatch as e:
            self.server.count(refused=1)
            self.answer(400, {"error": str(e)})
            return
        failure = self.server.injected_failure()
        if failure == "before":
            self.server.count(failed_injected=1)
            self.answer(503, {"error": "injected failure (--fail-ratio), before storing"})
            return
        try:
            new, duplicate, renumbered = self.server.store.store(header, records)
        except Exception as e:  # the database: the device keeps the batch and retries
            self.server.count(failed_storage=1)
            self.answer(503, {"error": f"storage failed: {e}"})
            return
        self.server.count(batches_stored=1, records_stored=new, records_duplicate=duplicate,
                          records_renumbered=renumbered)
        if failure == "after":
            self.server.count(failed_injected=1)
            self.answer(503, {"error": "injected failure (--fail-ratio), after storing"})
            return
        self.answer(200, {"stored": new, "duplicates": duplicate})


def serve(args) -> None:
    host, _, port = args.listen.rpartition(":")
    store = Store(args.db)
    server = Receiver((host or "127.0.0.1", int(port)), store, args.max_batch_bytes, args.fail_ratio, args.fail_seed)
    print(f"mle_receiver listening on {host}:{server.server_address[1]}, storing into {args.db}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def report(args) -> None:
    store = Store(args.db)
    rows = store.query(
        "SELECT model_version, variant, COUNT(*), SUM(CASE WHEN status = 'ok' THEN 0 ELSE 1 END), AVG(confidence), "
        "COUNT(DISTINCT device_id) FROM records WHERE type = 'request' GROUP BY model_version, variant "
        "ORDER BY model_version, variant"
    )
    out = {"versions": []}
    for version, variant, requests, errors, confidence, devices in rows:
        labels = store.query(
            f"SELECT label, COUNT(*) FROM records WHERE type = 'request' AND model_version {store.same} ? "
            f"AND variant {store.same} ? AND label IS NOT NULL GROUP BY label ORDER BY label", (version, variant))
        confidences = sorted(r[0] for r in store.query(
            f"SELECT confidence FROM records WHERE type = 'request' AND model_version {store.same} ? "
            f"AND variant {store.same} ? AND confidence IS NOT NULL", (version, variant)))
        deciles = [confidences[min(len(confidences) - 1, int(len(confidences) * q / 10))] for q in range(1, 10)] \
            if confidences else []
        out["versions"].append({
            "model_version": version, "variant": variant, "devices": devices, "requests": requests,
            "errors": errors, "error_ratio": errors / requests if requests else 0.0,
            "confidence_mean": confidence, "confidence_deciles": deciles,
            "labels": {str(label): count for label, count in labels},
        })
    out["devices"] = [
        {"device_id": d, "records": n, "first_seq": lo, "last_seq": hi}
        for d, n, lo, hi in store.query(
            "SELECT device_id, COUNT(*), MIN(seq), MAX(seq) FROM records GROUP BY device_id ORDER BY device_id")
    ]
    json.dump(out, sys.stdout, indent=2)
    print()


def kolmogorov_sf(z: float) -> float:
    """The Kolmogorov distribution's survival function (scipy.stats.kstwobign.sf)."""
    if z <= 0:
        return 1.0
    if z < 1.18:
        # The Jacobi theta form converges fast for small z.
        w = math.sqrt(2 * math.pi) / z
        s = sum(math.exp(-((2 * k - 1) ** 2) * math.pi ** 2 / (8 * z * z)) for k in range(1, 8))
        return max(0.0, 1.0 - w * s)
    return max(0.0, min(1.0, 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * z * z) for k in range(1, 101))))


def ks_2samp(a: list[float], b: list[float]) -> tuple[float, float]:
    """Two-sided two-sample KS: the statistic D and the asymptotic p-value
    kstwobign.sf(D * sqrt(n*m/(n+m))) (scipy.stats.ks_2samp with method="asymp" uses kstwo for
    the one-sample-equivalent n; this is its large-sample limit, fine for fleet-sized cohorts)."""
    a, b = sorted(a), sorted(b)
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        raise SystemExit("a cohort has no samples")
    i = j = 0
    d = 0.0
    while i < n and j < m:
        x = min(a[i], b[j])
        while i < n and a[i] == x:
            i += 1
        while j < m and b[j] == x:
            j += 1
        d = max(d, abs(i / n - j / m))
    return d, kolmogorov_sf(d * math.sqrt(n * m / (n + m)))


def cohort(store: Store, quantity: str, spec: str) -> list[float]:
    column = {"confidence": "confidence", "latency": "latency_ns", "input_length": "input_length"}[quantity]
    key, _, values = spec.partition("=")
    if key not in ("device", "model_version", "variant"):
        raise SystemExit(f"cohort {spec!r}: use device=..., model_version=... or variant=... (comma-separated values)")
    wanted = values.split(",")
    field = "device_id" if key == "device" else key
    marks = ", ".join("?" * len(wanted))
    params = [int(v) for v in wanted] if key == "variant" else wanted
    rows = store.query(
        f"SELECT {column} FROM records WHERE type = 'request' AND {column} IS NOT NULL AND {field} IN ({marks})", params)
    return [float(r[0]) for r in rows]


def ks(args) -> None:
    store = Store(args.db)
    a, b = cohort(store, args.quantity, args.a), cohort(store, args.quantity, args.b)
    d, p = ks_2samp(a, b)
    print(json.dumps({"quantity": args.quantity, "a": args.a, "b": args.b, "n_a": len(a), "n_b": len(b),
                      "statistic": d, "p_value": p, "drift": p < args.alpha}))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="accept batches over HTTP")
    s.add_argument("--listen", default="127.0.0.1:8088", help="host:port (port 0: any free port, printed)")
    s.add_argument("--db", default="sqlite:///fleet.db", help="sqlite:///<path> or postgresql://...")
    s.add_argument("--max-batch-bytes", type=int, default=4 << 20)
    s.add_argument("--fail-ratio", type=float, default=0.0,
                   help="answer 503 to this share of valid batches, half before and half after storing (tests)")
    s.add_argument("--fail-seed", type=int, default=1)
    s.set_defaults(run=serve)
    r = sub.add_parser("report", help="per model version and variant: requests, errors, confidence, labels")
    r.add_argument("--db", default="sqlite:///fleet.db")
    r.set_defaults(run=report)
    k = sub.add_parser("ks", help="two-sample KS between two cohorts of request records")
    k.add_argument("--db", default="sqlite:///fleet.db")
    k.add_argument("--quantity", choices=["confidence", "latency", "input_length"], default="confidence")
    k.add_argument("--a", required=True, help="device=d1,d2 | model_version=1.0 | variant=0")
    k.add_argument("--b", required=True)
    k.add_argument("--alpha", type=float, default=0.05)
    k.set_defaults(run=ks)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
