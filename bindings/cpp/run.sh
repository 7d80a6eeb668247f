#!/usr/bin/env bash
# Builds and runs the C++ wrapper's test and example against the library in <dir>, with
# -Wall -Wextra -Werror, plus the test under AddressSanitizer.
# Usage: bindings/cpp/run.sh <dir holding libmlops_edge.so>
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=$(cd "${1:?usage: run.sh <library dir>}" && pwd)
out="$lib/cpp-tests"
mkdir -p "$out"
cd "$root"
flags=(-std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude -Ibindings/cpp)
link=(-L"$lib" -lmlops_edge -Wl,-rpath,"$lib" -lpthread)
g++ "${flags[@]}" -g bindings/cpp/test.cpp -o "$out/test" "${link[@]}"
"$out/test" "$root"
g++ "${flags[@]}" -g -fsanitize=address -fno-omit-frame-pointer bindings/cpp/test.cpp -o "$out/test_asan" "${link[@]}"
ASAN_OPTIONS=detect_leaks=1 "$out/test_asan" "$root"
g++ "${flags[@]}" bindings/cpp/example.cpp -o "$out/example" "${link[@]}"
"$out/example" "$root"
