#!/usr/bin/env bash
# A bench that runs onnxruntime's C API in its own process, in the shipping `dist` build:
#   benches/against-onnxruntime.sh startup    cold start and peak memory (benches/startup.rs)
#   benches/against-onnxruntime.sh headline   the headline encoder, fp32 and int8, end to end (benches/headline.rs)
#   benches/against-onnxruntime.sh profile    the headline encoder per tract operator, beside onnxruntime's whole request (benches/profile.rs)
# Prints the machine and the BENCHMARKS.md table (also in target/criterion/<bench>.json).
# startup: MLE_STARTUP_ROUNDS cold starts per model and runtime, alternated (default 7).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  startup | headline | profile) bench=$1 ;;
  *) echo "usage: benches/against-onnxruntime.sh startup|headline|profile" >&2; exit 2 ;;
esac
. benches/ort-env.sh
cargo bench --profile dist --bench "$bench" --no-run
describe_machine
cargo bench --profile dist --bench "$bench"
