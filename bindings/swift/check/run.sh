#!/usr/bin/env bash
# Checks the Swift package without a Swift toolchain (none exists where this library is built):
#  1. clang builds the CMlopsEdge module from its module map over the installed header, compiles
#     module_check.m (Objective-C importing the module and using every C function, struct, field,
#     constant and callback type the Swift layer uses, with the same struct_size idioms) with
#     -Wall -Wextra -Werror, and links it against the library (every function is defined there);
#  2. the Swift file's C surface is checked against the header: every mle_ function it calls and
#     every mle_ type it names is declared; every struct it declares SizedStruct starts with
#     struct_size, and every such struct it names is declared SizedStruct; it never builds a C
#     struct by hand (only T.sized() / T.defaults(init) set struct_size);
#  3. module_check.m mentions every mle_ name, MLE_ constant and snake_case field the Swift code
#     uses, so that step 1 compiles the same surface (single-word fields such as `.level` cannot
#     be told from Swift properties and are kept in module_check.m by hand);
#  4. every header function is used by the Swift layer or listed below as deliberately not
#     wrapped, so a function added to the header forces a decision.
# Usage: bindings/swift/check/run.sh <install prefix holding include/mlops_edge.h and lib/>
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
prefix=$(cd "${1:?usage: run.sh <install prefix>}" && pwd)
swift_dir="$root/bindings/swift"
swift_file="$swift_dir/Sources/MlopsEdge/MlopsEdge.swift"
check_file="$swift_dir/check/module_check.m"
modulemap="$swift_dir/Sources/CMlopsEdge/module.modulemap"
header="$prefix/include/mlops_edge.h"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Header functions the Swift layer deliberately does not wrap, each with its reason.
not_wrapped=(
  mle_model_load_bytes              # apps ship model directories: the layer loads from a path
  mle_model_get_plan_lengths        # a diagnostic of the plans (ModelDetails.planCount counts them)
  mle_session_classify_text_batch   # the batch calls allocate; the layer offers the allocation-free
  mle_session_classify_f32_batch    # single calls, as the Kotlin binding does
  mle_session_classify_bytes_batch
  mle_monitor_load_baseline         # a host-built baseline (arrays of samples) is a C/C++ host's
                                    # job; apps freeze one on the device (Monitor.freezeBaseline)
  mle_monitor_get_latency_histogram # exponential histograms serve gateways merging devices' data
  mle_exp_histogram_init
  mle_exp_histogram_record
  mle_exp_histogram_merge
  mle_stats_ks_two_sample           # the monitor's statistics utility, not part of the app API
  mle_runtime_load_baseline         # as mle_monitor_load_baseline: a C/C++ host's job
  mle_runtime_start_rollout_path    # C ABI 1.3; not in the Swift layer yet (roll out a loaded
                                    # Model: Model(path:) loads packages too)
)

failures=0
fail() { echo "swift check: $*" >&2; failures=$((failures + 1)); }

# 1. The module and module_check.m, compiled and linked (not run: its handles are NULL).
clang -fmodules -fmodules-cache-path="$work/cache" -Werror -Wall -Wextra -c \
  -fmodule-map-file="$modulemap" -I "$prefix/include" "$check_file" -o "$work/module_check.o"
clang "$work/module_check.o" -o "$work/module_check" -L "$prefix/lib" -lmlops_edge
# The module map names the header through the include path only, and links the library.
grep -q 'link "mlops_edge"' "$modulemap" || fail "module.modulemap does not link mlops_edge"
if grep -q '"/' "$modulemap"; then fail "module.modulemap has an absolute path"; fi
grep -q '^#include <mlops_edge.h>' "$swift_dir/Sources/CMlopsEdge/shim.h" || fail "shim.h does not include <mlops_edge.h>"

# The header's inventory: functions (one declaration per line, as cbindgen writes them), functions
# taking no argument, structs with a body, structs starting with struct_size, other typedefs.
sed -nE '/^typedef/d; s/^[A-Za-z][A-Za-z0-9_ ]*[ *](mle_[a-z0-9_]+)\(.*/\1/p' "$header" | sort -u > "$work/functions"
sed -nE '/^typedef/d; s/^[A-Za-z][A-Za-z0-9_ ]*[ *](mle_[a-z0-9_]+)\(void\);.*/\1/p' "$header" | sort -u > "$work/void_functions"
sed -nE 's/^typedef struct (mle_[a-z0-9_]+) \{.*/\1/p' "$header" | sort -u > "$work/structs"
awk '/^typedef struct mle_[a-z0-9_]+ \{/ { name = $3; next }
     name != "" && /^ *(\/\*\*|\*)/ { next }
     name != "" { if ($0 ~ /^ *uint32_t struct_size;/) print name; name = "" }' "$header" | sort -u > "$work/sized_structs"
{ sed -nE 's/^typedef [^(]*\(\*(mle_[a-z0-9_]+)\)\(.*/\1/p' "$header"
  sed -nE 's/^typedef [a-z0-9_ ]+ (mle_[a-z0-9_]+);/\1/p' "$header"; } | sort -u > "$work/typedefs"
[ "$(wc -l < "$work/functions")" -gt 50 ] && [ "$(wc -l < "$work/sized_structs")" -gt 15 ] ||
  fail "the header inventory looks wrong ($(wc -l < "$work/functions") functions, $(wc -l < "$work/sized_structs") sized structs)"
cat "$work/functions" "$work/structs" "$work/typedefs" | sort -u > "$work/declared"

# The Swift code without its comments (no string literal of the file contains //).
sed -E 's://.*$::' "$swift_file" > "$work/code.swift"
grep -oE '\bmle_[a-z0-9_]+\b\(?' "$work/code.swift" | sort -u > "$work/swift_tokens" || true
grep -E '\($' "$work/swift_tokens" | tr -d '(' | sort -u > "$work/swift_calls" || true
grep -vE '\($' "$work/swift_tokens" | sort -u > "$work/swift_names" || true
cat "$work/swift_calls" "$work/swift_names" | sort -u > "$work/swift_used"
[ -s "$work/swift_calls" ] || fail "no mle_ call found in $swift_file"

# 2. The Swift file's C surface against the header.
while read -r f; do
  grep -qx "$f" "$work/functions" ||
    fail "MlopsEdge.swift calls $f(, which the header does not declare as a function (a C struct is built with .sized() or .defaults(), never by hand)"
done < "$work/swift_calls"
while read -r n; do
  grep -qx "$n" "$work/declared" || fail "MlopsEdge.swift names $n, which the header does not declare"
done < "$work/swift_names"
grep -oE '\bmle_[a-z0-9_]+\(\)' "$work/code.swift" | tr -d '()' | sort -u | while read -r f; do
  grep -qx "$f" "$work/void_functions" || echo "$f"
done > "$work/bad_empty_calls"
while read -r f; do fail "MlopsEdge.swift calls $f() without arguments, which is no (void) function of the header"; done < "$work/bad_empty_calls"
sed -nE 's/^extension (mle_[a-z0-9_]+): SizedStruct \{\}$/\1/p' "$work/code.swift" | sort -u > "$work/swift_sized"
[ -s "$work/swift_sized" ] || fail "MlopsEdge.swift declares no SizedStruct"
while read -r s; do
  grep -qx "$s" "$work/sized_structs" || fail "MlopsEdge.swift declares $s SizedStruct, but it does not start with struct_size"
done < "$work/swift_sized"
comm -12 "$work/swift_names" "$work/sized_structs" | while read -r s; do
  grep -qx "$s" "$work/swift_sized" || echo "$s"
done > "$work/undeclared_sized"
while read -r s; do fail "MlopsEdge.swift uses $s (it has struct_size) without declaring it SizedStruct"; done < "$work/undeclared_sized"

# 3. module_check.m compiles what the Swift code uses.
while read -r n; do
  grep -qw "$n" "$check_file" || fail "module_check.m does not use $n, which MlopsEdge.swift uses"
done < "$work/swift_used"
{ grep -oE '\b(C?MLE_[A-Z0-9_]+)\b' "$work/code.swift" || true; } | sort -u > "$work/swift_constants"
while read -r c; do
  grep -qw "$c" "$check_file" || fail "module_check.m does not use $c, which MlopsEdge.swift uses"
done < "$work/swift_constants"
{ grep -oE '\.[a-z][a-z0-9]*_[a-z0-9_]+\b' "$work/code.swift" || true; } | tr -d '.' | sort -u > "$work/swift_fields"
while read -r field; do
  grep -qE "(\.|->)$field\b" "$check_file" || fail "module_check.m does not read or write the field $field, which MlopsEdge.swift does"
done < "$work/swift_fields"

# 4. Every header function is wrapped or deliberately not.
printf '%s\n' "${not_wrapped[@]}" | sort -u > "$work/not_wrapped"
comm -23 "$work/functions" "$work/swift_used" | comm -23 - "$work/not_wrapped" > "$work/undecided"
while read -r f; do fail "$f is in the header but neither used by MlopsEdge.swift nor listed in run.sh's not_wrapped"; done < "$work/undecided"
comm -12 "$work/not_wrapped" "$work/swift_used" > "$work/stale"
while read -r f; do fail "$f is listed as not wrapped but MlopsEdge.swift uses it: remove it from not_wrapped"; done < "$work/stale"
comm -23 "$work/not_wrapped" "$work/functions" > "$work/unknown"
while read -r f; do fail "$f is listed as not wrapped but the header has no such function"; done < "$work/unknown"

[ "$failures" = 0 ] || { echo "swift check: $failures problem(s)" >&2; exit 1; }
echo "swift module map ok (clang $(clang -dumpversion)): module_check.m compiled and linked;" \
  "MlopsEdge.swift uses $(comm -12 "$work/functions" "$work/swift_used" | wc -l) of $(wc -l < "$work/functions") header functions" \
  "($(wc -l < "$work/not_wrapped") deliberately not wrapped), $(wc -l < "$work/swift_sized") SizedStruct types," \
  "$(wc -l < "$work/swift_constants") constants and $(wc -l < "$work/swift_fields") snake_case fields, all declared and compiled"
