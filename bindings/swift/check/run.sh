#!/usr/bin/env bash
# Checks the Swift package without a Swift toolchain: clang builds the CMlopsEdge module from
# its module map over the header, and an Objective-C file importing it uses the C API the Swift
# layer calls. Usage: bindings/swift/check/run.sh <install prefix holding include/mlops_edge.h>
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
prefix=$(cd "${1:?usage: run.sh <install prefix>}" && pwd)
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
clang -fmodules -fmodules-cache-path="$cache" -fsyntax-only -Werror -Wall \
  -fmodule-map-file="$root/bindings/swift/Sources/CMlopsEdge/module.modulemap" \
  -I "$prefix/include" "$root/bindings/swift/check/module_check.m"
# The module map must name the header through the include path only (no absolute paths), and
# the Swift layer must only use functions and structs the header declares.
grep -q 'link "mlops_edge"' "$root/bindings/swift/Sources/CMlopsEdge/module.modulemap"
missing=0
for f in $(grep -o 'mle_[a-z0-9_]*(' "$root/bindings/swift/Sources/MlopsEdge/MlopsEdge.swift" | tr -d '(' | sort -u); do
  grep -Eq "[ *]$f\(|typedef struct $f \{" "$prefix/include/mlops_edge.h" ||
    { echo "MlopsEdge.swift uses $f, which the header lacks" >&2; missing=1; }
done
[ "$missing" = 0 ]
echo "swift module map ok (clang $(clang -dumpversion))"
