#!/usr/bin/env bash
# The install step and its consumers, on the library as it ships (pool allocator, no test hooks):
# installs it into a fresh prefix with scripts/install.sh, then checks
#  - the layout: libmlops_edge.so.<version>, its SONAME libmlops_edge.so.<C ABI major> (read from
#    src/ffi/abi.rs, as install.sh and build.rs do, and equal to the installed header's
#    MLE_ABI_VERSION_MAJOR) and the two symlinks;
#  - the exports: the shared library exports every function of include/mlops_edge.h and nothing
#    else, no mle_test_* entry point (those exist only with the `test-hooks` feature, for the
#    test suites), the static archive defines every header function and no mle_test_* either, and
#    a program calling a test hook does not link against the shipped library;
#  - the consumers: the C example built through pkg-config (shared and static) and CMake's
#    find_package (shared, static, and the C++ example) runs, each binary needing the SONAME (the
#    static ones no libmlops_edge at all);
#  - the CMake version file: accepts this version, the exact version, a range holding it, and 0.2
#    (the first library version of C ABI 1); refuses 0.1 (the previous C ABI), a newer minor
#    version and another major version.
# Usage: tests/packaging.sh <profile: debug|release|dist> [--no-build]
#   Without --no-build, scripts/install.sh first builds the library as it ships (`cargo build
#   --lib --features pool-allocator`; with the dependencies built, only this crate compiles).
#   With --no-build it installs what target/<profile> holds, and the export checks fail if that
#   library was built with the test hooks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
profile=${1:-debug}
build=()
case "${2:-}" in
  --no-build) build=(--no-build) ;;
  "") ;;
  *) echo "usage: tests/packaging.sh <profile> [--no-build]" >&2; exit 2 ;;
esac
cd "$root"
prefix="$root/target/install-test"
work="$root/target/packaging-test"
rm -rf "$prefix" "$work" && mkdir -p "$work"

passed=0
pass() { passed=$((passed + 1)); }
fail() { echo "packaging: $*" >&2; exit 1; }

scripts/install.sh --prefix "$prefix" --profile "$profile" "${build[@]}"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
major=${version%%.*}; rest=${version#*.}; minor=${rest%%.*}
abi_major=$(sed -n 's/^pub const MLE_ABI_VERSION_MAJOR: u32 = \([0-9]*\);/\1/p' src/ffi/abi.rs)
[ -n "$abi_major" ] || fail "src/ffi/abi.rs has no 'pub const MLE_ABI_VERSION_MAJOR: u32 = <n>;'"
soname="libmlops_edge.so.$abi_major"
lib="$prefix/lib"
header="$prefix/include/mlops_edge.h"

# Layout, SONAME, symlinks.
for f in include/mlops_edge.h include/mlops_edge.hpp "lib/libmlops_edge.so.$version" "lib/$soname" \
  lib/libmlops_edge.so lib/libmlops_edge.a lib/pkgconfig/mlops_edge.pc lib/cmake/mlops_edge/mlops_edgeConfig.cmake \
  lib/cmake/mlops_edge/mlops_edgeConfigVersion.cmake; do
  [ -e "$prefix/$f" ] || fail "missing $f"
done
pass
grep -q "^#define MLE_ABI_VERSION_MAJOR $abi_major\$" "$header" ||
  fail "the installed header's MLE_ABI_VERSION_MAJOR is not $abi_major (src/ffi/abi.rs)"
pass
readelf -d "$lib/libmlops_edge.so.$version" | grep -q "Library soname: \[$soname\]" || fail "SONAME is not $soname"
pass
[ ! -L "$lib/libmlops_edge.so.$version" ] || fail "libmlops_edge.so.$version is a symlink, not the library"
[ "$(readlink "$lib/$soname")" = "libmlops_edge.so.$version" ] || fail "$soname does not point to libmlops_edge.so.$version"
[ "$(readlink "$lib/libmlops_edge.so")" = "$soname" ] || fail "libmlops_edge.so does not point to $soname"
pass

# Exports. The header's functions: one declaration per line, as cbindgen writes them.
sed -nE '/^typedef/d; s/^[A-Za-z][A-Za-z0-9_ ]*[ *](mle_[a-z0-9_]+)\(.*/\1/p' "$header" | sort -u > "$work/header_functions"
[ "$(wc -l < "$work/header_functions")" -gt 50 ] || fail "found only $(wc -l < "$work/header_functions") functions in the header"
nm -D --defined-only "$lib/libmlops_edge.so.$version" | awk '{print $NF}' | sort -u > "$work/exported"
if grep '^mle_test_' "$work/exported"; then fail "the shipped library exports the test hooks above (built with test-hooks?)"; fi
pass
comm -23 "$work/header_functions" "$work/exported" > "$work/not_exported"
[ ! -s "$work/not_exported" ] || fail "header functions the library does not export: $(tr '\n' ' ' < "$work/not_exported")"
pass
comm -13 "$work/header_functions" "$work/exported" > "$work/extra_exports"
[ ! -s "$work/extra_exports" ] || fail "exported symbols the header does not declare: $(head -20 "$work/extra_exports" | tr '\n' ' ')"
pass
nm --defined-only "$lib/libmlops_edge.a" 2>/dev/null | awk '$2 == "T" && $3 ~ /^mle_/ {print $3}' | sort -u > "$work/archive_functions"
if grep '^mle_test_' "$work/archive_functions"; then fail "the shipped static library defines the test hooks above"; fi
comm -23 "$work/header_functions" "$work/archive_functions" > "$work/not_in_archive"
[ ! -s "$work/not_in_archive" ] || fail "header functions the static library lacks: $(tr '\n' ' ' < "$work/not_in_archive")"
pass
# What the export list means for a user: a test hook does not link against the shipped library.
cat > "$work/hook_user.c" <<'C'
#include "test_hooks.h"
int main(void) { mle_test_advance_clock(1); return 0; }
C
if cc -I "$prefix/include" -I tests/c "$work/hook_user.c" -o "$work/hook_user" -L "$lib" -lmlops_edge \
  > "$work/hook_user.log" 2>&1; then
  fail "a program calling mle_test_advance_clock linked against the shipped library"
fi
grep -q "undefined reference to .mle_test_advance_clock" "$work/hook_user.log" ||
  { cat "$work/hook_user.log" >&2; fail "the test-hook program failed to build for another reason than the missing hook"; }
pass

# pkg-config consumers.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[ "$(pkg-config --modversion mlops_edge)" = "$version" ] || fail "pkg-config version"
[ "$(pkg-config --variable=soname mlops_edge)" = "$soname" ] || fail "pkg-config soname variable"
pass
make -s -C examples/c/pkgconfig OUT="$work"
readelf -d "$work/classify_demo_shared" | grep -q "Shared library: \[$soname\]" || fail "the shared demo does not need $soname"
if readelf -d "$work/classify_demo_static" | grep -q "libmlops_edge"; then fail "the static demo needs the shared library"; fi
pass
"$work/classify_demo_shared" models/profanity-tfidf > "$work/shared.out"
"$work/classify_demo_static" models/profanity-tfidf > "$work/static.out"
grep -q "model profanity-tfidf" "$work/shared.out" || fail "the pkg-config shared demo did not classify"
grep -q "model profanity-tfidf" "$work/static.out" || fail "the pkg-config static demo did not classify"
pass
# The fleet uploader example builds as a user would, with pkg-config (libcurl too), and refuses a
# call without its required options (tests/fleet runs it against a backend).
make -s -C examples/fleet OUT="$work"
readelf -d "$work/fleet_device" | grep -q "Shared library: \[$soname\]" || fail "the fleet device does not need $soname"
if "$work/fleet_device" --model models/digits-mlp > "$work/fleet.out" 2>&1; then fail "the fleet device ran without a receiver"; fi
grep -q "usage:" "$work/fleet.out" || fail "the fleet device's usage"
pass

# CMake consumers.
cmake -S examples/c/cmake -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release > "$work/cmake.log"
cmake --build "$work/cmake" > "$work/cmake-build.log"
readelf -d "$work/cmake/classify_demo_shared" | grep -q "Shared library: \[$soname\]" || fail "the CMake shared demo does not need $soname"
if readelf -d "$work/cmake/classify_demo_static" | grep -q "libmlops_edge"; then fail "the CMake static demo needs the shared library"; fi
pass
"$work/cmake/classify_demo_shared" models/profanity-tfidf | grep -q "model profanity-tfidf" || fail "CMake shared demo"
"$work/cmake/classify_demo_static" models/profanity-tfidf | grep -q "model profanity-tfidf" || fail "CMake static demo"
"$work/cmake/cpp_example" "$root" | grep -q "upload batch 1" || fail "CMake C++ example"
pass

# The CMake version file. The ABI major in the SONAME must be in its table (else it falls back
# to accepting this major.minor only).
grep -q "_mle_abi_major STREQUAL \"$abi_major\"" packaging/mlops_edgeConfigVersion.cmake.in ||
  fail "packaging/mlops_edgeConfigVersion.cmake.in has no first library version for C ABI $abi_major"
pass
# One configure run per request: "found <version>" or "refused".
find_request() {
  local dir="$work/version/$2"
  mkdir -p "$dir"
  cat > "$dir/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.19)
project(version_check C)
find_package(mlops_edge $1 QUIET)
if(mlops_edge_FOUND)
  message(STATUS "result: found \${mlops_edge_VERSION}")
else()
  message(STATUS "result: refused")
endif()
CMAKE
  cmake -S "$dir" -B "$dir/build" -DCMAKE_PREFIX_PATH="$prefix" > "$dir/log" 2>&1 ||
    { cat "$dir/log" >&2; fail "the version check project for '$1' did not configure"; }
  sed -n 's/^-- result: //p' "$dir/log"
}
expect_found() {
  [ "$(find_request "$1" "$2")" = "found $version" ] || fail "find_package(mlops_edge $1) did not find $version"
  pass
}
expect_refused() {
  [ "$(find_request "$1" "$2")" = refused ] || fail "find_package(mlops_edge $1) accepted $version"
  pass
}
expect_found "$major.$minor" same_minor
expect_found "$version" exact
expect_found "$version EXACT" exact_flag
expect_found "$major.$minor...<$major.$((minor + 1))" range_holding
expect_refused "$major.$((minor + 1))...<$major.$((minor + 3))" range_after
expect_refused "$major.$((minor + 1))" newer_minor
expect_refused "$((major + 1)).0" next_major
expect_refused "$((major + 1))" next_major_bare
# 0.2.0 was the first library version of C ABI 1: a program asking for it runs on this one.
expect_found 0.2 first_of_this_abi
# 0.1 is the last library version of C ABI 0 (before the ABI was versioned on its own).
expect_refused 0.1 previous_abi
echo "packaging ok: $passed checks passed ($soname, exports = the header's $(wc -l < "$work/header_functions") functions, no test hooks;" \
  "pkg-config and CMake consumers, shared and static; CMake version file)"
