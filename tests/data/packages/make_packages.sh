#!/usr/bin/env bash
# Makes the model-package fixtures of the C ABI test (tests/c/abi_test.c, test_packages) with
# mle-pack, from the shipped breast-cancer-logreg model:
#   breast-unsigned.mlepkg  package_version 3, card version 3.0.0, unsigned
#   breast-signed.mlepkg    the same, signed with the test key
#   test-key.key / .pub     the TEST-ONLY key: its seed is 32 bytes of 0x11, public on purpose
# Packages are deterministic (tar headers with time 0, deterministic Ed25519): running this again
# gives the same bytes. Usage: tests/data/packages/make_packages.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=tests/data/packages
cargo build -q -p mle-pack
pack=target/debug/mle-pack
printf '%064d\n' 0 | tr 0 1 > "$out/test-key.key"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '{"name": "breast-cancer-logreg", "version": "3.0.0", "description": "package fixture of the C ABI test"}\n' \
  > "$tmp/card.json"
rm -f "$out/breast-unsigned.mlepkg" "$out/breast-signed.mlepkg"
"$pack" pack --model models/breast-cancer-logreg/model.onnx --card "$tmp/card.json" --package-version 3 \
  --out "$out/breast-unsigned.mlepkg"
"$pack" sign --key "$out/test-key.key" "$out/breast-unsigned.mlepkg" --out "$out/breast-signed.mlepkg"
"$pack" inspect "$out/breast-signed.mlepkg" | sed -n 's/^signature: ed25519 by \([0-9a-f]*\).*/\1/p' > "$out/test-key.pub"
sha256sum "$out"/*.mlepkg
