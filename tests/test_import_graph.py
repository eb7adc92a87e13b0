"""The import graph has no cycle: layers import downwards only.

Modules of a package may import each other lazily (inside functions) to keep start-up
fast, but no two packages may depend on each other in any way, no module may be part of
an import-time cycle, and the encrypted-aggregation plugin (``strategy``) never imports
the application built on it (``fl_app``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("fl_app", "strategy")


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def _imports(name: str, path: Path, *, lazy: bool, known: Mapping[str, Path]) -> set[str]:
    """Project modules that ``name`` imports (at import time only, unless ``lazy``)."""
    tree = ast.parse(path.read_text())
    nodes: Iterator[ast.AST] = ast.walk(tree) if lazy else iter(tree.body)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, *([node.module] if node.module else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in found if module in known and module != name}


def _cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_no_module_is_part_of_an_import_time_cycle() -> None:
    known = _modules()
    graph = {name: _imports(name, path, lazy=False, known=known) for name, path in known.items()}
    assert _cycles(graph) == []


def test_no_two_packages_depend_on_each_other() -> None:
    known = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        for target in _imports(name, path, lazy=True, known=known):
            if _package_of(target) != _package_of(name):
                graph.setdefault(_package_of(name), set()).add(_package_of(target))
    assert _cycles(graph) == []


def test_the_plugin_does_not_import_the_application() -> None:
    known = _modules()
    offending = {
        name: sorted(
            t for t in _imports(name, path, lazy=True, known=known) if t.startswith("fl_app")
        )
        for name, path in known.items()
        if name.startswith("strategy")
    }
    assert {name: targets for name, targets in offending.items() if targets} == {}


def test_the_checker_finds_a_cycle() -> None:
    # The check itself can fail: a two-package cycle like the one roles and server had.
    assert _cycles({"fl_app.roles": {"fl_app.server"}, "fl_app.server": {"fl_app.roles"}}) == [
        ["fl_app.roles", "fl_app.server"]
    ]
