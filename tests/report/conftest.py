"""The report's inputs: the demo study as the worker loads it, and its rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import AS_OF, REPO
from tests.rules.builders import schema
from worker.config import load_settings
from worker.core.links import DataEntryLinks
from worker.core.queries import QueryBook
from worker.core.rules.tally import keep_every_visit
from worker.core.schema import ProjectSchema
from worker.pipeline import Study, check_batches, load_study
from worker.report import ReportData, collect_report

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
BASE = "https://redcap.example.org"


def project() -> ProjectSchema:
    return schema().model_copy(update={"redcap_version": "15.7.6", "project_id": 4107})


def study() -> Study:
    return load_study(load_settings(REPO / "config.example.toml").study, project())


def collect(rows: list[dict], *, include_values: bool = False) -> ReportData:
    """The report of one run over ``rows``, as ``report`` makes it: the query form's rows
    read, every visit row kept."""
    demo = study()
    assert demo.queries is not None
    outcome = check_batches(
        demo,
        [rows],
        as_of=AS_OF,
        queries=QueryBook(demo.queries, demo.schema),
        visits=keep_every_visit,
    )
    links = DataEntryLinks(BASE, project())
    return collect_report(outcome, now=NOW, links=links, include_values=include_values)


@pytest.fixture
def demo_rows(demo_sandbox) -> list[dict]:
    return demo_sandbox.rows()
