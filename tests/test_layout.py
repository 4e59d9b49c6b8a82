"""The test tree's own rules.

Tests mirror the modules: every module of ``worker/`` has a test file of its own at the
mirrored path, so the tests of a module are found where its name says.
``worker/a/b.py`` is tested in ``tests/a/test_b.py`` (``worker/sync.py`` in
``tests/test_sync.py``, ``worker/cli/check.py`` in ``tests/cli/test_check.py``). A package's
``__init__.py`` that defines functions or classes is tested in the package's folder under the
package's name (``worker/cli/__init__.py`` in ``tests/cli/test_cli.py``); one that only
re-exports needs no test file. A module may have more test files than its own (the
end-to-end tests in ``tests/e2e`` test commands, not one module), but never none.

What tests share lives in tests/support, so no test module imports another test module (nor
a conftest, which pytest loads on its own); and every test can fail: it asserts, or expects
an error.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.projects import REPO

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


# -- no test module imports another; every test judges something ---------------------------

# A file that names ``tests`` other than as ``tests.support``, or imports relatively.
MAY_IMPORT_A_TEST_MODULE = re.compile(r"\btests\b(?!\.support\b)|^\s*from\s+\.", re.MULTILINE)


def statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, however nested (imports are statements; expressions are skipped,
    which keeps the walk over the whole tree quick)."""
    for statement in body:
        yield statement
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            for inner in getattr(statement, field, ()):
                yield from statements(inner.body if not isinstance(inner, ast.stmt) else [inner])


def imported_test_modules(path: Path) -> list[str]:
    """The modules under ``tests`` that a file imports, other than tests.support."""
    found = []
    text = path.read_text(encoding="utf-8")
    if not MAY_IMPORT_A_TEST_MODULE.search(text):
        return []  # parsing every file is what makes this test slow
    for node in statements(ast.parse(text).body):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            whole = node.module != "tests"  # ``from tests import x`` imports tests.x
            names = [node.module] if whole else [f"tests.{a.name}" for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = ["." * node.level + (node.module or "")]  # relative: within tests
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found += [
            name
            for name in names
            if (name == "tests" or name.startswith(("tests.", ".")))
            and name != "tests.support"
            and not name.startswith("tests.support.")
        ]
    return found


def test_no_test_module_imports_another() -> None:
    offenders = {
        str(path.relative_to(REPO)): imported
        for path in sorted(TESTS.rglob("*.py"))
        if (imported := imported_test_modules(path))
    }
    assert offenders == {}


def test_the_check_sees_an_import_of_a_test_module(tmp_path: Path) -> None:
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "from tests.support.projects import REPO\n"
        "from tests.e2e.test_check import seeded\n"
        "import tests.conftest\n"
        "from tests import conftest, support\n"
        "from . import builders\n"
        "def f():\n"
        "    from tests.rules.test_demo import demo_data\n",
        encoding="utf-8",
    )
    assert imported_test_modules(sample) == [
        "tests.e2e.test_check",
        "tests.conftest",
        "tests.conftest",
        ".",
        "tests.rules.test_demo",
    ]


# Calls that judge: assert_*, pytest.raises, pytest.fail, pytest.warns and the like.
JUDGING = ("assert", "raises", "fail", "warns")


def judges(function: ast.FunctionDef, helpers: set[str]) -> bool:
    """Whether a function asserts, expects an error, or calls a helper that does."""
    for node in ast.walk(function):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call):
            called = ast.unparse(node.func)
            if called in helpers or any(word in called.lower() for word in JUDGING):
                return True
    return False


def idle_tests_in(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    helpers: set[str] = set()
    for _ in range(3):  # helpers calling helpers, a few levels deep
        helpers |= {f.name for f in functions if judges(f, helpers)}
    return [f.name for f in functions if f.name.startswith("test_") and not judges(f, helpers)]


@pytest.mark.slow
def test_every_test_asserts_something_or_expects_an_error() -> None:
    idle = {
        str(path.relative_to(REPO)): names
        for path in sorted(TESTS.rglob("test_*.py"))
        if (names := idle_tests_in(path))
    }
    assert idle == {}


def test_the_check_sees_a_test_that_judges_nothing(tmp_path: Path) -> None:
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "def helper(x):\n    assert x\n"
        "def test_judged():\n    helper(1)\n"
        "def test_raises():\n    with pytest.raises(ValueError):\n        int('x')\n"
        "def test_idle():\n    int('1')\n",
        encoding="utf-8",
    )
    assert idle_tests_in(sample) == ["test_idle"]
