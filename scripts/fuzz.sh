#!/usr/bin/env bash
# The fuzz campaign (issue 19; docs/fuzzing.md): cargo-fuzz targets of fuzz/, each run for a number
# of executions or a time budget, whichever comes first, from the seeds the smoke test writes
# (tests/fuzz_smoke.rs → target/tmp/fuzz-seeds/<target>/) plus, for the model parsers, every
# converter export in tests/data/exports; the corpus grows in target/fuzz-corpus/<target>/ and is
# reused by the next run.
# Needs the pinned nightly (scripts/toolchain.sh) and cargo-fuzz (`cargo install cargo-fuzz`).
#   scripts/fuzz.sh [runs per target, default 1000000] [target...]
#   MLE_FUZZ_MAX_SECONDS=N   stop each target after N seconds (default: no limit)
# Builds without a sanitizer: the fuzzed code is safe Rust (the library's unsafe code is its C
# boundary and its allocator, which no target goes through); a panic, an abort, a timeout (10 s)
# or more than 2 GiB for one input is a finding. Prints one line per target: executions, seconds,
# executions per second, corpus files, coverage (libFuzzer's `cov`), and the outcome; a crash
# leaves its input in fuzz/artifacts/<target>/: turn it into a regression test, then fix it.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(package onnx card tokenizer spool baseline session_inputs ab_inputs)
. scripts/toolchain.sh
time_limit=()
[ -n "${MLE_FUZZ_MAX_SECONDS:-}" ] && time_limit=(-max_total_time="$MLE_FUZZ_MAX_SECONDS")

# The seeds, written by the smoke test (which also runs every target over them once), and the
# targets. MLE_FUZZ_PREBUILT=1 skips both and runs the binaries an earlier run built (the build
# takes ~25 minutes on 2 cores; the binaries stay what they were even when the tree changes).
if [ -z "${MLE_FUZZ_PREBUILT:-}" ]; then
  cargo test -q --test fuzz_smoke -- --ignored > target/fuzz-smoke.log 2>&1 ||
    { cat target/fuzz-smoke.log; exit 1; }
  cargo "+$NIGHTLY" fuzz build --fuzz-dir fuzz --sanitizer none > target/fuzz-build.log 2>&1 ||
    { tail -30 target/fuzz-build.log; exit 1; }
fi
# Where cargo-fuzz puts them: target/<host triple>/release.
bin=fuzz/target/$(rustc "+$NIGHTLY" -vV | sed -n 's/^host: //p')/release

extra_seeds() {
  case "$1" in
    package) echo tests/data/packages ;;
    onnx) echo tests/data/exports ;;
    *) ;;
  esac
}
for t in "${targets[@]}"; do
  corpus=target/fuzz-corpus/$t
  mkdir -p "$corpus"
  start=$SECONDS
  mkdir -p "fuzz/artifacts/$t"
  # The binary itself, not `cargo fuzz run`, which would rebuild whenever a source file changed.
  if "$bin/$t" -artifact_prefix="fuzz/artifacts/$t/" "$corpus" target/tmp/fuzz-seeds/"$t" \
      $(extra_seeds "$t") -runs="$runs" "${time_limit[@]}" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 > "target/fuzz-$t.log" 2>&1; then
    outcome="no crash"
  else
    outcome="CRASH (see target/fuzz-$t.log, fuzz/artifacts/$t/)"
  fi
  seconds=$((SECONDS - start))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "target/fuzz-$t.log" | grep -o '[0-9]*$' || echo 0)
  cov=$(grep -oE 'cov: [0-9]+' "target/fuzz-$t.log" | tail -1 | grep -oE '[0-9]+$' || echo "?")
  printf '%-15s %10s executions in %6ds (%6s/s), corpus %5d files, cov %6s: %s\n' "$t" "$execs" "$seconds" \
    "$((execs / (seconds > 0 ? seconds : 1)))" "$(ls "$corpus" | wc -l)" "$cov" "$outcome"
done
