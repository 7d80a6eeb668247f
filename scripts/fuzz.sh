#!/usr/bin/env bash
# The fuzz campaign (issue 19): every cargo-fuzz target of fuzz/ for a number of executions, each
# from its seed corpus (the shipped files it parses) into target/fuzz-corpus/<target>.
# Needs nightly and cargo-fuzz (`cargo install cargo-fuzz`). Usage:
#   scripts/fuzz.sh [runs per target, default 1000000] [target...]
# Prints each target's executions, its corpus size and whether it found a crash (artifacts in
# fuzz/artifacts/<target>/: turn each into a regression test before fixing it).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(package onnx card tokenizer spool baseline session_inputs ab_inputs)
. scripts/toolchain.sh
seeds() {
  case "$1" in
    package) echo tests/data/packages ;;
    onnx) echo tests/data/exports ;;
    tokenizer) echo models/profanity-tfidf ;;
    *) ;;
  esac
}
for t in "${targets[@]}"; do
  corpus=target/fuzz-corpus/$t
  mkdir -p "$corpus"
  start=$SECONDS
  # -rss_limit_mb: a parser that asks for more than 2 GiB for one input is a finding too.
  if cargo "+$NIGHTLY" fuzz run --fuzz-dir fuzz "$t" "$corpus" $(seeds "$t") -- \
      -runs="$runs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 > "target/fuzz-$t.log" 2>&1; then
    outcome="no crash"
  else
    outcome="CRASH (see target/fuzz-$t.log, fuzz/artifacts/$t/)"
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "target/fuzz-$t.log" | grep -o '[0-9]*$' || echo "?")
  printf '%-15s %10s executions in %5ds, corpus %5d files: %s\n' "$t" "$execs" $((SECONDS - start)) \
    "$(ls "$corpus" | wc -l)" "$outcome"
done
