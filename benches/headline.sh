#!/usr/bin/env bash
# The headline encoder (fp32 and int8 products) end to end against onnxruntime's C API,
# interleaved request by request in one process (benches/headline.rs), in the shipping `dist`
# build; prints the BENCHMARKS.md table (also in target/criterion/headline.json).
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/ort-env.sh
cargo bench --profile dist --bench headline --no-run
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) vCPUs; commit $(git rev-parse --short HEAD), $(date -u +%Y-%m-%d)"
cargo bench --profile dist --bench headline
