#!/usr/bin/env bash
# Cold start and peak memory of the shipped models against onnxruntime's C API (benches/startup.rs)
# in the shipping `dist` build; prints the BENCHMARKS.md table (also in target/criterion/startup.json).
# MLE_STARTUP_ROUNDS: cold starts per model and runtime, alternated (default 7).
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/ort-env.sh
cargo bench --profile dist --bench startup --no-run
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) vCPUs; commit $(git rev-parse --short HEAD), $(date -u +%Y-%m-%d)"
cargo bench --profile dist --bench startup
