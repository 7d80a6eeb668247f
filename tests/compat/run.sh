#!/usr/bin/env bash
# The compatibility test: compat_test.c compiled against each frozen header of a released ABI
# (tests/compat/abi-*/mlops_edge.h; never edited after its release) and run against the library
# in <dir>. A change to the library that breaks programs built against an earlier release of the
# same ABI major fails here. Usage: tests/compat/run.sh <dir holding libmlops_edge.so>
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=$(cd "${1:?usage: run.sh <library dir>}" && pwd)
out="$lib/compat-tests"
mkdir -p "$out"
cd "$root"
major=$(sed -n 's/^pub const MLE_ABI_VERSION_MAJOR: u32 = \([0-9]*\);/\1/p' src/ffi/abi.rs)
found=0
for header in tests/compat/abi-"$major".*/mlops_edge.h; do
  [ -f "$header" ] || continue
  found=1
  release=$(basename "$(dirname "$header")")
  gcc -std=c99 -Wall -Wextra -Werror -pedantic -I"$(dirname "$header")" tests/compat/compat_test.c \
    -o "$out/compat_$release" -L"$lib" -lmlops_edge -Wl,-rpath,"$lib" -lm
  echo "$release: $("$out/compat_$release" "$root")"
done
[ "$found" = 1 ] || { echo "no frozen header of ABI $major under tests/compat/" >&2; exit 1; }
