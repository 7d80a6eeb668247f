#!/usr/bin/env bash
# The install step and its consumers: installs the built library into a fresh prefix, checks
# the SONAME and the file layout, then builds and runs the C example through pkg-config (shared
# and static) and through CMake's find_package (shared, static, and the C++ wrapper).
# Usage: tests/packaging.sh <profile: debug|release|dist>   (the library must be built)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
profile=${1:-debug}
cd "$root"
prefix="$root/target/install-test"
work="$root/target/packaging-test"
rm -rf "$prefix" "$work" && mkdir -p "$work"
scripts/install.sh --prefix "$prefix" --profile "$profile" --no-build
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
minor=$(echo "$version" | cut -d. -f2)
soname="libmlops_edge.so.0.$minor"

fail() { echo "packaging: $*" >&2; exit 1; }
for f in include/mlops_edge.h include/mlops_edge.hpp "lib/libmlops_edge.so.$version" "lib/$soname" \
  lib/libmlops_edge.so lib/libmlops_edge.a lib/pkgconfig/mlops_edge.pc lib/cmake/mlops_edge/mlops_edgeConfig.cmake \
  lib/cmake/mlops_edge/mlops_edgeConfigVersion.cmake; do
  [ -e "$prefix/$f" ] || fail "missing $f"
done
readelf -d "$prefix/lib/libmlops_edge.so.$version" | grep -q "Library soname: \[$soname\]" || fail "SONAME is not $soname"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[ "$(pkg-config --modversion mlops_edge)" = "$version" ] || fail "pkg-config version"
make -s -C examples/c/pkgconfig OUT="$work"
readelf -d "$work/classify_demo_shared" | grep -q "Shared library: \[$soname\]" || fail "the shared demo does not need $soname"
if readelf -d "$work/classify_demo_static" | grep -q "libmlops_edge"; then fail "the static demo needs the shared library"; fi
"$work/classify_demo_shared" models/profanity-tfidf > "$work/shared.out"
"$work/classify_demo_static" models/profanity-tfidf > "$work/static.out"
grep -q "model profanity-tfidf" "$work/shared.out" && grep -q "model profanity-tfidf" "$work/static.out" || fail "the demos did not classify"

cmake -S examples/c/cmake -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release > "$work/cmake.log"
cmake --build "$work/cmake" > "$work/cmake-build.log"
"$work/cmake/classify_demo_shared" models/profanity-tfidf | grep -q "model profanity-tfidf" || fail "CMake shared demo"
"$work/cmake/classify_demo_static" models/profanity-tfidf | grep -q "model profanity-tfidf" || fail "CMake static demo"
"$work/cmake/cpp_example" "$root" | grep -q "upload batch 1" || fail "CMake C++ example"
# The version file: 0.1 is found, another minor version is refused before 1.0.
mkdir -p "$work/version"
cat > "$work/version/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(version_check C)
find_package(mlops_edge 0.99 QUIET)
if(mlops_edge_FOUND)
  message(FATAL_ERROR "a request for 0.99 accepted this package")
endif()
find_package(mlops_edge 0.1 REQUIRED)
message(STATUS "found mlops_edge ${mlops_edge_VERSION}")
CMAKE
cmake -S "$work/version" -B "$work/version/build" -DCMAKE_PREFIX_PATH="$prefix" > "$work/version.log" 2>&1 ||
  { cat "$work/version.log"; fail "version check"; }
grep -q "found mlops_edge $version" "$work/version.log" || fail "version check: 0.1 not found"
echo "packaging ok: $soname, pkg-config (shared + static), CMake find_package (shared, static, C++)"
