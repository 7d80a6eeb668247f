#!/usr/bin/env bash
# Every test: Rust (unit, header freshness, golden outputs vs onnxruntime, accuracy, allocation
# counts, bad input), the C ABI (C99/C++17 header, dynamic + static, valgrind, ASan), the CLI,
# and the model files. One dev build (dependencies optimized) serves all of it.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n==== %s\n' "$*"; }

step "formatting"
cargo fmt --all -- --check

step "Rust tests (unit, header freshness, golden outputs, accuracy, allocations, bad input)"
cargo test --lib --tests --examples
cargo test --doc
cargo build --examples

step "benchmarks compile and run once (criterion test mode)"
cargo test --bench inference

step "C library (cdylib + staticlib with the pool allocator)"
cargo build --lib --features pool-allocator
mkdir -p target/capi
cp target/debug/libmlops_edge.so target/debug/libmlops_edge.a target/capi/

step "C ABI tests"
tests/c/run.sh target/capi

step "classify CLI"
python3 tests/check_cli.py target/debug/examples/classify

step "model files (provenance hashes, golden files, cards)"
python3 tests/check_models.py

printf '\nall tests passed\n'
