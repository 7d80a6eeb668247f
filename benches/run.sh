#!/usr/bin/env bash
# Runs every measurement behind BENCHMARKS.md on this machine and prints its tables.
#   - criterion benches (benches/inference.rs) of the release and the dist (shipping) builds,
#   - the onnxruntime anchor on the same inputs (benches/onnxruntime_anchor.py),
#   alternated over ROUNDS rounds (default 3); the report keeps each bench's best round, since
#   on a shared machine noise only ever adds time;
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

cargo build --release --bench inference --example classify
cargo build --profile dist --bench inference
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

"$venv/bin/python" benches/peak_rss.py target/release/examples/classify > "$out/rss.json"
python3 benches/report.py report "$out"
