#!/usr/bin/env python3
"""Unit tests of the reference batch receiver (fleet/receiver/mle_receiver.py): what it stores,
what it refuses and with which HTTP status (the device's uploader maps them to OK/RETRY/DROP),
deduplication, a restart, injected failures, and its KS against scipy's values.

  python3 tests/fleet/test_receiver.py     (standard library only; run by tests/fleet/run.sh)
"""
import http.client
import json
import os
import sys
import tempfile
import threading
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "fleet", "receiver"))
import mle_receiver  # noqa: E402


def batch(device="d1", batch_id=1, seqs=(1, 2, 3), header_records=None, schema_version=1, extra=None, time_base=1000,
          header_extra=None):
    header = {"schema": "mlops_edge.telemetry", "schema_version": schema_version, "batch_id": batch_id,
              "device_id": device, "library_version": "0.6.0", "created_unix_ms": 1, "first_seq": min(seqs),
              "last_seq": max(seqs), "records": len(seqs) if header_records is None else header_records}
    header.update(header_extra or {})
    lines = [json.dumps(header, ensure_ascii=False)]
    for s in seqs:
        record = {"seq": s, "time_unix_ms": time_base + s, "type": "request", "model_version": "1.0", "variant": 0,
                  "candidate": False, "status": "ok", "status_code": 0, "label": s % 2, "confidence": 0.5 + s / 100,
                  "latency_ns": 1000 * s, "input_length": 5}
        record.update(extra or {})
        lines.append(json.dumps(record, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode()


class Server:
    def __init__(self, db, fail_ratio=0.0, max_batch_bytes=1 << 20):
        self.store = mle_receiver.Store("sqlite:///" + db)
        self.server = mle_receiver.Receiver(("127.0.0.1", 0), self.store, max_batch_bytes, fail_ratio, 7)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def post(self, body, path="/v1/batches"):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.server_address[1], timeout=10)
        conn.request("POST", path, body=body, headers={"Content-Type": "application/x-ndjson"})
        response = conn.getresponse()
        answer = json.loads(response.read() or b"{}")
        conn.close()
        return response.status, answer

    def get(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.server_address[1], timeout=10)
        conn.request("GET", path)
        response = conn.getresponse()
        answer = json.loads(response.read())
        conn.close()
        return response.status, answer

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.store.conn.close()


class ReceiverTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.dir.name, "fleet.db")

    def tearDown(self):
        self.dir.cleanup()

    def rows(self, server, sql="SELECT device_id, batch_id, seq FROM records ORDER BY device_id, seq"):
        return server.store.query(sql)

    def test_stores_once_and_deduplicates_a_batch_offered_again(self):
        s = Server(self.db)
        try:
            self.assertEqual(s.post(batch()), (200, {"stored": 3, "duplicates": 0}))
            self.assertEqual(s.post(batch()), (200, {"stored": 0, "duplicates": 3}))
            # The same seqs from another device are other records.
            self.assertEqual(s.post(batch(device="d2")), (200, {"stored": 3, "duplicates": 0}))
            self.assertEqual(len(self.rows(s)), 6)
            self.assertEqual(s.get("/stats")[1]["records_duplicate"], 3)
            row = s.store.query("SELECT type, model_version, variant, candidate, status, label, confidence, "
                                "latency_ns, input_length FROM records WHERE device_id = 'd1' AND seq = 2")[0]
            self.assertEqual(row, ("request", "1.0", 0, 0, "ok", 0, 0.52, 2000, 5))
        finally:
            s.close()

    def test_refuses_what_it_can_never_store_with_400(self):
        s = Server(self.db)
        try:
            for body, why in [
                (b"not json\n", "not JSON Lines"),
                (b"", "header"),
                (batch(schema_version=2), "schema_version 2"),
                (batch(header_records=5), "says 5 records"),
                (batch(device=""), "device_id is empty"),
                (batch(extra={"type": "mystery"}), "record type"),
                (b'{"schema": "other"}\n', "header"),
                # Fields of the wrong type: never storable, so dropped rather than retried forever.
                (batch(header_extra={"first_seq": "x"}), "first_seq"),
                (batch(extra={"variant": [1]}), "variant"),
                (batch(extra={"latency_ns": 1 << 64}), "latency_ns"),
                (batch(extra={"confidence": "high"}), "confidence"),
                (batch(extra={"seq": None}), "without seq"),
            ]:
                status, answer = s.post(body)
                self.assertEqual(status, 400, body[:60])
                self.assertIn(why, answer["error"])
            self.assertEqual(self.rows(s), [])
            self.assertEqual(s.post(batch(), path="/elsewhere")[0], 404)
            self.assertEqual(s.get("/stats")[1]["refused"], 12)
        finally:
            s.close()

    def test_line_separators_inside_strings_stay_in_their_line(self):
        s = Server(self.db)
        try:
            body = batch(device="phone\u2028one", extra={"model_version": "1.0\u2029\u0085"})
            self.assertEqual(s.post(body), (200, {"stored": 3, "duplicates": 0}))
            self.assertEqual(s.store.query("SELECT DISTINCT device_id, model_version FROM records"),
                             [("phone\u2028one", "1.0\u2029\u0085")])
        finally:
            s.close()

    def test_a_device_renumbering_after_a_restart_keeps_its_new_records(self):
        s = Server(self.db)
        try:
            self.assertEqual(s.post(batch(seqs=(1, 2)))[0], 200)
            # The same batch id and seqs, other times: a restart without a spool, not a re-offer.
            self.assertEqual(s.post(batch(seqs=(1, 2), time_base=5000)), (200, {"stored": 2, "duplicates": 0}))
            self.assertEqual(s.post(batch(seqs=(1, 2), time_base=5000)), (200, {"stored": 0, "duplicates": 2}))
            self.assertEqual(len(self.rows(s)), 4)
            self.assertEqual(s.get("/stats")[1]["records_renumbered"], 2)
        finally:
            s.close()

    def test_events_keep_their_fields_and_the_line(self):
        s = Server(self.db)
        try:
            event = {"type": "event", "event": "rollout_advanced", "from_version": "1.0", "to_version": "1.1",
                     "stage_percent": 25.0, "level": None, "message": "stage 2", "model_version": None,
                     "label": None, "confidence": None, "future_field": 7}
            self.assertEqual(s.post(batch(seqs=(1,), extra=event))[0], 200)
            row = s.store.query("SELECT event, from_version, to_version, stage_percent, message, line FROM records")[0]
            self.assertEqual(row[:5], ("rollout_advanced", "1.0", "1.1", 25.0, "stage 2"))
            self.assertEqual(json.loads(row[5])["future_field"], 7)
        finally:
            s.close()

    def test_bad_requests_close_the_connection(self):
        s = Server(self.db)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", s.server.server_address[1], timeout=10)
            conn.putrequest("POST", "/v1/batches")
            conn.putheader("Content-Length", "-5")
            conn.endheaders()
            response = conn.getresponse()
            self.assertEqual((response.status, response.getheader("Connection")), (411, "close"))
            conn.close()
        finally:
            s.close()

    def test_too_large_is_413(self):
        s = Server(self.db, max_batch_bytes=100)
        try:
            status, answer = s.post(batch())
            self.assertEqual(status, 413)
            self.assertIn("batch_max_bytes", answer["error"])
        finally:
            s.close()

    def test_injected_failures_answer_503_and_a_retry_is_stored_once(self):
        s = Server(self.db, fail_ratio=1.0)
        try:
            statuses = [s.post(batch(batch_id=i, seqs=(i,)))[0] for i in range(1, 41)]
            self.assertEqual(set(statuses), {503})
            stats = s.get("/stats")[1]
            self.assertEqual(stats["failed_injected"], 40)
            # About half failed after storing: stored, not acknowledged.
            stored_unacknowledged = stats["batches_stored"]
            self.assertTrue(5 < stored_unacknowledged < 35, stats)
            s.server.fail_ratio = 0.0
            for i in range(1, 41):
                self.assertEqual(s.post(batch(batch_id=i, seqs=(i,)))[0], 200)
            self.assertEqual([r[2] for r in self.rows(s)], list(range(1, 41)))
            self.assertEqual(s.get("/stats")[1]["records_duplicate"], stored_unacknowledged)
        finally:
            s.close()

    def test_a_restart_keeps_what_was_acknowledged(self):
        s = Server(self.db)
        self.assertEqual(s.post(batch(seqs=(1, 2)))[0], 200)
        s.close()
        s = Server(self.db)
        try:
            self.assertEqual(s.post(batch(seqs=(1, 2))), (200, {"stored": 0, "duplicates": 2}))
            self.assertEqual(s.post(batch(batch_id=2, seqs=(3,)))[0], 200)
            self.assertEqual([r[2] for r in self.rows(s)], [1, 2, 3])
        finally:
            s.close()

    def test_ks_matches_scipy(self):
        with open(os.path.join(ROOT, "tests", "fleet", "ks_vectors.json")) as f:
            vectors = json.load(f)
        for case in vectors["cases"]:
            d, p = mle_receiver.ks_2samp(case["a"], case["b"])
            self.assertAlmostEqual(d, case["statistic"], places=12)
            self.assertAlmostEqual(p, case["p_kstwobign"], delta=1e-9 + 1e-9 * case["p_kstwobign"])

    def test_ks_and_report_commands_over_cohorts(self):
        s = Server(self.db)
        try:
            s.post(batch(device="a", seqs=tuple(range(1, 101))))
            s.post(batch(device="b", seqs=tuple(range(1, 101))))
            s.post(batch(device="c", seqs=tuple(range(1, 101)), extra={"confidence": 0.99}))
        finally:
            s.close()
        out = run_main(["ks", "--db", "sqlite:///" + self.db, "--a", "device=a", "--b", "device=b"])
        self.assertEqual((out["statistic"], out["drift"], out["n_a"]), (0.0, False, 100))
        out = run_main(["ks", "--db", "sqlite:///" + self.db, "--a", "device=a,b", "--b", "device=c"])
        # a, b: 0.51 .. 1.50 (49 of each 100 at or under 0.99); c: all 0.99.
        self.assertTrue(out["drift"] and abs(out["statistic"] - 0.51) < 1e-12, out)
        report = run_main(["report", "--db", "sqlite:///" + self.db])
        self.assertEqual(report["versions"][0]["requests"], 300)
        self.assertEqual(report["versions"][0]["devices"], 3)
        self.assertEqual(report["versions"][0]["labels"], {"0": 150, "1": 150})


def run_main(argv):
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        mle_receiver.main(argv)
    return json.loads(buf.getvalue())


if __name__ == "__main__":
    unittest.main(verbosity=1)
