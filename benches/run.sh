#!/usr/bin/env bash
# Runs every measurement behind BENCHMARKS.md on this machine and prints its tables.
#   - criterion benches (benches/inference.rs) of the release and the dist (shipping) builds,
#   - the onnxruntime anchor on the same inputs (benches/onnxruntime_anchor.py),
#   alternated over ROUNDS rounds (default 3); the report keeps each bench's best round, since
#   on a shared machine noise only ever adds time;
#   - the monitor benches (benches/monitor.rs), the runtime benches (benches/runtime.rs:
#     runtime vs bare session, production p95 with and without a shadow) and the telemetry
#     benches (benches/telemetry.rs: a request with telemetry off / 100% / 10%, a flush), ROUNDS runs;
#   - peak RSS per model and the stripped library size per profile.
# Needs python3 with venv support (creates target/bench-venv with onnxruntime and tokenizers).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
out=target/bench-results
rm -rf "$out" && mkdir -p "$out"

venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet onnxruntime==1.32.0 tokenizers==0.23.3 numpy==2.4.6
fi

# `cargo bench --no-run` builds the bench binaries exactly as `cargo bench` runs them.
cargo bench --profile release --bench inference --bench monitor --bench runtime --bench telemetry --no-run
cargo bench --profile dist --bench inference --no-run
cargo build --release --example classify
for profile in release dist; do
  cargo build --profile "$profile" --lib --features pool-allocator
  strip -o "$out/libmlops_edge.$profile.so" "target/$profile/libmlops_edge.so"
done

for round in $(seq 1 "$rounds"); do
  for profile in release dist; do
    cargo bench --profile "$profile" --bench inference -- --noplot > "$out/criterion.$profile.$round.log" 2>&1
    python3 benches/report.py collect "$out/ours.$profile.$round.json"
  done
  "$venv/bin/python" benches/onnxruntime_anchor.py > "$out/onnxruntime.$round.json"
done

for round in $(seq 1 "$rounds"); do
  cargo bench --profile release --bench monitor -- --noplot > "$out/criterion.monitor.$round.log" 2>&1
  python3 benches/report.py collect-monitor "$out/monitor.$round.json"
  cargo bench --profile release --bench runtime -- --noplot > "$out/criterion.runtime.$round.log" 2>&1
  cp target/criterion/runtime_latency.json "$out/runtime_latency.$round.json"
  cargo bench --profile release --bench telemetry -- --noplot > "$out/criterion.telemetry.$round.log" 2>&1
done

"$venv/bin/python" benches/peak_rss.py target/release/examples/classify > "$out/rss.json"
python3 benches/report.py report "$out"
