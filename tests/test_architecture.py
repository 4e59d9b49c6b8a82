"""The layers around the one run outcome: what may import what.

Every command's run ends in one :class:`~worker.core.outcome.RunOutcome`; the emails and
the report are built from it and never reach back into the run that made it. Only the
command line and the scheduler (with the session they open and the jobs that glue a sync to
both) read the whole settings; every library call gets the section or the options it needs.
Read from the source (nothing is imported), every import counts, under ``TYPE_CHECKING``
too: a type names a dependency all the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.projects import REPO

WORKER = REPO / "worker"

# Where the whole settings may be read: the command line, the scheduler, the session they
# open and the jobs they share (``worker/config.py`` defines them).
READS_SETTINGS = ("worker/cli/", "worker/scheduler.py", "worker/session.py", "worker/jobs.py")
SETTINGS_NAMES = frozenset({"Settings", "load_settings"})

# What the emails and the report take their content from is the outcome, not the run.
THE_RUN = ("worker.sync", "worker.sync_run", "worker.drw_sync", "worker.pipeline", "worker.jobs")


def imports(source: str, package: str) -> Iterator[tuple[str, str | None]]:
    """(module, name) for every import in ``source``, a module of ``package``: ``from m
    import n`` gives (m, n), ``import m`` gives (m, None); relative imports are resolved."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            for alias in node.names:
                yield module, alias.name


def modules(under: str = "") -> list[Path]:
    return sorted((WORKER / under).rglob("*.py"))


def where(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def source_of(path: Path) -> tuple[str, str]:
    """A module's source and its package's dotted name."""
    package = ".".join(path.relative_to(REPO).parts[:-1])
    return path.read_text(encoding="utf-8"), package


def reads_settings(source: str, package: str) -> bool:
    return any(
        module == "worker.config" and (name is None or name in SETTINGS_NAMES)
        for module, name in imports(source, package)
    )


def imports_from(source: str, package: str, prefixes: tuple[str, ...]) -> list[str]:
    found = set()
    for module, name in imports(source, package):
        for target in (module, f"{module}.{name}" if name else module):
            if any(target == p or target.startswith(p + ".") for p in prefixes):
                found.add(target)
    return sorted(found)


def test_only_the_command_line_and_the_scheduler_read_the_whole_settings() -> None:
    readers = {where(p) for p in modules() if reads_settings(*source_of(p))}
    outside = sorted(r for r in readers - {"worker/config.py"} if not r.startswith(READS_SETTINGS))
    assert outside == [], "library modules must take a settings section or options"
    assert "worker/scheduler.py" in readers  # the test sees an import when there is one


def test_the_emails_take_the_outcome_and_import_nothing_of_the_run() -> None:
    found = {where(p): imports_from(*source_of(p), THE_RUN) for p in modules("notify")}
    assert {path: names for path, names in found.items() if names} == {}


def test_the_report_takes_the_outcome_and_imports_nothing_of_the_run_or_the_emails() -> None:
    banned = (*THE_RUN, "worker.notify")
    found = {where(p): imports_from(*source_of(p), banned) for p in modules("report")}
    assert {path: names for path, names in found.items() if names} == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from worker.config import Settings\n", True),
        ("from worker.config import EmailSettings, load_settings\n", True),
        ("import worker.config\n", True),
        ("from ..config import Settings\n", True),
        ("if TYPE_CHECKING:\n    from worker.config import Settings\n", True),
        ("from worker.config import EmailSettings, StudySettings\n", False),
    ],
)
def test_a_settings_import_is_seen_however_it_is_written(source: str, expected: bool) -> None:
    assert reads_settings(source, "worker.notify") is expected


@pytest.mark.parametrize(
    "source",
    [
        "from worker.sync import run_sync\n",
        "from ..pipeline import Study\n",
        "import worker.jobs\n",
    ],
)
def test_an_import_of_the_run_is_seen_absolute_or_relative(source: str) -> None:
    assert imports_from(source, "worker.notify", THE_RUN)
