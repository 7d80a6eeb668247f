#!/usr/bin/env bash
# Every test: Rust (unit, header freshness, golden outputs vs onnxruntime, accuracy, allocation
# counts, bad input, the monitor with loom/Miri/ThreadSanitizer, the deployment runtime and
# telemetry with ThreadSanitizer), the metric exports (promtool, prometheus_client, opentelemetry-proto),
# the C ABI (C99/C++17 header, dynamic + static, valgrind, ASan), the C++/Kotlin/Swift bindings,
# packaging (SONAME, pkg-config, CMake), the CLI, the model files, and the cross targets (aarch64 and
# armv7 Linux under qemu-user, Android and iOS staticlibs; scripts/cross.sh, run in the background).
# One dev build (dependencies optimized) serves all the host's steps; one build per cross target.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step's header shows the minutes:seconds since the start, so a log shows where the time goes.
step() { printf '\n==== [%d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

step "formatting"
cargo fmt --all -- --check

step "cross targets, in the background beside the host's steps (log: target/cross.log, shown at the end)"
# aarch64 and armv7 Linux: Rust tests, the C example and every golden input under qemu-user;
# aarch64 Android and iOS: the staticlib. Started first, so that its builds fill what the host's
# build leaves idle; it uses the host's library and classify CLI only once target/host-ready
# exists (made below, after their build). Its own target dir (target/cross), so no cargo lock is
# shared with the host's steps; niced, so that the host's timing-sensitive tests keep their cores.
mkdir -p target
rm -f target/host-ready
setsid nice -n 10 scripts/cross.sh --host-prefix target/capi --host-classify target/debug/examples/classify \
  --wait-for target/host-ready \
  aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf aarch64-linux-android aarch64-apple-ios \
  > target/cross.log 2>&1 &
cross_pid=$!
trap 'kill -- "-$cross_pid" 2>/dev/null || true' EXIT
echo "started (pid $cross_pid)"

step "Rust tests (unit, header freshness, golden outputs, accuracy, allocations, bad input)"
cargo test --lib --tests --examples
cargo test --doc
cargo build --examples

step "C library (cdylib + staticlib with the pool allocator), installed into target/capi"
cargo build --lib --features pool-allocator
scripts/install.sh --prefix target/capi --profile debug --no-build
touch target/host-ready

step "monitor crate: unit tests, scipy/numpy vectors, 8-thread ingest with concurrent snapshots"
cargo test -p mlops_edge_monitor

step "monitor crate under loom (every interleaving of the ring and the lane hand-off)"
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p mlops_edge_monitor --release --lib loom

step "monitor crate under Miri (unsafe code, data races between producer and consumer)"
# The modules with unsafe code or shared state: the unit tests of the ring and the totals, then
# the monitor and its ingest (lanes, hand-off) through the integration tests that drive them from
# several threads. The statistics modules are safe arithmetic, tested natively above.
CARGO_TARGET_DIR=target/miri cargo +nightly miri test -p mlops_edge_monitor --lib -- ring:: totals::
CARGO_TARGET_DIR=target/miri cargo +nightly miri test -p mlops_edge_monitor --test monitor -- \
  eight_producers full_rings counts_by_status lanes_and_versions

# ThreadSanitizer builds (std included) with dependencies unoptimized: a race is a race at any
# optimization level, these tests run the small models, and an instrumented tract at opt-level 3
# was the longest build of the whole run.
tsan=(env RUSTFLAGS="-Zsanitizer=thread" CARGO_TARGET_DIR=target/tsan
      cargo +nightly test -Zbuild-std --target x86_64-unknown-linux-gnu --config 'profile.dev.package."*".opt-level=0')

step "monitor crate under ThreadSanitizer"
"${tsan[@]}" -p mlops_edge_monitor --lib --test monitor

step "deployment runtime and telemetry under ThreadSanitizer (8 threads through swaps and rollouts; 4 producers and 2 flushers)"
"${tsan[@]}" --test deployment --test telemetry -- eight_threads random_failures

step "metric exports and the telemetry batch (written by --test telemetry_runtime): promtool, prometheus_client, opentelemetry-proto"
.venv/bin/python tests/check_exports.py target/tmp/exports

step "benchmarks compile and run once (criterion test mode)"
cargo test --bench inference
cargo test --bench monitor
cargo test --bench runtime
cargo test --bench telemetry

step "C ABI tests"
tests/c/run.sh target/capi/lib

step "C++ wrapper (bindings/cpp): test (also under AddressSanitizer) and example"
bindings/cpp/run.sh target/capi/lib

step "Kotlin binding (bindings/kotlin, JNA): struct layouts and the API on the JVM"
bindings/kotlin/run.sh target/capi/lib

step "Swift package: the module map builds with clang, the Swift layer uses only declared C API"
bindings/swift/check/run.sh target/capi

step "packaging: SONAME, pkg-config and CMake consumers (shared and static)"
tests/packaging.sh debug

step "classify CLI"
python3 tests/check_cli.py target/debug/examples/classify

step "model files (provenance hashes, golden files, cards)"
python3 tests/check_models.py

step "cross targets (waiting for the background run; compile lines left out)"
cross_status=0
wait "$cross_pid" || cross_status=$?
trap - EXIT
grep -v '^ *Compiling ' target/cross.log
[ "$cross_status" -eq 0 ] || { echo "cross targets failed (exit $cross_status)" >&2; exit 1; }

printf '\nall tests passed in %d:%02d\n' $((SECONDS / 60)) $((SECONDS % 60))
