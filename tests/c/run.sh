#!/usr/bin/env bash
# C ABI checks against the library cargo built (with the pool allocator and the test hooks).
#
# Usage: tests/c/run.sh <dir holding libmlops_edge.so and .a> [--full]
#
# Quick tier (default): every mle_ function the header declares is exercised by abi_test.c; the
#   header compiles as C99 and C++17 (-Wall -Wextra -Werror -pedantic); the ABI test passes
#   linked dynamically; the C example runs.
# --full, in addition: the ABI test linked statically (and its stack is not executable), under
#   valgrind (--pool-off --quick: errors and definite/indirect leaks fail) and with
#   AddressSanitizer + LeakSanitizer (--pool-off).
#
# --pool-off makes every session and runtime of the ABI test run without the memory pool, so
# that valgrind and ASan see tract's request-path allocations (a pool hides them from both).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=$(cd "${1:?usage: run.sh <library dir> [--full]}" && pwd)
full=0
case "${2:-}" in
  "") ;;
  --full) full=1 ;;
  *) echo "usage: run.sh <library dir> [--full]" >&2; exit 2 ;;
esac
out="$lib/c-tests"
mkdir -p "$out"
cd "$root"

cflags=(-std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -Itests/c)
ldynamic=(-L"$lib" -lmlops_edge -Wl,-rpath,"$lib" -lm -pthread -Wl,-z,noexecstack)
lstatic=("$lib/libmlops_edge.a" -pthread -ldl -lm -lrt -Wl,-z,noexecstack)

start=$SECONDS
step_start=$SECONDS
# Each step's header shows the time since the run started and what the previous step took.
step() {
  printf '\n== [%4ds total, previous step %ds] %s\n' $((SECONDS - start)) $((SECONDS - step_start)) "$*"
  step_start=$SECONDS
}

step "every mle_ function of the header appears in tests/c/abi_test.c"
# The preprocessed header holds the declarations only (no comments): each `mle_x(` there is an
# entry point (function-pointer typedefs read `(*mle_x)(` and do not match).
declared=$(gcc -E -P include/mlops_edge.h | grep -oE '\bmle_[a-z0-9_]+ *\(' | tr -d ' (' | sort -u)
[ -n "$declared" ] || { echo "no mle_ function found in include/mlops_edge.h" >&2; exit 1; }
missing=()
for f in $declared; do
  grep -qE "\b$f\(" tests/c/abi_test.c || missing+=("$f")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "declared in include/mlops_edge.h but never called by tests/c/abi_test.c: ${missing[*]}" >&2
  exit 1
fi
echo "$(echo "$declared" | wc -l) entry points, all called"

step "header: C99 and C++17 with -Wall -Wextra -Werror -pedantic"
printf '#include "mlops_edge.h"\nint main(void) { return MLE_OK; }\n' > "$out/header_c99.c"
gcc "${cflags[@]}" "$out/header_c99.c" -o "$out/header_c99" "${ldynamic[@]}"
g++ -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude tests/c/header_cpp17.cpp -o "$out/header_cpp17" "${ldynamic[@]}"
"$out/header_cpp17" models/digits-mlp

step "ABI test, dynamic library"
gcc "${cflags[@]}" -g tests/c/abi_test.c -o "$out/abi_test_dynamic" "${ldynamic[@]}"
"$out/abi_test_dynamic" "$root"

step "C example"
gcc "${cflags[@]}" examples/c/classify_demo.c -o "$out/classify_demo" "${ldynamic[@]}"
"$out/classify_demo" models/minilm-l3-promptinj

if [ "$full" = 1 ]; then
  step "ABI test, static library"
  gcc "${cflags[@]}" tests/c/abi_test.c -o "$out/abi_test_static" "${lstatic[@]}"
  "$out/abi_test_static" "$root"
  if readelf -lW "$out/abi_test_static" | grep GNU_STACK | grep -q RWE; then
    echo "the static executable has an executable stack" >&2
    exit 1
  fi

  step "ABI test under valgrind, --pool-off --quick (errors and definite/indirect leaks fail)"
  valgrind --quiet --error-exitcode=97 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --show-leak-kinds=definite,indirect --suppressions=tests/c/valgrind.supp \
    "$out/abi_test_dynamic" "$root" --quick --pool-off

  step "ABI test with AddressSanitizer and LeakSanitizer, --pool-off"
  gcc "${cflags[@]}" -g -fsanitize=address -fno-omit-frame-pointer tests/c/abi_test.c -o "$out/abi_test_asan" \
    "${ldynamic[@]}"
  ASAN_OPTIONS=detect_leaks=1 "$out/abi_test_asan" "$root" --pool-off
fi

step "done"
echo "C ABI checks passed ($([ "$full" = 1 ] && echo full || echo quick) tier, $((SECONDS - start)) s)"
