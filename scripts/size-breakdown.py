#!/usr/bin/env python3
"""Where the bytes of a shared library go: its largest sections, then its symbols' bytes summed
per Rust crate (the first path segment of the demangled name).

Usage: scripts/size-breakdown.py <unstripped libmlops_edge.so> [--tool-prefix aarch64-linux-gnu-]

The library must keep its symbol table (scripts/sizes.sh builds with CARGO_PROFILE_DIST_STRIP=none
and measures a stripped copy). Generic code is counted under the crate that defines the generic
item, not the one whose types instantiate it: `core::ptr::drop_in_place<tract_core::…>` counts
as `core`. Symbols sharing an address (aliases) are counted once.
"""
import argparse
import collections
import re
import subprocess

SECTIONS = [".text", ".eh_frame", ".eh_frame_hdr", ".gcc_except_table", ".rodata", ".data.rel.ro", ".rela.dyn"]
MIB = 1 << 20


def sections(tool_prefix, library):
    out = subprocess.run([f"{tool_prefix}size", "-A", library], capture_output=True, text=True, check=True).stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def crate_of(demangled):
    name = re.sub(r"^[<&*( ]+", "", demangled)
    name = re.sub(r"^(dyn |impl |mut |const )+", "", name)
    match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", name)
    if match:
        return match.group(1)
    return "(C, assembly, unnamed)" if "::" not in demangled else "(other Rust)"


def per_crate(tool_prefix, library):
    out = subprocess.run([f"{tool_prefix}nm", "-C", "-S", "--size-sort", library],
                         capture_output=True, text=True, check=True).stdout
    seen = set()
    sums = collections.Counter()
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 4 or parts[0] in seen:
            continue
        seen.add(parts[0])
        sums[crate_of(parts[3])] += int(parts[1], 16)
    return sums


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("library")
    parser.add_argument("--tool-prefix", default="", help="binutils prefix, e.g. aarch64-linux-gnu-")
    parser.add_argument("--top", type=int, default=20, help="crates listed (default 20)")
    args = parser.parse_args()
    sizes = sections(args.tool_prefix, args.library)
    print("| section | MiB |\n|---|---|")
    for name in SECTIONS:
        if name in sizes:
            print(f"| {name} | {sizes[name] / MIB:.2f} |")
    sums = per_crate(args.tool_prefix, args.library)
    if not sums:
        raise SystemExit(f"{args.library} has no symbol table: build it with CARGO_PROFILE_DIST_STRIP=none")
    print(f"\nsymbols: {sum(sums.values()) / MIB:.2f} MiB in all\n\n| crate | MiB |\n|---|---|")
    for crate, size in sums.most_common(args.top):
        print(f"| {crate} | {size / MIB:.2f} |")


if __name__ == "__main__":
    main()
