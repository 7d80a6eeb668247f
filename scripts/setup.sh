#!/usr/bin/env bash
# Installs what the demo and the tests need, idempotently: a C/C++ toolchain and lld (the linker
# .cargo/config.toml uses), valgrind, python3
# (model checks use only its standard library), Prometheus, promtool and the Pushgateway, libcurl (the
# fleet test and examples/fleet), and a venv
# (.venv) with prometheus_client and opentelemetry-proto for the metric export checks, cmake and
# pkg-config (packaging consumers), kotlin and JNA (the Kotlin binding), clang (the Swift module
# map check), Debian's aarch64/armv7 cross gcc and qemu-user, llvm-14 (llvm-nm reads the Android
# and iOS archives), the Rust toolchain's rustfmt and the four cross targets' standard libraries,
# and the pinned nightly toolchain (scripts/toolchain.sh) with miri and rust-src (Miri and
# ThreadSanitizer).
set -euo pipefail

need=()
for pkg in gcc g++ make cmake pkg-config clang valgrind python3 python3-venv binutils prometheus prometheus-pushgateway libcurl4-openssl-dev kotlin libjna-java \
           gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf libc6-dev-arm64-cross libc6-dev-armhf-cross \
           qemu-user llvm-14 lld; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# The Python checkers of the metric exports (pinned: the versions the checks were written against).
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c 'import prometheus_client, opentelemetry.proto' 2>/dev/null ||
  .venv/bin/pip install -q prometheus_client==0.26.0 opentelemetry-proto==1.45.2
command -v cargo >/dev/null || { echo "Rust (cargo) is required: https://rustup.rs" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
for target in aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf aarch64-linux-android aarch64-apple-ios; do
  rustup target list --installed | grep -qx "$target" || rustup target add "$target"
done
. scripts/toolchain.sh
rustup toolchain list | grep -q "^$NIGHTLY" || rustup toolchain install "$NIGHTLY" --profile minimal
for component in miri rust-src; do
  rustup "+$NIGHTLY" component list --installed 2>/dev/null | grep -q "^$component" ||
    rustup "+$NIGHTLY" component add "$component"
done
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
echo "setup done"
