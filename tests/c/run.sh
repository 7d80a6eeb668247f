#!/usr/bin/env bash
# C ABI checks against the library cargo built (with the pool allocator):
#   the header compiles as C99 and C++17 (-Wall -Wextra -Werror); the ABI test passes linked
#   dynamically and statically, under valgrind (no errors, no leaks) and with AddressSanitizer;
#   the C example runs. Usage: tests/c/run.sh <dir holding libmlops_edge.so and .a>
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=$(cd "${1:?usage: run.sh <library dir>}" && pwd)
out="$lib/c-tests"
mkdir -p "$out"
cd "$root"

cflags=(-std=c99 -Wall -Wextra -Werror -pedantic -Iinclude)
ldynamic=(-L"$lib" -lmlops_edge -Wl,-rpath,"$lib" -lm -Wl,-z,noexecstack)
lstatic=("$lib/libmlops_edge.a" -lpthread -ldl -lm -lrt -Wl,-z,noexecstack)

step() { printf '\n== %s\n' "$*"; }

step "header: C99 and C++17 with -Wall -Wextra -Werror"
printf '#include "mlops_edge.h"\nint main(void) { return MLE_OK; }\n' > "$out/header_c99.c"
gcc "${cflags[@]}" "$out/header_c99.c" -o "$out/header_c99" "${ldynamic[@]}"
g++ -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude tests/c/header_cpp17.cpp -o "$out/header_cpp17" "${ldynamic[@]}"
"$out/header_cpp17" models/digits-mlp

step "ABI test, dynamic library"
gcc "${cflags[@]}" -g tests/c/abi_test.c -o "$out/abi_test_dynamic" "${ldynamic[@]}"
"$out/abi_test_dynamic" "$root"

step "ABI test, static library"
gcc "${cflags[@]}" tests/c/abi_test.c -o "$out/abi_test_static" "${lstatic[@]}"
"$out/abi_test_static" "$root"
if readelf -lW "$out/abi_test_static" | grep GNU_STACK | grep -q RWE; then
  echo "the static executable has an executable stack" >&2
  exit 1
fi

step "ABI test under valgrind (errors and definite/indirect leaks fail)"
valgrind --quiet --error-exitcode=97 --leak-check=full --errors-for-leak-kinds=definite,indirect \
  --show-leak-kinds=definite,indirect --suppressions=tests/c/valgrind.supp \
  "$out/abi_test_dynamic" "$root" --quick

step "ABI test with AddressSanitizer (and LeakSanitizer)"
gcc "${cflags[@]}" -g -fsanitize=address -fno-omit-frame-pointer tests/c/abi_test.c -o "$out/abi_test_asan" "${ldynamic[@]}"
ASAN_OPTIONS=detect_leaks=1 \
  "$out/abi_test_asan" "$root"

step "C example"
gcc "${cflags[@]}" examples/c/classify_demo.c -o "$out/classify_demo" "${ldynamic[@]}"
"$out/classify_demo" models/minilm-l3-promptinj
echo "C ABI checks passed"
