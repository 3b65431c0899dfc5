"""Print how edgekit's modules import each other: deferred share, package graph, cycles.

Why: a cycle between packages hides behind imports placed inside functions;
this counts them so the number can only go down. Imports of heavy optional
libraries (torch, openvino, ...) are not counted: deferring those is the point.

Usage:
    python tools/import_stats.py            # summary
    python tools/import_stats.py --list     # also every edgekit import inside a function
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "edgekit"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(module: str) -> str:
    """``edgekit.models.flops`` -> ``models``; a top-level module (``edgekit.errors``) -> ``core``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "core"
    if parts[1] == "__main__":  # ``python -m edgekit`` is the command line
        return "cli"
    return parts[1] if (ROOT / PACKAGE / parts[1]).is_dir() else "core"


def _in_function(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return True
    return False


def _imported(node: ast.Import | ast.ImportFrom, here: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = here.split(".") if is_package else here.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    return [base]


def scan() -> list[tuple[str, str, bool]]:
    """Every edgekit-internal import as ``(importer, imported, inside_function)``."""
    found = []
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        here = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for target in _imported(node, here, path.name == "__init__.py"):
                if target == PACKAGE or target.startswith(PACKAGE + "."):
                    found.append((here, target, _in_function(node, parents)))
    return found


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list every import inside a function")
    args = parser.parse_args(argv)

    found = scan()
    deferred = [item for item in found if item[2]]
    share = 100.0 * len(deferred) / max(len(found), 1)
    print(f"edgekit-internal imports: {len(found)}, inside functions: {len(deferred)} ({share:.1f} %)")
    sdk = [item for item in found if not item[0].startswith(("edgekit.cli", "edgekit.__main__"))]
    sdk_deferred = [item for item in sdk if item[2]]
    print(f"  outside the CLI (which defers to keep `edgekit --help` fast): {len(sdk)}, inside functions: "
          f"{len(sdk_deferred)} ({100.0 * len(sdk_deferred) / max(len(sdk), 1):.1f} %)")

    packages: dict[str, set[str]] = defaultdict(set)
    modules: dict[str, set[str]] = defaultdict(set)
    known = {module_name(p) for p in (ROOT / PACKAGE).rglob("*.py")}
    for src, dst, _ in found:
        while dst not in known and "." in dst:  # ``from edgekit.models.model import Model``
            dst = dst.rsplit(".", 1)[0]
        if package_of(src) != package_of(dst):
            packages[package_of(src)].add(package_of(dst))
        if src != dst and not src.startswith(dst + ".") and not dst.startswith(src + "."):
            modules[src].add(dst)

    print("package graph (all imports, deferred included):")
    for name in sorted(packages):
        print(f"  {name:11s} -> {', '.join(sorted(packages[name]))}")
    package_cycles = cycles(packages)
    print(f"package cycles: {len(package_cycles)}" + "".join(f"\n  {' <-> '.join(c)}" for c in package_cycles))
    module_cycles = cycles(modules)
    print(f"module cycles: {len(module_cycles)}" + "".join(f"\n  {' <-> '.join(c)}" for c in module_cycles))
    if args.list:
        for src, dst, _ in deferred:
            print(f"  {src} -> {dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
