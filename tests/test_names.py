"""Names in ``worker/`` that say what they are and stay where they belong, read from the source
(nothing is imported):

- a private name (``_name``) is used only in the module that defines it: no ``from x import
  _name`` and no ``module._name`` from another module;
- each class name is defined once, so a name in a traceback, a log or a review means one
  thing.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.support.source import module_files

# Private names of other packages the worker relies on, each with the reason and what
# guards it. Nothing of the worker's own is allowed here.
THIRD_PARTY_PRIVATE_IMPORTS = {
    # PyCap 2.7.0 has no public way to post through the worker's own session and read the
    # reply; the version is pinned and tests/redcap_client/test_pycap_contract.py fails
    # loudly if these change.
    ("worker.redcap_client.transport", "redcap.request", "_ContentConfig"),
    ("worker.redcap_client.transport", "redcap.request", "_RCRequest"),
}


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    """The module an ``ImportFrom`` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    package = module if is_package else module.rpartition(".")[0]
    parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
    return ".".join([*parts, *([node.module] if node.module else [])])


def private_reaches(module: str, path: Path, modules: set[str]) -> list[str]:
    """Where ``module`` uses another module's private names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    # Local names bound to a worker module: ``import worker.x as m``, ``from worker import x``.
    module_names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname and alias.name in modules:
                    module_names[alias.asname] = alias.name
                if any(is_private(part) for part in alias.name.split(".")):
                    found.append(f"{module}:{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            source = absolute(module, node, path.name == "__init__.py")
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:
                    module_names[alias.asname or alias.name] = f"{source}.{alias.name}"
                if (
                    is_private(alias.name)
                    and source != module
                    and (module, source, alias.name) not in THIRD_PARTY_PRIVATE_IMPORTS
                ):
                    found.append(f"{module}:{node.lineno}: from {source} import {alias.name}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in module_names
            and module_names[node.value.id] != module
            and is_private(node.attr)
        ):
            found.append(f"{module}:{node.lineno}: {node.value.id}.{node.attr}")
    return sorted(found)


def class_definitions(path: Path) -> list[tuple[str, int]]:
    return [
        (node.name, node.lineno)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
    ]


def shared_class_names(files: dict[str, Path]) -> dict[str, list[str]]:
    where: dict[str, list[str]] = defaultdict(list)
    for module, path in files.items():
        for name, line in class_definitions(path):
            where[name].append(f"{module}:{line}")
    return {name: places for name, places in sorted(where.items()) if len(places) > 1}


def test_no_module_reaches_for_another_modules_private_names() -> None:
    files = module_files()
    found = [hit for name, path in files.items() for hit in private_reaches(name, path, set(files))]
    assert not found, "private names used outside their module:\n" + "\n".join(found)


def test_each_class_name_is_defined_once() -> None:
    shared = shared_class_names(module_files())
    assert not shared, "class names defined more than once:\n" + "\n".join(
        f"{name}: {', '.join(places)}" for name, places in shared.items()
    )


def test_the_checks_see_what_they_are_meant_to(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("_SECRET = 1\nclass Kind: ...\ndef _helper(): ...\n")
    (package / "b.py").write_text(
        "from pkg.a import _SECRET\n"
        "from . import a\n"
        "import pkg.a as alias\n"
        "def f():\n"
        "    class Kind: ...\n"  # a nested class counts too
        "    return a._helper(), alias._SECRET, a.__name__\n"
    )
    (package / "c.py").write_text("from pkg.a import Kind\nclass _Own: ...\n_Own._x = 1\n")
    files = module_files(package)
    reaches = {name: private_reaches(name, path, set(files)) for name, path in files.items()}
    assert reaches["pkg.a"] == []
    assert reaches["pkg.c"] == []
    assert reaches["pkg.b"] == [
        "pkg.b:1: from pkg.a import _SECRET",
        "pkg.b:6: a._helper",
        "pkg.b:6: alias._SECRET",
    ]
    assert shared_class_names(files) == {"Kind": ["pkg.a:2", "pkg.b:5"]}
