"""Fixtures for the summary tests: a loopback SMTP server, settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.notify.smtpd import SmtpServer, smtp_server
from worker.config import EmailSettings, Settings
from worker.notify.snapshot import SummaryOptions
from worker.session import summary_options
from worker.state import StateDir


@pytest.fixture
def smtpd() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def state(tmp_path: Path) -> StateDir:
    return StateDir(tmp_path / "state")


def email_settings(**values: object) -> EmailSettings:
    base: dict[str, object] = {
        "security": "none",
        "sender": "worker@example.org",
        "critical": ["pi@example.org"],
        "major": ["dm@example.org"],
        "minor": ["monitor@example.org"],
        "timeout_s": 5.0,
    }
    return EmailSettings.model_validate(base | values)


def settings_for(tmp_path: Path, **email: object) -> Settings:
    return Settings(
        state_dir=tmp_path / "state",
        email=email_settings(**email),
        redcap={"url": "https://redcap.example.org/api/"},
    )


def options_for(tmp_path: Path, **email: object) -> SummaryOptions:
    """What the summaries read of :func:`settings_for`."""
    return summary_options(settings_for(tmp_path, **email))
