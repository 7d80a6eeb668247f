#!/usr/bin/env python3
"""Fails when the crate's top-level modules import each other in a cycle.

Reads every `crate::<module>` path in src/ (and the root re-exports of src/lib.rs, so that
`crate::Model` counts as a use of `model`) and checks that the module graph is acyclic. The
dependency direction it allows is the one docs/ARCHITECTURE.md draws. Prints the graph with -v.
"""
import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def module_of(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    return rel.parts[0] if rel.parts[0] not in ("lib",) else "lib"


def root_aliases() -> dict:
    """Names re-exported at the crate root: name -> the module they come from."""
    aliases = {}
    lib = (SRC / "lib.rs").read_text()
    for m in re.finditer(r"pub use (\w+)::\{?([^;]*?)\}?;", lib, re.S):
        module, names = m.group(1), m.group(2)
        for name in re.split(r"[,\s]+", names):
            if name and re.match(r"^[A-Za-z_]\w*$", name):
                aliases[name] = module
    return aliases


def main() -> int:
    aliases = root_aliases()
    graph = {}
    for path in SRC.rglob("*.rs"):
        src = module_of(path)
        if src == "lib":
            continue
        # Code only: doc comments may link anywhere.
        text = "\n".join(l for l in path.read_text().splitlines() if not l.lstrip().startswith("//"))
        used = set(re.findall(r"crate::([a-z_][a-z0-9_]*)", text))
        for group in re.findall(r"crate::\{([^}]*)\}", text):
            used |= {aliases[n.strip()] for n in group.split(",") if n.strip() in aliases}
        used |= {aliases[n] for n in re.findall(r"crate::([A-Z]\w*)", text) if n in aliases}
        for dst in used:
            is_module = (SRC / f"{dst}.rs").exists() or (SRC / dst / "mod.rs").exists()
            if dst != src and is_module:
                graph.setdefault(src, set()).add(dst)
    if "-v" in sys.argv:
        for src in sorted(graph):
            print(f"{src} -> {', '.join(sorted(graph[src]))}")
    cycles = set()

    def visit(node, path):
        for nxt in graph.get(node, ()):
            if nxt in path:
                cycle = path[path.index(nxt):]
                k = cycle.index(min(cycle))
                cycles.add(tuple(cycle[k:] + cycle[:k]))
            else:
                visit(nxt, path + [nxt])

    for node in graph:
        visit(node, [node])
    for cycle in sorted(cycles):
        print("import cycle: " + " -> ".join(cycle + (cycle[0],)), file=sys.stderr)
    if cycles:
        return 1
    print(f"module imports are acyclic ({len(graph)} modules, {sum(map(len, graph.values()))} edges)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
