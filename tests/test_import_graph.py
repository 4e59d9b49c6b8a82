"""No import circle anywhere in ``worker/``.

The graph is read from the source (no module is imported): an edge for every ``import`` of a
``worker`` module, at module level or inside a function alike, because an import deferred
into a function only hides a circle until the function runs. Imports under ``if
TYPE_CHECKING:`` count too: they never run, but two modules that need each other's types
are one module in two files all the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.support.source import module_files


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement anywhere in the module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports. ``from package import x`` names the
    submodule ``package.x`` when there is one, else the package itself."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            base = ".".join([*parts, *([node.module] if node.module else [])])
        for alias in node.names:
            found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {m for m in found if m in modules and m != name}


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The graph's strongly connected components of more than one module (Tarjan's
    algorithm, iterative: the graph is deep enough to matter for recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_the_worker_has_no_import_circle() -> None:
    modules = module_files()
    found = circles(import_graph(modules))
    assert not found, "import circles in worker/:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_walk_sees_the_whole_package() -> None:
    modules = module_files()
    graph = import_graph(modules)
    assert {"worker", "worker.cli", "worker.core.logic.expression", "worker.sandbox"} <= set(
        modules
    )
    # Module level, relative, and deferred into a function.
    assert "worker.core.logic.evaluate" in graph["worker.core.logic.expression"]
    assert {"worker.core.logic.expression", "worker.core.logic.parser"} <= set(graph)
    assert "worker.sandbox" in graph["worker.cli.common"]


def test_the_walk_finds_circles_hidden_in_a_function_or_behind_type_checking(
    tmp_path: Path,
) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import B\n")
    (package / "b.py").write_text("def later():\n    from . import a\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.d import D\n"
    )
    (package / "d.py").write_text("from pkg import c\n")
    modules = module_files(package)
    graph = import_graph(modules)
    assert graph["pkg.c"] == {"pkg.d"}  # a type-only import never runs, but it is an edge
    assert circles(graph) == [["pkg.a", "pkg.b"], ["pkg.c", "pkg.d"]]
