#!/usr/bin/env bash
# The soak (issue 19; not a CI test): examples/soak.rs in the release build — 8 threads, 10 million
# requests through a runtime with its monitor and a telemetry whose upload answers RETRY half the
# time, while a control thread snapshots, renders every export, hot-swaps and rolls out. Prints
# one JSON line (counts, requests per second, the resident set at each tenth of the run, the C
# heap in use) and fails when a count is off or the peak resident set (VmHWM, and the largest
# VmRSS sampled every control cycle) grew more than 1% after warm-up (a tenth of thread 0's
# requests and 20 deployment changes: MLE_SOAK_WARM_DEPLOYS). Usage: scripts/soak.sh [requests] [threads]
# Diagnostics: MLE_SOAK_NO_DEPLOYS=1 (no swaps or rollouts), MLE_SOAK_ONLY=swap|rollout,
# MLE_SOAK_DEPLOY_EVERY=<control cycles of 20 ms> (default 20), MLE_SOAK_LOADS=<n> (load/drop,
# then swap and roll out n times without requests, printing the heap in use),
# MLE_SOAK_KEEP_FREED=1 (RuntimeOptions::release_memory off: retired models' memory is not given
# back to the system).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --example soak
exec target/release/examples/soak "${1:-10000000}" "${2:-8}"
