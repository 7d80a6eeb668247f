#!/usr/bin/env bash
# Compiles the Kotlin binding and its test with Debian's kotlinc (JNA from libjna-java) and runs
# the test on the JVM against the library in <dir>: struct sizes, field offsets and the header's
# constants against the C compiler's (layout.c), the ABI check, then the API. The library must be
# a test-hooks build (mle_test_* entry points, as target/capi's). Usage:
# bindings/kotlin/run.sh <dir holding libmlops_edge.so>
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=$(cd "${1:?usage: run.sh <library dir>}" && pwd)
out="$lib/kotlin-tests"
mkdir -p "$out"
cd "$root"
jna=/usr/share/java/jna.jar
gcc -std=c99 -Wall -Werror -Iinclude bindings/kotlin/layout.c -o "$out/layout"
"$out/layout" > "$out/layout.txt"
# A fresh class directory: after a failed compile, the previous run's classes must not run.
rm -rf "$out/classes"
kotlinc -nowarn -cp "$jna" bindings/kotlin/src/mlopsedge/*.kt bindings/kotlin/examples/*.kt bindings/kotlin/test/Test.kt \
  -d "$out/classes" 2>&1 |
  grep -v "^warning: unable to find kotlin-stdlib.jar\|^OpenJDK" || true
[ -f "$out/classes/mlopsedge/test/TestKt.class" ] || { echo "kotlin compilation failed" >&2; exit 1; }
kotlin_lib=$(dirname "$(readlink -f "$(command -v kotlinc)")")/../lib
stdlib=$(ls /usr/share/java/kotlin-stdlib.jar 2>/dev/null || ls "$kotlin_lib"/kotlin-stdlib*.jar | head -1)
java -Djna.library.path="$lib" -cp "$out/classes:$jna:$stdlib" mlopsedge.test.TestKt "$root" "$out/layout.txt"
