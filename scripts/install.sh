#!/usr/bin/env bash
# Installs what C/C++ users expect under a prefix:
#   include/mlops_edge.h, include/mlops_edge.hpp (the C++ wrapper)
#   lib/libmlops_edge.so.X.Y.Z (SONAME libmlops_edge.so.<C ABI major>) + symlinks
#   lib/libmlops_edge.a
#   lib/pkgconfig/mlops_edge.pc, lib/cmake/mlops_edge/mlops_edgeConfig{,Version}.cmake
# Usage: scripts/install.sh --prefix DIR [--profile debug|release|dist] [--target TRIPLE]
#          [--features LIST] [--no-build]
# Without --no-build it first runs `cargo build --lib --features pool-allocator[,LIST]` for the
# profile (the tests add `test-hooks`; what ships never has it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix="" profile=release target="" build=1 features=pool-allocator
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --profile) profile=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    --features) features="pool-allocator,$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$prefix" ] || { echo "usage: $0 --prefix DIR [--profile P] [--target T] [--no-build]" >&2; exit 2; }
cd "$root"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
major=${version%%.*}; rest=${version#*.}; minor=${rest%%.*}
abi_major=$(sed -n 's/^pub const MLE_ABI_VERSION_MAJOR: u32 = \([0-9]*\);/\1/p' src/ffi/abi.rs)
soname="libmlops_edge.so.$abi_major"

target_args=() dir="${CARGO_TARGET_DIR:-target}"
[ -n "$target" ] && { target_args=(--target "$target"); dir="$dir/$target"; }
profile_dir=$profile; [ "$profile" = dev ] && profile_dir=debug
[ "$profile" = debug ] && profile=dev
if [ "$build" = 1 ]; then
  cargo build --lib --features "$features" --profile "$profile" "${target_args[@]}"
fi
built="$dir/$profile_dir"
[ -f "$built/libmlops_edge.so" ] && [ -f "$built/libmlops_edge.a" ] || { echo "no library in $built" >&2; exit 1; }

mkdir -p "$prefix/include" "$prefix/lib/pkgconfig" "$prefix/lib/cmake/mlops_edge"
prefix=$(cd "$prefix" && pwd)
install -m 644 include/mlops_edge.h bindings/cpp/mlops_edge.hpp "$prefix/include/"
install -m 755 "$built/libmlops_edge.so" "$prefix/lib/libmlops_edge.so.$version"
ln -sf "libmlops_edge.so.$version" "$prefix/lib/$soname"
ln -sf "$soname" "$prefix/lib/libmlops_edge.so"
install -m 644 "$built/libmlops_edge.a" "$prefix/lib/libmlops_edge.a"
subst() { sed -e "s/@VERSION@/$version/g" -e "s/@SONAME@/$soname/g" -e "s/@MAJOR@/$major/g" -e "s/@MINOR@/$minor/g" "$1"; }
subst packaging/mlops_edge.pc.in > "$prefix/lib/pkgconfig/mlops_edge.pc"
subst packaging/mlops_edgeConfig.cmake.in > "$prefix/lib/cmake/mlops_edge/mlops_edgeConfig.cmake"
subst packaging/mlops_edgeConfigVersion.cmake.in > "$prefix/lib/cmake/mlops_edge/mlops_edgeConfigVersion.cmake"
echo "installed libmlops_edge $version ($soname) into $prefix"
