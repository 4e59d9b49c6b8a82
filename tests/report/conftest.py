"""The report's inputs: the demo study as the worker loads it, and its rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import AS_OF, REPO
from tests.rules.builders import schema
from worker.config import load_settings
from worker.core.schema import ProjectSchema
from worker.notify.links import DataEntryLinks
from worker.pipeline import Study, load_study
from worker.report import ReportData, collect_report

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
BASE = "https://redcap.example.org"


def project() -> ProjectSchema:
    return schema().model_copy(update={"redcap_version": "15.7.6", "project_id": 4107})


def study() -> Study:
    return load_study(load_settings(REPO / "config.example.toml"), project())


def collect(rows: list[dict], **options) -> ReportData:
    return collect_report(
        study(), [rows], as_of=AS_OF, now=NOW, links=DataEntryLinks(BASE, project()), **options
    )


@pytest.fixture
def demo_rows(demo_sandbox) -> list[dict]:
    return demo_sandbox.rows()
