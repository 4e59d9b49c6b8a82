"""Fixtures for the sandbox tests: sandboxes over real loopback HTTP, a fake clock, and a
small classic project built in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.projects import DEMO_PROJECT
from tests.support.sandbox import SandboxFactory, write_classic_project
from tests.support.synthetic import nk_rows
from worker.sandbox import FakeClock, Sandbox

START = datetime(2026, 11, 20, 9, 0, 0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def make_sandbox(clock: FakeClock) -> Iterator[SandboxFactory]:
    """Build and start sandboxes (the dNK demo project, empty data and the fake clock unless
    told otherwise)."""
    started: list[Sandbox] = []

    def factory(**kwargs: Any) -> Sandbox:
        kwargs.setdefault("project_dir", DEMO_PROJECT)
        kwargs.setdefault("data", "empty")
        kwargs.setdefault("clock", clock)
        sandbox = Sandbox.from_folder(**kwargs).start()
        started.append(sandbox)
        return sandbox

    yield factory
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def nk(make_sandbox: SandboxFactory) -> Sandbox:
    """The dNK project with three synthetic participants."""
    return make_sandbox(project_dir=DEMO_PROJECT, data=nk_rows(3))


@pytest.fixture
def classic_dir(tmp_path: Path) -> Path:
    return write_classic_project(tmp_path / "classic")


@pytest.fixture
def classic(make_sandbox: SandboxFactory, classic_dir: Path) -> Sandbox:
    return make_sandbox(project_dir=classic_dir)
