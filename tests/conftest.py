"""Shared fixtures: a sandbox REDCap on loopback serving the demo project; and the markers
that keep tests out of the developers' fast loop. What tests share besides fixtures lives in
tests/support."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from hypothesis import settings

from tests.support.projects import DEMO_PROJECT
from tests.support.sandbox import serving_demo
from worker.sandbox import Sandbox
from worker.sandbox.server import SandboxHTTPServer

# A test with one of these markers is left out of the fast loop (README), which runs the
# others, marked ``unit`` here; CI runs them all.
OUT_OF_FAST_LOOP = ("e2e", "slow", "bench")
# Fixtures that start a server on loopback: a test using one is end to end.
SERVER_FIXTURES = {"demo_sandbox", "make_sandbox", "smtpd"}

# The fast loop runs each property on fewer generated examples (--hypothesis-profile=fast);
# CI and the full run keep hypothesis's default of 100 (or what a test asks for).
settings.register_profile("fast", max_examples=10)


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)
        if not any(item.get_closest_marker(name) for name in OUT_OF_FAST_LOOP):
            item.add_marker(pytest.mark.unit)


def _runs_python(args: Any) -> bool:
    """Whether a subprocess's command is Python or a tool of this virtual environment."""
    program = Path(str(args if isinstance(args, str | bytes | Path) else args[0]).split()[0])
    if program.name.startswith("python"):
        return True
    if program.parent != Path(sys.executable).parent:
        return False
    with program.open("rb") as script:  # a tool pip installed: Python behind a shebang
        return b"python" in script.readline()


@pytest.fixture(autouse=True)
def _fast_loop_starts_no_server_and_no_python(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test left in the fast loop starts no server and no Python in a subprocess (each
    costs seconds on a busy machine): one that does fails, asking for its marker."""
    if any(request.node.get_closest_marker(name) for name in OUT_OF_FAST_LOOP):
        return

    def refuse(what: str) -> Any:
        def refused(*args: Any, **kwargs: Any) -> Any:
            pytest.fail(
                f"this test starts {what}: mark it e2e, slow or bench (pyproject.toml), "
                "which leaves it out of the fast loop",
                pytrace=False,
            )

        return refused

    class Popen(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, args: Any, *more: Any, **options: Any) -> None:
            if _runs_python(args):
                refuse("Python in a subprocess")()
            super().__init__(args, *more, **options)

    monkeypatch.setattr(subprocess, "Popen", Popen)
    monkeypatch.setattr(SandboxHTTPServer, "start", refuse("a sandbox server"))
    monkeypatch.setattr(Controller, "start", refuse("an SMTP server"))


@pytest.fixture
def demo_sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox serving the dNK demo data as of ``AS_OF``."""
    with serving_demo(DEMO_PROJECT) as sandbox:
        yield sandbox
