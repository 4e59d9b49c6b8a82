"""Fixtures for the summary tests: a loopback SMTP server, settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.smtpd import SmtpServer, smtp_server
from worker.state import StateDir


@pytest.fixture
def smtpd() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def state(tmp_path: Path) -> StateDir:
    return StateDir(tmp_path / "state")
