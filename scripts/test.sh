#!/usr/bin/env bash
# The README's test commands.
#
#   scripts/test.sh          the quick tier, before every commit (minutes on a warm build):
#                            formatting, the module graph, the build of every target linted by
#                            clippy (-D warnings), every Rust test not marked heavy, the C ABI
#                            test linked dynamically, the ABI compatibility test, the metric
#                            export checks.
#   scripts/test.sh --full   what CI runs (.ci/run): the quick tier, then the heavy Rust tests
#                            (#[ignore = "heavy: …"]), loom and Miri (allocator and monitor
#                            crates), ThreadSanitizer, the C ABI test statically linked, under
#                            valgrind and AddressSanitizer with the pool off, C++, Kotlin, the
#                            Swift module check, packaging with the shipped library, benches in
#                            test mode, the classify CLI, the model files, and the cross targets
#                            (aarch64/armv7 Linux under qemu-user, Android and iOS staticlibs;
#                            started first, in the background).
#
# One dev build (dependencies optimized) serves the host's steps; the C tests use a library built
# with the `test-hooks` feature (target/capi); packaging checks the shipped one (without it).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/toolchain.sh
full=0
case "${1:-}" in
  --full) full=1 ;;
  "") ;;
  *) echo "usage: scripts/test.sh [--full]" >&2; exit 2 ;;
esac
# Each step's header shows the minutes:seconds since the start, so a log shows where the time goes.
step() { printf '\n==== [%d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

step "formatting"
cargo fmt --all -- --check

cross_pid="" static_pid=""
if [ "$full" = 1 ]; then
  step "cross targets, in the background beside the host's steps (logs: target/cross.log, target/cross-static.log, shown at the end)"
  # Started first, so that their builds fill what the host's steps leave idle (one core during
  # valgrind, Miri, the qemu runs); they use the host's library and classify CLI only once
  # target/host-ready exists (made below). Two chains with their own target dirs (no cargo lock
  # shared with each other or the host), both niced so the host keeps its cores: aarch64 Linux;
  # the Android/iOS build checks (~12 min) then armv7 Linux. One chain of both Linux targets ended
  # 3 min after the host's steps (46:37 from a fresh clone of 180f59b): armv7's build waited for
  # aarch64's qemu runs, which use one core.
  mkdir -p target
  rm -f target/host-ready
  setsid nice -n 10 scripts/cross.sh --host-prefix target/capi-shipped --host-classify target/debug/examples/classify \
    --wait-for target/host-ready aarch64-unknown-linux-gnu \
    > target/cross.log 2>&1 &
  cross_pid=$!
  CARGO_TARGET_DIR=target/cross-static setsid nice -n 15 scripts/cross.sh --host-prefix target/capi-shipped \
    --host-classify target/debug/examples/classify --wait-for target/host-ready \
    aarch64-linux-android aarch64-apple-ios armv7-unknown-linux-gnueabihf \
    > target/cross-static.log 2>&1 &
  static_pid=$!
  trap 'kill -- "-$cross_pid" "-$static_pid" 2>/dev/null || true' EXIT
  echo "started (pids $cross_pid, $static_pid)"
fi

step "the module graph (no import cycles)"
python3 tests/check_module_deps.py

# Every host cargo command below compiles the workspace's crates with clippy-driver (scripts/
# clippy-rustc: rustc plus clippy's lints, warnings are errors), so building is linting: one
# pass over the dependencies instead of a `cargo clippy` check pass and a build. The cross
# targets (started above), Miri and ThreadSanitizer (nightly) build without it.
export RUSTC_WORKSPACE_WRAPPER="$PWD/scripts/clippy-rustc"
MLE_CLIPPY_DRIVER=$(rustup which clippy-driver)
export MLE_CLIPPY_DRIVER
unlinted=(env -u RUSTC_WORKSPACE_WRAPPER -u MLE_CLIPPY_DRIVER)

step "every crate and target (lib, tests, examples, benches), linted by clippy as it compiles (warnings are errors)"
cargo test --workspace --all-targets --no-run

step "Rust tests (unit, header freshness, golden outputs, allocations, bad input, deployment, telemetry, monitor)"
cargo test --workspace

step "C library with the test hooks (cdylib + staticlib, pool allocator) into target/capi"
cargo build --lib --features pool-allocator,test-hooks
scripts/install.sh --prefix target/capi --profile debug --no-build

step "C ABI test, dynamic library"
tests/c/run.sh target/capi/lib

step "C ABI compatibility: programs built against released headers (tests/compat) run against this library"
tests/compat/run.sh target/capi/lib

step "metric exports and the telemetry batch (written by --test telemetry_runtime): promtool, prometheus_client, opentelemetry-proto"
.venv/bin/python tests/check_exports.py target/tmp/exports

if [ "$full" = 0 ]; then
  printf '\nquick tier passed in %d:%02d (the full tier: scripts/test.sh --full)\n' $((SECONDS / 60)) $((SECONDS % 60))
  exit 0
fi

step "the shipped C library (pool allocator, no test hooks) into target/capi-shipped, and its packaging: SONAME, pkg-config and CMake consumers, no test hooks exported"
cargo build --lib --features pool-allocator
scripts/install.sh --prefix target/capi-shipped --profile debug --no-build
# Checked now, before anything builds this crate with other features: a cdylib's file name has no
# hash, so each build with another feature set rewrites it and makes cargo rebuild the previous
# one when it is asked for again (packaging after the heavy tests rebuilt it, ~1:25).
tests/packaging.sh debug

step "the classify CLI"
cargo build --example classify
touch target/host-ready

step "C ABI test: static library, valgrind and AddressSanitizer (pool off), in the background (log: target/c-full.log, shown below)"
# valgrind runs on one core for about two minutes: beside the next steps rather than before them.
tests/c/run.sh target/capi/lib --full > target/c-full.log 2>&1 &
c_full_pid=$!

step "heavy Rust tests (#[ignore = \"heavy: …\"])"
cargo test --workspace --lib --tests -- --ignored

step "allocator and monitor crates under loom (every interleaving of the pool table, the ring, the lane hand-off)"
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test -p mlops_edge_alloc -p mlops_edge_monitor --release --lib loom

step "allocator and monitor crates under Miri (unsafe code, data races between threads)"
# The allocator's unit tests (pool table, router, scopes) and the monitor's unsafe or shared
# parts: the ring and totals unit tests, the monitor and its ingest through the multi-threaded
# integration tests. The statistics modules are safe arithmetic, tested natively above.
miri=("${unlinted[@]}" CARGO_TARGET_DIR=target/miri cargo "+$NIGHTLY" miri test)
"${miri[@]}" -p mlops_edge_alloc --lib
"${miri[@]}" -p mlops_edge_monitor --lib -- ring:: totals::
"${miri[@]}" -p mlops_edge_monitor --test monitor -- eight_producers full_rings counts_by_status lanes_and_versions

# ThreadSanitizer builds (std included) with dependencies unoptimized: a race is a race at any
# optimization level, these tests run the small models, and an instrumented tract at opt-level 3
# was the longest build of the whole run.
tsan=("${unlinted[@]}" RUSTFLAGS="-Zsanitizer=thread" CARGO_TARGET_DIR=target/tsan
      cargo "+$NIGHTLY" test -Zbuild-std --target x86_64-unknown-linux-gnu --config 'profile.dev.package."*".opt-level=0')

step "allocator and monitor crates under ThreadSanitizer"
"${tsan[@]}" -p mlops_edge_alloc -p mlops_edge_monitor --lib --test monitor

step "deployment runtime and telemetry under ThreadSanitizer (8 threads through swaps and rollouts; 4 producers and 2 flushers)"
"${tsan[@]}" --test deployment --test telemetry -- eight_threads random_failures

step "C ABI test: static library, valgrind and AddressSanitizer (pool off): its result"
c_full_status=0
wait "$c_full_pid" || c_full_status=$?
cat target/c-full.log
[ "$c_full_status" -eq 0 ] || { echo "the C ABI test (static, valgrind, ASan) failed (exit $c_full_status)" >&2; exit 1; }

step "C++ wrapper (bindings/cpp): test (also under AddressSanitizer) and example"
bindings/cpp/run.sh target/capi/lib

step "Kotlin binding (bindings/kotlin, JNA): struct layouts and the API on the JVM"
bindings/kotlin/run.sh target/capi/lib

step "the fleet: alert rules (promtool), the receiver, 20 devices through the Pushgateway, Prometheus and the receiver"
tests/fleet/run.sh target/capi

step "Swift package: the module map builds with clang, the Swift layer uses only declared C API"
bindings/swift/check/run.sh target/capi

step "benchmarks compile and run once (criterion test mode)"
cargo test --benches

step "classify CLI"
python3 tests/check_cli.py target/debug/examples/classify

step "model files (provenance hashes, golden files, cards)"
python3 tests/check_models.py

step "cross targets (waiting for the background runs; compile lines left out)"
cross_status=0 static_status=0
wait "$cross_pid" || cross_status=$?
wait "$static_pid" || static_status=$?
trap - EXIT
grep -hv '^ *Compiling ' target/cross.log target/cross-static.log
[ "$cross_status" -eq 0 ] || { echo "cross targets (Linux) failed (exit $cross_status)" >&2; exit 1; }
[ "$static_status" -eq 0 ] || { echo "cross targets (Android, iOS) failed (exit $static_status)" >&2; exit 1; }

printf '\nfull tier passed in %d:%02d\n' $((SECONDS / 60)) $((SECONDS % 60))
