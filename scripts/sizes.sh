#!/usr/bin/env bash
# Library size per target with the shipping profile (`dist`: fat LTO, opt-level "z" outside the hot
# kernels), pool allocator on — the numbers in BENCHMARKS.md. Not part of the test command: each
# target is a fat-LTO build of tract (~8-10 min on 2 cores).
# Usage: scripts/sizes.sh [--breakdown] [<target>...]
#   Linux targets: libmlops_edge.so, stripped (--strip-all).
#   Android and iOS: libmlops_edge.a with debug info stripped (no NDK or Xcode here to link an app;
#   the app's linker keeps only what the exported functions reach, so the aarch64 Linux .so is
#   the closer estimate of what a phone app grows by).
#   --breakdown: after each Linux target's line, its sections and bytes per crate
#   (scripts/size-breakdown.py on the unstripped library).
# The library is linked with its symbol table (CARGO_PROFILE_DIST_STRIP=none, so that the breakdown
# can name symbols) and measured after `strip --strip-all`: the same bytes as `strip = "symbols"`.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(pwd)/target/cross}" CARGO_PROFILE_DIST_STRIP=none
. scripts/cross-env.sh
breakdown=0
if [ "${1:-}" = --breakdown ]; then breakdown=1; shift; fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf
                                      aarch64-linux-android aarch64-apple-ios)
printf '| target | file | bytes | MiB |\n|---|---|---|---|\n'
for target in "${targets[@]}"; do
  dir="$CARGO_TARGET_DIR/$target/dist"
  cross_env "$target"
  if [ "$kind" = linux ]; then
    cargo build --quiet --profile dist --lib --features pool-allocator --target "$target" >&2
    strip="$gnu-strip" file=libmlops_edge.so flags=--strip-all
  else
    cargo rustc --quiet --profile dist --lib --crate-type staticlib --features pool-allocator --target "$target" >&2
    strip=llvm-strip-14 file=libmlops_edge.a flags=--strip-debug
  fi
  "$strip" "$flags" -o "$dir/stripped-$file" "$dir/$file"
  bytes=$(stat -c %s "$dir/stripped-$file")
  awk -v t="$target" -v f="$file" -v b="$bytes" 'BEGIN { printf "| %s | %s | %d | %.2f |\n", t, f, b, b / 1048576 }'
  if [ "$breakdown" = 1 ] && [ "$kind" = linux ]; then
    printf '\n%s:\n\n' "$target"
    scripts/size-breakdown.py "$dir/$file" --tool-prefix "$gnu-"
    printf '\n'
  fi
done
