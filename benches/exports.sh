#!/usr/bin/env bash
# The converters' exports (tests/data/exports) side by side with onnxruntime: benches/exports.rs
# (the shipping `dist` build and the `release` build; onnxruntime's C API in the same process,
# interleaved request by request) and `benches/onnxruntime_anchor.py --exports` (its Python API)
# on the same files and rows, alternated over ROUNDS rounds (default 3); the report keeps each
# bench's best round (on a shared machine noise only ever adds time) and prints the BENCHMARKS.md
# table. Needs python3 with venv support (creates target/bench-venv, as benches/run.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
out=target/bench-results/exports
rm -rf "$out" && mkdir -p "$out"

. benches/ort-env.sh
for profile in dist release; do
  cargo bench --profile "$profile" --bench exports --no-run
done
for round in $(seq 1 "$rounds"); do
  for profile in dist release; do
    cargo bench --profile "$profile" --bench exports -- --noplot > "$out/criterion.$profile.$round.log" 2>&1
    python3 benches/report.py collect-exports "$out/ours.$profile.$round.json"
  done
  "$venv/bin/python" benches/onnxruntime_anchor.py --exports > "$out/onnxruntime.$round.json"
done
describe_machine > "$out/machine.txt"
python3 benches/report.py exports "$out"
