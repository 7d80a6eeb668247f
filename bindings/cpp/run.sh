#!/usr/bin/env bash
# Builds and runs the C++ wrapper's test and example against the library in <dir> (built with
# the test-hooks feature: the test includes tests/c/test_hooks.h), with -std=c++17 -Wall -Wextra
# -Werror -pedantic; the test also runs under AddressSanitizer (and LeakSanitizer).
# Usage: bindings/cpp/run.sh <dir holding libmlops_edge.so>
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=$(cd "${1:?usage: run.sh <library dir>}" && pwd)
out="$lib/cpp-tests"
mkdir -p "$out"
cd "$root"
flags=(-std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude -Ibindings/cpp)
link=(-L"$lib" -lmlops_edge -Wl,-rpath,"$lib" -lpthread)

step() { printf '\n== %s\n' "$*"; }

step "the header alone: self-contained, and linkable from two translation units (inline ODR)"
for unit in a b; do
  printf '#include "mlops_edge.hpp"\nint abi_%s() { return mle::abi_version() == MLE_ABI_VERSION; }\n' "$unit" > "$out/unit_$unit.cpp"
done
printf 'int abi_a(); int abi_b();\nint main() { return abi_a() && abi_b() ? 0 : 1; }\n' > "$out/units_main.cpp"
g++ "${flags[@]}" "$out/unit_a.cpp" "$out/unit_b.cpp" "$out/units_main.cpp" -o "$out/units" "${link[@]}"
"$out/units"

step "C++ wrapper test"
g++ "${flags[@]}" -Itests/c -g bindings/cpp/test.cpp -o "$out/test" "${link[@]}"
"$out/test" "$root"

step "C++ wrapper test with AddressSanitizer"
g++ "${flags[@]}" -Itests/c -g -fsanitize=address -fno-omit-frame-pointer bindings/cpp/test.cpp -o "$out/test_asan" "${link[@]}"
ASAN_OPTIONS=detect_leaks=1 "$out/test_asan" "$root"

# The example is what a C++ user copies: it needs no test hooks (no -Itests/c).
step "C++ example"
g++ "${flags[@]}" bindings/cpp/example.cpp -o "$out/example" "${link[@]}"
"$out/example" "$root"
echo "C++ wrapper checks passed"
