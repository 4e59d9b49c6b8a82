"""Tests mirror the modules: every module of ``worker/`` has a test file of its own at the
mirrored path, so the tests of a module are found where its name says.

``worker/a/b.py`` is tested in ``tests/a/test_b.py`` (``worker/sync.py`` in
``tests/test_sync.py``, ``worker/cli/check.py`` in ``tests/cli/test_check.py``). A package's
``__init__.py`` that defines functions or classes is tested in the package's folder under the
package's name (``worker/cli/__init__.py`` in ``tests/cli/test_cli.py``); one that only
re-exports needs no test file. A module may have more test files than its own (the
end-to-end tests in ``tests/e2e`` test commands, not one module), but never none.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "worker"
TESTS = REPO / "tests"

# Modules with no logic of their own, so nothing for a test file of theirs to say.
NO_LOGIC: dict[str, str] = {
    "worker/__main__.py": "calls worker.cli.main; `python -m worker` in tests/cli/test_sandbox.py",
    "worker/notify/templates.py": "template strings; rendered in tests/notify/test_render.py",
    "worker/report/templates.py": "template strings and CSS; rendered in tests/report/test_html.py",
}


def module_paths() -> list[str]:
    return sorted(path.relative_to(REPO).as_posix() for path in PACKAGE.rglob("*.py"))


def defines_anything(path: Path) -> bool:
    """Whether a module defines a function or class (more than re-exports and constants)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        for node in tree.body
    )


def mirrored_test(module: str) -> str:
    """The test file of ``worker/...`` module path ``module``."""
    parts = Path(module).relative_to("worker").parts
    folder, name = parts[:-1], Path(parts[-1]).stem
    if name == "__init__":
        name = folder[-1]
    return Path("tests", *folder, f"test_{name}.py").as_posix()


def needs_a_test_file(module: str) -> bool:
    if module in NO_LOGIC:
        return False
    if module.endswith("/__init__.py"):
        return defines_anything(REPO / module)
    return True


def test_the_mirrored_path_of_a_module() -> None:
    assert mirrored_test("worker/sync.py") == "tests/test_sync.py"
    assert mirrored_test("worker/cli/check.py") == "tests/cli/test_check.py"
    assert mirrored_test("worker/core/rules/loader.py") == "tests/core/rules/test_loader.py"
    assert mirrored_test("worker/cli/__init__.py") == "tests/cli/test_cli.py"


def test_only_logic_free_modules_are_excused() -> None:
    for module in NO_LOGIC:
        assert (REPO / module).is_file(), f"{module} is excused but does not exist"
        assert not defines_anything(REPO / module), f"{module} has logic: it needs tests"


def test_a_re_exporting_package_needs_no_test_file_and_one_with_logic_does() -> None:
    assert not needs_a_test_file("worker/core/logic/__init__.py")
    assert needs_a_test_file("worker/cli/__init__.py")


@pytest.mark.parametrize("module", [m for m in module_paths() if needs_a_test_file(m)])
def test_every_module_has_its_own_test_file(module: str) -> None:
    expected = mirrored_test(module)
    assert (REPO / expected).is_file(), f"{module} has no test file: write {expected}"


def test_test_folders_are_packages() -> None:
    """Test files share names across folders (tests/cli/test_check.py, tests/e2e/...), which
    pytest imports apart only when every folder holding tests is a package."""
    folders = {path.parent for path in TESTS.rglob("test_*.py")}
    missing = sorted(
        folder.relative_to(REPO).as_posix()
        for folder in folders
        if not (folder / "__init__.py").is_file()
    )
    assert not missing, f"add an __init__.py to {missing}"
