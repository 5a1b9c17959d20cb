"""The import graph of recanon's packages: modules, edges, upward imports and cycles.

Reads every ``.py`` under ``sdk/recanon_sdk``, ``keys/recanon_keys`` and ``cli/recanon_cli`` with
:mod:`ast` (nothing is imported) and collects each ``import recanon_…`` / ``from recanon_… import``,
at module level or inside a function (a lazy import still ties two modules together), leaving out
those under ``if TYPE_CHECKING:`` (type hints only). Printed:

* modules and edges (module → module it imports; ``from P import name`` counts as an edge to the
  submodule ``P.name`` when there is one, else to ``P``);
* upward imports: a layer importing a higher one (``recanon_keys`` → ``recanon_sdk`` or
  ``recanon_cli``, ``recanon_sdk`` → ``recanon_cli``), and a module importing its own package's
  ``__init__`` or an ancestor's (a submodule reaching up into the re-export surface);
* cycles, as strongly connected components of more than one node, between modules and between
  the SDK's top-level parts (``recanon_sdk.training`` for every module under it, and so on);
* the largest modules by lines.

    python research/probes/import_graph.py            # from the repository root
    python research/probes/import_graph.py --edges    # and every edge
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOTS = {"recanon_keys": "keys", "recanon_sdk": "sdk", "recanon_cli": "cli"}
LAYER = {"recanon_keys": 0, "recanon_sdk": 1, "recanon_cli": 2}


def module_files(repo: Path) -> dict[str, Path]:
    """Dotted module name → file, for every module of the three packages."""
    out = {}
    for package, folder in ROOTS.items():
        for path in sorted((repo / folder / package).rglob("*.py")):
            parts = list(path.relative_to(repo / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def imports_of(name: str, path: Path, modules: set[str]) -> set[str]:
    """The package modules that module ``name`` (at ``path``) imports, anywhere in its body."""
    is_package = path.name == "__init__.py"
    out = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # import a.b.c where only a.b is a module
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` except those under ``if TYPE_CHECKING:`` (imports for type hints only)."""
    out, todo = [], [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out


def part_of(module: str) -> str:
    """The SDK's top-level part a module belongs to (``recanon_sdk.training.data`` → ``…training``)."""
    parts = module.split(".")
    return ".".join(parts[:2])


def build_graph(repo: Path) -> tuple[dict[str, Path], dict[str, set[str]]]:
    """Every module's file, and every module → the package modules it imports."""
    files = module_files(repo)
    return files, {name: imports_of(name, path, set(files)) for name, path in files.items()}


def parts_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """``graph`` between the SDK's top-level parts (:func:`part_of`), edges inside a part left out."""
    parts: dict[str, set[str]] = defaultdict(set)
    for a, targets in graph.items():
        for b in targets:
            if a.startswith("recanon_sdk.") and b.startswith("recanon_sdk.") and part_of(a) != part_of(b):
                parts[part_of(a)].add(part_of(b))
    return dict(parts)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", default=Path(__file__).resolve().parents[2], type=Path)
    parser.add_argument("--edges", action="store_true", help="print every edge")
    parser.add_argument("--largest", type=int, default=5, help="how many of the largest modules to list")
    args = parser.parse_args()

    files, graph = build_graph(args.repo)
    edges = sorted((a, b) for a, targets in graph.items() for b in targets)
    print(f"modules {len(files)}, edges {len(edges)}")

    upward = []
    for a, b in edges:
        if LAYER[b.split(".")[0]] > LAYER[a.split(".")[0]]:
            upward.append((a, b, "higher layer"))
        elif files[b].name == "__init__.py" and a.startswith(b + "."):
            upward.append((a, b, "own package's __init__"))
    print(f"upward imports {len(upward)}")
    for a, b, why in upward:
        print(f"  {a} -> {b} ({why})")

    module_cycles = cycles(graph)
    print(f"module cycles {len(module_cycles)}")
    for component in module_cycles:
        print("  " + " <-> ".join(component))
    part_cycles = cycles(parts_graph(graph))
    print(f"cycles between the SDK's parts {len(part_cycles)}")
    for component in part_cycles:
        print("  " + " <-> ".join(component))

    sizes = sorted(((len(p.read_text().splitlines()), n) for n, p in files.items()), reverse=True)
    print("largest modules (lines): " + ", ".join(f"{n} {lines}" for lines, n in sizes[: args.largest]))
    if args.edges:
        for a, b in edges:
            print(f"{a} -> {b}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
