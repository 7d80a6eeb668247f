#!/usr/bin/env bash
# Cross-target builds and tests (issue 6).
# Usage: scripts/cross.sh --host-prefix <dir> --host-classify <binary> [--wait-for <file>] <target>...
#   --host-prefix: the host's C library installed by scripts/install.sh, --host-classify: the host's
#   classify CLI (examples/classify.rs); the targets' answers are compared with theirs.
#   --wait-for: a file whose existence says those are built (scripts/test.sh starts this script
#   before its own build, so that the cross builds fill the cores the host's build leaves idle);
#   nothing of the host's is used before it exists.
#
#   aarch64-unknown-linux-gnu, armv7-unknown-linux-gnueabihf (Debian's cross gcc, qemu-user):
#     on aarch64 the Rust unit tests and the target-sensitive integration tests run under qemu, on
#     armv7 (32 bits) the C ABI test (tests/c/abi_test.c --quick, library built with the test
#     hooks); the Rust tests are built
#     with `--cfg mle_emulated` (tests that load
#     MiniLM or magika are marked `cfg_attr(mle_emulated, ignore = …)` in the code: qemu-user
#     runs tract ~100x slower, a MiniLM load takes a minute); the C library
#     (cdylib + staticlib, pool allocator) is built, exports every function of the header, and the C
#     example prints the host's answers under qemu linked against each; the classify CLI answers
#     the golden inputs of every model like the host build (tests/check_cross.py; magika's
#     fixed-shape inputs sampled 1 in 4).
#   aarch64-linux-android, aarch64-apple-ios (no NDK, no Xcode here): the staticlib builds (tract's
#     assembly kernels are assembled by clang for the target) and exports every function of the
#     header. Dependencies are built without optimization there: it is a build check (a few
#     minutes instead of ~7 on 2 cores), nothing runs.
#
# Builds go to $CARGO_TARGET_DIR (default target/cross, apart from the host's target/ so that this
# can run beside the host's tests), one build per target. scripts/test.sh --full runs two of these
# at once (aarch64 Linux; Android, iOS and armv7 Linux with CARGO_TARGET_DIR=target/cross-static).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
CARGO_TARGET_DIR=$(realpath -m "${CARGO_TARGET_DIR:-$root/target/cross}")
export CARGO_TARGET_DIR
# One-shot builds: incremental compilation's bookkeeping only costs time here.
export CARGO_INCREMENTAL=0
host_prefix="" host_classify="" host_ready=""
while [ $# -gt 0 ]; do
  case "$1" in
    --host-prefix) host_prefix=$(realpath -m "$2"); shift 2 ;;
    --host-classify) host_classify=$(realpath -m "$2"); shift 2 ;;
    --wait-for) host_ready=$(realpath -m "$2"); shift 2 ;;
    *) break ;;
  esac
done
if [ -z "$host_prefix" ] || [ -z "$host_classify" ] || [ $# -eq 0 ]; then
  echo "usage: scripts/cross.sh --host-prefix <dir> --host-classify <binary> <target>..." >&2
  exit 2
fi
. scripts/cross-env.sh
step() { printf '\n== [%d:%02d] %s: %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$target" "$*"; }

check_exports() {
  local archive=$1 missing
  missing=$(comm -23 <(grep -oE '\bmle_[a-z0-9_]+\(' include/mlops_edge.h | tr -d '(' | sort -u) \
                     <(llvm-nm-14 --defined-only --extern-only "$archive" 2>/dev/null |
                       awk '{print $NF}' | sed 's/^_//' | grep '^mle_' | sort -u))
  if [ -n "$missing" ]; then
    echo "$archive does not define: $missing" >&2
    exit 1
  fi
  echo "$archive defines every function of include/mlops_edge.h"
}

linux() {
  local target=$1
  local out="$CARGO_TARGET_DIR/$target/debug"

  if [ "$target" = armv7-unknown-linux-gnueabihf ]; then
    # The 32-bit target runs the C ABI test instead of the Rust suite (which aarch64 runs): it
    # checks what 32 bits change for a C caller (size_t, struct layouts, limits that no longer fit
    # a usize), and costs a library build instead of a dozen test binaries (the full tier's time).
    step "C library with the test hooks, and the C ABI test (--quick) under $runs_on"
    cargo build --target "$target" --lib --features pool-allocator,test-hooks
    scripts/install.sh --prefix "$out/prefix-hooks" --profile debug --target "$target" --no-build
    "$gnu-gcc" -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -Itests/c tests/c/abi_test.c \
      -o "$out/abi_test" -L"$out/prefix-hooks/lib" -lmlops_edge -Wl,-rpath,"$out/prefix-hooks/lib" -lm -pthread
    RUST_BACKTRACE=0 $runner "$out/abi_test" "$root" --quick
  else
    step "Rust tests under $runs_on: unit tests, allocations, exports, telemetry, deployment (heavy ones left to the host run)"
    # The tests where the target can differ from the host: the unit tests (the ml evaluators,
    # the allocator, the monitor), zero allocations per request with the target's kernels, the
    # converters' exports answering like onnxruntime, the telemetry spool's bytes, the
    # deployment runtime's threads. The other integration tests check logic the host's run
    # covers; each more test binary costs a link of tract under the full tier's time budget.
    # MLE_TEST_EMULATED: tests that honour it (tests/common under_emulation) run fewer requests.
    MLE_TEST_EMULATED=1 cargo test --target "$target" --lib --test allocations --test exports --test telemetry \
      --test deployment
  fi

  step "C library (cdylib + staticlib, pool allocator) and the classify CLI"
  cargo build --target "$target" --lib --features pool-allocator
  cargo build --target "$target" --example classify
  check_exports "$out/libmlops_edge.a"
  scripts/install.sh --prefix "$out/prefix" --profile debug --target "$target" --no-build

  step "C example under $runs_on: the same answers as the host's (shared and static library)"
  # Built as a C user would, through the installed pkg-config file (examples/c/pkgconfig).
  PKG_CONFIG_PATH="$out/prefix/lib/pkgconfig" make -s -B -C examples/c/pkgconfig OUT="$out" CC="$gnu-gcc"
  "$gnu-readelf" -d "$out/classify_demo_shared" | grep -c 'NEEDED.*\[libmlops_edge.so.1' >/dev/null ||
    { echo "the C example does not load libmlops_edge through its SONAME" >&2; exit 1; }
  # The two runs side by side (a qemu-user process uses one core).
  $runner "$out/classify_demo_shared" models/minilm-l3-promptinj > "$out/demo-minilm.txt" & shared=$!
  $runner "$out/classify_demo_static" models/profanity-tfidf > "$out/demo-profanity.txt" & static=$!
  wait "$shared"
  wait "$static"
  cat "$out/demo-minilm.txt" "$out/demo-profanity.txt"
  host_answers "$out/host-demo"
  for model in minilm profanity; do
    python3 tests/check_cross.py --compare-demo "$out/host-demo/demo-$model.txt" "$out/demo-$model.txt"
  done

  step "the golden inputs of every model: same labels, probabilities within 1e-4 of the host's"
  # Magika's 52 inputs all have one shape (its fixed-size byte features), so each runs the same
  # kernels on the same shapes, and under qemu-user each costs ~3 CPU-seconds (a third of both
  # targets' emulation time in the full tier): 1 in 4 of them, and its known deviations, are
  # compared there. Every input of every model is compared with onnxruntime on the host.
  python3 tests/check_cross.py --host "$host_classify" --target "$out/examples/classify" \
    --runner "$runner" --sample magika=4 --summary "$out/cross-summary.json"
}

staticlib() {
  local target=$1
  step "staticlib (cargo rustc --crate-type staticlib, pool allocator)"
  cargo rustc --target "$target" --lib --crate-type staticlib --features pool-allocator \
    --config 'profile.dev.package."*".opt-level=0'
  check_exports "$CARGO_TARGET_DIR/$target/debug/libmlops_edge.a"
}

# The host's answers to the C example, for comparison, written to directory $1: made natively (a
# few seconds) for each target once the host's build is ready.
host_answers() {
  local dir=$1
  if [ -n "$host_ready" ] && [ ! -e "$host_ready" ]; then
    echo "waiting for the host's build ($host_ready)"
    while [ ! -e "$host_ready" ]; do sleep 5; done
  fi
  mkdir -p "$dir"
  PKG_CONFIG_PATH="$host_prefix/lib/pkgconfig" make -s -B -C examples/c/pkgconfig OUT="$dir"
  "$dir/classify_demo_static" models/minilm-l3-promptinj > "$dir/demo-minilm.txt"
  "$dir/classify_demo_static" models/profanity-tfidf > "$dir/demo-profanity.txt"
}

for target in "$@"; do
  (
    cross_env "$target"
    if [ "$kind" = linux ]; then linux "$target"; else staticlib "$target"; fi
  )
done
printf 'cross targets passed in %d:%02d: %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"
