# Sourced by scripts/cross.sh and scripts/sizes.sh: `cross_env <target>` exports what cargo and
# cc-rs need to build for one cross target, and sets
#   kind   — "linux" (links and runs, under qemu-user unless it is the host) or "staticlib" (builds
#            only: no NDK/Xcode here)
#   gnu    — Debian's (cross) toolchain prefix (linux)
#   runner — the qemu-user command line that runs the target's binaries (linux; empty on the host)
#   runs_on — what runs them, for messages ("qemu-aarch64", "the host")
# Requires CARGO_TARGET_DIR (wrappers for clang are written under it).

cross_env() {
  local target=$1 upper lower cc clang_target=""
  upper=$(echo "$target" | tr 'a-z-' 'A-Z_')
  lower=$(echo "$target" | tr '-' '_')
  gnu="" runner=""
  case "$target" in
    x86_64-unknown-linux-gnu) kind=linux gnu=x86_64-linux-gnu ;;
    # The CPU is a typical phone/board core: qemu's default ("max") turns on SVE on aarch64, which
    # tract then uses and qemu emulates many times slower still.
    aarch64-unknown-linux-gnu) kind=linux gnu=aarch64-linux-gnu runner="qemu-aarch64 -cpu cortex-a72" ;;
    armv7-unknown-linux-gnueabihf) kind=linux gnu=arm-linux-gnueabihf runner="qemu-arm -cpu cortex-a15" ;;
    aarch64-linux-android) kind=staticlib clang_target=aarch64-linux-android21 ;;
    aarch64-apple-ios) kind=staticlib clang_target=arm64-apple-ios12.0
      # cc-rs asks xcrun for the SDK unless SDKROOT is set; tract's kernels are assembly and include
      # no SDK header, so an empty directory stands in for it.
      export SDKROOT="$CARGO_TARGET_DIR/$target/empty-sdk"
      mkdir -p "$SDKROOT" ;;
    *) echo "unknown target $target" >&2; return 2 ;;
  esac
  if [ "$kind" = linux ]; then
    cc="$gnu-gcc"
    runs_on="the host"
    if [ -n "$runner" ]; then
      runs_on=${runner%% *}
      runner="$runner -L /usr/$gnu"
      export "CARGO_TARGET_${upper}_RUNNER=$runner"
      # Tests that are heavy under emulation are marked cfg_attr(mle_emulated, ignore) in the code.
      export "CARGO_TARGET_${upper}_RUSTFLAGS=--cfg mle_emulated"
    fi
  else
    # clang assembles tract-linalg's kernels for the target (no sysroot needed for assembly).
    cc="$CARGO_TARGET_DIR/$target/clang"
    mkdir -p "$CARGO_TARGET_DIR/$target"
    printf '#!/bin/sh\nexec clang --target=%s "$@"\n' "$clang_target" > "$cc"
    chmod +x "$cc"
  fi
  export "CC_$lower=$cc" "AR_$lower=llvm-ar-14"
  if [ "$kind" = linux ]; then
    # Executables link through lld when it is installed (as on the host: scripts/cc-lld).
    local root
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    mkdir -p "$CARGO_TARGET_DIR/$target"
    printf '#!/bin/sh\nCC_LLD_DRIVER=%s exec %s "$@"\n' "$cc" "$root/scripts/cc-lld" > "$CARGO_TARGET_DIR/$target/linker"
    chmod +x "$CARGO_TARGET_DIR/$target/linker"
    export "CARGO_TARGET_${upper}_LINKER=$CARGO_TARGET_DIR/$target/linker"
  else
    export "CARGO_TARGET_${upper}_LINKER=$cc"
  fi
}
