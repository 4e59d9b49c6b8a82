"""The test tree's own rules: what tests share lives in tests/support, so no test module
imports another test module (nor a conftest, which pytest loads on its own); and every test
can fail: it asserts, or expects an error."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.projects import REPO

TESTS = REPO / "tests"
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
