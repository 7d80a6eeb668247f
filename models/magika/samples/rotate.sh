#!/bin/sh
# Rotate log files: keep the newest five.
set -eu
dir=${1:-/var/log/sample}
cd "$dir"
for f in $(ls -1t *.log 2>/dev/null | tail -n +6); do
    echo "removing $f"
    rm -f -- "$f"
done
gzip -9 -- *.log.1 2>/dev/null || true
echo "done"
