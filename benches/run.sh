#!/usr/bin/env bash
# Runs every measurement behind BENCHMARKS.md on this machine and prints its tables:
#   criterion benches (release profile), the onnxruntime anchor on the same inputs, peak RSS per
#   model, and the stripped library size per profile. Run it on an otherwise idle machine.
# Needs python3 with venv support (creates target/bench-venv with onnxruntime and tokenizers).
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench-results
mkdir -p "$out"

venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet onnxruntime==1.32.0 tokenizers==0.23.3 numpy==2.4.6
fi

cargo bench --bench inference -- --noplot 2>&1 | tee "$out/criterion.log"
"$venv/bin/python" benches/onnxruntime_anchor.py > "$out/onnxruntime.json"

# Peak RSS per model: the classify CLI (release) answering 200 real inputs.
cargo build --release --example classify
"$venv/bin/python" benches/peak_rss.py target/release/examples/classify > "$out/rss.json"

# Library sizes (C library with the pool allocator), stripped.
for profile in release dist; do
  cargo build --profile "$profile" --lib --features pool-allocator
  strip -o "$out/libmlops_edge.$profile.so" "target/$profile/libmlops_edge.so"
done
python3 benches/report.py "$out"
