"""The import graph of umt's packages against the floors they should stand on (issue 42).

Floors, from the bottom: corpora -> embeddings -> retrieval -> alignment -> evaluation ->
translation -> information -> the pipeline and the CLI. A package may import its own floor and
the floors below; an import of a higher floor is an upward arrow. Shared helpers (``errors``,
``fileio``, ``ranges``, ``config``, ``device``, ``rundir``) sit under every floor. Prints every
upward import (``function-local`` marks the ones hidden inside a function) and every cycle
between packages, and writes ``OUT.json``:

    python experiments/import_graph.py --out results/import_graph
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

from umt.errors import run_script
from umt.fileio import write_json

FLOORS = ["corpora", "embeddings", "retrieval", "alignment", "evaluation", "translation", "information", "top"]
BASE = {"errors", "fileio", "ranges", "config", "device", "rundir", "__init__"}
TOP = {"cli", "commands", "pipeline"}


def package_of(module: str) -> str | None:
    """``umt.alignment.align`` -> ``alignment``; shared helpers -> None; ``umt.cli`` -> ``top``."""
    parts = module.split(".")
    if parts[0] != "umt" or len(parts) < 2:
        return None
    name = parts[1]
    if name in BASE:
        return None
    if name in TOP:
        return "top"
    return name if name in FLOORS else None


def imports(path: Path, module: str) -> list[tuple[str, bool, int]]:
    """``(imported module, inside a function, line)`` for every ``umt`` import of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            local = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.append((child.module, in_function, child.lineno))
            elif isinstance(child, ast.Import):
                found.extend((alias.name, in_function, child.lineno) for alias in child.names)
            visit(child, local)

    visit(tree, False)
    return [(m, local, line) for m, local, line in found if m.split(".")[0] == "umt"]


def module_cycles(links: dict[str, set[str]]) -> list[list[str]]:
    """Pairs of modules that import each other, directly (the tangles to undo first)."""
    return sorted({tuple(sorted((a, b))) for a, targets in links.items() for b in targets
                   if a in links.get(b, set()) and a != b})


def graph(root: Path) -> dict:
    upward, edges, links = [], set(), {}
    for path in sorted((root / "umt").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        found = imports(path, module)
        links[module] = {target for target, _, _ in found}
        mine = package_of(module)
        if mine is None:
            continue
        for target, local, line in found:
            theirs = package_of(target)
            if theirs is None or theirs == mine:
                continue
            edges.add((mine, theirs))
            if FLOORS.index(theirs) > FLOORS.index(mine):
                upward.append({"from": module, "line": line, "imports": target, "function_local": local})
    cycles = sorted({tuple(sorted((a, b))) for a, b in edges if (b, a) in edges})
    return {"upward": upward, "package_cycles": [list(c) for c in cycles], "module_cycles": module_cycles(links),
            "edges": sorted(map(list, edges))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=str(Path(__file__).resolve().parents[1]), help="the project's folder")
    p.add_argument("--out", default=None, help="write OUT.json")
    a = p.parse_args()
    g = graph(Path(a.root))
    for arrow in g["upward"]:
        where = " (function-local)" if arrow["function_local"] else ""
        print(f"upward: {arrow['from']}:{arrow['line']} imports {arrow['imports']}{where}")
    for a_, b_ in g["package_cycles"]:
        print(f"cycle: {a_} <-> {b_}")
    for a_, b_ in g["module_cycles"]:
        print(f"modules importing each other: {a_} <-> {b_}")
    print(f"{len(g['upward'])} upward imports ({sum(u['function_local'] for u in g['upward'])} function-local), "
          f"{len(g['package_cycles'])} package cycles, {len(g['module_cycles'])} pairs of modules importing each other")
    if a.out:
        write_json(f"{a.out}.json", g)


if __name__ == "__main__":
    run_script(main, "import_graph.py")
